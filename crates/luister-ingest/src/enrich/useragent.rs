//! Browser, operating system and device of a User-Agent, named as Plausible names them.
//!
//! Parsing uses uap-core's `regexes.yaml` through the `ua-parser` crate; results are kept in a
//! bounded, sharded LRU cache so the handful of agents that make up most traffic cost one hash
//! lookup. This module does not decide whether an agent is a bot (see [`super::bots`]); it only
//! reports ua-parser's own "Spider" verdict.

use super::{read_data_file, EnrichError};
use lru::LruCache;
use parking_lot::Mutex;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

/// Agents longer than this are cut (on a character boundary) before parsing and caching.
pub const MAX_USER_AGENT_BYTES: usize = 512;
/// Entries kept in the cache, over all shards.
pub const CACHE_ENTRIES: usize = 10_000;
const SHARDS: usize = 16;

/// What a User-Agent says about the visitor's software and device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgentInfo {
    /// E.g. `Chrome`, `Safari`, `Microsoft Edge`; empty when unknown.
    pub browser: String,
    /// `major.minor` at most.
    pub browser_version: String,
    /// E.g. `Windows`, `Mac`, `iOS`, `Android`, `GNU/Linux`; empty when unknown.
    pub os: String,
    /// `major.minor` at most.
    pub os_version: String,
    /// `Desktop`, `Mobile` or `Tablet`.
    pub device: String,
    /// ua-parser recognised a crawler ("Spider" device).
    pub is_spider: bool,
}

/// Parses User-Agents with uap-core's rules; cheap to share between threads.
pub struct UserAgentParser {
    extractor: ua_parser::Extractor<'static>,
    shards: Vec<Mutex<LruCache<String, Arc<UserAgentInfo>>>>,
    hasher: BuildHasherDefault<DefaultHasher>,
}

impl std::fmt::Debug for UserAgentParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentParser")
            .field("cached", &self.cached_entries())
            .finish_non_exhaustive()
    }
}

impl UserAgentParser {
    /// Loads uap-core's `regexes.yaml`.
    pub fn load(regexes_yaml: &Path) -> Result<Self, EnrichError> {
        let text = read_data_file(regexes_yaml)?;
        Self::from_yaml(&text).map_err(|reason| EnrichError::parse(regexes_yaml, reason))
    }

    /// Builds a parser from the text of a `regexes.yaml`.
    pub fn from_yaml(yaml: &str) -> Result<Self, String> {
        // `Regexes` deserialises into owned strings, so the extractor does not borrow `yaml`.
        let regexes: ua_parser::Regexes<'static> =
            serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        let extractor = ua_parser::Extractor::try_from(regexes).map_err(|e| e.to_string())?;
        let per_shard =
            NonZeroUsize::new(CACHE_ENTRIES.div_ceil(SHARDS)).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            extractor,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard)))
                .collect(),
            hasher: BuildHasherDefault::default(),
        })
    }

    /// Parses `ua` (cut to [`MAX_USER_AGENT_BYTES`]), from the cache when seen recently.
    pub fn parse(&self, ua: &str) -> Arc<UserAgentInfo> {
        let ua = truncate(ua.trim(), MAX_USER_AGENT_BYTES);
        let shard = &self.shards[self.hasher.hash_one(ua) as usize % SHARDS];
        if let Some(hit) = shard.lock().get(ua) {
            return Arc::clone(hit);
        }
        let info = Arc::new(self.parse_uncached(ua));
        shard.lock().put(ua.to_string(), Arc::clone(&info));
        info
    }

    /// Number of agents currently cached.
    pub fn cached_entries(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    fn parse_uncached(&self, ua: &str) -> UserAgentInfo {
        if ua.is_empty() {
            return UserAgentInfo {
                device: "Desktop".into(),
                ..UserAgentInfo::default()
            };
        }
        let extractor: &ua_parser::Extractor<'_> = &self.extractor;
        let (client, os, device) = extractor.extract(ua);
        let device_family = device.as_ref().map(|d| d.device.as_ref()).unwrap_or("");
        let os_family = os.as_ref().map(|o| o.os.as_ref()).unwrap_or("");
        let device_kind = device_kind(ua, device_family, os_family);

        let (browser, browser_version) = match &client {
            Some(c) => {
                let name = browser_name(&c.family);
                let version = if name.is_empty() || name == MOBILE_APP {
                    String::new()
                } else {
                    major_minor(c.major, c.minor)
                };
                (name.to_string(), version)
            }
            None => (String::new(), String::new()),
        };
        let (os_name, os_version) = match &os {
            Some(o) => {
                let name = os_name(&o.os, device_family);
                let version = if name.is_empty() {
                    String::new()
                } else {
                    major_minor(o.major.as_deref(), o.minor.as_deref())
                };
                (name, version)
            }
            None => (String::new(), String::new()),
        };
        UserAgentInfo {
            browser,
            browser_version,
            os: os_name,
            os_version,
            device: device_kind.to_string(),
            is_spider: device_family == "Spider",
        }
    }
}

