//! Site-search reports: terms (with zero results, exits, refinements, change), new terms, what came after.

use super::{pct, QueryEngine};
use crate::metric::percent_change;
use crate::query::{SearchAfterQuery, SearchReport, SearchTermsQuery};
use crate::results::*;
use crate::sql::search::{
    conversions_after, next_pages, terms, AfterConversionRow, NextPageRow, TermRow, TermsPlan,
};
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
        let rows: Vec<TermRow> = self.fetch(&terms(&plan)).await?;
        let before: Option<HashMap<String, u64>> = if q.compare && !rows.is_empty() {
            let previous = q.scope.previous();
            let plan = TermsPlan {
                scope: &previous,
                goals: &goals,
                report: SearchReport::Terms,
                page: None,
                only: Some(rows.iter().map(|r| r.term.clone()).collect()),
            };
            let prev: Vec<TermRow> = self.fetch(&terms(&plan)).await?;
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
