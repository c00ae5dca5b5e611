//! An action as the API and the dashboard speak of it: what changed, from when, what it
//! should move (the target) and, optionally, what it should not (the control).

use chrono::NaiveDate;
use luister_store::StoredAction;
use serde::{Deserialize, Serialize};

/// Why an action or an impact request cannot be used, said so a person can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("store: {0}")]
    Store(#[from] luister_store::StoreError),
    #[error("query: {0}")]
    Query(#[from] luister_query::QueryError),
}

impl ActionError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// What an action is measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// A goal's conversion rate (by display name or id), among the visitors of `page` if given.
    Goal {
        goal: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<String>,
    },
    /// A saved funnel's conversion, first step to last (by id or name).
    Funnel { funnel: String },
    /// A count per day (`visitors`, `visits`, `pageviews`, `events`), with stats-API filters.
    Metric {
        metric: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        filters: String,
    },
    /// Site search: one term (or all) and one measure.
    Search {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        term: Option<String>,
        measure: SearchMeasure,
    },
}

/// What a search target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMeasure {
    Searches,
    ZeroResultRate,
    ExitRate,
    RefinementRate,
}

/// A rate (successes of trials) or a count per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rate,
    Count,
}

/// Metrics a `metric` target may count.
pub const COUNT_METRICS: &[&str] = &["visitors", "visits", "pageviews", "events"];

impl Target {
    /// Whether the target is a rate or a count; refuses what cannot be measured.
    pub fn kind(&self) -> Result<Kind, ActionError> {
        match self {
            Target::Goal { goal, .. } if goal.trim().is_empty() => {
                Err(ActionError::invalid("target", "a goal target names a goal"))
            }
            Target::Goal { .. } | Target::Funnel { .. } => Ok(Kind::Rate),
            Target::Metric { metric, .. } if COUNT_METRICS.contains(&metric.as_str()) => {
                Ok(Kind::Count)
            }
            Target::Metric { metric, filters } if metric == "bounce_rate" && filters.is_empty() => {
                Ok(Kind::Rate)
            }
            Target::Metric { metric, .. } if metric == "bounce_rate" => Err(ActionError::invalid(
                "target",
                "a bounce-rate target takes no filters (it is measured over all visits)",
            )),
            Target::Metric { metric, .. } => Err(ActionError::invalid(
                "target",
                format!(
                    "metric {metric:?} cannot be measured; use bounce_rate or one of {}",
                    COUNT_METRICS.join(", ")
                ),
            )),
            Target::Search {
                measure: SearchMeasure::Searches,
                ..
            } => Ok(Kind::Count),
            Target::Search { .. } => Ok(Kind::Rate),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Planned,
    Active,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Up,
    Down,
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::Planned => "planned",
        Status::Active => "active",
        Status::Done => "done",
    }
}

fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
    }
}

/// A stored word (`active`, `down`) back to its enum.
fn parse_text<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

/// An action as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub site_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    pub start_date: NaiveDate,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub expected_direction: Direction,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Target>,
    #[serde(default)]
    pub created_at: u32,
}

/// Body of `POST …/actions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    pub start_date: NaiveDate,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub expected_direction: Direction,
    pub target: Target,
    #[serde(default)]
    pub control: Option<Target>,
}

/// Body of `PATCH …/actions/{id}`: the fields to change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub status: Option<Status>,
    pub expected_direction: Option<Direction>,
    pub target: Option<Target>,
    /// `null` removes the control.
    #[serde(default, with = "double_option")]
    pub control: Option<Option<Target>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

impl NewAction {
    pub fn into_action(self, site_id: &str) -> Action {
        Action {
            id: String::new(),
            site_id: site_id.to_string(),
            title: self.title,
            description: self.description,
            owner: self.owner,
            start_date: self.start_date,
            status: self.status,
            expected_direction: self.expected_direction,
            target: self.target,
            control: self.control,
            created_at: 0,
        }
    }
}

impl Action {
    /// Applies a patch.
    pub fn patched(mut self, patch: ActionPatch) -> Self {
        if let Some(v) = patch.title {
            self.title = v;
        }
        if let Some(v) = patch.description {
            self.description = v;
        }
        if let Some(v) = patch.owner {
            self.owner = v;
        }
        if let Some(v) = patch.start_date {
            self.start_date = v;
        }
        if let Some(v) = patch.status {
            self.status = v;
        }
        if let Some(v) = patch.expected_direction {
            self.expected_direction = v;
        }
        if let Some(v) = patch.target {
            self.target = v;
        }
        if let Some(v) = patch.control {
            self.control = v;
        }
        self
    }

