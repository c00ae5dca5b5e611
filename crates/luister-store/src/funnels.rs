//! The `funnels` table: saved funnel definitions of a site.
//!
//! The definition is stored as JSON text whose meaning belongs to the query layer
//! (`luister-query`'s `FunnelDefinition`); this module only keeps and returns it.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// A saved funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFunnel {
    pub site_id: String,
    /// Short random id, given by [`Store::add_funnel`] when empty.
    pub id: String,
    pub name: String,
    /// JSON of the steps, window and filters, validated by the query layer before saving.
    pub definition: String,
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct FunnelRow {
    site_id: String,
    id: String,
    name: String,
    definition: String,
    deleted: u8,
    version: u64,
}

impl FunnelRow {
    fn into_funnel(self) -> SavedFunnel {
        SavedFunnel {
            site_id: self.site_id,
            id: self.id,
            name: self.name,
            definition: self.definition,
        }
    }
}

const SELECT_FUNNELS: &str =
    "SELECT site_id, id, name, definition, deleted, version FROM funnels FINAL";

/// Saved funnels one site may have: each is answered ahead after every rollup build.
pub const MAX_FUNNELS_PER_SITE: usize = 50;

impl Store {
    /// Saves a funnel (id filled in when empty) and returns it as stored.
    pub async fn add_funnel(&self, funnel: &SavedFunnel) -> Result<SavedFunnel, StoreError> {
        let mut funnel = funnel.clone();
        if funnel.name.trim().is_empty() || funnel.name.len() > 120 {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a funnel needs a name of 1 to 120 characters".into(),
            });
        }
        if funnel.definition.len() > 64 * 1024 {
            return Err(StoreError::Invalid {
                field: "definition",
                reason: "a funnel definition is at most 64 KiB".into(),
            });
        }
        if self.get_site(&funnel.site_id).await?.is_none() {
            return Err(StoreError::SiteNotFound(funnel.site_id.clone()));
        }
        if self.list_funnels(&funnel.site_id).await?.len() >= MAX_FUNNELS_PER_SITE {
            return Err(StoreError::LimitReached {
                what: "saved funnels",
                max: MAX_FUNNELS_PER_SITE,
            });
        }
        if funnel.id.is_empty() {
            funnel.id = format!("{:012x}", rand::random::<u64>() >> 16);
        }
        self.write_funnel(&funnel, false).await?;
        Ok(funnel)
    }

    /// The saved funnels of a site, by name.
    pub async fn list_funnels(&self, site_id: &str) -> Result<Vec<SavedFunnel>, StoreError> {
        let rows: Vec<FunnelRow> = self
            .client
            .query(&format!(
                "{SELECT_FUNNELS} WHERE site_id = ? AND deleted = 0 ORDER BY name, id"
            ))
            .bind(site_id)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(FunnelRow::into_funnel).collect())
    }

    /// A saved funnel by id, whatever its site (the caller checks access to `site_id`).
    pub async fn get_funnel(&self, id: &str) -> Result<Option<SavedFunnel>, StoreError> {
        let row: Option<FunnelRow> = self
            .client
            .query(&format!(
                "{SELECT_FUNNELS} WHERE id = ? AND deleted = 0 LIMIT 1"
            ))
            .bind(id)
            .fetch_optional()
            .await?;
        Ok(row.map(FunnelRow::into_funnel))
    }

    pub async fn delete_funnel(&self, site_id: &str, id: &str) -> Result<(), StoreError> {
        let funnel = self
            .get_funnel(id)
            .await?
            .filter(|f| f.site_id == site_id)
            .ok_or_else(|| StoreError::Invalid {
                field: "id",
                reason: format!("site {site_id} has no funnel {id:?}"),
            })?;
        self.write_funnel(&funnel, true).await
    }

    async fn write_funnel(&self, funnel: &SavedFunnel, deleted: bool) -> Result<(), StoreError> {
        let row = FunnelRow {
            site_id: funnel.site_id.clone(),
            id: funnel.id.clone(),
            name: funnel.name.clone(),
            definition: funnel.definition.clone(),
            deleted: deleted.into(),
            version: crate::sites::version_now(),
        };
        let mut insert = self.client.insert::<FunnelRow>("funnels").await?;
        insert.write(&row).await?;
        insert.end().await?;
        Ok(())
    }
}
