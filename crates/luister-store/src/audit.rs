//! The `audit_log` table: who changed what and when (sites, tokens, goals, funnels,
//! quarantine replays). Entries name tokens by name and id, never by the token itself.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: u32,
    /// Who: `token <name>`, `LUISTER_ADMIN_TOKEN`, `cli <user>`.
    pub actor: String,
    /// What: `site.add`, `token.create`, `goal.delete`, …
    pub action: String,
    /// The site concerned, empty when none.
    pub site_id: String,
    /// Which thing: a domain, a goal or funnel id, a token's name and id.
    pub subject: String,
}

impl AuditEntry {
    pub fn new(actor: &str, action: &str, site_id: &str, subject: &str) -> Self {
        Self {
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs().min(u32::MAX.into()) as u32)
                .unwrap_or(0),
            actor: actor.into(),
            action: action.into(),
            site_id: site_id.into(),
            subject: subject.into(),
        }
    }
}

impl Store {
    /// Appends one entry.
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<AuditEntry>("audit_log").await?;
        insert.write(&entry).await?;
        insert.end().await?;
        Ok(())
    }

    /// The newest `limit` entries, newest first; of one site when `site_id` is given.
    pub async fn audit_entries(
        &self,
        site_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let query = match site_id {
            Some(site) => self
                .client
                .query("SELECT toUInt32(at) AS at, actor, action, site_id, subject FROM audit_log WHERE site_id = ? ORDER BY at DESC LIMIT ?")
                .bind(site),
            None => self
                .client
                .query("SELECT toUInt32(at) AS at, actor, action, site_id, subject FROM audit_log ORDER BY at DESC LIMIT ?"),
        };
        Ok(query.bind(limit).fetch_all().await?)
    }
}
