//! The OpenAPI 3 document of the query API, served at `/api/v1/openapi.json`.
//!
//! Written by hand from the same route list the server registers; a test checks that
//! every registered route is described here and nothing else.

use actix_web::HttpResponse;
use serde_json::{json, Value};

fn param(name: &str, location: &str, required: bool, description: &str) -> Value {
    json!({ "name": name, "in": location, "required": required, "description": description, "schema": {"type": "string"} })
}

fn q(name: &str, description: &str) -> Value {
    param(name, "query", false, description)
}

fn site_id() -> Value {
    param(
        "site_id",
        "query",
        true,
        "domain of the site, e.g. enschede.nl",
    )
}

fn period_params() -> Vec<Value> {
    vec![
        site_id(),
        q(
            "period",
            "day, 7d, 30d (default), month, 6mo, 12mo or custom",
        ),
        q(
            "date",
            "YYYY-MM-DD (default today in the site's time zone); for custom: YYYY-MM-DD,YYYY-MM-DD",
        ),
        q(
            "filters",
            "v1 filters, e.g. event:page==/schulden/**;visit:source==Google|Bing;visit:country!=NL",
        ),
    ]
}

fn paging() -> Vec<Value> {
    vec![
        q("limit", "rows per page, 1 to 1000 (default 100)"),
        q("page", "page number, from 1"),
    ]
}

fn path_param(name: &str) -> Value {
    param(name, "path", true, name)
}

fn response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": {"application/json": {"schema": schema}} })
}

fn obj() -> Value {
    json!({"type": "object"})
}

/// An operation with the usual error answers.
fn op(summary: &str, params: Vec<Value>, body: Option<Value>, ok: (&str, Value)) -> Value {
    let mut op = json!({
        "summary": summary,
        "parameters": params,
        "security": [{"bearer": []}],
        "responses": {
            ok.0: ok.1,
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/NotFound"},
        }
    });
    if let Some(schema) = body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    op
}

/// What the engagement metrics are, and where they are allowed.
const ENGAGEMENT: &str = "scroll_depth (integer percent: the mean over page visits, one per visit and page, of the deepest scroll) \
    and time_on_page (whole seconds: engaged time, visible and focused, of those page visits divided by their number) come from \
    engagement events; they are page-level metrics, allowed only with an event:page filter here or in a breakdown by event:page, \
    and null where a page has no engagement data";

fn stats_paths() -> Value {
    let metrics = luister_query::Metric::allowed();
    let mut breakdown = period_params();
    breakdown.push(param(
        "property",
        "query",
        true,
        "event:page, event:goal, event:props:<key>, visit:source, …",
    ));
    breakdown.push(q("metrics", &format!("comma-separated metrics (default visitors): {metrics}; scroll_depth and time_on_page only with property=event:page")));
    breakdown.extend(paging());
    let mut aggregate = period_params();
    aggregate.push(q(
        "metrics",
        &format!("comma-separated metrics (default visitors): {metrics}. {ENGAGEMENT}"),
    ));
    aggregate.push(q(
        "compare",
        "previous_period adds change per metric (null where a value is null)",
    ));
    let mut timeseries = period_params();
    timeseries.push(q(
        "metrics",
        &format!("comma-separated metrics (default visitors): {metrics}. {ENGAGEMENT}"),
    ));
    timeseries.push(q("interval", "hour, date, week or month"));
    json!({
        "/stats/realtime/visitors": {"get": op("visitors in the last 5 minutes", vec![site_id()], None,
            ("200", response("a bare number", json!({"type": "integer"}))))},
        "/stats/aggregate": {"get": op("metrics over a period", aggregate, None,
            ("200", response("{\"results\": {metric: {value, change?}}}; value null for scroll_depth and time_on_page without engagement data", obj())))},
        "/stats/timeseries": {"get": op("metrics per bucket, every bucket present", timeseries, None,
            ("200", response("{\"results\": [{date, metric…}]}", obj())))},
        "/stats/breakdown": {"get": op("metrics per value of a property", breakdown, None,
            ("200", response("{\"results\": [{<property>, metric…}]}", obj())))},
    })
}

fn report_paths() -> Value {
    let mut terms = period_params();
    terms.extend(paging());
    terms.push(q("compare", "previous_period adds change in searches"));
    let mut after = period_params();
    after.push(param("term", "query", true, "the search term"));
    after.extend(paging());
    let saved = vec![
        path_param("id"),
        q("period", "as in stats"),
        q("date", "as in stats"),
    ];
    let report = |s| {
        op(s, terms.clone(), None, ("200", response("{\"results\": [{term, searches, visitors, zero_results, zero_result_rate, exit_rate, refinement_rate, change?}]}", obj())))
    };
    json!({
        "/search/terms": {"get": report("site-search terms")},
        "/search/zero-results": {"get": report("terms with searches that found nothing")},
        "/search/new": {"get": report("terms not searched in the previous period")},
        "/search/after": {"get": op("next pages and goal conversions after a search", after, None,
            ("200", response("{term, visits, visitors, converted_visits, converted_visitors, conversion_rate, pages}", obj())))},
        "/goals/value": {"get": op("conversions, value and hours saved per goal", period_params(), None,
            ("200", response("{results: [...], totals: {...}}", obj())))},
        "/funnels/query": {"post": op("run a funnel", vec![], Some(json!({"$ref": "#/components/schemas/FunnelRequest"})),
            ("200", response("{steps: [...], conversion_rate, breakdown?}", obj())))},
        "/funnels/{id}": {"get": op("run a saved funnel", saved, None,
            ("200", response("{steps: [...], conversion_rate, breakdown?}", obj())))},
    })
}

