//! Where a visit came from: the stored referrer, its source name (`Google`, `NU.nl`,
//! `Direct / None`) and its acquisition channel (`Organic Search`, `Email`, …).
//!
//! Source names come from Snowplow's `referers.yml` (optional) overlaid with a built-in table
//! of what a Dutch municipal site sees: news sites, government partners, current social and AI
//! services, Android apps. Names and channel rules follow Plausible so numbers compare.
//!
//! This module only classifies; it does not decide whether a referrer counts for a session.

use super::channel::{channel, ChannelInput};
use super::page_url::{ClickId, PageUrl};
use super::pii::{self, truncate_on_char_boundary};
use super::{read_data_file, EnrichError};
use luister_model::Site;
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::path::Path;
use url::Url;

/// Source of a visit without referrer and without campaign tag.
pub const DIRECT_NONE: &str = "Direct / None";

/// Longest stored referrer.
pub const MAX_REFERRER_BYTES: usize = 2048;

/// Every channel [`ReferrerClassifier::classify`] can return, as Plausible names them.
pub const CHANNELS: &[&str] = &[
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "AI Assistants",
    "Organic Search",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Direct",
];

/// What [`ReferrerClassifier::classify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Referral {
    /// Stored form: host without `www.` plus path, no query, no trailing slash, scrubbed;
    /// `android-app://package` for app referrers; empty for none or a self-referral.
    pub referrer: String,
    pub source: String,
    pub channel: String,
}

/// Campaign tags of the landing page, as far as they affect source and channel.
#[derive(Debug, Clone, Copy, Default)]
pub struct CampaignTags<'a> {
    pub utm_source: &'a str,
    pub utm_medium: &'a str,
    pub utm_campaign: &'a str,
    pub click_id: Option<ClickId>,
}

impl<'a> CampaignTags<'a> {
    /// The tags parsed from a page URL.
    pub fn from_page(page: &'a PageUrl) -> Self {
        Self {
            utm_source: &page.utm_source,
            utm_medium: &page.utm_medium,
            utm_campaign: &page.utm_campaign,
            click_id: page.click_id,
        }
    }
}

/// The kind of a known source, which decides its organic channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Search,
    Social,
    Video,
    Shopping,
    Email,
    AiAssistant,
    Other,
}

#[derive(Debug)]
struct KnownSource {
    name: String,
    category: Category,
}

/// Names the source and channel of a referrer; built once, shared read-only.
#[derive(Debug)]
pub struct ReferrerClassifier {
    sources: Vec<KnownSource>,
    /// Host without `www.` (or `android-app://package`) → source.
    by_host: HashMap<String, usize>,
    /// Host without `www.` → (path prefix, source), for entries such as `google.nl/imgres`.
    by_host_path: HashMap<String, Vec<(String, usize)>>,
    /// Lower-case name or `utm_source` shorthand → source.
    by_name: HashMap<String, usize>,
    /// Lower-case `utm_source` values that mean an ad, whatever the medium.
    paid_sources: Vec<&'static str>,
    google: usize,
}

