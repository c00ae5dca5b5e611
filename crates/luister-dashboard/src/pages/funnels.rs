//! Trechters (`/sites/{domain}/trechters`): saved funnels with their step bars, conversion
//! and drop-off, optionally broken down by source or device (`?breakdown=`); analysts
//! define and save new ones in the form (one step per line).

use super::overview::csv_response;
use super::{audit, changeable_site, query_params, readable_site, render, see_other, site_layout};
use crate::auth::SignedIn;
use crate::chart;
use crate::csv::{Cell, CsvTable};
use crate::error::PageError;
use crate::format;
use crate::i18n::{Lang, Text};
use crate::layout::Layout;
use crate::report::{ReportState, Toolbar};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_query::results::{FunnelResult, FunnelStepResult};
use luister_query::{params, FunnelDefinition, FunnelStep};
use luister_store::SavedFunnel;
use serde::Deserialize;

/// Breakdowns offered for a funnel.
const BREAKDOWNS: &[&str] = &[
    "visit:source",
    "visit:channel",
    "visit:device",
    "visit:entry_page",
];

pub struct FunnelLink {
    pub name: String,
    pub href: String,
    pub current: bool,
}

pub struct StepRow {
    pub label: String,
    pub cells: Vec<(&'static str, String)>,
}

pub struct BreakdownRow {
    pub value: String,
    pub steps: Vec<String>,
    pub conversion_rate: String,
}

pub struct FunnelView {
    pub id: String,
    pub name: String,
    pub svg: String,
    pub steps: Vec<StepRow>,
    pub conversion_rate: String,
    pub breakdown_options: Vec<(String, String, bool)>,
    pub breakdown: Vec<BreakdownRow>,
    pub step_labels: Vec<String>,
    pub csv_href: String,
}

#[derive(Template)]
#[template(path = "funnels.html")]
struct FunnelsPage {
    layout: Layout,
    domain: String,
    toolbar: Toolbar,
    funnels: Vec<FunnelLink>,
    view: Option<FunnelView>,
    can_change: bool,
}

#[derive(Deserialize)]
pub struct FunnelForm {
    csrf: String,
    name: String,
    steps: String,
    #[serde(default)]
    window_minutes: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// Reads the builder's lines: `page /pad`, `event Naam`, `search term` (Dutch words too).
pub fn parse_steps(text: &str) -> Result<Vec<FunnelStep>, PageError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (kind, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim().to_string();
            let step = match kind.to_lowercase().as_str() {
                "page" | "pagina" => FunnelStep::Page(rest),
                "event" | "gebeurtenis" => FunnelStep::Event(rest),
                "search" | "zoek" | "zoeken" => {
                    FunnelStep::Search(if rest.is_empty() { "*".into() } else { rest })
                }
                _ => {
                    return Err(PageError::BadRequest(format!(
                        "{line:?}: begin een stap met page, event of search / start a step with page, event or search"
                    )))
                }
            };
            Ok(step)
        })
        .collect()
}

fn step_row(step: &FunnelStepResult, lang: Lang) -> StepRow {
    StepRow {
        label: step.label.clone(),
        cells: vec![
            ("visitors", format::int(step.visitors, lang)),
            (
                "conversion_rate",
                format::percent(step.conversion_rate, lang),
            ),
            (
                "conversion_rate_from_previous",
                format::percent(step.conversion_rate_from_previous, lang),
            ),
            ("dropoff", format::int(step.dropoff, lang)),
        ],
    }
}

fn funnel_view(
    saved: &SavedFunnel,
    result: &FunnelResult,
    state: &ReportState,
    current_breakdown: Option<&str>,
    t: &Text,
    lang: Lang,
) -> FunnelView {
    let bars: Vec<(String, f64, String)> = result
        .steps
        .iter()
        .map(|s| {
            (
                format!("{}. {}", s.step, s.label),
                s.visitors as f64,
                format!(
                    "{} ({})",
                    format::int(s.visitors, lang),
                    format::percent(s.conversion_rate, lang)
                ),
            )
        })
        .collect();
    let mut breakdown_options = vec![(
        t.none.to_string(),
        state.href(&[("breakdown", None)]),
        current_breakdown.is_none(),
    )];
    breakdown_options.extend(BREAKDOWNS.iter().map(|b| {
        (
            crate::report::property_label(b, t),
            state.href(&[("breakdown", Some(b))]),
            current_breakdown == Some(*b),
        )
    }));
    FunnelView {
        id: saved.id.clone(),
        name: saved.name.clone(),
        svg: chart::bars("funnel-chart", &saved.name, &bars),
        steps: result.steps.iter().map(|s| step_row(s, lang)).collect(),
        conversion_rate: format::percent(result.conversion_rate, lang),
        breakdown_options,
        breakdown: result
            .breakdown
            .iter()
            .flatten()
            .map(|row| BreakdownRow {
                value: row.value.clone(),
                steps: row
                    .steps
                    .iter()
                    .map(|s| format::int(s.visitors, lang))
                    .collect(),
                conversion_rate: format::percent(row.conversion_rate, lang),
            })
            .collect(),
        step_labels: result.steps.iter().map(|s| s.label.clone()).collect(),
        csv_href: state.href_at(
            &format!("{}/export.csv", state.path()),
            &[("funnel", Some(&saved.id)), ("breakdown", None)],
        ),
    }
}

