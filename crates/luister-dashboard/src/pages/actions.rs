//! Acties (`/sites/{domain}/acties`): what the team changed and what it did to the numbers.
//! Each action shows its measured impact (the same computation as the API's
//! `/api/v1/actions/{id}/impact`); analysts add actions, change their status and delete them.
//! `/sites/{domain}/acties/{id}` shows one action's whole impact panel.

use super::{audit, changeable_site, query_params, readable_site, render, see_other, site_layout};
use crate::auth::SignedIn;
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::impact_view::{impact_lang, impact_view, status_label, target_text, ImpactView};
use crate::layout::Layout;
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use luister_impact::action::{Direction, SearchMeasure, Status};
use luister_impact::{Action, ActionError, ImpactParams, Target};
use luister_model::Site;
use serde::Deserialize;

/// Actions measured on the list page at most (each costs a few queries).
const MEASURED_ON_LIST: usize = 12;

pub struct ActionRow {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub start: String,
    pub status: &'static str,
    pub target: String,
    pub impact: Option<ImpactView>,
    pub not_measured: Option<String>,
}

#[derive(Template)]
#[template(path = "actions.html")]
struct ActionsPage {
    layout: Layout,
    domain: String,
    /// Yesterday's alerts, in words.
    alerts: Vec<String>,
    rows: Vec<ActionRow>,
    can_change: bool,
    goals: Vec<String>,
    funnels: Vec<String>,
    today: String,
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    layout: Layout,
    domain: String,
    row: ActionRow,
    description: String,
    before_days: u32,
    after_days: u32,
    skip_days: u32,
    can_change: bool,
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    start_date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expected_direction: String,
    target_type: String,
    #[serde(default)]
    goal: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    control_page: String,
    #[serde(default)]
    funnel: String,
    #[serde(default)]
    metric: String,
    #[serde(default)]
    filters: String,
    #[serde(default)]
    term: String,
    #[serde(default)]
    measure: String,
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: String,
    status: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn actions_of(dash: &Dashboard, site: &Site) -> Result<Vec<Action>, PageError> {
    dash.store
        .list_actions(&site.domain)
        .await?
        .into_iter()
        .map(|a| Action::from_stored(a).map_err(PageError::from))
        .collect()
}

async fn row(
    dash: &Dashboard,
    site: &Site,
    action: &Action,
    all: &[Action],
    params: &ImpactParams,
    lang: Lang,
    measure: bool,
) -> Result<ActionRow, PageError> {
    let (impact, not_measured) = if measure {
        match luister_impact::impact(
            &dash.engine,
            &dash.store,
            site,
            action,
            all,
            params,
            dash.clock.now(),
        )
        .await
        {
            Ok(r) => (Some(impact_view(&r, lang)), None),
            Err(ActionError::Invalid { reason, .. }) => (None, Some(reason)),
            Err(e) => return Err(PageError::from(e)),
        }
    } else {
        (None, None)
    };
    Ok(ActionRow {
        id: action.id.clone(),
        title: action.title.clone(),
        owner: action.owner.clone(),
        start: format::date(action.start_date, lang),
        status: status_label(action.status, lang),
        target: target_text(&action.target),
        impact,
        not_measured,
    })
}

/// `GET /sites/{domain}/acties`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let lang = Lang::of(&req);
    let t = lang.text();
    let all = actions_of(&dash, &site).await?;
    let params = ImpactParams {
        lang: impact_lang(lang),
        ..Default::default()
    };
    let mut rows = Vec::new();
    for (i, action) in all.iter().enumerate() {
        rows.push(
            row(
                &dash,
                &site,
                action,
                &all,
                &params,
                lang,
                i < MEASURED_ON_LIST,
            )
            .await?,
        );
    }
    let goals = dash
        .store
        .list_goals(&site.domain)
        .await?
        .into_iter()
        .map(|g| g.display_name)
        .collect();
    let funnels = dash
        .store
        .list_funnels(&site.domain)
        .await?
        .into_iter()
        .map(|f| f.name)
        .collect();
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let alerts = yesterdays_alerts(&dash, &site).await?;
    render(&ActionsPage {
        alerts,
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", t.actions, site.domain),
            &site.domain,
            "/acties",
        ),
        domain: site.domain.clone(),
        rows,
        can_change: who.user.can_change(&site.domain),
        goals,
        funnels,
        today: dash.clock.now().with_timezone(&tz).date_naive().to_string(),
    })
}

/// The anomalies of yesterday (site time zone), as sentences.
pub async fn yesterdays_alerts(dash: &Dashboard, site: &Site) -> Result<Vec<String>, PageError> {
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = dash.clock.now();
    let yesterday = now.with_timezone(&tz).date_naive() - chrono::Duration::days(1);
    let found = luister_impact::alerts_for_day(&dash.engine, &dash.store, site, yesterday, now)
        .await
        .map_err(PageError::from)?;
    Ok(found.into_iter().map(|a| a.message).collect())
}

fn number(q: &luister_query::Params, name: &str, default: u32) -> Result<u32, PageError> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            PageError::BadRequest(format!(
                "{name}: {s:?} is geen aantal dagen / is not a number of days"
            ))
        }),
    }
}

