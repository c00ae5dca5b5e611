//! The `share_links` table: read-only links to one site's dashboard and monitor.
//!
//! The secret part of a link exists once, in the return value of
//! [`Store::create_share_link`]; only its SHA-256 hash is stored, as with tokens.

use crate::tokens::hash_token;
use crate::users::{check_password_strength, hash_password, verify_password};
use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Characters of the hash shown as a link's id.
const ID_LEN: usize = 12;

/// A share link as shown to admins; the secret is not in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareLink {
    pub id: String,
    pub site_id: String,
    pub name: String,
    /// Whether opening the link asks for a password.
    pub has_password: bool,
    pub created_at: u32,
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct ShareLinkRow {
    link_hash: String,
    site_id: String,
    name: String,
    password_hash: String,
    created_at: u32,
    deleted: u8,
    version: u64,
}

impl ShareLinkRow {
    fn link(&self) -> ShareLink {
        ShareLink {
            id: self.link_hash.chars().take(ID_LEN).collect(),
            site_id: self.site_id.clone(),
            name: self.name.clone(),
            has_password: !self.password_hash.is_empty(),
            created_at: self.created_at,
        }
    }
}

const SELECT_LINKS: &str = "SELECT link_hash, site_id, name, password_hash, toUInt32(created_at) AS created_at, deleted, version FROM share_links FINAL";

/// Whether a share link's secret looks like one we made (before asking ClickHouse).
fn is_link_secret(secret: &str) -> bool {
    secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn new_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 43)
}

impl Store {
    /// Creates a share link for `site_id` and returns (link, secret); the secret goes in the URL.
    pub async fn create_share_link(
        &self,
        site_id: &str,
        name: &str,
        password: Option<&str>,
    ) -> Result<(ShareLink, String), StoreError> {
        if self.get_site(site_id).await?.is_none() {
            return Err(StoreError::SiteNotFound(site_id.into()));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a share link needs a name of 1 to 100 characters".into(),
            });
        }
        let password_hash = match password.filter(|p| !p.is_empty()) {
            Some(p) => {
                check_password_strength(p)?;
                hash_password(p)?
            }
            None => String::new(),
        };
        let secret = new_secret();
        let row = ShareLinkRow {
            link_hash: hash_token(&secret),
            site_id: site_id.into(),
            name: name.into(),
            password_hash,
            created_at: chrono::Utc::now().timestamp().max(0) as u32,
            deleted: 0,
            version: crate::sites::version_now(),
        };
        self.write_share_link(&row).await?;
        Ok((row.link(), secret))
    }

    /// The link a secret opens, or `None` when unknown or revoked.
    pub async fn find_share_link(&self, secret: &str) -> Result<Option<ShareLink>, StoreError> {
        Ok(self.share_link_row(secret).await?.map(|r| r.link()))
    }

    /// Whether `password` opens the link `secret` (true for links without a password).
    pub async fn check_share_link_password(
        &self,
        secret: &str,
        password: &str,
    ) -> Result<bool, StoreError> {
        Ok(match self.share_link_row(secret).await? {
            Some(row) if row.password_hash.is_empty() => true,
            Some(row) => verify_password(password, &row.password_hash),
            None => false,
        })
    }

    /// The live share links of a site, or of every site when `site_id` is `None`.
    pub async fn list_share_links(
        &self,
        site_id: Option<&str>,
    ) -> Result<Vec<ShareLink>, StoreError> {
        let rows: Vec<ShareLinkRow> = self
            .client
            .query(&format!(
                "{SELECT_LINKS} WHERE deleted = 0 AND (? = '' OR site_id = ?) ORDER BY site_id, created_at"
            ))
            .bind(site_id.unwrap_or(""))
            .bind(site_id.unwrap_or(""))
            .fetch_all()
            .await?;
        Ok(rows.iter().map(ShareLinkRow::link).collect())
    }

    /// Revokes a link by its id; it stops working at once.
    pub async fn revoke_share_link(&self, id: &str) -> Result<ShareLink, StoreError> {
        let rows: Vec<ShareLinkRow> = self
            .client
            .query(&format!(
                "{SELECT_LINKS} WHERE deleted = 0 AND substring(link_hash, 1, {ID_LEN}) = ?"
            ))
            .bind(id)
            .fetch_all()
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Err(StoreError::Invalid {
                field: "id",
                reason: format!("no share link with id {id:?}"),
            });
        };
        row.deleted = 1;
        row.version = crate::sites::version_now();
        self.write_share_link(&row).await?;
        Ok(row.link())
    }

    async fn share_link_row(&self, secret: &str) -> Result<Option<ShareLinkRow>, StoreError> {
        if !is_link_secret(secret) {
            return Ok(None);
        }
        Ok(self
            .client
            .query(&format!(
                "{SELECT_LINKS} WHERE link_hash = ? AND deleted = 0"
            ))
            .bind(hash_token(secret))
            .fetch_optional()
            .await?)
    }

    async fn write_share_link(&self, row: &ShareLinkRow) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<ShareLinkRow>("share_links").await?;
        insert.write(row).await?;
        insert.end().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_plain() {
        let s = new_secret();
        assert!(is_link_secret(&s), "{s}");
        assert_ne!(s, new_secret());
        assert!(!is_link_secret("short"));
        assert!(!is_link_secret(&format!("{}'", &s[..42])));
    }
}
