//! The `actions` table: what a team changed on its site and wants measured (the
//! Digitaal Luisteren cycle). Target and control are stored as JSON text; what they mean
//! and how an action is measured is `luister-impact`'s business, not this module's.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Actions a site may have at most.
pub const MAX_ACTIONS_PER_SITE: usize = 500;

/// One action as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAction {
    pub site_id: String,
    /// Short random id, given by [`Store::put_action`] when empty.
    pub id: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    /// `YYYY-MM-DD`, in the site's time zone.
    pub start_date: String,
    /// `planned`, `active` or `done`.
    pub status: String,
    /// `up` or `down`.
    pub expected_direction: String,
    /// JSON of the target.
    pub target: String,
    /// JSON of the control, empty when none.
    pub control: String,
    /// Unix seconds.
    pub created_at: u32,
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct ActionRow {
    site_id: String,
    id: String,
    title: String,
    description: String,
    owner: String,
    start_date: String,
    status: String,
    expected_direction: String,
    target: String,
    control: String,
    created_at: u32,
    deleted: u8,
    version: u64,
}

impl ActionRow {
    fn action(self) -> StoredAction {
        StoredAction {
            site_id: self.site_id,
            id: self.id,
            title: self.title,
            description: self.description,
            owner: self.owner,
            start_date: self.start_date,
            status: self.status,
            expected_direction: self.expected_direction,
            target: self.target,
            control: self.control,
            created_at: self.created_at,
        }
    }

    fn of(action: &StoredAction, deleted: bool) -> Self {
        Self {
            site_id: action.site_id.clone(),
            id: action.id.clone(),
            title: action.title.clone(),
            description: action.description.clone(),
            owner: action.owner.clone(),
            start_date: action.start_date.clone(),
            status: action.status.clone(),
            expected_direction: action.expected_direction.clone(),
            target: action.target.clone(),
            control: action.control.clone(),
            created_at: action.created_at,
            deleted: deleted.into(),
            version: crate::sites::version_now(),
        }
    }
}

const SELECT_ACTIONS: &str = "SELECT site_id, id, title, description, owner, start_date, status, expected_direction, target, control, toUInt32(created_at) AS created_at, deleted, version FROM actions FINAL";

impl Store {
    /// Adds an action (id and creation time filled in when empty) or replaces one with the
    /// same id; returns it as stored.
    pub async fn put_action(&self, action: &StoredAction) -> Result<StoredAction, StoreError> {
        let mut action = action.clone();
        if self.get_site(&action.site_id).await?.is_none() {
            return Err(StoreError::SiteNotFound(action.site_id.clone()));
        }
        if action.id.is_empty() {
            if self.list_actions(&action.site_id).await?.len() >= MAX_ACTIONS_PER_SITE {
                return Err(StoreError::LimitReached {
                    what: "actions",
                    max: MAX_ACTIONS_PER_SITE,
                });
            }
            action.id = format!("{:012x}", rand::random::<u64>() >> 16);
            action.created_at = chrono::Utc::now().timestamp().max(0) as u32;
        }
        let mut insert = self.client.insert::<ActionRow>("actions").await?;
        insert.write(&ActionRow::of(&action, false)).await?;
        insert.end().await?;
        Ok(action)
    }

    /// The actions of a site, newest start first.
    pub async fn list_actions(&self, site_id: &str) -> Result<Vec<StoredAction>, StoreError> {
        let rows: Vec<ActionRow> = self
            .client
            .query(&format!(
                "{SELECT_ACTIONS} WHERE site_id = ? AND deleted = 0 ORDER BY start_date DESC, title"
            ))
            .bind(site_id)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(ActionRow::action).collect())
    }

    /// An action by id (of any site; the caller checks access to its site).
    pub async fn get_action(&self, id: &str) -> Result<Option<StoredAction>, StoreError> {
        let row: Option<ActionRow> = self
            .client
            .query(&format!("{SELECT_ACTIONS} WHERE id = ? AND deleted = 0"))
            .bind(id)
            .fetch_optional()
            .await?;
        Ok(row.map(ActionRow::action))
    }

    /// Deletes an action.
    pub async fn delete_action(&self, action: &StoredAction) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<ActionRow>("actions").await?;
        insert.write(&ActionRow::of(action, true)).await?;
        insert.end().await?;
        Ok(())
    }
}
