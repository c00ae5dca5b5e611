//! Handlers of Plausible's Stats API v1 and of our reports: parse, authorise, run, answer JSON.

use super::auth::Caller;
use super::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use luister_query::{params, Params, QueryEngine, SearchReport};

type Query = web::Query<Params>;

fn engine(state: &AppState) -> QueryEngine {
    state.engine.clone()
}

async fn site(
    state: &AppState,
    caller: &Caller,
    q: &Params,
) -> Result<luister_model::Site, ApiError> {
    caller
        .site(state, q.get("site_id").map(String::as_str))
        .await
}

/// `GET /api/v1/stats/realtime/visitors`: a bare number.
pub(super) async fn realtime(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let site = site(&state, &caller, &q).await?;
    let visitors = engine(&state)
        .realtime_visitors(&params::realtime(site, state.clock.now()))
        .await?;
    Ok(HttpResponse::Ok().json(visitors))
}

/// `GET /api/v1/stats/realtime/breakdown?property=event:page|visit:source`.
pub(super) async fn realtime_breakdown(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let site = site(&state, &caller, &q).await?;
    let (dimension, key) = match q.get("property").map(String::as_str) {
        Some("event:page") => (luister_query::RealtimeDimension::Page, "page"),
        Some("visit:source") => (luister_query::RealtimeDimension::Source, "source"),
        _ => {
            return Err(luister_query::QueryError::param(
                "property",
                "give event:page or visit:source",
            )
            .into())
        }
    };
    let rows = engine(&state)
        .realtime_breakdown(&params::realtime(site, state.clock.now()), dimension, 100)
        .await?;
    let results: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(value, visitors)| serde_json::json!({key: value, "visitors": visitors}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "results": results })))
}

pub(super) async fn aggregate(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let query = params::aggregate(site(&state, &caller, &q).await?, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).aggregate(&query).await?))
}

pub(super) async fn timeseries(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let query = params::timeseries(site(&state, &caller, &q).await?, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).timeseries(&query).await?))
}

pub(super) async fn breakdown(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let query = params::breakdown(site(&state, &caller, &q).await?, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).breakdown(&query).await?))
}

async fn search_report(
    state: &AppState,
    caller: &Caller,
    q: &Params,
    report: SearchReport,
) -> Result<HttpResponse, ApiError> {
    let query = params::search_terms(site(state, caller, q).await?, q, state.clock.now(), report)?;
    Ok(HttpResponse::Ok().json(engine(state).search_terms(&query).await?))
}

pub(super) async fn search_terms(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    search_report(&state, &caller, &q, SearchReport::Terms).await
}

pub(super) async fn search_zero_results(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    search_report(&state, &caller, &q, SearchReport::ZeroResults).await
}

pub(super) async fn search_new(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    search_report(&state, &caller, &q, SearchReport::New).await
}

pub(super) async fn search_after(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let query = params::search_after(site(&state, &caller, &q).await?, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).search_after(&query).await?))
}

pub(super) async fn goal_value(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let query = params::goal_value(site(&state, &caller, &q).await?, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).goal_value(&query).await?))
}

/// `POST /api/v1/funnels/query`.
pub(super) async fn funnel_query(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<luister_query::FunnelRequest>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&body.site_id)).await?;
    let query = params::funnel_request(site, &body, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).funnel(&query).await?))
}

/// `GET /api/v1/funnels/{id}`: runs a saved funnel over `period`/`date`.
pub(super) async fn saved_funnel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let not_found = || luister_query::QueryError::NotFound {
        what: "funnel",
        id: id.to_string(),
    };
    let saved = state.store.get_funnel(&id).await?.ok_or_else(not_found)?;
    if !caller.can_read(&saved.site_id) {
        return Err(not_found().into());
    }
    let site = caller.site(&state, Some(&saved.site_id)).await?;
    let definition: luister_query::FunnelDefinition = serde_json::from_str(&saved.definition)
        .map_err(|e| {
            ApiError::BadRequest(format!("saved funnel {} is unreadable: {e}", saved.id))
        })?;
    let query = params::funnel(site, &definition, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).funnel(&query).await?))
}

/// Most sites one network request may name.
const MAX_NETWORK_SITES: usize = 20;

/// The sites of `site_id=a.nl,b.nl,…` (2 to [`MAX_NETWORK_SITES`]), each one the caller
/// may read; any other is reported as not found.
async fn network_sites(
    state: &AppState,
    caller: &Caller,
    q: &Params,
) -> Result<Vec<luister_model::Site>, ApiError> {
    let mut domains: Vec<&str> = Vec::new();
    for domain in q
        .get("site_id")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
    {
        let domain = domain.trim();
        if !domain.is_empty() && !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    if !(2..=MAX_NETWORK_SITES).contains(&domains.len()) {
        let why = format!("give 2 to {MAX_NETWORK_SITES} sites, comma-separated");
        return Err(luister_query::QueryError::param("site_id", why).into());
    }
    let mut sites = Vec::with_capacity(domains.len());
    for domain in domains {
        sites.push(caller.site(state, Some(domain)).await?);
    }
    Ok(sites)
}

/// `GET /api/v1/network/flows?site_id=gemeente.nl,voedselbank.nl,…`: pageviews on one
/// site of the network referred from a page of another, by page, both ways.
pub(super) async fn network_flows(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let sites = network_sites(&state, &caller, &q).await?;
    let query = params::network_flows(sites, &q, state.clock.now())?;
    Ok(HttpResponse::Ok().json(engine(&state).network_flows(&query).await?))
}

/// `GET /api/v1/network/aggregate?site_id=…&metrics=…`: the aggregate of each site of
/// the network side by side (`{"results": [{"site_id", "results": {metric: {value}}}]}`).
/// Visitor ids differ per site, so the sites' visitors are not added up.
pub(super) async fn network_aggregate(
    state: web::Data<AppState>,
    caller: Caller,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let sites = network_sites(&state, &caller, &q).await?;
    let mut results = Vec::with_capacity(sites.len());
    for site in sites {
        let domain = site.domain.clone();
        let query = params::aggregate(site, &q, state.clock.now())?;
        let answer = serde_json::to_value(engine(&state).aggregate(&query).await?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        results.push(serde_json::json!({"site_id": domain, "results": answer["results"]}));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "results": results })))
}
