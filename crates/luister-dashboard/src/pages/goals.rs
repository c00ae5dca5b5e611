//! Doelen (`/sites/{domain}/doelen`): conversions, conversion rate, value in euros and
//! hours saved per goal; analysts add and delete goals here.

use super::overview::csv_response;
use super::{audit, changeable_site, query_params, readable_site, render, see_other, site_layout};
use crate::auth::SignedIn;
use crate::csv::{Cell, CsvTable};
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::report::{ReportState, Toolbar};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_query::params;
use luister_store::Goal;
use serde::Deserialize;

pub struct GoalRow {
    pub id: String,
    pub name: String,
    /// The stored value and minutes, for the edit form (`12,50`, `15`).
    pub value_input: String,
    pub minutes_input: String,
    /// `event Aanvraag verstuurd` or `page /aanvragen/*/klaar`.
    pub definition: String,
    pub cells: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "goals.html")]
struct GoalsPage {
    layout: Layout,
    domain: String,
    toolbar: Toolbar,
    rows: Vec<GoalRow>,
    totals: Vec<(&'static str, String)>,
    can_change: bool,
    csv_href: String,
}

#[derive(Deserialize)]
pub struct GoalForm {
    csrf: String,
    #[serde(default)]
    event_name: String,
    #[serde(default)]
    page_path: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    value_euros: String,
    #[serde(default)]
    minutes_saved: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

#[derive(Deserialize)]
pub struct GoalValueForm {
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    value_euros: String,
    #[serde(default)]
    minutes_saved: String,
}

/// `GET /sites/{domain}/doelen`.
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
    let q = params::goal_value(site.clone(), &state.query(&[]), dash.clock.now())?;
    let (value, goals) = tokio::try_join!(
        async { dash.engine.goal_value(&q).await.map_err(PageError::from) },
        async {
            dash.store
                .list_goals(&site.domain)
                .await
                .map_err(PageError::from)
        },
    )?;
    let rows = goals
        .iter()
        .map(|goal| {
            let result = value.results.iter().find(|r| r.id == goal.id);
            let num =
                |f: fn(&luister_query::results::GoalValueRow) -> f64| result.map(f).unwrap_or(0.0);
            GoalRow {
                id: goal.id.clone(),
                name: goal.display_name.clone(),
                value_input: format::decimal(goal.value_cents as f64 / 100.0, 2, lang),
                minutes_input: format::decimal(goal.minutes_saved, 1, lang),
                definition: if goal.event_name.is_empty() {
                    format!("page {}", goal.page_path)
                } else {
                    format!("event {}", goal.event_name)
                },
                cells: vec![
                    (
                        "conversions",
                        format::int(num(|r| r.conversions as f64) as u64, lang),
                    ),
                    (
                        "converters",
                        format::int(num(|r| r.converters as f64) as u64, lang),
                    ),
                    (
                        "conversion_rate",
                        format::percent(num(|r| r.conversion_rate), lang),
                    ),
                    ("value_eur", format::euros(num(|r| r.value_eur), lang)),
                    ("hours_saved", format::hours(num(|r| r.hours_saved), lang)),
                ],
            }
        })
        .collect();
    let totals = vec![
        ("conversions", format::int(value.totals.conversions, lang)),
        ("converters", format::int(value.totals.converters, lang)),
        (
            "conversion_rate",
            format::percent(value.totals.conversion_rate, lang),
        ),
        ("value_eur", format::euros(value.totals.value_eur, lang)),
        ("hours_saved", format::hours(value.totals.hours_saved, lang)),
    ];
    render(&GoalsPage {
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", t.goals, site.domain),
            &site.domain,
            "/doelen",
        ),
        domain: site.domain.clone(),
        toolbar: state.toolbar(t),
        rows,
        totals,
        can_change: who.user.can_change(&site.domain),
        csv_href: state.href_at(&format!("/sites/{}/doelen/export.csv", site.domain), &[]),
    })
}

/// An amount as typed in a Dutch or English form (`12,50`, `1.234,50`, `12.5`).
fn parse_amount(text: &str, field: &str) -> Result<f64, PageError> {
    let text = text.trim().trim_start_matches('€').trim();
    if text.is_empty() {
        return Ok(0.0);
    }
    let normalised = if text.contains(',') {
        text.replace('.', "").replace(',', ".")
    } else {
        text.to_string()
    };
    normalised
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e9)
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "{field}: {text:?} is geen bedrag / is not an amount"
            ))
        })
}

/// `GET /sites/{domain}/doelen/export.csv`: the goals table for the period.
pub async fn csv(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let state = ReportState::new("", &query_params(&req));
    let q = params::goal_value(site.clone(), &state.query(&[]), dash.clock.now())?;
    let value = dash.engine.goal_value(&q).await?;
    let header = [
        "goal",
        "conversions",
        "converters",
        "conversion_rate",
        "value_eur",
        "hours_saved",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = value
        .results
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.goal.clone()),
                Cell::Number(r.conversions as f64),
                Cell::Number(r.converters as f64),
                Cell::Number(r.conversion_rate),
                Cell::Number(r.value_eur),
                Cell::Number(r.hours_saved),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("{}-goals.csv", site.domain),
        &CsvTable { header, rows },
    ))
}

/// `POST /sites/{domain}/doelen`: adds a goal (analysts and admins).
pub async fn add(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    domain: web::Path<String>,
    form: web::Form<GoalForm>,
) -> Result<HttpResponse, PageError> {
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let event = form.event_name.trim();
    let page = form.page_path.trim();
    if event.is_empty() == page.is_empty() {
        return Err(PageError::BadRequest(
            "geef een gebeurtenis óf een pagina / give either an event or a page".into(),
        ));
    }
    let mut goal = if event.is_empty() {
        Goal::page(&site.domain, page)
    } else {
        Goal::event(&site.domain, event)
    };
    goal.display_name = form.display_name.trim().to_string();
    goal.value_cents = (parse_amount(&form.value_euros, "value_euros")? * 100.0).round() as i64;
    goal.minutes_saved = parse_amount(&form.minutes_saved, "minutes_saved")?;
    let goal = dash.store.add_goal(&goal).await?;
    audit(
        &dash,
        &who,
        "goal.add",
        &site.domain,
        &format!("{} ({})", goal.id, goal.display_name),
    )
    .await?;
    Ok(see_other(&format!("/sites/{}/doelen", site.domain)))
}

/// `POST /sites/{domain}/doelen/{id}`: a goal's name, value and minutes saved (analysts).
pub async fn update(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<GoalValueForm>,
) -> Result<HttpResponse, PageError> {
    let (domain, id) = path.into_inner();
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let value_cents = (parse_amount(&form.value_euros, "value_euros")? * 100.0).round() as i64;
    let minutes = parse_amount(&form.minutes_saved, "minutes_saved")?;
    let goal = dash
        .store
        .update_goal_value(&site.domain, &id, &form.display_name, value_cents, minutes)
        .await?;
    audit(
        &dash,
        &who,
        "goal.update",
        &site.domain,
        &format!("{} ({})", goal.id, goal.display_name),
    )
    .await?;
    Ok(see_other(&format!("/sites/{}/doelen", site.domain)))
}

/// `POST /sites/{domain}/doelen/{id}/verwijderen`.
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
        .list_goals(&site.domain)
        .await?
        .iter()
        .any(|g| g.id == id)
    {
        return Err(PageError::NotFound);
    }
    dash.store.delete_goal(&site.domain, &id).await?;
    audit(&dash, &who, "goal.delete", &site.domain, &id).await?;
    Ok(see_other(&format!("/sites/{}/doelen", site.domain)))
}
