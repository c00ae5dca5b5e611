//! Actions and their impact: `/api/luister/v1/sites/{domain}/actions[/{id}]` and
//! `/api/v1/actions/{id}/impact`. Reading needs a token for the site; changing one with
//! scope write. The measuring is `luister-impact`'s; this module only speaks HTTP.

use super::auth::Caller;
use super::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use luister_impact::{Action, ActionError, ActionPatch, ImpactParams, Lang, NewAction};
use luister_query::{Params, QueryError};
use luister_store::AuditEntry;

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Invalid { field, reason } => {
                ApiError::BadRequest(format!("invalid {field}: {reason}"))
            }
            ActionError::Store(e) => ApiError::Store(e),
            ActionError::Query(e) => ApiError::Query(e),
        }
    }
}

fn not_found(id: &str) -> ApiError {
    QueryError::NotFound {
        what: "action",
        id: id.to_string(),
    }
    .into()
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    site_id: &str,
    subject: &str,
) -> Result<(), ApiError> {
    Ok(state
        .store
        .audit(AuditEntry::new(&caller.actor(), action, site_id, subject))
        .await?)
}

/// An action of `domain` the caller may read, or 404.
async fn find(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    id: &str,
) -> Result<Action, ApiError> {
    let site = caller.site(state, Some(domain)).await?;
    let stored = state
        .store
        .get_action(id)
        .await?
        .filter(|a| a.site_id == site.domain)
        .ok_or_else(|| not_found(id))?;
    Ok(Action::from_stored(stored)?)
}

async fn all(state: &AppState, domain: &str) -> Result<Vec<Action>, ApiError> {
    state
        .store
        .list_actions(domain)
        .await?
        .into_iter()
        .map(|a| Action::from_stored(a).map_err(ApiError::from))
        .collect()
}

pub(super) async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&domain)).await?;
    Ok(HttpResponse::Ok().json(all(&state, &site.domain).await?))
}

pub(super) async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
    body: web::Json<NewAction>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let action = body.into_inner().into_action(&site.domain);
    action.validate()?;
    luister_impact::measure::resolve(&state.store, &site, &action.target).await?;
    if let Some(control) = &action.control {
        luister_impact::measure::resolve(&state.store, &site, control).await?;
    }
    let stored = state.store.put_action(&action.to_stored()).await?;
    audit(
        &state,
        &caller,
        "action.add",
        &site.domain,
        &format!("{} ({})", stored.id, stored.title),
    )
    .await?;
    Ok(HttpResponse::Created().json(Action::from_stored(stored)?))
}

pub(super) async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(find(&state, &caller, &domain, &id).await?))
}

pub(super) async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<ActionPatch>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let action = find(&state, &caller, &site.domain, &id)
        .await?
        .patched(body.into_inner());
    action.validate()?;
    luister_impact::measure::resolve(&state.store, &site, &action.target).await?;
    let stored = state.store.put_action(&action.to_stored()).await?;
    audit(
        &state,
        &caller,
        "action.update",
        &site.domain,
        &format!("{} ({})", stored.id, stored.title),
    )
    .await?;
    Ok(HttpResponse::Ok().json(Action::from_stored(stored)?))
}

pub(super) async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let action = find(&state, &caller, &site.domain, &id).await?;
    state.store.delete_action(&action.to_stored()).await?;
    audit(&state, &caller, "action.delete", &site.domain, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn days(q: &Params, name: &'static str, default: u32) -> Result<u32, ApiError> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid {name}: {text:?} is not a whole number of days"
            ))
        }),
    }
}

/// The impact parameters of a query string.
pub(crate) fn impact_params(q: &Params) -> Result<ImpactParams, ApiError> {
    let lang = match q.get("lang").map(String::as_str) {
        None | Some("") => Lang::Nl,
        Some(text) => Lang::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!("invalid lang: {text:?} is not nl or en"))
        })?,
    };
    let p = ImpactParams {
        before_days: days(q, "before_days", 28)?,
        after_days: days(q, "after_days", 28)?,
        skip_days: days(q, "skip_days", 0)?,
        lang,
    };
    p.check()?;
    Ok(p)
}

/// `GET /api/luister/v1/sites/{domain}/impact/summary?from=&to=`: every action that started in the
/// range with its effect, and their combined value.
pub(super) async fn summary(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&domain)).await?;
    let params = impact_params(&q)?;
    let date = |name: &'static str| -> Result<Option<chrono::NaiveDate>, ApiError> {
        match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "invalid {name}: {text:?} is not a date like 2026-01-31"
                    ))
                }),
        }
    };
    let to = date("to")?.unwrap_or_else(|| state.clock.now().date_naive());
    let from = date("from")?.unwrap_or_else(|| to - chrono::Duration::days(365));
    if from > to {
        return Err(ApiError::BadRequest(
            "invalid from: it lies after to".into(),
        ));
    }
    let actions = all(&state, &site.domain).await?;
    let result = luister_impact::summary(
        &state.engine,
        &state.store,
        &site,
        &actions,
        (from, to),
        &params,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// `GET /api/v1/alerts?site_id=&date=&days=`: the anomalies of `days` local days ending at
/// `date` (default: yesterday), newest first.
pub(super) async fn alerts(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let site = caller
        .site(&state, q.get("site_id").map(String::as_str))
        .await?;
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = state.clock.now();
    let yesterday = now.with_timezone(&tz).date_naive() - chrono::Duration::days(1);
    let date = match q.get("date").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => yesterday,
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid date: {text:?} is not a date like 2026-11-29"
            ))
        })?,
    };
    if date < luister_query::params::FIRST_REPORT_DATE
        || date > yesterday + chrono::Duration::days(1)
    {
        return Err(ApiError::BadRequest(format!(
            "invalid date: {date} lies outside 2000-01-01 … today"
        )));
    }
    let days = days(&q, "days", 1)?;
    if !(1..=14).contains(&days) {
        return Err(ApiError::BadRequest(format!(
            "invalid days: {days} is not from 1 to 14"
        )));
    }
    let mut found = Vec::new();
    for back in 0..days {
        let day = date - chrono::Duration::days(back.into());
        found.extend(
            luister_impact::alerts_for_day(&state.engine, &state.store, &site, day, now).await?,
        );
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "results": found })))
}

/// `GET /api/v1/actions/{id}/impact`.
pub(super) async fn impact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let params = impact_params(&q)?;
    let stored = state
        .store
        .get_action(&id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    if !caller.can_read(&stored.site_id) {
        return Err(not_found(&id));
    }
    let site = caller.site(&state, Some(&stored.site_id)).await?;
    let action = Action::from_stored(stored)?;
    let others = all(&state, &site.domain).await?;
    let result = luister_impact::impact(
        &state.engine,
        &state.store,
        &site,
        &action,
        &others,
        &params,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(result))
}