const MOBILE_APP: &str = "Mobile App";

/// ua-parser browser family → Plausible's browser name.
fn browser_name(family: &str) -> &str {
    match family {
        "Other" | "" => "",
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Mobile Safari" => "Safari",
        "Firefox Mobile" | "Firefox iOS" | "Firefox Beta" | "Firefox Alpha" | "Firefox Nightly" => {
            "Firefox"
        }
        "Edge" | "Edge Mobile" => "Microsoft Edge",
        "Opera Mobile" | "Opera Mini" | "Opera Tablet" | "Opera Neon" => "Opera",
        "Samsung Internet" => "Samsung Browser",
        "IE" | "IE Mobile" => "Internet Explorer",
        "HeadlessChrome" => "Headless Chrome",
        "DuckDuckGo Mobile" => "DuckDuckGo Privacy Browser",
        "Yandex Browser" | "YandexSearch" => "Yandex Browser",
        "Chrome Mobile WebView"
        | "Mobile Safari UI/WKWebView"
        | "Facebook"
        | "Instagram"
        | "Twitter"
        | "LinkedIn"
        | "Pinterest"
        | "Snapchat"
        | "TikTok"
        | "Google" => MOBILE_APP,
        other => other,
    }
}

/// ua-parser OS family → Plausible's OS name.
fn os_name(family: &str, device_family: &str) -> String {
    let name = match family {
        "Other" | "" => "",
        "Mac OS X" | "Mac OS" | "macOS" => "Mac",
        "iOS" if device_family == "iPad" => "iPadOS",
        "Linux" => "GNU/Linux",
        f if f.starts_with("Windows")
            && !f.starts_with("Windows Phone")
            && !f.starts_with("Windows Mobile")
            && !f.starts_with("Windows CE")
            && !f.starts_with("Windows RT") =>
        {
            "Windows"
        }
        other => other,
    };
    name.to_string()
}

fn device_kind(ua: &str, device_family: &str, os: &str) -> &'static str {
    let tablet_token = (ua.contains("Tablet") && !ua.contains("Tablet PC"))
        || ua.contains("Silk/")
        || ua.contains("PlayBook")
        || ua.contains("Kindle");
    if device_family == "iPad"
        || device_family.contains("Tablet")
        || device_family.starts_with("Kindle")
        || tablet_token
        || (os == "Android" && !ua.contains("Mobile"))
    {
        return "Tablet";
    }
    let mobile_os = matches!(
        os,
        "iOS"
            | "Android"
            | "Windows Phone"
            | "Windows Mobile"
            | "BlackBerry OS"
            | "KaiOS"
            | "Symbian OS"
            | "Firefox OS"
    );
    if matches!(device_family, "iPhone" | "iPod")
        || mobile_os
        || ua.contains("Mobi")
        || ua.contains("Opera Mini")
    {
        return "Mobile";
    }
    "Desktop"
}

fn major_minor(major: Option<&str>, minor: Option<&str>) -> String {
    match (
        major.filter(|m| !m.is_empty()),
        minor.filter(|m| !m.is_empty()),
    ) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        (Some(major), None) => major.to_string(),
        (None, _) => String::new(),
    }
}

