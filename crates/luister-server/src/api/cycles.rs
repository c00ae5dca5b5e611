//! Review cycles: `GET /api/v1/cycles`, `PUT /api/luister/v1/sites/{domain}/cycle` and the cycle
//! report `GET /api/v1/cycles/report`.

use super::auth::Caller;
use super::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use luister_impact::{Cycle, CycleSetting, Lang};
use luister_query::Params;
use luister_store::{AuditEntry, StoredCycle};
use serde::Deserialize;

/// Body of `PUT …/cycle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CycleBody {
    weeks: u8,
    start_date: chrono::NaiveDate,
}

async fn setting(state: &AppState, site_id: &str) -> Result<CycleSetting, ApiError> {
    Ok(CycleSetting::from_stored(
        state.store.get_cycle(site_id).await?,
    ))
}

fn today(state: &AppState, site: &luister_model::Site) -> chrono::NaiveDate {
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    state.clock.now().with_timezone(&tz).date_naive()
}

/// `GET /api/v1/cycles?site_id=`: the setting and the last twelve cycles, newest first.
pub(super) async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let site = caller
        .site(&state, q.get("site_id").map(String::as_str))
        .await?;
    let setting = setting(&state, &site.domain).await?;
    let current = setting.containing(today(&state, &site));
    let cycles: Vec<Cycle> = (0..12)
        .map(|back| setting.nth(current.number - back))
        .collect();
    Ok(HttpResponse::Ok().json(
        serde_json::json!({"weeks": setting.weeks, "start_date": setting.start, "cycles": cycles}),
    ))
}

/// `PUT /api/luister/v1/sites/{domain}/cycle` (scope write).
pub(super) async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
    body: web::Json<CycleBody>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let stored = StoredCycle::new(&site.domain, body.weeks, &body.start_date.to_string());
    state.store.put_cycle(&stored).await?;
    let entry = AuditEntry::new(
        &caller.actor(),
        "cycle.set",
        &site.domain,
        &format!("{} weeks from {}", body.weeks, body.start_date),
    );
    state.store.audit(entry).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"weeks": body.weeks, "start_date": body.start_date})))
}

/// Which cycle `cycle=current|previous|YYYY-MM-DD` names.
pub(crate) fn chosen(
    setting: &CycleSetting,
    today: chrono::NaiveDate,
    text: Option<&str>,
) -> Result<Cycle, ApiError> {
    let current = setting.containing(today);
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("current") => Ok(current),
        Some("previous") => Ok(current.previous(setting)),
        Some(date) => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .ok()
            .filter(|d| *d >= luister_query::params::FIRST_REPORT_DATE && *d <= today)
            .map(|d| setting.containing(d))
            .ok_or_else(|| ApiError::BadRequest(format!("invalid cycle: {date:?} is not current, previous or a date from 2000 up to today"))),
    }
}

/// `GET /api/v1/cycles/report?site_id=&cycle=&lang=`.
pub(super) async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let site = caller
        .site(&state, q.get("site_id").map(String::as_str))
        .await?;
    let setting = setting(&state, &site.domain).await?;
    let cycle = chosen(
        &setting,
        today(&state, &site),
        q.get("cycle").map(String::as_str),
    )?;
    let lang = match q.get("lang").map(String::as_str) {
        None | Some("") | Some("nl") => Lang::Nl,
        Some("en") => Lang::En,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid lang: {other:?} is not nl or en"
            )))
        }
    };
    let report = luister_impact::cycle_report(
        &state.engine,
        &state.store,
        &site,
        (&setting, cycle),
        lang,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