/// `GET /sites/{domain}/trechters[?funnel=ID&breakdown=…]`.
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
    let saved = dash.store.list_funnels(&site.domain).await?;
    let chosen = state
        .get("funnel")
        .and_then(|id| saved.iter().find(|f| f.id == id))
        .or(saved.first());
    let view = match chosen {
        Some(funnel) => {
            let mut definition: FunnelDefinition = serde_json::from_str(&funnel.definition)
                .map_err(|e| {
                    PageError::BadRequest(format!("saved funnel {} is unreadable: {e}", funnel.id))
                })?;
            let breakdown = state.get("breakdown").filter(|b| BREAKDOWNS.contains(b));
            if let Some(b) = breakdown {
                definition.breakdown = Some(b.to_string());
            }
            let q = params::funnel(
                site.clone(),
                &definition,
                &state.query(&[("limit", "10")]),
                dash.clock.now(),
            )?;
            let result = dash.engine.funnel(&q).await?;
            Some(funnel_view(funnel, &result, &state, breakdown, t, lang))
        }
        None => None,
    };
    let funnels = saved
        .iter()
        .map(|f| FunnelLink {
            name: f.name.clone(),
            href: state.href(&[("funnel", Some(&f.id)), ("breakdown", None)]),
            current: chosen.is_some_and(|c| c.id == f.id),
        })
        .collect();
    render(&FunnelsPage {
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", t.funnels, site.domain),
            &site.domain,
            "/trechters",
        ),
        domain: site.domain.clone(),
        toolbar: state.toolbar(t),
        funnels,
        view,
        can_change: who.user.can_change(&site.domain),
    })
}

/// `GET /sites/{domain}/trechters/export.csv?funnel=ID`: the steps of a saved funnel.
pub async fn csv(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let state = ReportState::new("", &query_params(&req));
    let saved = dash.store.list_funnels(&site.domain).await?;
    let funnel = state
        .get("funnel")
        .and_then(|id| saved.iter().find(|f| f.id == id))
        .ok_or(PageError::NotFound)?;
    let definition: FunnelDefinition = serde_json::from_str(&funnel.definition).map_err(|e| {
        PageError::BadRequest(format!("saved funnel {} is unreadable: {e}", funnel.id))
    })?;
    let q = params::funnel(
        site.clone(),
        &definition,
        &state.query(&[]),
        dash.clock.now(),
    )?;
    let result = dash.engine.funnel(&q).await?;
    let header = [
        "step",
        "label",
        "visitors",
        "conversion_rate",
        "conversion_rate_from_previous",
        "dropoff",
        "dropoff_rate",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = result
        .steps
        .iter()
        .map(|s| {
            vec![
                Cell::Number(s.step.into()),
                Cell::Text(s.label.clone()),
                Cell::Number(s.visitors as f64),
                Cell::Number(s.conversion_rate),
                Cell::Number(s.conversion_rate_from_previous),
                Cell::Number(s.dropoff as f64),
                Cell::Number(s.dropoff_rate),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("{}-funnel-{}.csv", site.domain, funnel.id),
        &CsvTable { header, rows },
    ))
}

/// `POST /sites/{domain}/trechters`: saves a funnel from the builder and shows it.
pub async fn save(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    domain: web::Path<String>,
    form: web::Form<FunnelForm>,
) -> Result<HttpResponse, PageError> {
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let minutes = match form.window_minutes.trim() {
        "" => 60,
        m => m
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=44_640).contains(m))
            .ok_or_else(|| {
                PageError::BadRequest(format!(
                    "{m:?}: kies 1 tot 44640 minuten / choose 1 to 44640 minutes"
                ))
            })?,
    };
    let definition = FunnelDefinition {
        steps: parse_steps(&form.steps)?,
        window_seconds: minutes * 60,
        filters: String::new(),
        breakdown: None,
    };
    params::check_funnel_definition(&definition)?;
    let saved = dash
        .store
        .add_funnel(&SavedFunnel {
            site_id: site.domain.clone(),
            id: String::new(),
            name: form.name.trim().to_string(),
            definition: serde_json::to_string(&definition)
                .map_err(|e| PageError::BadRequest(e.to_string()))?,
        })
        .await?;
    audit(
        &dash,
        &who,
        "funnel.add",
        &site.domain,
        &format!("{} ({})", saved.id, saved.name),
    )
    .await?;
    Ok(see_other(&format!(
        "/sites/{}/trechters?funnel={}",
        site.domain, saved.id
    )))
}

/// `POST /sites/{domain}/trechters/{id}/verwijderen`.
pub async fn delete(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (domain, id) = path.into_inner();
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    if !dash
        .store
        .list_funnels(&site.domain)
        .await?
        .iter()
        .any(|f| f.id == id)
    {
        return Err(PageError::NotFound);
    }
    dash.store.delete_funnel(&site.domain, &id).await?;
    audit(&dash, &who, "funnel.delete", &site.domain, &id).await?;
    Ok(see_other(&format!("/sites/{}/trechters", site.domain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_lines_become_steps() {
        let steps =
            parse_steps("page /schulden\n\n  event Aanvraag verstuurd\nzoek\nsearch bijstand*")
                .unwrap();
        assert_eq!(
            steps,
            vec![
                FunnelStep::Page("/schulden".into()),
                FunnelStep::Event("Aanvraag verstuurd".into()),
                FunnelStep::Search("*".into()),
                FunnelStep::Search("bijstand*".into()),
            ]
        );
        assert!(parse_steps("visit /x").is_err());
    }
}
