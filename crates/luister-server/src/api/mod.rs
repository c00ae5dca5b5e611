//! The query API under `/api/v1`: Plausible Stats API v1 compatible stats, funnels,
//! site-search reports, goals with value, and site/goal/funnel management.
//!
//! Handlers only authenticate ([`auth`]), parse with `luister_query::params`, run the
//! `QueryEngine` and answer JSON; errors become HTTP in [`error`] only. Every route is
//! listed once in [`routes`], which both registers it and lets a test check that the
//! OpenAPI document ([`openapi`]) describes it.

mod actions;
mod auth;
mod cycles;
mod error;
mod manage;
pub mod openapi;
mod stats;

pub(crate) use auth::authenticate_client;
pub use auth::Caller;
pub use error::ApiError;

use actix_web::{web, HttpRequest, HttpResponse, Route};

/// Largest accepted JSON body (funnel definitions, goals, sites).
const MAX_JSON_BODY: usize = 64 * 1024;

/// Prefix of every route below.
pub const PREFIX: &str = "/api/v1";

/// Every route: method, path under [`PREFIX`] (routes of one path adjacent), handler.
pub fn routes() -> Vec<(&'static str, &'static str, Route)> {
    vec![
        (
            "get",
            "/stats/realtime/visitors",
            web::get().to(stats::realtime),
        ),
        (
            "get",
            "/stats/realtime/breakdown",
            web::get().to(stats::realtime_breakdown),
        ),
        ("get", "/stats/aggregate", web::get().to(stats::aggregate)),
        ("get", "/stats/timeseries", web::get().to(stats::timeseries)),
        ("get", "/stats/breakdown", web::get().to(stats::breakdown)),
        ("get", "/search/terms", web::get().to(stats::search_terms)),
        ("get", "/network/flows", web::get().to(stats::network_flows)),
        (
            "get",
            "/network/aggregate",
            web::get().to(stats::network_aggregate),
        ),
        (
            "get",
            "/search/zero-results",
            web::get().to(stats::search_zero_results),
        ),
        ("get", "/search/new", web::get().to(stats::search_new)),
        ("get", "/search/after", web::get().to(stats::search_after)),
        ("get", "/goals/value", web::get().to(stats::goal_value)),
        (
            "post",
            "/funnels/query",
            web::post().to(stats::funnel_query),
        ),
        ("get", "/funnels/{id}", web::get().to(stats::saved_funnel)),
        ("get", "/sites", web::get().to(manage::list_sites)),
        ("post", "/sites", web::post().to(manage::add_site)),
        (
            "delete",
            "/sites/{domain}",
            web::delete().to(manage::delete_site),
        ),
        (
            "get",
            "/sites/{domain}/goals",
            web::get().to(manage::list_goals),
        ),
        (
            "post",
            "/sites/{domain}/goals",
            web::post().to(manage::add_goal),
        ),
        (
            "delete",
            "/sites/{domain}/goals/{id}",
            web::delete().to(manage::delete_goal),
        ),
        (
            "get",
            "/sites/{domain}/funnels",
            web::get().to(manage::list_funnels),
        ),
        (
            "post",
            "/sites/{domain}/funnels",
            web::post().to(manage::add_funnel),
        ),
        (
            "delete",
            "/sites/{domain}/funnels/{id}",
            web::delete().to(manage::delete_funnel),
        ),
        (
            "get",
            "/sites/{domain}/actions",
            web::get().to(actions::list),
        ),
        (
            "post",
            "/sites/{domain}/actions",
            web::post().to(actions::create),
        ),
        (
            "get",
            "/sites/{domain}/actions/{id}",
            web::get().to(actions::get),
        ),
        (
            "patch",
            "/sites/{domain}/actions/{id}",
            web::patch().to(actions::update),
        ),
        (
            "delete",
            "/sites/{domain}/actions/{id}",
            web::delete().to(actions::delete),
        ),
        (
            "get",
            "/actions/{id}/impact",
            web::get().to(actions::impact),
        ),
        (
            "get",
            "/sites/{domain}/impact/summary",
            web::get().to(actions::summary),
        ),
        ("get", "/alerts", web::get().to(actions::alerts)),
        ("get", "/cycles", web::get().to(cycles::list)),
        ("get", "/cycles/report", web::get().to(cycles::report)),
        ("put", "/sites/{domain}/cycle", web::put().to(cycles::put)),
        ("get", "/audit", web::get().to(manage::audit_log)),
        ("get", "/openapi.json", web::get().to(openapi::serve)),
    ]
}

/// Registers the query API; called by the server's `App::configure`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope(PREFIX)
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BODY)
                .error_handler(|e, _| {
                    ApiError::BadRequest(format!("invalid json body: {e}")).into()
                }),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::BadRequest(format!("invalid query string: {e}")).into()
        }))
        .default_service(web::to(unknown_endpoint));
    let mut routes = routes().into_iter().peekable();
    while let Some((_, path, route)) = routes.next() {
        let mut resource = web::resource(path).route(route);
        while let Some((_, _, next)) = routes.next_if(|(_, p, _)| *p == path) {
            resource = resource.route(next);
        }
        scope = scope.service(resource);
    }
    cfg.service(scope);
}

async fn unknown_endpoint(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": format!("no endpoint {} {}; see {PREFIX}/openapi.json", req.method(), req.path())
    }))
}
