//! Validate: is the event for a site we know, and is its URL usable?
//!
//! [`SiteRegistry`] is the in-memory copy of the `sites` table that every event is
//! checked against; the server refreshes it, the importer fills it once.

use luister_model::{RawEvent, Site};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

/// Known sites by domain and by Matomo `idsite`.
#[derive(Default)]
pub struct SiteRegistry {
    by_domain: RwLock<HashMap<String, Arc<Site>>>,
}

impl SiteRegistry {
    pub fn new(sites: impl IntoIterator<Item = Site>) -> Self {
        let registry = Self::default();
        registry.replace(sites);
        registry
    }

    /// Replaces the whole set (sites removed elsewhere disappear here).
    pub fn replace(&self, sites: impl IntoIterator<Item = Site>) {
        *self.by_domain.write() = sites
            .into_iter()
            .map(|s| (s.domain.clone(), Arc::new(s)))
            .collect();
    }

    /// The site for a domain; `www.x` finds `x` and the other way round.
    pub fn get(&self, domain: &str) -> Option<Arc<Site>> {
        let sites = self.by_domain.read();
        sites.get(domain).cloned().or_else(|| {
            let alternative = match domain.strip_prefix("www.") {
                Some(bare) => bare.to_string(),
                None => format!("www.{domain}"),
            };
            sites.get(&alternative).cloned()
        })
    }

    /// The site that an existing Matomo set-up knows as `idsite`.
    pub fn by_matomo_id(&self, id: u32) -> Option<Arc<Site>> {
        if id == 0 {
            return None;
        }
        self.by_domain
            .read()
            .values()
            .find(|s| s.matomo_id == id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.by_domain.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an event was refused at validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    UnknownSite,
    BadUrl(String),
}

/// Finds the event's site and checks the URL is an absolute http(s) URL.
pub fn validate(event: &RawEvent, sites: &SiteRegistry) -> Result<Arc<Site>, Invalid> {
    let site = sites.get(&event.domain).ok_or(Invalid::UnknownSite)?;
    let url = url::Url::parse(&event.url).map_err(|e| Invalid::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Invalid::BadUrl(format!(
            "{} is not an http(s) URL",
            url.scheme()
        )));
    }
    Ok(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sites_and_urls() {
        let mut site = Site::new("enschede.nl");
        site.matomo_id = 3;
        let sites = SiteRegistry::new([site]);
        let event = |domain: &str, url: &str| RawEvent {
            domain: domain.into(),
            url: url.into(),
            ..Default::default()
        };
        assert!(validate(&event("enschede.nl", "https://enschede.nl/a"), &sites).is_ok());
        assert!(validate(
            &event("www.enschede.nl", "https://www.enschede.nl/"),
            &sites
        )
        .is_ok());
        assert_eq!(
            validate(&event("hengelo.nl", "https://hengelo.nl/"), &sites).unwrap_err(),
            Invalid::UnknownSite
        );
        assert!(matches!(
            validate(&event("enschede.nl", "javascript:alert(1)"), &sites),
            Err(Invalid::BadUrl(_))
        ));
        assert!(matches!(
            validate(&event("enschede.nl", "/relative"), &sites),
            Err(Invalid::BadUrl(_))
        ));
        assert_eq!(sites.by_matomo_id(3).unwrap().domain, "enschede.nl");
        assert!(sites.by_matomo_id(0).is_none());
    }
}
