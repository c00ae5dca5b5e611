//! A tracked site and its per-site settings.

use serde::{Deserialize, Serialize};

/// URL parameters that mark a pageview as a site search unless a site configures its own.
pub const DEFAULT_SEARCH_PARAMS: &[&str] = &[
    "q",
    "query",
    "search",
    "s",
    "searchword",
    "k",
    "keyword",
    "zoekterm",
    "zoeken",
    "trefwoord",
];

/// How often the visitor-id salt of a site changes.
///
/// Daily is the privacy default (a person is unlinkable across days); weekly keeps a
/// citizen who starts on Monday and finishes on Wednesday one visitor in a funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SaltRotation {
    #[default]
    Daily,
    Weekly,
}

impl SaltRotation {
    pub fn as_str(self) -> &'static str {
        match self {
            SaltRotation::Daily => "daily",
            SaltRotation::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            _ => None,
        }
    }
}

/// A site as configured with `luister sites add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The domain, also the site's id in every API (`site_id=enschede.nl`).
    pub domain: String,
    /// IANA time zone in which days, weeks and months of reports begin.
    pub timezone: String,
    /// URL parameters that carry a site-search term.
    pub search_params: Vec<String>,
    /// Query parameters kept in stored URLs (everything else is dropped).
    pub allowed_params: Vec<String>,
    /// `idsite` of this site in an existing Matomo set-up, 0 when none.
    pub matomo_id: u32,
    /// Further hostnames whose pageviews belong to this site (e.g. `www.` or a campaign domain).
    pub extra_hosts: Vec<String>,
    pub salt_rotation: SaltRotation,
    /// Months of events kept; older ones are deleted by a daily job. 0 keeps everything.
    pub retention_months: u16,
    /// Opted in to the public monthly export of aggregated figures (`/open-data/{domain}`).
    pub open_data: bool,
}

impl Site {
    /// A site with the defaults a gemeente expects.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            timezone: "Europe/Amsterdam".into(),
            search_params: DEFAULT_SEARCH_PARAMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            allowed_params: Vec::new(),
            matomo_id: 0,
            extra_hosts: Vec::new(),
            salt_rotation: SaltRotation::Daily,
            retention_months: 0,
            open_data: false,
        }
    }

    /// Whether `host` (lower-case, without port) is the site's domain, one of its extra
    /// hosts, or a subdomain of either (`www.` or not).
    pub fn owns_host(&self, host: &str) -> bool {
        let host = host.strip_prefix("www.").unwrap_or(host);
        std::iter::once(&self.domain)
            .chain(&self.extra_hosts)
            .map(|own| own.strip_prefix("www.").unwrap_or(own))
            .any(|own| {
                host == own
                    || host
                        .strip_suffix(own)
                        .is_some_and(|prefix| prefix.ends_with('.'))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_its_domain_subdomains_and_extra_hosts() {
        let mut site = Site::new("enschede.nl");
        site.extra_hosts.push("campagne.example".into());
        assert!(site.owns_host("enschede.nl"));
        assert!(site.owns_host("www.enschede.nl"));
        assert!(site.owns_host("loket.enschede.nl"));
        assert!(site.owns_host("campagne.example"));
        assert!(site.owns_host("www.campagne.example"));
        assert!(site.owns_host("actie.campagne.example"));
        assert!(!site.owns_host("xcampagne.example"));
        assert!(!site.owns_host("notenschede.nl"));
        assert!(!site.owns_host("enschede.nl.evil.com"));
    }
}
