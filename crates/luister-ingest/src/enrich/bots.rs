//! Recognising visits that are not people: empty agents, crawlers (ua-parser's "Spider" and
//! the `crawler-user-agents` list) and headless browsers.
//!
//! This module only gives a verdict with a reason; dropping and counting happen in the
//! pipeline. Headless browsers can be allowed (`allow_headless`) so Luister's own browser
//! tests are counted.

use super::useragent::{UserAgentInfo, MAX_USER_AGENT_BYTES};
use super::{read_data_file, EnrichError};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use std::path::Path;

/// Why a visit is treated as a bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BotReason {
    /// No User-Agent at all.
    EmptyUserAgent,
    /// ua-parser classified the agent as a crawler.
    Spider,
    /// The agent matches a pattern of the crawler list.
    CrawlerList,
    /// An automated browser (HeadlessChrome, PhantomJS, Puppeteer, …).
    Headless,
}

impl BotReason {
    /// Label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            BotReason::EmptyUserAgent => "empty_user_agent",
            BotReason::Spider => "spider",
            BotReason::CrawlerList => "crawler_list",
            BotReason::Headless => "headless",
        }
    }
}

/// Automation tools that announce themselves in the agent.
const HEADLESS_PATTERNS: &[&str] = &[
    "HeadlessChrome",
    "PhantomJS",
    "SlimerJS",
    "Puppeteer",
    "Playwright",
    "Selenium",
    "Chrome-Lighthouse",
];

/// Used when no crawler list is loaded: generic marks of automated clients.
const FALLBACK_CRAWLER_PATTERNS: &[&str] = &[
    r"(?:bot|crawler|spider)(?:[/;)_\-]|$)",
    r"\+https?://",
    r"^(?:curl|wget|python-requests|python-urllib|aiohttp|go-http-client|java|okhttp|axios|node-fetch|libwww-perl|scrapy|httpie|apache-httpclient)/",
    r"facebookexternalhit|slurp|mediapartners|feedfetcher|bingpreview|archiver",
];

/// Patterns of the crawler list that mark automation tools rather than crawlers.
static HEADLESS_MARK: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    RegexBuilder::new("headless|phantom|lighthouse|selenium|puppeteer|playwright|slimer")
        .case_insensitive(true)
        .build()
        .expect("headless mark compiles")
});

#[derive(Deserialize)]
struct CrawlerEntry {
    pattern: String,
}

/// Gives a bot verdict for a User-Agent; built once, shared read-only.
#[derive(Debug, Clone)]
pub struct BotDetector {
    crawlers: Regex,
    headless: Regex,
    crawler_patterns: usize,
    /// Count headless browsers as people (for Luister's own browser tests). Default false.
    pub allow_headless: bool,
}

impl BotDetector {
    /// Loads `crawler-user-agents.json` (an array of `{"pattern": regex, …}`); without it a
    /// short built-in list of generic crawler marks is used.
    pub fn load(crawler_user_agents_json: Option<&Path>) -> Result<Self, EnrichError> {
        let Some(path) = crawler_user_agents_json else {
            return Self::from_patterns(FALLBACK_CRAWLER_PATTERNS.iter().map(|p| p.to_string()))
                .map_err(|e| EnrichError::parse(Path::new("<built-in crawler patterns>"), e));
        };
        let text = read_data_file(path)?;
        let entries: Vec<CrawlerEntry> =
            serde_json::from_str(&text).map_err(|e| EnrichError::parse(path, e))?;
        if entries.is_empty() {
            return Err(EnrichError::parse(path, "the crawler list is empty"));
        }
        Self::from_patterns(entries.into_iter().map(|e| e.pattern))
            .map_err(|e| EnrichError::parse(path, e))
    }

    /// Builder-style switch for [`BotDetector::allow_headless`].
    pub fn with_allow_headless(mut self, allow: bool) -> Self {
        self.allow_headless = allow;
        self
    }

