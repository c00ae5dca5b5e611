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
mod plausible_sites;
mod stats;

pub(crate) use auth::authenticate_client;
pub use auth::Caller;
pub use error::ApiError;

use actix_web::{web, HttpRequest, HttpResponse, Route};

/// Largest accepted JSON body (funnel definitions, goals, sites).
const MAX_JSON_BODY: usize = 64 * 1024;

/// Prefix of the stats and report API, and of Plausible's Sites API.
pub const PREFIX: &str = "/api/v1";
/// Prefix of Luister's own management API (sites with all their settings, goals with
/// value, funnels, actions, cycles, the audit log): Plausible's Sites API has other
/// shapes on `/api/v1/sites`, so ours lives apart.
pub const LUISTER_PREFIX: &str = "/api/luister/v1";

/// The full path of one of our routes: management (`/sites…`, `/audit`) under
/// [`LUISTER_PREFIX`], the rest under [`PREFIX`].
pub fn api(path: &str) -> String {
    let prefix = if path.starts_with("/sites") || path == "/audit" {
        LUISTER_PREFIX
    } else {
        PREFIX
    };
    format!("{prefix}{path}")
}

/// Every route: method, full path (routes of one path adjacent), handler.
pub fn routes() -> Vec<(&'static str, String, Route)> {
    let mut routes = plausible_sites::routes();
    routes.extend(luister_routes());
    routes
}

fn luister_routes() -> Vec<(&'static str, String, Route)> {
    vec![
        (
            "get",
            api("/stats/realtime/visitors"),
            web::get().to(stats::realtime),
        ),
        (
            "get",
            api("/stats/realtime/breakdown"),
            web::get().to(stats::realtime_breakdown),
        ),
        (
            "get",
            api("/stats/aggregate"),
            web::get().to(stats::aggregate),
        ),
        (
            "get",
            api("/stats/timeseries"),
            web::get().to(stats::timeseries),
        ),
        (
            "get",
            api("/stats/breakdown"),
            web::get().to(stats::breakdown),
        ),
        (
            "get",
            api("/search/terms"),
            web::get().to(stats::search_terms),
        ),
        (
            "get",
            api("/network/flows"),
            web::get().to(stats::network_flows),
        ),
        (
            "get",
            api("/network/aggregate"),
            web::get().to(stats::network_aggregate),
        ),
        (
            "get",
            api("/search/zero-results"),
            web::get().to(stats::search_zero_results),
        ),
        ("get", api("/search/new"), web::get().to(stats::search_new)),
        (
            "get",
            api("/search/after"),
            web::get().to(stats::search_after),
        ),
        ("get", api("/goals/value"), web::get().to(stats::goal_value)),
        (
            "post",
            api("/funnels/query"),
            web::post().to(stats::funnel_query),
        ),
        (
            "get",
            api("/funnels/{id}"),
            web::get().to(stats::saved_funnel),
        ),
        ("get", api("/sites"), web::get().to(manage::list_sites)),
        ("post", api("/sites"), web::post().to(manage::add_site)),
        (
            "delete",
            api("/sites/{domain}"),
            web::delete().to(manage::delete_site),
        ),
        (
            "get",
            api("/sites/{domain}/goals"),
            web::get().to(manage::list_goals),
        ),
        (
            "post",
            api("/sites/{domain}/goals"),
            web::post().to(manage::add_goal),
        ),
        (
            "delete",
            api("/sites/{domain}/goals/{id}"),
            web::delete().to(manage::delete_goal),
        ),
        (
            "get",
            api("/sites/{domain}/funnels"),
            web::get().to(manage::list_funnels),
        ),
        (
            "post",
            api("/sites/{domain}/funnels"),
            web::post().to(manage::add_funnel),
        ),
        (
            "delete",
            api("/sites/{domain}/funnels/{id}"),
            web::delete().to(manage::delete_funnel),
        ),
        (
            "get",
            api("/sites/{domain}/actions"),
            web::get().to(actions::list),
        ),
        (
            "post",
            api("/sites/{domain}/actions"),
            web::post().to(actions::create),
        ),
        (
            "get",
            api("/sites/{domain}/actions/{id}"),
            web::get().to(actions::get),
        ),
        (
            "patch",
            api("/sites/{domain}/actions/{id}"),
            web::patch().to(actions::update),
        ),
        (
            "delete",
            api("/sites/{domain}/actions/{id}"),
            web::delete().to(actions::delete),
        ),
        (
            "get",
            api("/actions/{id}/impact"),
            web::get().to(actions::impact),
        ),
        (
            "get",
            api("/sites/{domain}/impact/summary"),
            web::get().to(actions::summary),
        ),
        ("get", api("/alerts"), web::get().to(actions::alerts)),
        ("get", api("/cycles"), web::get().to(cycles::list)),
        ("get", api("/cycles/report"), web::get().to(cycles::report)),
        (
            "put",
            api("/sites/{domain}/cycle"),
            web::put().to(cycles::put),
        ),
        ("get", api("/audit"), web::get().to(manage::audit_log)),
        ("get", api("/openapi.json"), web::get().to(openapi::serve)),
    ]
}

/// Registers the query API; called by the server's `App::configure`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/api")
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
        let mut resource = web::resource(path.strip_prefix("/api").unwrap_or(&path)).route(route);
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