fn truncate(s: &str, max: usize) -> &str {
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
    use crate::enrich::{file_names, test_data_file};
    use std::sync::LazyLock;

    pub(crate) static PARSER: LazyLock<UserAgentParser> = LazyLock::new(|| {
        UserAgentParser::load(&test_data_file(file_names::REGEXES_YAML))
            .expect("regexes.yaml loads")
    });

    #[test]
    fn real_agents() {
        // (agent, browser, browser version, os, os version, device, spider)
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, (&str, &str, &str, &str, &str, bool))] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                ("Chrome", "131.0", "Windows", "10", "Desktop", false),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                ("Microsoft Edge", "131.0", "Windows", "10", "Desktop", false),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                ("Safari", "18.1", "Mac", "10.15", "Desktop", false),
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                ("Firefox", "133.0", "Ubuntu", "", "Desktop", false),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
                ("Chrome", "130.0", "GNU/Linux", "", "Desktop", false),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                ("Safari", "18.1", "iOS", "18.1", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
                ("Safari", "17.6", "iPadOS", "17.6", "Tablet", false),
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                ("Chrome", "131.0", "Android", "10", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                ("Chrome", "131.0", "Android", "13", "Tablet", false),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                ("Samsung Browser", "26.0", "Android", "14", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
                ("Firefox", "133.0", "Android", "14", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                ("Chrome", "131.0", "iOS", "17.5", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36",
                ("Mobile App", "", "Android", "14", "Mobile", false),
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                ("Googlebot", "2.1", "", "", "Desktop", true),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                ("Headless Chrome", "131.0", "GNU/Linux", "", "Desktop", false),
            ),
            ("curl/8.5.0", ("curl", "8.5", "", "", "Desktop", false)),
            ("", ("", "", "", "", "Desktop", false)),
            ("\u{1F600} not an agent", ("", "", "", "", "Desktop", false)),
        ];
        let mut failures = Vec::new();
        for (ua, expected) in cases {
            let info = PARSER.parse(ua);
            let got = (
                info.browser.as_str(),
                info.browser_version.as_str(),
                info.os.as_str(),
                info.os_version.as_str(),
                info.device.as_str(),
                info.is_spider,
            );
            if got != *expected {
                failures.push(format!("{ua:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn repeated_agents_come_from_the_cache() {
        let parser = UserAgentParser::load(&test_data_file(file_names::REGEXES_YAML)).unwrap();
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        let first = parser.parse(ua);
        let second = parser.parse(ua);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(parser.cached_entries(), 1);
        // Agents that only differ past the cap share one entry.
        let long_a = format!("{}{}", "x".repeat(MAX_USER_AGENT_BYTES), "a");
        let long_b = format!("{}{}", "x".repeat(MAX_USER_AGENT_BYTES), "b");
        assert!(Arc::ptr_eq(&parser.parse(&long_a), &parser.parse(&long_b)));
        assert_eq!(parser.cached_entries(), 2);
    }

    #[test]
    fn the_cache_is_bounded() {
        let parser = UserAgentParser::from_yaml(
            "user_agent_parsers: []\nos_parsers: []\ndevice_parsers: []\n",
        )
        .unwrap();
        for i in 0..(CACHE_ENTRIES * 2) {
            parser.parse(&format!("agent {i}"));
        }
        assert!(parser.cached_entries() <= CACHE_ENTRIES);
        assert!(parser.cached_entries() > CACHE_ENTRIES / 2);
    }

    #[test]
    fn long_and_odd_agents_do_not_panic() {
        let odd = [
            "é".repeat(1000),
            "Mozilla/5.0 (".repeat(100),
            "\u{0}\u{1}\u{2}".to_string(),
            " ".repeat(600),
        ];
        for ua in &odd {
            let info = PARSER.parse(ua);
            assert!(["Desktop", "Mobile", "Tablet"].contains(&info.device.as_str()));
        }
    }

    #[test]
    fn bad_files_are_reported() {
        let err = UserAgentParser::load(Path::new("/nonexistent/regexes.yaml")).unwrap_err();
        assert!(matches!(err, EnrichError::Read { .. }));
        assert!(UserAgentParser::from_yaml("user_agent_parsers: 3").is_err());
        let bad_regex =
            "user_agent_parsers:\n  - regex: '(unclosed'\nos_parsers: []\ndevice_parsers: []\n";
        assert!(UserAgentParser::from_yaml(bad_regex).is_err());
    }

    #[test]
    fn versions_keep_major_and_minor() {
        assert_eq!(major_minor(Some("131"), Some("0")), "131.0");
        assert_eq!(major_minor(Some("10"), None), "10");
        assert_eq!(major_minor(Some(""), Some("1")), "");
        assert_eq!(major_minor(None, Some("1")), "");
    }
}