    /// Number of crawler patterns in use (after moving automation tools to the headless check
    /// and leaving out patterns this regex engine cannot compile).
    pub fn crawler_patterns(&self) -> usize {
        self.crawler_patterns
    }

    fn from_patterns(patterns: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut crawlers = Vec::new();
        let mut headless: Vec<String> = HEADLESS_PATTERNS.iter().map(|p| p.to_string()).collect();
        for pattern in patterns.filter(|p| !p.trim().is_empty()) {
            if HEADLESS_MARK.is_match(&pattern) {
                headless.push(pattern);
            } else {
                crawlers.push(pattern);
            }
        }
        let crawler_regex = match alternation(&crawlers) {
            Ok(regex) => regex,
            Err(_) => {
                // One pattern in a syntax this engine lacks should not disable the whole list.
                let (usable, skipped): (Vec<_>, Vec<_>) = crawlers
                    .into_iter()
                    .partition(|p| alternation(std::slice::from_ref(p)).is_ok());
                tracing::warn!(
                    skipped = skipped.len(),
                    "crawler patterns the regex engine cannot compile were left out"
                );
                crawlers = usable;
                alternation(&crawlers).map_err(|e| e.to_string())?
            }
        };
        Ok(Self {
            crawlers: crawler_regex,
            headless: alternation(&headless).map_err(|e| e.to_string())?,
            crawler_patterns: crawlers.len(),
            allow_headless: false,
        })
    }

    /// The verdict for `ua`, whose parsed form is `info`; `None` for a person.
    pub fn check(&self, ua: &str, info: &UserAgentInfo) -> Option<BotReason> {
        let ua = ua.trim();
        if ua.is_empty() {
            return Some(BotReason::EmptyUserAgent);
        }
        let ua = cap(ua, MAX_USER_AGENT_BYTES);
        let headless = self.headless.is_match(ua);
        if headless && !self.allow_headless {
            return Some(BotReason::Headless);
        }
        // An allowed headless browser is not a spider either, whatever ua-parser makes of it.
        if info.is_spider && !headless {
            return Some(BotReason::Spider);
        }
        if self.crawlers.is_match(ua) {
            return Some(BotReason::CrawlerList);
        }
        None
    }
}

/// One case-insensitive regex matching any of `patterns`.
fn alternation(patterns: &[String]) -> Result<Regex, regex::Error> {
    if patterns.is_empty() {
        // Matches nothing.
        return Regex::new(r"[^\s\S]");
    }
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    RegexBuilder::new(&joined)
        .case_insensitive(true)
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
}

fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::useragent::UserAgentParser;
    use crate::enrich::{file_names, test_data_file};
    use std::sync::LazyLock;

    static PARSER: LazyLock<UserAgentParser> = LazyLock::new(|| {
        UserAgentParser::load(&test_data_file(file_names::REGEXES_YAML))
            .expect("regexes.yaml loads")
    });
    static DETECTOR: LazyLock<BotDetector> = LazyLock::new(|| {
        BotDetector::load(Some(&test_data_file(file_names::CRAWLER_USER_AGENTS_JSON)))
            .expect("crawler list loads")
    });

    const PEOPLE: &[&str] = &[
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBBV/600000000;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/nl_NL;FBOP/5]",
    ];

    #[test]
    fn people_pass() {
        let fallback = BotDetector::load(None).unwrap();
        for ua in PEOPLE {
            let info = PARSER.parse(ua);
            assert_eq!(DETECTOR.check(ua, &info), None, "{ua}");
            assert_eq!(fallback.check(ua, &info), None, "fallback: {ua}");
        }
    }

    #[test]
    fn bots_are_recognised() {
        let cases: &[(&str, BotReason)] = &[
            ("", BotReason::EmptyUserAgent),
            ("   ", BotReason::EmptyUserAgent),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BotReason::Spider),
            ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", BotReason::Spider),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", BotReason::Headless),
            ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", BotReason::Headless),
            ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", BotReason::Headless),
            ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", BotReason::CrawlerList),
            ("python-requests/2.31.0", BotReason::CrawlerList),
            ("Go-http-client/1.1", BotReason::CrawlerList),
            ("Wget/1.21.4", BotReason::CrawlerList),
        ];
        let mut failures = Vec::new();
        for (ua, expected) in cases {
            let info = PARSER.parse(ua);
            let got = DETECTOR.check(ua, &info);
            // Spider and crawler list both say "bot"; which one fires first depends on
            // ua-parser's coverage, so only headless and empty are checked exactly.
            let ok = match expected {
                BotReason::Spider | BotReason::CrawlerList => {
                    matches!(got, Some(BotReason::Spider | BotReason::CrawlerList))
                }
                _ => got == Some(*expected),
            };
            if !ok {
                failures.push(format!("{ua:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(
            DETECTOR.check(googlebot, &PARSER.parse(googlebot)),
            Some(BotReason::Spider)
        );
        // Not a ua-parser spider, only on the list.
        let ua = "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)";
        let mut info = (*PARSER.parse(ua)).clone();
        info.is_spider = false;
        assert_eq!(DETECTOR.check(ua, &info), Some(BotReason::CrawlerList));
    }

    #[test]
    fn headless_can_be_allowed() {
        let detector = DETECTOR.clone().with_allow_headless(true);
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        assert_eq!(detector.check(headless, &PARSER.parse(headless)), None);
        // Even when the parser had called it a spider.
        let mut info = (*PARSER.parse(headless)).clone();
        info.is_spider = true;
        assert_eq!(detector.check(headless, &info), None);
        assert_eq!(DETECTOR.check(headless, &info), Some(BotReason::Headless));
        // Allowing headless browsers does not let crawlers through.
        let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(
            detector.check(googlebot, &PARSER.parse(googlebot)),
            Some(BotReason::Spider)
        );
        assert_eq!(
            detector.check("", &UserAgentInfo::default()),
            Some(BotReason::EmptyUserAgent)
        );
        // A headless browser with a desktop agent override is a person either way.
        let desktop = PEOPLE[0];
        assert_eq!(DETECTOR.check(desktop, &PARSER.parse(desktop)), None);
    }

    #[test]
    fn the_list_is_used_whole() {
        assert!(
            DETECTOR.crawler_patterns() > 1000,
            "{}",
            DETECTOR.crawler_patterns()
        );
    }

    #[test]
    fn bad_lists_are_reported() {
        let dir = std::env::temp_dir().join(format!("luister-bots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("crawler-user-agents.json");
        std::fs::write(&path, "{\"pattern\": \"x\"}").unwrap();
        assert!(matches!(
            BotDetector::load(Some(&path)),
            Err(EnrichError::Parse { .. })
        ));
        std::fs::write(&path, "[]").unwrap();
        assert!(matches!(
            BotDetector::load(Some(&path)),
            Err(EnrichError::Parse { .. })
        ));
        // An unsupported pattern (look-ahead) is left out, the rest still works.
        std::fs::write(
            &path,
            r#"[{"pattern": "foo(?=bar)"}, {"pattern": "ExampleBot"}]"#,
        )
        .unwrap();
        let detector = BotDetector::load(Some(&path)).unwrap();
        assert_eq!(detector.crawler_patterns(), 1);
        assert_eq!(
            detector.check("examplebot/1.0", &UserAgentInfo::default()),
            Some(BotReason::CrawlerList)
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            BotDetector::load(Some(Path::new("/nonexistent/list.json"))),
            Err(EnrichError::Read { .. })
        ));
    }

    #[test]
    fn labels() {
        assert_eq!(BotReason::EmptyUserAgent.as_str(), "empty_user_agent");
        assert_eq!(BotReason::Spider.as_str(), "spider");
        assert_eq!(BotReason::CrawlerList.as_str(), "crawler_list");
        assert_eq!(BotReason::Headless.as_str(), "headless");
    }
}
