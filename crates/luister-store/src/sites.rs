//! The `sites` table: which domains Luister accepts events for, and their settings.

use crate::{Store, StoreError};
use luister_model::{SaltRotation, Site};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct SiteRow {
    domain: String,
    timezone: String,
    search_params: Vec<String>,
    allowed_params: Vec<String>,
    matomo_id: u32,
    extra_hosts: Vec<String>,
    salt_rotation: String,
    deleted: u8,
    version: u64,
    retention_months: u16,
    open_data: u8,
}

impl SiteRow {
    fn from_site(site: &Site, deleted: bool) -> Self {
        Self {
            domain: site.domain.clone(),
            timezone: site.timezone.clone(),
            search_params: site.search_params.clone(),
            allowed_params: site.allowed_params.clone(),
            matomo_id: site.matomo_id,
            extra_hosts: site.extra_hosts.clone(),
            salt_rotation: site.salt_rotation.as_str().into(),
            deleted: deleted.into(),
            version: version_now(),
            retention_months: site.retention_months,
            open_data: site.open_data.into(),
        }
    }

    fn into_site(self) -> Site {
        Site {
            domain: self.domain,
            timezone: self.timezone,
            search_params: self.search_params,
            allowed_params: self.allowed_params,
            matomo_id: self.matomo_id,
            extra_hosts: self.extra_hosts,
            salt_rotation: SaltRotation::parse(&self.salt_rotation).unwrap_or_default(),
            retention_months: self.retention_months,
            open_data: self.open_data != 0,
        }
    }
}

/// A version that grows with every write, so the newest row wins in `ReplacingMergeTree`.
pub(crate) fn version_now() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut last = LAST.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        let next = nanos.max(last + 1);
        match LAST.compare_exchange(
            last,
            next,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        ) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

impl Store {
    /// All sites that are not removed, by domain.
    pub async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        let rows: Vec<SiteRow> = self
            .client
            .query("SELECT ?fields FROM sites FINAL WHERE deleted = 0 ORDER BY domain")
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(SiteRow::into_site).collect())
    }

    pub async fn get_site(&self, domain: &str) -> Result<Option<Site>, StoreError> {
        let row: Option<SiteRow> = self
            .client
            .query("SELECT ?fields FROM sites FINAL WHERE domain = ? AND deleted = 0")
            .bind(domain)
            .fetch_optional()
            .await?;
        Ok(row.map(SiteRow::into_site))
    }

    /// Adds a site; an existing domain is an error rather than a silent overwrite.
    pub async fn add_site(&self, site: &Site) -> Result<(), StoreError> {
        validate_site(site)?;
        if self.get_site(&site.domain).await?.is_some() {
            return Err(StoreError::SiteExists(site.domain.clone()));
        }
        if site.matomo_id != 0 {
            if let Some(other) = self
                .list_sites()
                .await?
                .into_iter()
                .find(|s| s.matomo_id == site.matomo_id)
            {
                return Err(StoreError::Conflict(format!(
                    "matomo_id {} is already used by {}",
                    site.matomo_id, other.domain
                )));
            }
        }
        self.write_site(site, false).await
    }

    /// Replaces the settings of an existing site.
    pub async fn update_site(&self, site: &Site) -> Result<(), StoreError> {
        validate_site(site)?;
        if self.get_site(&site.domain).await?.is_none() {
            return Err(StoreError::SiteNotFound(site.domain.clone()));
        }
        self.write_site(site, false).await
    }

    /// Removes a site from the list; its events stay until retention drops them.
    /// Removes a site with its goals and saved funnels, and takes it out of every token
    /// (a token left without sites is revoked), so adding the domain again starts clean.
    /// Stored events stay until retention drops their month.
    pub async fn remove_site(&self, domain: &str) -> Result<SiteRemoval, StoreError> {
        let site = self
            .get_site(domain)
            .await?
            .ok_or_else(|| StoreError::SiteNotFound(domain.into()))?;
        let mut removal = SiteRemoval::default();
        for goal in self.list_goals(&site.domain).await? {
            self.delete_goal(&site.domain, &goal.id).await?;
            removal.goals += 1;
        }
        for funnel in self.list_funnels(&site.domain).await? {
            self.delete_funnel(&site.domain, &funnel.id).await?;
            removal.funnels += 1;
        }
        (removal.tokens_revoked, removal.tokens_narrowed) =
            self.remove_site_from_tokens(&site.domain).await?;
        self.write_site(&site, true).await?;
        Ok(removal)
    }

    /// Turns the site's public open-data export on or off; the site as it is now.
    pub async fn set_open_data(&self, domain: &str, on: bool) -> Result<Site, StoreError> {
        let mut site = self
            .get_site(domain)
            .await?
            .ok_or_else(|| StoreError::SiteNotFound(domain.into()))?;
        site.open_data = on;
        self.write_site(&site, false).await?;
        Ok(site)
    }

    async fn write_site(&self, site: &Site, deleted: bool) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<SiteRow>("sites").await?;
        insert.write(&SiteRow::from_site(site, deleted)).await?;
        insert.end().await?;
        Ok(())
    }
}

/// What removing a site removed with it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SiteRemoval {
    pub goals: usize,
    pub funnels: usize,
    /// Tokens for this site only, now revoked.
    pub tokens_revoked: usize,
    /// Tokens for several sites, which keep the others.
    pub tokens_narrowed: usize,
}

/// Whether `domain` is a lower-case host name as sites are registered under.
pub fn is_site_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// Whether `name` can be a URL parameter name in `search_params` or `allowed_params`.
pub fn is_param_name(name: &str) -> bool {
    (1..=60).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']'))
}

fn validate_site(site: &Site) -> Result<(), StoreError> {
    if !is_site_domain(&site.domain) {
        return Err(StoreError::Invalid {
            field: "domain",
            reason: format!(
                "{:?} is not a lower-case host name like gemeente.nl",
                site.domain
            ),
        });
    }
    if site.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(StoreError::Invalid {
            field: "timezone",
            reason: format!(
                "{:?} is not an IANA time zone like Europe/Amsterdam",
                site.timezone
            ),
        });
    }
    if let Some(host) = site.extra_hosts.iter().find(|h| !is_site_domain(h)) {
        return Err(StoreError::Invalid {
            field: "extra_hosts",
            reason: format!("{host:?} is not a lower-case host name like campagne.nl"),
        });
    }
    let params = site.search_params.iter().chain(&site.allowed_params);
    if let Some(name) = params.into_iter().find(|p| !is_param_name(p)) {
        return Err(StoreError::Invalid {
            field: "search_params",
            reason: format!("{name:?} is not a URL parameter name (letters, digits, _ . - [ ])"),
        });
    }
    if site.retention_months > MAX_RETENTION_MONTHS {
        return Err(StoreError::Invalid {
            field: "retention_months",
            reason: format!("at most {MAX_RETENTION_MONTHS} (0 keeps everything)"),
        });
    }
    Ok(())
}

/// The longest retention a site can be given: a hundred years.
pub const MAX_RETENTION_MONTHS: u16 = 1_200;
