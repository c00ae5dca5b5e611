//! Site-search reports: terms (with zero results, exits, refinements, change), new terms, what came after.

use super::rollup::{cut_to_page, day_groups};
use super::{pct, QueryEngine};
use crate::metric::percent_change;
use crate::query::{Scope, SearchAfterQuery, SearchReport, SearchTermsQuery};
use crate::results::*;
use crate::sql::rollup::rollup_terms;
use crate::sql::search::{
    conversions_after, next_pages, terms, AfterConversionRow, NextPageRow, TermRow, TermsPlan,
};
use crate::sql::stats::Grouping;
use crate::QueryError;
use std::collections::HashMap;

fn term_result(row: TermRow, change: Option<i64>) -> SearchTermResult {
    SearchTermResult {
        zero_result_rate: pct(row.zero_results, row.searches),
        exit_rate: pct(row.exits, row.searches),
        refinement_rate: pct(row.refinements, row.searches),
        term: row.term,
        searches: row.searches,
        visitors: row.visitors,
        zero_results: row.zero_results,
        change,
    }
}

impl QueryEngine {
    /// `GET /api/v1/search/terms`, `/search/zero-results` and `/search/new`.
    pub async fn search_terms(
        &self,
        q: &SearchTermsQuery,
    ) -> Result<SearchTermsResult, QueryError> {
        let goals = if q.scope.has_goal_filter() {
            self.goals(&q.scope.site.domain).await?
        } else {
            Vec::new()
        };
        let plan = TermsPlan {
            scope: &q.scope,
            goals: &goals,
            report: q.report,
            page: Some(q.pagination),
            only: None,
        };
        let rows = self.term_rows(&plan).await?;
        let before: Option<HashMap<String, u64>> =
            if let (Some(comparison), false) = (q.compare, rows.is_empty()) {
                let previous = q.scope.compared(comparison);
                let plan = TermsPlan {
                    scope: &previous,
                    goals: &goals,
                    report: SearchReport::Terms,
                    page: None,
                    only: Some(rows.iter().map(|r| r.term.clone()).collect()),
                };
                let prev = self.term_rows(&plan).await?;
                Some(prev.into_iter().map(|r| (r.term, r.searches)).collect())
            } else {
                None
            };
        let results = rows
            .into_iter()
            .map(|row| {
                let change = before.as_ref().map(|b| {
                    percent_change(
                        row.searches as f64,
                        b.get(&row.term).copied().unwrap_or(0) as f64,
                    )
                });
                term_result(row, change)
            })
            .collect();
        Ok(SearchTermsResult { results })
    }

    /// The rows of a terms statement: from the rollups plus the visits they do not cover
    /// yet when they hold the answer (unfiltered, not the new-terms report), else raw.
    async fn term_rows(&self, plan: &TermsPlan<'_>) -> Result<Vec<TermRow>, QueryError> {
        if plan.report != SearchReport::New {
            if let Some(rows) = self.term_rows_from_rollups(plan).await? {
                return Ok(rows);
            }
        }
        self.fetch(&terms(plan)).await
    }

    async fn term_rows_from_rollups(
        &self,
        plan: &TermsPlan<'_>,
    ) -> Result<Option<Vec<TermRow>>, QueryError> {
        let Some(coverage) = self.coverage(plan.scope).await? else {
            return Ok(None);
        };
        let Some(selection) =
            day_groups(plan.scope, &Grouping::Total).and_then(|g| coverage.select(&g))
        else {
            return Ok(None);
        };
        let mut merged: HashMap<String, TermRow> = HashMap::new();
        let mut add = |r: TermRow| {
            let m = merged.entry(r.term.clone()).or_insert_with(|| TermRow {
                term: r.term.clone(),
                searches: 0,
                visitors: 0,
                zero_results: 0,
                exits: 0,
                refinements: 0,
            });
            m.searches += r.searches;
            m.visitors += r.visitors;
            m.zero_results += r.zero_results;
            m.exits += r.exits;
            m.refinements += r.refinements;
        };
        if !selection.pairs.is_empty() {
            let rows: Vec<TermRow> = self
                .fetch(&rollup_terms(&plan.scope.site.domain, &selection))
                .await?;
            rows.into_iter().for_each(&mut add);
        }
        if let Some(from) = coverage.raw_from {
            let scope = Scope {
                visits_from: Some(from),
                ..plan.scope.clone()
            };
            let raw = TermsPlan {
                scope: &scope,
                page: None,
                ..plan.clone()
            };
            let rows: Vec<TermRow> = self.fetch(&terms(&raw)).await?;
            rows.into_iter().for_each(&mut add);
        }
        let mut rows: Vec<TermRow> = merged
            .into_values()
            .filter(|r| plan.only.as_ref().is_none_or(|only| only.contains(&r.term)))
            .filter(|r| plan.report != SearchReport::ZeroResults || r.zero_results > 0)
            .collect();
        rows.sort_by(|a, b| {
            let first = match plan.report {
                SearchReport::ZeroResults => b.zero_results.cmp(&a.zero_results),
                _ => std::cmp::Ordering::Equal,
            };
            first
                .then(b.searches.cmp(&a.searches))
                .then_with(|| a.term.cmp(&b.term))
        });
        cut_to_page(&mut rows, plan.page);
        Ok(Some(rows))
    }

    /// `GET /api/v1/search/after`: next pages and goal conversions after searching a term.
    pub async fn search_after(
        &self,
        q: &SearchAfterQuery,
    ) -> Result<SearchAfterResult, QueryError> {
        let goals = self.goals(&q.scope.site.domain).await?;
        let pages: Vec<NextPageRow> = self
            .fetch(&next_pages(&q.scope, &goals, &q.term, q.pagination))
            .await?;
        let rows: Vec<AfterConversionRow> = self
            .fetch(&conversions_after(&q.scope, &goals, &q.term))
            .await?;
        let conv = rows.into_iter().next().unwrap_or(AfterConversionRow {
            visits: 0,
            visitors: 0,
            converted_visits: 0,
            converted_visitors: 0,
        });
        Ok(SearchAfterResult {
            term: q.term.clone(),
            visits: conv.visits,
            visitors: conv.visitors,
            converted_visits: conv.converted_visits,
            converted_visitors: conv.converted_visitors,
            conversion_rate: pct(conv.converted_visits, conv.visits),
            pages: pages
                .into_iter()
                .map(|p| NextPage {
                    page: p.page,
                    visits: p.visits,
                    visitors: p.visitors,
                })
                .collect(),
        })
    }
}
