//! Zoektermen (`/sites/{domain}/zoektermen`): what citizens type into the site search,
//! which terms find nothing, which are new, and for a chosen term (`?term=`) what
//! visitors did next. With CSV export of each list.

use super::overview::csv_response;
use super::{query_params, readable_site, render, see_other, site_layout};
use crate::auth::SignedIn;
use crate::csv::{Cell, CsvTable};
use crate::error::PageError;
use crate::format;
use crate::i18n::{Lang, Text};
use crate::layout::Layout;
use crate::report::{ReportState, Toolbar};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_query::results::{SearchAfterResult, SearchTermsResult};
use luister_query::{params, SearchReport};

/// One row of a term list.
pub struct TermRow {
    pub term: String,
    pub href: String,
    pub cells: Vec<(&'static str, String)>,
}

/// One term list (all, without results, new).
pub struct TermTable {
    pub id: &'static str,
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<TermRow>,
    pub csv_href: String,
}

/// What happened after searching the chosen term.
pub struct AfterView {
    pub term: String,
    pub visits: String,
    pub converted: String,
    pub conversion_rate: String,
    pub pages: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    domain: String,
    toolbar: Toolbar,
    tables: Vec<TermTable>,
    after: Option<AfterView>,
}

const REPORTS: &[(&str, SearchReport)] = &[
    ("terms", SearchReport::Terms),
    ("zero-results", SearchReport::ZeroResults),
    ("new", SearchReport::New),
];

fn report_title(id: &str, t: &Text) -> &'static str {
    match id {
        "zero-results" => t.terms_without_results,
        "new" => t.new_terms,
        _ => t.search_terms,
    }
}

fn term_table(
    id: &'static str,
    result: &SearchTermsResult,
    state: &ReportState,
    csv_path: &str,
    lang: Lang,
) -> TermTable {
    let t = lang.text();
    let rows = result
        .results
        .iter()
        .map(|r| TermRow {
            term: r.term.clone(),
            href: state.href(&[("term", Some(&r.term))]),
            cells: vec![
                ("searches", format::int(r.searches, lang)),
                ("visitors", format::int(r.visitors, lang)),
                (
                    "zero_result_rate",
                    format::percent(r.zero_result_rate, lang),
                ),
                ("exit_rate", format::percent(r.exit_rate, lang)),
                ("refinement_rate", format::percent(r.refinement_rate, lang)),
            ],
        })
        .collect();
    TermTable {
        id,
        title: report_title(id, t),
        headers: vec![
            t.searches,
            t.visitors,
            t.zero_result_rate,
            t.exit_rate,
            t.refinement_rate,
        ],
        rows,
        csv_href: state.href_at(csv_path, &[("report", Some(id)), ("term", None)]),
    }
}

fn after_view(result: &SearchAfterResult, lang: Lang) -> AfterView {
    AfterView {
        term: result.term.clone(),
        visits: format::int(result.visits, lang),
        converted: format::int(result.converted_visits, lang),
        conversion_rate: format::percent(result.conversion_rate, lang),
        pages: result
            .pages
            .iter()
            .map(|p| {
                (
                    p.page.clone(),
                    format::int(p.visits, lang),
                    format::int(p.visitors, lang),
                )
            })
            .collect(),
    }
}

async fn run_reports(
    dash: &Dashboard,
    site: &Site,
    state: &ReportState,
    limit: &str,
) -> Result<Vec<SearchTermsResult>, PageError> {
    let now = dash.clock.now();
    let queries = REPORTS
        .iter()
        .map(|(_, report)| {
            params::search_terms(
                site.clone(),
                &state.query(&[("limit", limit)]),
                now,
                *report,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(
        futures_util::future::try_join_all(queries.iter().map(|q| dash.engine.search_terms(q)))
            .await?,
    )
}

/// `GET /sites/{domain}/zoektermen`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let query = query_params(&req);
    let state = ReportState::new(req.path(), &query);
    if let Some(target) = state.custom_range_redirect(&query) {
        return Ok(see_other(&target));
    }
    let lang = Lang::of(&req);
    let t = lang.text();
    let results = run_reports(&dash, &site, &state, "25").await?;
    let csv_path = format!("/sites/{}/zoektermen/export.csv", site.domain);
    let tables = REPORTS
        .iter()
        .zip(&results)
        .map(|((id, _), r)| term_table(id, r, &state, &csv_path, lang))
        .collect();
    let after = match state.get("term") {
        Some(_) => {
            let q = params::search_after(
                site.clone(),
                &state.query(&[("limit", "10")]),
                dash.clock.now(),
            )?;
            Some(after_view(&dash.engine.search_after(&q).await?, lang))
        }
        None => None,
    };
    render(&SearchPage {
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", t.search_terms, site.domain),
            &site.domain,
            "/zoektermen",
        ),
        domain: site.domain.clone(),
        toolbar: state.toolbar(t),
        tables,
        after,
    })
}

/// `GET /sites/{domain}/zoektermen/export.csv?report=terms|zero-results|new`.
pub async fn csv(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let query = query_params(&req);
    let id = query.get("report").map(String::as_str).unwrap_or("terms");
    let (id, report) = REPORTS
        .iter()
        .find(|(r, _)| *r == id)
        .ok_or_else(|| PageError::BadRequest(format!("no search report {id:?}")))?;
    let state = ReportState::new("", &query);
    let q = params::search_terms(
        site.clone(),
        &state.query(&[("limit", "1000")]),
        dash.clock.now(),
        *report,
    )?;
    let result = dash.engine.search_terms(&q).await?;
    let header = [
        "term",
        "searches",
        "visitors",
        "zero_results",
        "zero_result_rate",
        "exit_rate",
        "refinement_rate",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = result
        .results
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.term.clone()),
                Cell::Number(r.searches as f64),
                Cell::Number(r.visitors as f64),
                Cell::Number(r.zero_results as f64),
                Cell::Number(r.zero_result_rate),
                Cell::Number(r.exit_rate),
                Cell::Number(r.refinement_rate),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("{}-search-{id}.csv", site.domain),
        &CsvTable { header, rows },
    ))
}