/// Built-in sources, one per line: `category | name | hosts`. They win over `referers.yml`.
/// Google's country domains are also matched by rule ([`is_google_search_host`]).
const BUILT_IN: &str = "
search   | Google                   | google.com google.nl google.be google.de google.co.uk news.google.com lens.google.com android-app://com.google.android.googlequicksearchbox
search   | Bing                     | bing.com cn.bing.com ntp.msn.com
search   | DuckDuckGo               | duckduckgo.com html.duckduckgo.com lite.duckduckgo.com android-app://com.duckduckgo.mobile.android
search   | Ecosia                   | ecosia.org android-app://com.ecosia.android
search   | Startpage                | startpage.com startpage.nl ixquick.com
search   | Yahoo!                   | yahoo.com search.yahoo.com yahoo.nl
search   | Yandex                   | yandex.ru yandex.com ya.ru
search   | Baidu                    | baidu.com
search   | Brave                    | search.brave.com
search   | Qwant                    | qwant.com lite.qwant.com
social   | Facebook                 | facebook.com l.facebook.com lm.facebook.com m.facebook.com web.facebook.com fb.me fb.com android-app://com.facebook.katana android-app://com.facebook.lite
social   | Instagram                | instagram.com l.instagram.com android-app://com.instagram.android
social   | Twitter                  | twitter.com mobile.twitter.com t.co x.com android-app://com.twitter.android
social   | LinkedIn                 | linkedin.com lnkd.in android-app://com.linkedin.android
social   | Reddit                   | reddit.com old.reddit.com out.reddit.com android-app://com.reddit.frontpage
social   | TikTok                   | tiktok.com android-app://com.zhiliaoapp.musically
social   | WhatsApp                 | whatsapp.com web.whatsapp.com wa.me android-app://com.whatsapp
social   | Telegram                 | t.me telegram.org web.telegram.org android-app://org.telegram.messenger
social   | Pinterest                | pinterest.com pinterest.nl pin.it
social   | Threads                  | threads.net threads.com
social   | Bluesky                  | bsky.app
social   | Mastodon                 | mastodon.social mastodon.nl
social   | Snapchat                 | snapchat.com
social   | Microsoft Teams          | teams.microsoft.com teams.live.com statics.teams.cdn.office.net
social   | Slack                    | slack.com app.slack.com android-app://com.slack
social   | Discord                  | discord.com discordapp.com
social   | Nextdoor                 | nextdoor.nl nextdoor.com
social   | Hacker News              | news.ycombinator.com
social   | GitHub                   | github.com
video    | Youtube                  | youtube.com m.youtube.com music.youtube.com youtu.be android-app://com.google.android.youtube
video    | Vimeo                    | vimeo.com player.vimeo.com
video    | Twitch                   | twitch.tv
email    | Gmail                    | mail.google.com android-app://com.google.android.gm android-app://com.google.android.gm.lite
email    | Outlook.com              | outlook.live.com outlook.office.com outlook.office365.com mail.live.com android-app://com.microsoft.office.outlook
email    | Yahoo! Mail              | mail.yahoo.com
email    | Newsletter               |
email    | Nieuwsbrief              |
ai       | ChatGPT                  | chatgpt.com chat.openai.com
ai       | Perplexity               | perplexity.ai
ai       | Copilot                  | copilot.microsoft.com
ai       | Google Gemini            | gemini.google.com
ai       | Claude                   | claude.ai
ai       | DeepSeek                 | chat.deepseek.com
shopping | Marktplaats              | marktplaats.nl link.marktplaats.nl
shopping | Bol.com                  | bol.com
shopping | Amazon                   | amazon.com amazon.nl amazon.de
other    | NU.nl                    | nu.nl
other    | Tweakers                 | tweakers.net
other    | NOS                      | nos.nl
other    | Rijksoverheid            | rijksoverheid.nl government.nl
other    | Overheid.nl              | overheid.nl
other    | MijnOverheid             | mijnoverheid.nl
other    | DigiD                    | digid.nl
other    | Belastingdienst          | belastingdienst.nl
other    | Dienst Toeslagen         | toeslagen.nl
other    | UWV                      | uwv.nl werk.nl
other    | SVB                      | svb.nl
other    | DUO                      | duo.nl
other    | Nibud                    | nibud.nl
other    | Geldfit                  | geldfit.nl
other    | SchuldHulpMaatje         | schuldhulpmaatje.nl
other    | KVK                      | kvk.nl
other    | RVO                      | rvo.nl
other    | CBS                      | cbs.nl
other    | Politie                  | politie.nl
other    | Officiële Bekendmakingen | officielebekendmakingen.nl
other    | Wikipedia                | wikipedia.org
";

/// `utm_source` shorthands, one per line: `value | canonical name | paid` (`paid`: the value
/// marks an ad whatever the medium).
const ALIASES: &str = "
fb               | Facebook    |
fcb              | Facebook    |
fb-ads           | Facebook    | paid
fbads            | Facebook    | paid
fbad             | Facebook    | paid
facebook-ads     | Facebook    | paid
facebook_ads     | Facebook    | paid
facebook_ad      | Facebook    | paid
facebook_feed_ad | Facebook    | paid
ig               | Instagram   |
yt               | Youtube     |
yt-ads           | Youtube     | paid
x                | Twitter     |
twitter-ads      | Twitter     | paid
reddit-ads       | Reddit      | paid
tiktokads        | TikTok      | paid
tik.tok          | TikTok      |
adwords          | Google      | paid
google_ads       | Google      | paid
google-ads       | Google      | paid
googleads        | Google      | paid
google ads       | Google      | paid
gads             | Google      | paid
";