fn manage_paths() -> Value {
    let domain = || vec![path_param("domain")];
    let domain_id = || vec![path_param("domain"), path_param("id")];
    let none = || ("204", json!({"description": "deleted"}));
    json!({
        "/sites": {
            "get": op("list sites (admin)", vec![], None, ("200", response("sites", json!({"type": "array", "items": obj()})))),
            "post": op("add a site (admin)", vec![], Some(json!({"$ref": "#/components/schemas/NewSite"})), ("201", response("the site", obj()))),
        },
        "/sites/{domain}": {"delete": op("remove a site with its goals, saved funnels and tokens (admin)", domain(), None,
            ("200", response("{removed, goals, funnels, tokens_revoked, tokens_narrowed}", obj())))},
        "/sites/{domain}/goals": {
            "get": op("list goals", domain(), None, ("200", response("goals", json!({"type": "array", "items": {"$ref": "#/components/schemas/Goal"}})))),
            "post": op("add a goal", domain(), Some(json!({"$ref": "#/components/schemas/Goal"})), ("201", response("the goal", obj()))),
        },
        "/sites/{domain}/goals/{id}": {"delete": op("delete a goal", domain_id(), None, none())},
        "/sites/{domain}/funnels": {
            "get": op("list saved funnels", domain(), None, ("200", response("funnels", json!({"type": "array", "items": obj()})))),
            "post": op("save a funnel", domain(), Some(json!({"$ref": "#/components/schemas/NewFunnel"})), ("201", response("the funnel", obj()))),
        },
        "/sites/{domain}/funnels/{id}": {"delete": op("delete a saved funnel", domain_id(), None, none())},
        "/audit": {"get": op("changes to sites, goals and funnels: who, what, when (admin)",
            vec![q("site_id", "only this site's changes"), q("limit", "newest entries, 1 to 1000 (default 100)")], None,
            ("200", response("[{at, actor, action, site_id, subject}], newest first", json!({"type": "array", "items": obj()}))))},
        "/openapi.json": {"get": {"summary": "this document", "security": [], "responses": {"200": response("OpenAPI 3", obj())}}},
    })
}

fn step_schema() -> Value {
    json!({"type": "object", "description": "exactly one of page (glob), event (name) or search (term glob, * = any search)",
           "properties": {"page": {"type": "string"}, "event": {"type": "string"}, "search": {"type": "string"}}})
}

fn components() -> Value {
    let error = response(
        "error",
        json!({"type": "object", "properties": {"error": {"type": "string"}}}),
    );
    let funnel_fields = json!({
        "steps": {"type": "array", "minItems": 2, "maxItems": 8, "items": step_schema()},
        "window_seconds": {"type": "integer", "default": 3600},
        "filters": {"type": "string"},
        "breakdown": {"type": "string", "description": "a visit property, e.g. visit:source"},
    });
    let mut request = funnel_fields.clone();
    for (k, v) in [
        ("site_id", "string"),
        ("period", "string"),
        ("date", "string"),
        ("limit", "integer"),
        ("page", "integer"),
    ] {
        request[k] = json!({"type": v});
    }
    let mut saved = funnel_fields;
    saved["name"] = json!({"type": "string"});
    json!({
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {"BadRequest": error.clone(), "Unauthorized": error.clone(), "NotFound": error},
        "schemas": {
            "FunnelRequest": {"type": "object", "required": ["site_id", "steps"], "properties": request},
            "NewFunnel": {"type": "object", "required": ["name", "steps"], "properties": saved},
            "Goal": {"type": "object", "properties": {
                "id": {"type": "string", "readOnly": true}, "event_name": {"type": "string"}, "page_path": {"type": "string"},
                "display_name": {"type": "string"}, "value_eur": {"type": "number"}, "minutes_saved": {"type": "number"}}},
            "NewSite": {"type": "object", "required": ["domain"], "properties": {
                "domain": {"type": "string"}, "timezone": {"type": "string"},
                "search_params": {"type": "array", "items": {"type": "string"}},
                "allowed_params": {"type": "array", "items": {"type": "string"}},
                "matomo_id": {"type": "integer"}, "extra_hosts": {"type": "array", "items": {"type": "string"}},
                "salt_rotation": {"type": "string", "enum": ["daily", "weekly"]}}},
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for group in [stats_paths(), report_paths(), manage_paths()] {
        for (path, item) in group.as_object().into_iter().flatten() {
            paths.insert(format!("{}{path}", super::PREFIX), item.clone());
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Luister query API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Plausible Stats API v1 compatible stats, funnels, site search and goal value"},
        "paths": paths,
        "components": components(),
    })
}

pub(super) async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_metric() {
        let doc = document();
        let prefix = super::super::PREFIX;
        for path in ["aggregate", "timeseries", "breakdown"] {
            let params = &doc["paths"][format!("{prefix}/stats/{path}")]["get"]["parameters"];
            let metrics = params
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "metrics")
                .unwrap()["description"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                metrics.contains(&luister_query::Metric::allowed()),
                "{path}: {metrics}"
            );
            assert!(metrics.contains("event:page"), "{path}: {metrics}");
        }
    }

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let routes = super::super::routes();
        for (method, path, _) in &routes {
            let full = format!("{}{path}", super::super::PREFIX);
            assert!(
                paths.get(&full).and_then(|p| p.get(*method)).is_some(),
                "{method} {full} not in openapi.json"
            );
        }
        let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(described, routes.len());
    }
}
