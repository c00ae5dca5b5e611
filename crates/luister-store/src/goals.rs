//! The `goals` table: what counts as a conversion on a site, and what one is worth.
//!
//! A goal is either a custom event name or a page pattern (`/aanvragen/*/klaar`),
//! with an optional value in cents and minutes saved per conversion. Matching goals
//! against events is the query layer's job, not this module's.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// One goal of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub site_id: String,
    /// Short random id, given by [`Store::add_goal`] when empty.
    pub id: String,
    /// The custom event that converts; empty for a page goal.
    pub event_name: String,
    /// The page pattern that converts; empty for an event goal.
    pub page_path: String,
    /// Name in reports and in `event:goal` filters; defaults to the event name or `Visit <path>`.
    pub display_name: String,
    /// Value of one conversion in euro cents.
    pub value_cents: i64,
    /// Staff time one conversion saves (e.g. a counter visit not needed).
    pub minutes_saved: f64,
}

impl Goal {
    /// An event goal with no value.
    pub fn event(site_id: &str, event_name: &str) -> Self {
        Self::blank(site_id, event_name, "")
    }

    /// A page goal with no value.
    pub fn page(site_id: &str, page_path: &str) -> Self {
        Self::blank(site_id, "", page_path)
    }

    fn blank(site_id: &str, event_name: &str, page_path: &str) -> Self {
        Self {
            site_id: site_id.into(),
            id: String::new(),
            event_name: event_name.into(),
            page_path: page_path.into(),
            display_name: String::new(),
            value_cents: 0,
            minutes_saved: 0.0,
        }
    }

    fn default_display_name(&self) -> String {
        if self.event_name.is_empty() {
            format!("Visit {}", self.page_path)
        } else {
            self.event_name.clone()
        }
    }
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct GoalRow {
    site_id: String,
    id: String,
    event_name: String,
    page_path: String,
    display_name: String,
    value_cents: i64,
    minutes_saved: f64,
    deleted: u8,
    version: u64,
}

impl GoalRow {
    fn new(g: &Goal, deleted: bool) -> Self {
        Self {
            site_id: g.site_id.clone(),
            id: g.id.clone(),
            event_name: g.event_name.clone(),
            page_path: g.page_path.clone(),
            display_name: g.display_name.clone(),
            value_cents: g.value_cents,
            minutes_saved: g.minutes_saved,
            deleted: deleted.into(),
            version: crate::sites::version_now(),
        }
    }

    fn into_goal(self) -> Goal {
        Goal {
            site_id: self.site_id,
            id: self.id,
            event_name: self.event_name,
            page_path: self.page_path,
            display_name: self.display_name,
            value_cents: self.value_cents,
            minutes_saved: self.minutes_saved,
        }
    }
}

const SELECT_GOALS: &str =
    "SELECT site_id, id, event_name, page_path, display_name, value_cents, minutes_saved, \
     deleted, version FROM goals FINAL";

impl Store {
    /// Adds a goal (id and display name filled in when empty) and returns it as stored.
    pub async fn add_goal(&self, goal: &Goal) -> Result<Goal, StoreError> {
        let mut goal = goal.clone();
        validate_goal(&goal)?;
        if self.get_site(&goal.site_id).await?.is_none() {
            return Err(StoreError::SiteNotFound(goal.site_id.clone()));
        }
        if goal.display_name.trim().is_empty() {
            goal.display_name = goal.default_display_name();
        }
        let existing = self.list_goals(&goal.site_id).await?;
        if existing.len() >= MAX_GOALS_PER_SITE {
            return Err(StoreError::LimitReached {
                what: "goals",
                max: MAX_GOALS_PER_SITE,
            });
        }
        if existing.iter().any(|g| g.display_name == goal.display_name) {
            return Err(StoreError::Conflict(format!(
                "site {} already has a goal named {:?}",
                goal.site_id, goal.display_name
            )));
        }
        if goal.id.is_empty() {
            goal.id = format!("{:012x}", rand::random::<u64>() >> 16);
        }
        self.write_goal(&goal, false).await?;
        Ok(goal)
    }