/// The non-empty, non-comment lines of a table, split on `|` and trimmed.
fn table_rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split('|').map(str::trim).collect())
}

impl Category {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "search" => Category::Search,
            "social" => Category::Social,
            "video" => Category::Video,
            "shopping" => Category::Shopping,
            "email" => Category::Email,
            "ai" => Category::AiAssistant,
            "other" => Category::Other,
            _ => return None,
        })
    }
}

/// How a referrer or tag was resolved.
enum Resolved<'a> {
    Known(usize),
    Unknown(&'a str),
    Direct,
}

impl ReferrerClassifier {
    /// The built-in table, extended with a Snowplow `referers.yml` when given.
    pub fn load(referers_yml: Option<&Path>) -> Result<Self, EnrichError> {
        let mut classifier = Self::empty();
        if let Some(path) = referers_yml {
            let text = read_data_file(path)?;
            let doc: serde_yaml::Value =
                serde_yaml::from_str(&text).map_err(|e| EnrichError::parse(path, e))?;
            classifier
                .add_referers_yml(&doc)
                .map_err(|reason| EnrichError::parse(path, reason))?;
        }
        classifier.add_built_in();
        Ok(classifier)
    }

    /// The built-in table alone.
    pub fn built_in() -> Self {
        let mut classifier = Self::empty();
        classifier.add_built_in();
        classifier
    }

    fn empty() -> Self {
        Self {
            sources: Vec::new(),
            by_host: HashMap::new(),
            by_host_path: HashMap::new(),
            by_name: HashMap::new(),
            paid_sources: Vec::new(),
            google: 0,
        }
    }

    /// Classifies a referrer with the landing page's `utm_source` and `utm_medium`.
    pub fn classify(
        &self,
        referrer: &str,
        utm_source: &str,
        utm_medium: &str,
        site: &Site,
    ) -> Referral {
        let tags = CampaignTags {
            utm_source,
            utm_medium,
            ..CampaignTags::default()
        };
        self.classify_tagged(referrer, &tags, site)
    }

    /// Classifies a referrer with all campaign tags of the landing page.
    pub fn classify_page(&self, referrer: &str, page: &PageUrl, site: &Site) -> Referral {
        self.classify_tagged(referrer, &CampaignTags::from_page(page), site)
    }

    /// Classifies a referrer with explicit campaign tags.
    pub fn classify_tagged(
        &self,
        referrer: &str,
        tags: &CampaignTags<'_>,
        site: &Site,
    ) -> Referral {
        let parsed = parse_referrer(referrer).filter(|r| !r.is_self(site));
        let utm_source = tags.utm_source.trim();
        let resolved = if !utm_source.is_empty() {
            self.resolve_tag(utm_source)
        } else {
            match &parsed {
                Some(r) => self.resolve_host(&r.lookup_host, &r.path),
                None => Resolved::Direct,
            }
        };
        let (source, category) = match resolved {
            Resolved::Known(i) => (self.sources[i].name.as_str(), self.sources[i].category),
            Resolved::Unknown(name) => (name, Category::Other),
            Resolved::Direct => ("", Category::Other),
        };
        let utm_source_lc = utm_source.to_lowercase();
        let channel = channel(&ChannelInput {
            source: &source.to_lowercase(),
            category,
            utm_medium: &tags.utm_medium.trim().to_lowercase(),
            utm_campaign: &tags.utm_campaign.trim().to_lowercase(),
            utm_source: &utm_source_lc,
            paid_source: self.paid_sources.contains(&utm_source_lc.as_str()),
            click_id: tags.click_id,
        });
        let source = if source.is_empty() {
            DIRECT_NONE.to_string()
        } else {
            source.to_string()
        };
        Referral {
            referrer: parsed.map(|r| r.stored).unwrap_or_default(),
            source,
            channel: channel.to_string(),
        }
    }

