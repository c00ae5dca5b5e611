//! `GET /open-data/{domain}` (the months on offer) and `/open-data/{domain}/{YYYY-MM}.json`
//! or `.csv`: the public, suppressed monthly figures of a site that opted in
//! ([`luister_query::open_data`] counts them). No token: these are meant to be published.
//!
//! A month's figures are computed once an hour at most and kept in memory, so a popular
//! link costs ClickHouse nothing; whether the site still opts in is asked of the store
//! on every request, so withdrawing takes effect at once.

use crate::collector::error;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use luister_model::Site;
use luister_query::open_data::{self, Month, OpenDataMonth, MIN_COUNT, SCHEMA};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long computed figures are served before they are counted again.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Entries kept at most; when full, the cache starts over.
const CACHE_ENTRIES: usize = 10_000;

#[derive(Clone)]
enum Cached {
    Months(Arc<Vec<Month>>),
    Figures(Arc<OpenDataMonth>),
}

/// Computed answers by (domain, month or `""` for the list of months).
#[derive(Default)]
pub struct OpenDataCache {
    entries: Mutex<HashMap<(String, String), (Instant, Cached)>>,
}

impl OpenDataCache {
    fn get(&self, key: &(String, String)) -> Option<Cached> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: (String, String), value: Cached) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }
}

/// The routes; the server registers one shared [`OpenDataCache`] as app data.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/open-data/{domain}", web::get().to(index))
        .route("/open-data/{domain}/", web::get().to(index))
        .route("/open-data/{domain}/{file}", web::get().to(month));
}

async fn index(
    path: web::Path<String>,
    state: web::Data<AppState>,
    cache: web::Data<OpenDataCache>,
) -> HttpResponse {
    let site = match published_site(&state, &path).await {
        Ok(site) => site,
        Err(response) => return response,
    };
    let key = (site.domain.clone(), String::new());
    let months = match cache.get(&key) {
        Some(Cached::Months(months)) => months,
        _ => match open_data::months_with_data(&state.engine, &site, state.clock.now()).await {
            Ok(months) => {
                let months = Arc::new(months);
                cache.put(key, Cached::Months(months.clone()));
                months
            }
            Err(e) => return unavailable(&e),
        },
    };
    let base = format!("/open-data/{}", site.domain);
    let files: Vec<_> = months
        .iter()
        .map(|m| json!({"month": m, "json": format!("{base}/{m}.json"), "csv": format!("{base}/{m}.csv")}))
        .collect();
    public(HttpResponse::Ok()).json(json!({
        "schema": SCHEMA,
        "site": site.domain,
        "timezone": site.timezone,
        "min_count": MIN_COUNT,
        "months": files,
    }))
}

async fn month(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    cache: web::Data<OpenDataCache>,
) -> HttpResponse {
    let (domain, file) = path.into_inner();
    let site = match published_site(&state, &domain).await {
        Ok(site) => site,
        Err(response) => return response,
    };
    let Some((month, csv)) = parse_file(&file) else {
        return error(
            StatusCode::NOT_FOUND,
            "no such file: ask for YYYY-MM.json or YYYY-MM.csv",
        );
    };
    let tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    if !open_data::publishable(tz, state.clock.now()).contains(&month) {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "{month} is not published: only months that have ended, up to {} back",
                open_data::MAX_MONTHS_BACK
            ),
        );
    }
    let key = (site.domain.clone(), month.to_string());
    let figures = match cache.get(&key) {
        Some(Cached::Figures(figures)) => figures,
        _ => match open_data::month_figures(&state.engine, &site, month, state.clock.now()).await {
            Ok(figures) => {
                let figures = Arc::new(figures);
                cache.put(key, Cached::Figures(figures.clone()));
                figures
            }
            Err(e) => return unavailable(&e),
        },
    };
    if csv {
        public(HttpResponse::Ok())
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}-{month}.csv\"", site.domain),
            ))
            .body(figures.to_csv())
    } else {
        public(HttpResponse::Ok()).json(&*figures)
    }
}

/// `2026-11.json` → (November 2026, false); `.csv` → true.
fn parse_file(file: &str) -> Option<(Month, bool)> {
    let (stem, extension) = file.rsplit_once('.')?;
    let csv = match extension {
        "json" => false,
        "csv" => true,
        _ => return None,
    };
    Some((Month::parse(stem)?, csv))
}

/// The site if it exists and publishes open data; one 404 for both otherwise, so the
/// answer does not tell which sites exist. The flag is read from the store, so a site
/// that withdraws stops at once; a domain the server does not know costs ClickHouse a
/// lookup only as the collector's unknown domains do (a few per second at most).
async fn published_site(state: &AppState, domain: &str) -> Result<Site, HttpResponse> {
    let domain = domain.trim();
    let not_published = || {
        error(
            StatusCode::NOT_FOUND,
            &format!("{domain} publishes no open data"),
        )
    };
    if state.sites.get(domain).is_none() && !state.site_misses.may_look_up(domain) {
        return Err(not_published());
    }
    match state.store.get_site(domain).await {
        Ok(Some(site)) if site.open_data => Ok(site),
        Ok(None) => {
            state.site_misses.missed(domain);
            Err(not_published())
        }
        Ok(Some(_)) => Err(not_published()),
        Err(e) => {
            tracing::warn!(error = %e, "open data: reading the site failed");
            Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable; retry later",
            ))
        }
    }
}

fn unavailable(e: &luister_query::QueryError) -> HttpResponse {
    tracing::warn!(error = %e, "open data: counting failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the figures could not be counted; retry later",
    )
}

/// Anyone may fetch and cache these, from any origin.
fn public(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let (month, csv) = parse_file("2026-11.csv").unwrap();
        assert_eq!((month.to_string(), csv), ("2026-11".into(), true));
        assert!(!parse_file("2026-11.json").unwrap().1);
        for bad in [
            "2026-11",
            "2026-11.xml",
            "2026-13.json",
            "../x.json",
            ".json",
        ] {
            assert!(parse_file(bad).is_none(), "{bad}");
        }
    }
}
