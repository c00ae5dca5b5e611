//! Micro-benchmark of the enrichment stages and the whole pipeline, in process.

use crate::traffic::{Traffic, USER_AGENTS};
use chrono::Utc;
use luister_ingest::decode::{decode_plausible, RequestContext};
use luister_ingest::enrich::{page_url, pii, DataFiles};
use luister_ingest::pipeline::{Enrichers, PipelineConfig};
use luister_ingest::salts::EphemeralSalts;
use luister_ingest::validate::SiteRegistry;
use luister_ingest::Pipeline;
use luister_model::Site;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct EnrichArgs {
    /// Folder with the data files (scripts/fetch-data.sh).
    #[arg(long, default_value = "vendor-data")]
    pub data_files: PathBuf,
    /// Events per measurement.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
}

fn time<F: FnMut(usize)>(label: &str, n: usize, mut f: F) {
    let started = Instant::now();
    for i in 0..n {
        f(i);
    }
    let per = started.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "{label:<34} {:>9.2} µs/op  {:>10.0} ops/s",
        per / 1000.0,
        1e9 / per
    );
}

pub fn run(args: EnrichArgs) -> Result<(), Box<dyn std::error::Error>> {
    let loading = Instant::now();
    let enrichers = Arc::new(Enrichers::load(&PipelineConfig {
        data_files: DataFiles::in_dir(&args.data_files),
        allow_headless: false,
    })?);
    println!(
        "data files loaded in {:.2} s",
        loading.elapsed().as_secs_f64()
    );
    let site = Site::new("bench.gemeente.nl");
    let n = args.events;
    let mut traffic = Traffic::new(1);
    let events: Vec<(String, String, &str)> = (0..n.min(100_000))
        .map(|_| traffic.next_event(&site.domain))
        .collect();
    let pick = |i: usize| &events[i % events.len()];
    let ctx = |i: usize| RequestContext {
        received_at: Utc::now(),
        ip: pick(i).1.parse().ok(),
        user_agent: pick(i).2.to_string(),
    };
    time("decode (Plausible JSON)", n, |i| {
        let _ = decode_plausible(pick(i).0.as_bytes(), &ctx(i));
    });
    time("user agent (cached)", n, |i| {
        let _ = enrichers
            .user_agents
            .parse(USER_AGENTS[i % USER_AGENTS.len()]);
    });
    time("user agent (uncached)", n.min(20_000), |i| {
        let _ = enrichers
            .user_agents
            .parse(&format!("{} Build/{i}", USER_AGENTS[i % USER_AGENTS.len()]));
    });
    time("bot check", n, |i| {
        let agent = pick(i).2;
        let info = enrichers.user_agents.parse(agent);
        let _ = enrichers.bots.check(agent, &info);
    });
    time("geo lookup", n, |i| {
        if let Ok(ip) = pick(i).1.parse() {
            let _ = enrichers.geo.lookup(ip);
        }
    });
    time("page url + utm + search term", n, |i| {
        let _ = page_url::parse_page_url(
            &format!(
                "https://bench.gemeente.nl/zoeken?q=term{}&utm_source=x",
                i % 50
            ),
            &site,
            false,
        );
    });
    time("referrer classification", n, |i| {
        let page =
            page_url::parse_page_url("https://bench.gemeente.nl/", &site, false).expect("url");
        let _ = enrichers.referrers.classify_page(
            ["https://www.google.nl/", "https://nu.nl/a", ""][i % 3],
            &page,
            &site,
        );
    });
    time("pii scrub (text with digits)", n, |i| {
        let _ = pii::scrub(&format!("/aanvraag/{}/status", 100_000 + i));
    });
    let pipeline = Pipeline::new(
        Arc::new(SiteRegistry::new([site.clone()])),
        Arc::new(EphemeralSalts::default()),
        enrichers,
    );
    let raws: Vec<_> = (0..events.len())
        .map(|i| decode_plausible(pick(i).0.as_bytes(), &ctx(i)).expect("decode"))
        .collect();
    time("whole pipeline (validate→sessionize)", n, |i| {
        let _ = pipeline.process(&raws[i % raws.len()][0]);
    });
    Ok(())
}