    /// A `utm_source` value: a known name or shorthand, a known host, or itself.
    fn resolve_tag<'a>(&self, tag: &'a str) -> Resolved<'a> {
        let lower = tag.to_lowercase();
        if let Some(&i) = self.by_name.get(&lower) {
            return Resolved::Known(i);
        }
        let host = lower.strip_prefix("www.").unwrap_or(&lower);
        match self.by_host.get(host) {
            Some(&i) => Resolved::Known(i),
            None => Resolved::Unknown(tag),
        }
    }

    /// A referrer host: exact, then each parent domain; unknown hosts name themselves.
    fn resolve_host<'a>(&self, host: &'a str, path: &str) -> Resolved<'a> {
        let mut candidate = host;
        loop {
            if let Some(entries) = self.by_host_path.get(candidate) {
                if let Some((_, i)) = entries.iter().find(|(prefix, _)| path.starts_with(prefix)) {
                    return Resolved::Known(*i);
                }
            }
            if let Some(&i) = self.by_host.get(candidate) {
                return Resolved::Known(i);
            }
            if is_google_search_host(candidate) {
                return Resolved::Known(self.google);
            }
            match candidate.split_once('.') {
                Some((_, parent))
                    if parent.contains('.') && !host.starts_with("android-app://") =>
                {
                    candidate = parent
                }
                _ => return Resolved::Unknown(host),
            }
        }
    }

    /// Adds or finds a source; `force` sets the category even when one is known.
    fn intern(&mut self, name: &str, category: Category, force: bool) -> usize {
        let key = name.to_lowercase();
        if let Some(&i) = self.by_name.get(&key) {
            let known = &mut self.sources[i];
            if force || known.category == Category::Other {
                known.category = category;
            }
            return i;
        }
        self.sources.push(KnownSource {
            name: name.to_string(),
            category,
        });
        let i = self.sources.len() - 1;
        self.by_name.insert(key, i);
        i
    }

    fn add_host(&mut self, host: &str, source: usize, replace: bool) {
        let host = host.trim().to_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        if host.is_empty() {
            return;
        }
        match host.split_once('/') {
            Some((h, path)) if !host.starts_with("android-app://") => {
                let entries = self.by_host_path.entry(h.to_string()).or_default();
                let prefix = format!("/{}", path.trim_end_matches('/'));
                if !entries.iter().any(|(p, _)| *p == prefix) {
                    entries.push((prefix, source));
                }
            }
            _ => {
                if replace {
                    self.by_host.insert(host.to_string(), source);
                } else {
                    self.by_host.entry(host.to_string()).or_insert(source);
                }
            }
        }
    }

    /// Reads Snowplow's layout: medium → source name → `{domains: [...], parameters: [...]}`.
    fn add_referers_yml(&mut self, doc: &serde_yaml::Value) -> Result<(), String> {
        let mediums = doc
            .as_mapping()
            .ok_or("top level is not a mapping of mediums")?;
        for (medium, sources) in mediums {
            let category = match medium.as_str() {
                Some("search") => Category::Search,
                Some("social") => Category::Social,
                Some("email") => Category::Email,
                Some("video") => Category::Video,
                _ => Category::Other,
            };
            let Some(sources) = sources.as_mapping() else {
                continue;
            };
            for (name, entry) in sources {
                let Some(name) = name.as_str().filter(|n| !n.trim().is_empty()) else {
                    continue;
                };
                let index = self.intern(name.trim(), category, false);
                let domains = entry
                    .get("domains")
                    .and_then(serde_yaml::Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .filter_map(serde_yaml::Value::as_str);
                for domain in domains {
                    self.add_host(domain, index, false);
                }
            }
        }
        Ok(())
    }

    fn add_built_in(&mut self) {
        for row in table_rows(BUILT_IN) {
            let [category, name, hosts] = row[..] else {
                continue;
            };
            let Some(category) = Category::parse(category) else {
                continue;
            };
            let index = self.intern(name, category, true);
            for host in hosts.split_whitespace() {
                self.add_host(host, index, true);
            }
        }
        for row in table_rows(ALIASES) {
            let [alias, name, paid] = row[..] else {
                continue;
            };
            let index = self.intern(name, Category::Other, false);
            self.by_name.insert(alias.to_string(), index);
            if paid == "paid" {
                self.paid_sources.push(alias);
            }
        }
        self.google = self.intern("Google", Category::Search, true);
    }
}

