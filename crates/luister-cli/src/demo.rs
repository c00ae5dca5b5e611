//! Synthetic but plausible traffic for a gemeente site: the demo data of the quick
//! start and the load of the benchmarks. Emits import lines, so it exercises the
//! same path as real history.

use crate::import::ImportLine;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

/// The demo site's domain.
pub const DEMO_DOMAIN: &str = "demo.gemeente.nl";
/// The dashboard user `serve --demo` makes (an analyst of the demo site, with a new
/// password at every start; admins need two-factor sign-in, a demo should not).
pub const DEMO_USER: &str = "demo@demo.gemeente.nl";

const PAGES: &[&str] = &[
    "/",
    "/afval",
    "/afval/ophaaldagen",
    "/paspoort-en-id-kaart",
    "/paspoort-en-id-kaart/afspraak",
    "/parkeren",
    "/parkeren/vergunning",
    "/schulden",
    "/schulden/hulp",
    "/schulden/hulp/aanvragen",
    "/werk-en-inkomen",
    "/wonen/verhuizen",
    "/contact",
    "/nieuws/2026/nieuwe-milieustraat",
];
const SEARCH_TERMS: &[(&str, i32)] = &[
    ("afvalkalender", 4),
    ("paspoort", 12),
    ("schuldhulp", 3),
    ("parkeervergunning", 5),
    ("kwijtschelding", 0),
    ("grofvuil", 2),
    ("bijstand", 6),
    ("milieustraat openingstijden", 0),
];
const REFERRERS: &[&str] = &[
    "",
    "",
    "",
    "https://www.google.com/",
    "https://www.google.nl/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.nu.nl/",
    "https://www.facebook.com/",
    "https://www.rijksoverheid.nl/",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub domain: String,
    pub days: u32,
    pub visits_per_day: u32,
    pub end: DateTime<Utc>,
    pub seed: u64,
}

/// Visits in time order, as import lines (the visitors differ by IP and browser).
pub fn generate(spec: &DemoSpec) -> impl Iterator<Item = ImportLine> + '_ {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let start = spec.end - Duration::days(spec.days.into());
    let total = u64::from(spec.days) * u64::from(spec.visits_per_day);
    let step = (i64::from(spec.days) * 86_400 * 1000) / total.max(1) as i64;
    (0..total).flat_map(move |i| {
        let at = start + Duration::milliseconds(step * i as i64);
        visit(&mut rng, &spec.domain, at)
    })
}

/// One visit: a landing page, maybe a search, more pages, maybe the debt-help application.
fn visit(rng: &mut StdRng, domain: &str, mut at: DateTime<Utc>) -> Vec<ImportLine> {
    let visitor = Visitor {
        domain,
        ip: format!(
            "{}.{}.{}.{}",
            rng.random_range(80..95),
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random_range(1..255)
        ),
        agent: USER_AGENTS[rng.random_range(0..USER_AGENTS.len())],
    };
    let mut referrer = REFERRERS[rng.random_range(0..REFERRERS.len())].to_string();
    let mut lines = Vec::new();
    let pages = 1 + rng.random_range(0..4) * rng.random_range(0..2);
    for n in 0..pages {
        let page = if n == 0 && rng.random_bool(0.3) {
            "/schulden"
        } else {
            PAGES[rng.random_range(0..PAGES.len())]
        };
        let mut props = Map::new();
        let url = if rng.random_bool(0.12) {
            let (term, results) = SEARCH_TERMS[rng.random_range(0..SEARCH_TERMS.len())];
            props.insert("results".into(), Value::String(results.to_string()));
            format!("https://{domain}/zoeken?q={}", term.replace(' ', "+"))
        } else {
            format!("https://{domain}{page}")
        };
        lines.push(visitor.line(&at, "pageview", &url, &referrer, props));
        referrer = url;
        if page == "/schulden/hulp/aanvragen" && rng.random_bool(0.5) {
            let mut props = Map::new();
            props.insert("regeling".into(), Value::String("schuldhulp".into()));
            lines.push(visitor.line(&at, "Aanvraag verstuurd", &referrer, "", props));
        }
        at += Duration::seconds(rng.random_range(5..240));
    }
    lines
}

/// Who is visiting: what every line of one visit shares.
struct Visitor<'a> {
    domain: &'a str,
    ip: String,
    agent: &'a str,
}

impl Visitor<'_> {
    fn line(
        &self,
        at: &DateTime<Utc>,
        name: &str,
        url: &str,
        referrer: &str,
        props: Map<String, Value>,
    ) -> ImportLine {
        ImportLine {
            timestamp: at.to_rfc3339().into(),
            domain: self.domain.into(),
            name: name.into(),
            url: url.into(),
            referrer: (!referrer.is_empty()).then(|| referrer.to_string()),
            ip: Some(self.ip.clone()),
            user_agent: Some(self.agent.into()),
            props: (!props.is_empty()).then_some(props),
            revenue: None,
            interactive: None,
        }
    }
}

/// Goals with values, two saved funnels and the demo user, so a first look at the
/// dashboard shows every page with data. Returns the demo user's new password.
pub async fn seed_dashboard(store: &luister_store::Store) -> anyhow::Result<String> {
    if store.list_goals(DEMO_DOMAIN).await?.is_empty() {
        let mut application = luister_store::Goal::event(DEMO_DOMAIN, "Aanvraag verstuurd");
        application.display_name = "Aanvraag schuldhulp verstuurd".into();
        application.value_cents = 4_500;
        application.minutes_saved = 20.0;
        store.add_goal(&application).await?;
        let mut appointment =
            luister_store::Goal::page(DEMO_DOMAIN, "/paspoort-en-id-kaart/afspraak");
        appointment.display_name = "Afspraak paspoort bekeken".into();
        appointment.value_cents = 800;
        appointment.minutes_saved = 6.0;
        store.add_goal(&appointment).await?;
    }
    if store.list_funnels(DEMO_DOMAIN).await?.is_empty() {
        let funnels = [
            (
                "Schuldhulp aanvragen",
                serde_json::json!({"steps": [{"page": "/schulden"}, {"page": "/schulden/hulp"},
                    {"page": "/schulden/hulp/aanvragen"}, {"event": "Aanvraag verstuurd"}], "window_seconds": 3600}),
            ),
            (
                "Van zoeken naar paspoortafspraak",
                serde_json::json!({"steps": [{"search": "*"}, {"page": "/paspoort-en-id-kaart*"}], "window_seconds": 3600}),
            ),
        ];
        for (name, definition) in funnels {
            store
                .add_funnel(&luister_store::SavedFunnel {
                    site_id: DEMO_DOMAIN.into(),
                    id: String::new(),
                    name: name.into(),
                    definition: definition.to_string(),
                })
                .await?;
        }
    }
    let password: String = {
        use rand::distr::{Alphanumeric, SampleString};
        Alphanumeric.sample_string(&mut rand::rng(), 20)
    };
    store
        .put_user(
            DEMO_USER,
            luister_store::UserRole::Admin,
            Vec::new(),
            &password,
        )
        .await?;
    Ok(password)
}