    /// The goals of a site, by display name.
    pub async fn list_goals(&self, site_id: &str) -> Result<Vec<Goal>, StoreError> {
        let rows: Vec<GoalRow> = self
            .client
            .query(&format!(
                "{SELECT_GOALS} WHERE site_id = ? AND deleted = 0 ORDER BY display_name"
            ))
            .bind(site_id)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(GoalRow::into_goal).collect())
    }

    /// Changes a goal's name and what one conversion is worth (its event or page stays:
    /// a different one is a different goal).
    pub async fn update_goal_value(
        &self,
        site_id: &str,
        id: &str,
        display_name: &str,
        value_cents: i64,
        minutes_saved: f64,
    ) -> Result<Goal, StoreError> {
        let existing = self.list_goals(site_id).await?;
        let mut goal = existing
            .iter()
            .find(|g| g.id == id)
            .cloned()
            .ok_or_else(|| StoreError::Invalid {
                field: "id",
                reason: format!("site {site_id} has no goal {id:?}"),
            })?;
        if !display_name.trim().is_empty() {
            goal.display_name = display_name.trim().to_string();
        }
        goal.value_cents = value_cents;
        goal.minutes_saved = minutes_saved;
        validate_goal(&goal)?;
        if existing
            .iter()
            .any(|g| g.id != goal.id && g.display_name == goal.display_name)
        {
            return Err(StoreError::Conflict(format!(
                "site {site_id} already has a goal named {:?}",
                goal.display_name
            )));
        }
        self.write_goal(&goal, false).await?;
        Ok(goal)
    }

    /// Deletes a goal; its past conversions stay in the events, unlabelled.
    pub async fn delete_goal(&self, site_id: &str, id: &str) -> Result<(), StoreError> {
        let goal = self
            .list_goals(site_id)
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| StoreError::Invalid {
                field: "id",
                reason: format!("site {site_id} has no goal {id:?}"),
            })?;
        self.write_goal(&goal, true).await
    }

    async fn write_goal(&self, goal: &Goal, deleted: bool) -> Result<(), StoreError> {
        let row = GoalRow::new(goal, deleted);
        let mut insert = self.client.insert::<GoalRow>("goals").await?;
        insert.write(&row).await?;
        insert.end().await?;
        Ok(())
    }
}

/// Goals one site may have: every report with conversions evaluates all of them at once.
pub const MAX_GOALS_PER_SITE: usize = 100;

fn validate_goal(goal: &Goal) -> Result<(), StoreError> {
    let invalid = |field, reason: &str| {
        Err(StoreError::Invalid {
            field,
            reason: reason.into(),
        })
    };
    match (
        goal.event_name.trim().is_empty(),
        goal.page_path.trim().is_empty(),
    ) {
        (true, true) | (false, false) => {
            return invalid("goal", "a goal has either an event_name or a page_path")
        }
        (true, false) if !goal.page_path.starts_with('/') => {
            return invalid(
                "page_path",
                "a page path starts with / (wildcards * and ** allowed)",
            )
        }
        _ => {}
    }
    if goal.event_name.len() > 120 || goal.page_path.len() > 500 || goal.display_name.len() > 120 {
        return invalid(
            "goal",
            "event_name and display_name are at most 120 characters, page_path 500",
        );
    }
    if goal.value_cents < 0 || !(goal.minutes_saved >= 0.0 && goal.minutes_saved.is_finite()) {
        return invalid(
            "value",
            "value_cents and minutes_saved are zero or positive",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_validation_and_names() {
        assert!(validate_goal(&Goal::event("a.nl", "Aanvraag")).is_ok());
        assert!(validate_goal(&Goal::page("a.nl", "/klaar")).is_ok());
        assert!(validate_goal(&Goal::page("a.nl", "klaar")).is_err());
        assert!(validate_goal(&Goal::event("a.nl", "")).is_err());
        let mut both = Goal::event("a.nl", "x");
        both.page_path = "/y".into();
        assert!(validate_goal(&both).is_err());
        let mut negative = Goal::event("a.nl", "x");
        negative.minutes_saved = -1.0;
        assert!(validate_goal(&negative).is_err());
        assert_eq!(
            Goal::page("a.nl", "/klaar").default_display_name(),
            "Visit /klaar"
        );
    }
}