/// `google.<tld>`, `google.co.<cc>` and `google.com.<cc>`.
fn is_google_search_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("google.") else {
        return false;
    };
    let short_label =
        |l: &str| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase());
    match rest.split_once('.') {
        None => short_label(rest),
        Some((second, country)) => {
            matches!(second, "co" | "com") && country.len() == 2 && short_label(country)
        }
    }
}

struct ParsedReferrer {
    /// Lower-case host as sent (for the self-referral check).
    host: String,
    /// Host without `www.`, or `android-app://package`.
    lookup_host: String,
    /// Decoded path.
    path: String,
    stored: String,
}

impl ParsedReferrer {
    fn is_self(&self, site: &Site) -> bool {
        self.host == "localhost" || site.owns_host(&self.host)
    }
}

fn parse_referrer(raw: &str) -> Option<ParsedReferrer> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    match url.scheme() {
        "http" | "https" => {
            let bare = host.strip_prefix("www.").unwrap_or(&host).to_string();
            let path = percent_decode_str(url.path())
                .decode_utf8_lossy()
                .into_owned();
            let stored = format!("{bare}{}", path.trim_end_matches('/'));
            let stored = pii::scrub(&stored).into_owned();
            Some(ParsedReferrer {
                lookup_host: bare,
                stored: truncate_on_char_boundary(stored, MAX_REFERRER_BYTES),
                path,
                host,
            })
        }
        "android-app" => {
            let app = format!("android-app://{host}");
            Some(ParsedReferrer {
                stored: truncate_on_char_boundary(app.clone(), MAX_REFERRER_BYTES),
                lookup_host: app,
                path: String::new(),
                host,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{file_names, test_data_file};
    use std::sync::LazyLock;

    static WITH_FILE: LazyLock<ReferrerClassifier> = LazyLock::new(|| {
        ReferrerClassifier::load(Some(&test_data_file(file_names::REFERERS_YML)))
            .expect("referers.yml loads")
    });

    fn site() -> Site {
        let mut site = Site::new("enschede.nl");
        site.extra_hosts.push("campagne.example".into());
        site
    }

    /// `referrer | utm_source | utm_medium | utm_campaign | click id | stored referrer |
    /// source | channel`; `-` is an empty field.
    const CASES: &str = "
    -                                                | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    https://www.google.com/                          | -           | -           | -                  | -       | google.com                         | Google               | Organic Search
    https://www.google.nl/                           | -           | -           | -                  | -       | google.nl                          | Google               | Organic Search
    https://www.google.co.uk/search?q=x              | -           | -           | -                  | -       | google.co.uk/search                | Google               | Organic Search
    https://google.com.au/                           | -           | -           | -                  | -       | google.com.au                      | Google               | Organic Search
    https://google.fr/                               | -           | -           | -                  | -       | google.fr                          | Google               | Organic Search
    https://www.bing.com/                            | -           | -           | -                  | -       | bing.com                           | Bing                 | Organic Search
    https://duckduckgo.com/                          | -           | -           | -                  | -       | duckduckgo.com                     | DuckDuckGo           | Organic Search
    https://www.ecosia.org/                          | -           | -           | -                  | -       | ecosia.org                         | Ecosia               | Organic Search
    https://www.startpage.com/                       | -           | -           | -                  | -       | startpage.com                      | Startpage            | Organic Search
    https://nl.search.yahoo.com/                     | -           | -           | -                  | -       | nl.search.yahoo.com                | Yahoo!               | Organic Search
    https://l.facebook.com/                          | -           | -           | -                  | -       | l.facebook.com                     | Facebook             | Organic Social
    https://m.facebook.com/                          | -           | -           | -                  | -       | m.facebook.com                     | Facebook             | Organic Social
    https://t.co/abc123                              | -           | -           | -                  | -       | t.co/abc123                        | Twitter              | Organic Social
    https://lnkd.in/                                 | -           | -           | -                  | -       | lnkd.in                            | LinkedIn             | Organic Social
    https://www.linkedin.com/                        | -           | -           | -                  | -       | linkedin.com                       | LinkedIn             | Organic Social
    https://www.instagram.com/                       | -           | -           | -                  | -       | instagram.com                      | Instagram            | Organic Social
    https://www.reddit.com/r/thenetherlands/         | -           | -           | -                  | -       | reddit.com/r/thenetherlands        | Reddit               | Organic Social
    https://www.tiktok.com/                          | -           | -           | -                  | -       | tiktok.com                         | TikTok               | Organic Social
    https://web.whatsapp.com/                        | -           | -           | -                  | -       | web.whatsapp.com                   | WhatsApp             | Organic Social
    https://www.youtube.com/                         | -           | -           | -                  | -       | youtube.com                        | Youtube              | Organic Video
    https://chatgpt.com/                             | -           | -           | -                  | -       | chatgpt.com                        | ChatGPT              | AI Assistants
    https://chat.openai.com/                         | -           | -           | -                  | -       | chat.openai.com                    | ChatGPT              | AI Assistants
    https://www.perplexity.ai/                       | -           | -           | -                  | -       | perplexity.ai                      | Perplexity           | AI Assistants
    https://copilot.microsoft.com/                   | -           | -           | -                  | -       | copilot.microsoft.com              | Copilot              | AI Assistants
    android-app://com.google.android.gm              | -           | -           | -                  | -       | android-app://com.google.android.gm | Gmail               | Email
    android-app://com.example.app/                   | -           | -           | -                  | -       | android-app://com.example.app      | android-app://com.example.app | Referral
    https://mail.google.com/                         | -           | -           | -                  | -       | mail.google.com                    | Gmail                | Email
    https://www.nu.nl/binnenland/123/artikel.html    | -           | -           | -                  | -       | nu.nl/binnenland/123/artikel.html  | NU.nl                | Referral
    https://tweakers.net/                            | -           | -           | -                  | -       | tweakers.net                       | Tweakers             | Referral
    https://www.rijksoverheid.nl/onderwerpen/        | -           | -           | -                  | -       | rijksoverheid.nl/onderwerpen       | Rijksoverheid        | Referral
    https://wetten.overheid.nl/                      | -           | -           | -                  | -       | wetten.overheid.nl                 | Overheid.nl          | Referral
    https://mijn.belastingdienst.nl/                 | -           | -           | -                  | -       | mijn.belastingdienst.nl            | Belastingdienst      | Referral
    https://www.uwv.nl/                              | -           | -           | -                  | -       | uwv.nl                             | UWV                  | Referral
    https://www.svb.nl/                              | -           | -           | -                  | -       | svb.nl                             | SVB                  | Referral
    https://duo.nl/                                  | -           | -           | -                  | -       | duo.nl                             | DUO                  | Referral
    https://www.nibud.nl/                            | -           | -           | -                  | -       | nibud.nl                           | Nibud                | Referral
    https://www.geldfit.nl/                          | -           | -           | -                  | -       | geldfit.nl                         | Geldfit              | Referral
    https://www.schuldhulpmaatje.nl/                 | -           | -           | -                  | -       | schuldhulpmaatje.nl                | SchuldHulpMaatje     | Referral
    https://mijnoverheid.nl/                         | -           | -           | -                  | -       | mijnoverheid.nl                    | MijnOverheid         | Referral
    https://www.marktplaats.nl/                      | -           | -           | -                  | -       | marktplaats.nl                     | Marktplaats          | Organic Shopping
    https://nl.wikipedia.org/wiki/Enschede           | -           | -           | -                  | -       | nl.wikipedia.org/wiki/Enschede     | Wikipedia            | Referral
    https://www.buurtblog.nl/post/1/                 | -           | -           | -                  | -       | buurtblog.nl/post/1                | buurtblog.nl         | Referral
    https://www.buurtblog.nl/contact/jan@example.nl  | -           | -           | -                  | -       | buurtblog.nl/contact/[email]       | buurtblog.nl         | Referral
    # self-referrals and junk
    https://www.enschede.nl/afval                    | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    https://loket.enschede.nl/                       | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    https://campagne.example/                        | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    http://localhost:3000/                           | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    not a url                                        | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    ftp://example.nl/                                | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    about:blank                                      | -           | -           | -                  | -       | -                                  | Direct / None        | Direct
    # campaign tags
    -                                                | google      | cpc         | -                  | -       | -                                  | Google               | Paid Search
    https://www.google.com/                          | -           | -           | -                  | gclid   | google.com                         | Google               | Paid Search
    https://www.bing.com/                            | -           | -           | -                  | msclkid | bing.com                           | Bing                 | Paid Search
    https://www.bing.com/                            | -           | -           | -                  | gclid   | bing.com                           | Bing                 | Organic Search
    -                                                | fb          | paid_social | -                  | -       | -                                  | Facebook             | Paid Social
    -                                                | facebook_ads | -          | -                  | -       | -                                  | Facebook             | Paid Social
    -                                                | FACEBOOK    | -           | -                  | -       | -                                  | Facebook             | Organic Social
    https://www.google.com/                          | ig          | -           | -                  | -       | google.com                         | Instagram            | Organic Social
    -                                                | yt-ads      | -           | -                  | -       | -                                  | Youtube              | Paid Video
    -                                                | newsletter  | email       | -                  | -       | -                                  | Newsletter           | Email
    -                                                | Nieuwsbrief | -           | -                  | -       | -                                  | Nieuwsbrief          | Email
    -                                                | Mailchimp   | e-mail      | -                  | -       | -                                  | Mailchimp            | Email
    -                                                | laposta     | -           | -                  | -       | -                                  | laposta              | Referral
    -                                                | nu.nl       | -           | -                  | -       | -                                  | NU.nl                | Referral
    -                                                | partner     | affiliate   | -                  | -       | -                                  | partner              | Affiliates
    -                                                | spotify     | audio       | -                  | -       | -                                  | spotify              | Audio
    -                                                | sms         | -           | -                  | -       | -                                  | sms                  | SMS
    -                                                | app         | push        | -                  | -       | -                                  | app                  | Mobile Push Notifications
    -                                                | dpg         | display     | -                  | -       | -                                  | dpg                  | Display
    -                                                | dpg         | cpc         | -                  | -       | -                                  | dpg                  | Paid Other
    -                                                | google      | cpc         | cross-network-2026 | -       | -                                  | Google               | Cross-network
    -                                                | bol.com     | cpc         | -                  | -       | -                                  | Bol.com              | Paid Shopping
    -                                                | krant       | -           | eshop-actie        | -       | -                                  | krant                | Organic Shopping
    -                                                | krant       | -           | workshop           | -       | -                                  | krant                | Referral
    -                                                | -           | social      | -                  | -       | -                                  | Direct / None        | Organic Social
    -                                                | -           | referral    | -                  | -       | -                                  | Direct / None        | Referral
    https://www.enschede.nl/                         | nieuwsbrief | email       | -                  | -       | -                                  | Nieuwsbrief          | Email
    ";

    #[test]
    fn classification_table() {
        let site = site();
        let classifiers = [
            ("built-in", &ReferrerClassifier::built_in()),
            ("file", &*WITH_FILE),
        ];
        let rows: Vec<Vec<&str>> = CASES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .map(|f| if f == "-" { "" } else { f })
                    .collect()
            })
            .collect();
        assert!(rows.len() >= 30, "{} cases", rows.len());
        let mut failures = Vec::new();
        for (label, classifier) in classifiers {
            for row in &rows {
                let [referrer, utm_source, utm_medium, utm_campaign, click, stored, source, channel] =
                    row[..]
                else {
                    panic!("malformed case row {row:?}");
                };
                let click_id = match click {
                    "gclid" => Some(ClickId::Gclid),
                    "msclkid" => Some(ClickId::Msclkid),
                    _ => None,
                };
                let tags = CampaignTags {
                    utm_source,
                    utm_medium,
                    utm_campaign,
                    click_id,
                };
                let got = classifier.classify_tagged(referrer, &tags, &site);
                let got = (
                    got.referrer.as_str(),
                    got.source.as_str(),
                    got.channel.as_str(),
                );
                if got != (stored, source, channel) {
                    failures.push(format!("[{label}] {row:?}: got {got:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn built_in_tables_are_well_formed() {
        for row in table_rows(BUILT_IN) {
            assert_eq!(row.len(), 3, "{row:?}");
            assert!(Category::parse(row[0]).is_some(), "{row:?}");
            assert!(!row[1].is_empty(), "{row:?}");
        }
        for row in table_rows(ALIASES) {
            assert_eq!(row.len(), 3, "{row:?}");
            assert!(["", "paid"].contains(&row[2]), "{row:?}");
        }
    }

    #[test]
    fn the_file_adds_sources_the_built_in_table_lacks() {
        let site = site();
        let builtin = ReferrerClassifier::built_in();
        let referral = WITH_FILE.classify("https://www.myspace.com/", "", "", &site);
        assert_eq!(
            (referral.source.as_str(), referral.channel.as_str()),
            ("Myspace", "Organic Social")
        );
        let referral = builtin.classify("https://www.myspace.com/", "", "", &site);
        assert_eq!(
            (referral.source.as_str(), referral.channel.as_str()),
            ("myspace.com", "Referral")
        );
        // Host + path entries of the file.
        let referral = WITH_FILE.classify("https://www.google.nl/imgres?x=1", "", "", &site);
        assert_eq!(referral.source, "Google Images");
    }

    #[test]
    fn classify_page_uses_the_page_tags() {
        let mut page = PageUrl {
            utm_source: "google".into(),
            utm_medium: "cpc".into(),
            ..PageUrl::default()
        };
        let referral = WITH_FILE.classify_page("", &page, &site());
        assert_eq!(referral.channel, "Paid Search");
        page.utm_source.clear();
        page.utm_medium.clear();
        page.click_id = Some(ClickId::Gclid);
        let referral = WITH_FILE.classify_page("https://www.google.nl/", &page, &site());
        assert_eq!(referral.channel, "Paid Search");
    }

    #[test]
    fn every_channel_returned_is_listed() {
        let site = site();
        for medium in [
            "",
            "cpc",
            "display",
            "email",
            "affiliate",
            "audio",
            "sms",
            "push",
            "social",
            "video",
            "referral",
        ] {
            for source in ["", "google", "fb", "yt", "bol.com", "chatgpt.com", "x"] {
                let r = WITH_FILE.classify("", source, medium, &site);
                assert!(CHANNELS.contains(&r.channel.as_str()), "{}", r.channel);
            }
        }
    }

    #[test]
    fn google_host_rule() {
        for host in [
            "google.nl",
            "google.com",
            "google.co.uk",
            "google.com.br",
            "google.de",
        ] {
            assert!(is_google_search_host(host), "{host}");
        }
        for host in [
            "google.example.com",
            "googlex.nl",
            "google.com.evil.org",
            "google.nl.evil",
        ] {
            assert!(!is_google_search_host(host), "{host}");
        }
    }

    #[test]
    fn bad_files_are_reported() {
        let err =
            ReferrerClassifier::load(Some(Path::new("/nonexistent/referers.yml"))).unwrap_err();
        assert!(matches!(err, EnrichError::Read { .. }));
        let dir = std::env::temp_dir().join(format!("luister-referers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("referers.yml");
        std::fs::write(&path, "- just\n- a list\n").unwrap();
        let err = ReferrerClassifier::load(Some(&path)).unwrap_err();
        assert!(matches!(err, EnrichError::Parse { .. }), "{err}");
        std::fs::write(
            &path,
            "search: {Foo: {domains: [foo.example]}}\nsocial: 3\n",
        )
        .unwrap();
        let classifier = ReferrerClassifier::load(Some(&path)).unwrap();
        assert_eq!(
            classifier
                .classify("https://foo.example/", "", "", &site())
                .source,
            "Foo"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