/// `GET /sites/{domain}/acties/{id}?before_days=&after_days=&skip_days=`.
pub async fn detail(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (domain, id) = path.into_inner();
    let site = readable_site(&dash, &who, &domain).await?;
    let lang = Lang::of(&req);
    let all = actions_of(&dash, &site).await?;
    let action = all.iter().find(|a| a.id == id).ok_or(PageError::NotFound)?;
    let q = query_params(&req);
    let params = ImpactParams {
        before_days: number(&q, "before_days", 28)?,
        after_days: number(&q, "after_days", 28)?,
        skip_days: number(&q, "skip_days", 0)?,
        lang: impact_lang(lang),
    };
    params.check().map_err(PageError::from)?;
    let row = row(&dash, &site, action, &all, &params, lang, true).await?;
    render(&ActionPage {
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", action.title, site.domain),
            &site.domain,
            "/acties",
        ),
        domain: site.domain.clone(),
        description: action.description.clone(),
        row,
        before_days: params.before_days,
        after_days: params.after_days,
        skip_days: params.skip_days,
        can_change: who.user.can_change(&site.domain),
    })
}

fn target_of(form: &ActionForm, page: &str) -> Result<Target, PageError> {
    let text = |s: &str| s.trim().to_string();
    Ok(match form.target_type.as_str() {
        "goal" => Target::Goal {
            goal: text(&form.goal),
            page: Some(text(page)).filter(|p| !p.is_empty()),
        },
        "funnel" => Target::Funnel {
            funnel: text(&form.funnel),
        },
        "metric" => Target::Metric {
            metric: text(&form.metric),
            filters: text(&form.filters),
        },
        "search" => Target::Search {
            term: Some(text(&form.term)).filter(|t| !t.is_empty()),
            measure: match form.measure.as_str() {
                "zero_result_rate" => SearchMeasure::ZeroResultRate,
                "exit_rate" => SearchMeasure::ExitRate,
                "refinement_rate" => SearchMeasure::RefinementRate,
                _ => SearchMeasure::Searches,
            },
        },
        other => {
            return Err(PageError::BadRequest(format!(
                "{other:?} is geen soort doel / is not a target type"
            )))
        }
    })
}

/// `POST /sites/{domain}/acties`: adds an action (analysts).
pub async fn add(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    domain: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let start_date =
        NaiveDate::parse_from_str(form.start_date.trim(), "%Y-%m-%d").map_err(|_| {
            PageError::BadRequest(format!(
                "{:?} is geen datum / is not a date",
                form.start_date
            ))
        })?;
    let target = target_of(&form, &form.page)?;
    let control = match (&target, form.control_page.trim()) {
        (Target::Goal { .. }, page) if !page.is_empty() => Some(target_of(&form, page)?),
        _ => None,
    };
    let action = Action {
        id: String::new(),
        site_id: site.domain.clone(),
        title: form.title.trim().to_string(),
        description: form.description.trim().to_string(),
        owner: form.owner.trim().to_string(),
        start_date,
        status: match form.status.as_str() {
            "active" => Status::Active,
            "done" => Status::Done,
            _ => Status::Planned,
        },
        expected_direction: if form.expected_direction == "down" {
            Direction::Down
        } else {
            Direction::Up
        },
        target,
        control,
        created_at: 0,
    };
    action.validate().map_err(PageError::from)?;
    luister_impact::measure::resolve(&dash.store, &site, &action.target)
        .await
        .map_err(PageError::from)?;
    let stored = dash.store.put_action(&action.to_stored()).await?;
    audit(
        &dash,
        &who,
        "action.add",
        &site.domain,
        &format!("{} ({})", stored.id, stored.title),
    )
    .await?;
    Ok(see_other(&format!(
        "/sites/{}/acties/{}",
        site.domain, stored.id
    )))
}

/// `POST /sites/{domain}/acties/{id}/status`.
pub async fn set_status(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let (domain, id) = path.into_inner();
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let mut action = actions_of(&dash, &site)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(PageError::NotFound)?;
    action.status = match form.status.as_str() {
        "active" => Status::Active,
        "done" => Status::Done,
        _ => Status::Planned,
    };
    dash.store.put_action(&action.to_stored()).await?;
    audit(
        &dash,
        &who,
        "action.update",
        &site.domain,
        &format!("{} ({})", action.id, action.title),
    )
    .await?;
    Ok(see_other(&format!(
        "/sites/{}/acties/{}",
        site.domain, action.id
    )))
}

/// `POST /sites/{domain}/acties/{id}/verwijderen`.
pub async fn delete(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (domain, id) = path.into_inner();
    let site = changeable_site(&dash, &who, &domain, &form.csrf).await?;
    let action = actions_of(&dash, &site)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(PageError::NotFound)?;
    dash.store.delete_action(&action.to_stored()).await?;
    audit(&dash, &who, "action.delete", &site.domain, &action.id).await?;
    Ok(see_other(&format!("/sites/{}/acties", site.domain)))
}