    /// Checks lengths, dates and that target and control can be measured alike.
    pub fn validate(&self) -> Result<(), ActionError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ActionError::invalid(
                "title",
                "an action needs a title of 1 to 200 characters",
            ));
        }
        if self.description.chars().count() > 5_000 || self.owner.chars().count() > 200 {
            return Err(ActionError::invalid(
                "description",
                "the description is at most 5,000 characters, the owner 200",
            ));
        }
        if self.start_date < luister_query::params::FIRST_REPORT_DATE {
            return Err(ActionError::invalid(
                "start_date",
                "the start date lies before 2000",
            ));
        }
        let kind = self.target.kind()?;
        if let Some(control) = &self.control {
            if control.kind()? != kind {
                return Err(ActionError::invalid(
                    "control",
                    "the control must be measured as the target is (both rates, or both counts)",
                ));
            }
            if *control == self.target {
                return Err(ActionError::invalid(
                    "control",
                    "the control must differ from the target",
                ));
            }
        }
        Ok(())
    }

    pub fn from_stored(stored: StoredAction) -> Result<Self, ActionError> {
        let target: Target = serde_json::from_str(&stored.target).map_err(|e| {
            ActionError::invalid("target", format!("stored target is unreadable: {e}"))
        })?;
        let control: Option<Target> = if stored.control.is_empty() {
            None
        } else {
            Some(serde_json::from_str(&stored.control).map_err(|e| {
                ActionError::invalid("control", format!("stored control is unreadable: {e}"))
            })?)
        };
        Ok(Self {
            start_date: NaiveDate::parse_from_str(&stored.start_date, "%Y-%m-%d")
                .map_err(|e| ActionError::invalid("start_date", e.to_string()))?,
            status: parse_text(&stored.status).unwrap_or_default(),
            expected_direction: parse_text(&stored.expected_direction).unwrap_or_default(),
            id: stored.id,
            site_id: stored.site_id,
            title: stored.title,
            description: stored.description,
            owner: stored.owner,
            target,
            control,
            created_at: stored.created_at,
        })
    }

    pub fn to_stored(&self) -> StoredAction {
        StoredAction {
            site_id: self.site_id.clone(),
            id: self.id.clone(),
            title: self.title.trim().to_string(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            start_date: self.start_date.to_string(),
            status: status_text(self.status).into(),
            expected_direction: direction_text(self.expected_direction).into(),
            target: serde_json::to_string(&self.target).unwrap_or_default(),
            control: self
                .control
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_issue_example_parses_and_round_trips() {
        let new: NewAction = serde_json::from_value(json!({
            "title": "Schuldhulppagina herschreven", "description": "…", "owner": "team web",
            "start_date": "2026-09-14", "status": "active", "expected_direction": "up",
            "target": {"type": "goal", "goal": "Aanvraag verstuurd", "page": "/schulden"},
            "control": {"type": "goal", "goal": "Aanvraag verstuurd", "page": "/inkomen/*"}
        }))
        .unwrap();
        let action = new.into_action("enschede.nl");
        action.validate().unwrap();
        let back = Action::from_stored(action.to_stored()).unwrap();
        assert_eq!(back, action);
        assert_eq!(serde_json::to_value(&back.target).unwrap()["type"], "goal");
    }

    #[test]
    fn mismatched_or_unknown_targets_are_refused() {
        let mut action = NewAction {
            title: "x".into(),
            description: String::new(),
            owner: String::new(),
            start_date: NaiveDate::from_ymd_opt(2026, 9, 14).unwrap(),
            status: Status::Planned,
            expected_direction: Direction::Up,
            target: Target::Metric {
                metric: "visitors".into(),
                filters: String::new(),
            },
            control: Some(Target::Goal {
                goal: "a".into(),
                page: None,
            }),
        }
        .into_action("a.nl");
        assert!(action.validate().is_err(), "a count against a rate");
        action.control = None;
        action.target = Target::Metric {
            metric: "visit_duration".into(),
            filters: String::new(),
        };
        assert!(action.validate().is_err());
        assert!(serde_json::from_value::<Target>(
            json!({"type": "goal", "goal": "a", "pagina": "/"})
        )
        .is_err());
    }

    #[test]
    fn a_patch_tells_absent_from_null() {
        let patch: ActionPatch = serde_json::from_value(json!({"status": "done"})).unwrap();
        assert_eq!(patch.control, None);
        let patch: ActionPatch = serde_json::from_value(json!({"control": null})).unwrap();
        assert_eq!(patch.control, Some(None));
    }
}
