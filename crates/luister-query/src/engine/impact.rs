//! The measurements an action's impact is computed from (see `luister-impact`): goal
//! conversions and site searches, for a whole range or per local day.

use super::QueryEngine;
use crate::query::Scope;
use crate::sql::impact::{bounces, conversions, searches};
use crate::QueryError;
use chrono::NaiveDate;
use luister_store::Goal;
use serde::Deserialize;

/// Visitors who could convert (`trials`) and those who did (`successes`) on one day, or
/// over the whole range (`day` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversionCounts {
    pub day: Option<NaiveDate>,
    pub trials: u64,
    pub successes: u64,
}

/// Searches and what became of them, on one day or over the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchCounts {
    pub day: Option<NaiveDate>,
    pub searches: u64,
    pub zero_results: u64,
    pub exits: u64,
    pub refinements: u64,
}

#[derive(clickhouse::Row, Deserialize)]
struct ConversionRow {
    day: u32,
    trials: u64,
    successes: u64,
}

#[derive(clickhouse::Row, Deserialize)]
struct SearchRow {
    day: u32,
    searches: u64,
    zero_results: u64,
    exits: u64,
    refinements: u64,
}

fn day_of(key: u32, by_day: bool) -> Option<NaiveDate> {
    by_day
        .then(|| {
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|d| d.checked_add_days(chrono::Days::new(key.into())))
        })
        .flatten()
}

impl QueryEngine {
    /// Goal conversions among the visitors of `page` (all visitors without one), exact.
    pub async fn conversions(
        &self,
        scope: &Scope,
        goal: &Goal,
        page: Option<&str>,
        by_day: bool,
    ) -> Result<Vec<ConversionCounts>, QueryError> {
        let rows: Vec<ConversionRow> = self.fetch(&conversions(scope, goal, page, by_day)).await?;
        Ok(rows
            .into_iter()
            .map(|r| ConversionCounts {
                day: day_of(r.day, by_day),
                trials: r.trials,
                successes: r.successes,
            })
            .collect())
    }

    /// Visits (`trials`) and bounces (`successes`), exact.
    pub async fn bounces(
        &self,
        scope: &Scope,
        by_day: bool,
    ) -> Result<Vec<ConversionCounts>, QueryError> {
        let rows: Vec<ConversionRow> = self.fetch(&bounces(scope, by_day)).await?;
        Ok(rows
            .into_iter()
            .map(|r| ConversionCounts {
                day: day_of(r.day, by_day),
                trials: r.trials,
                successes: r.successes,
            })
            .collect())
    }

    /// Searches of `term` (all without one), exact.
    pub async fn search_counts(
        &self,
        scope: &Scope,
        term: Option<&str>,
        by_day: bool,
    ) -> Result<Vec<SearchCounts>, QueryError> {
        let rows: Vec<SearchRow> = self.fetch(&searches(scope, term, by_day)).await?;
        Ok(rows
            .into_iter()
            .map(|r| SearchCounts {
                day: day_of(r.day, by_day),
                searches: r.searches,
                zero_results: r.zero_results,
                exits: r.exits,
                refinements: r.refinements,
            })
            .collect())
    }
}
