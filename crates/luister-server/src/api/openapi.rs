//! The OpenAPI 3 document of the query API, served at `/api/v1/openapi.json`.
//!
//! Written by hand from the same route list the server registers; a test checks that
//! every registered route is described here and nothing else.

use actix_web::HttpResponse;
use serde_json::{json, Value};

fn param(name: &str, location: &str, required: bool, description: &str) -> Value {
    typed(
        name,
        location,
        required,
        description,
        json!({"type": "string"}),
    )
}

fn typed(name: &str, location: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": location, "required": required, "description": description, "schema": schema })
}

fn q(name: &str, description: &str) -> Value {
    param(name, "query", false, description)
}

/// A host name as sites are registered: lower-case letters, digits, dots and hyphens.
const DOMAIN_PATTERN: &str = "^[a-z0-9-]+(\\.[a-z0-9-]+)+$";
/// A URL parameter name as `search_params` and `allowed_params` take them.
const PARAM_PATTERN: &str = "^[A-Za-z0-9_.\\[\\]-]{1,60}$";
/// A date from 2000 to this year (the server takes every day up to a year ahead; the
/// pattern keeps to days every month has); with `range`, also `FIRST,LAST` for custom.
fn date_pattern(range: bool) -> String {
    use chrono::Datelike;
    let years: Vec<String> = (2000..=chrono::Utc::now().year())
        .map(|y| y.to_string())
        .collect();
    let date = format!(
        "({})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
        years.join("|")
    );
    if range {
        format!("^{date}(,{date})?$")
    } else {
        format!("^{date}$")
    }
}

fn site_id() -> Value {
    typed(
        "site_id",
        "query",
        true,
        "domain of the site, e.g. enschede.nl",
        json!({"type": "string", "pattern": DOMAIN_PATTERN, "example": "enschede.nl"}),
    )
}

fn period_params() -> Vec<Value> {
    vec![
        site_id(),
        typed("period", "query", false, "30d when absent; custom needs date=FIRST,LAST",
            json!({"type": "string", "enum": ["day", "7d", "30d", "month", "6mo", "12mo", "custom"]})),
        typed("date", "query", false,
            "YYYY-MM-DD (default today in the site's time zone); for custom: YYYY-MM-DD,YYYY-MM-DD; dates from 2000-01-01 to one year ahead",
            json!({"type": "string", "pattern": date_pattern(true)})),
        typed(
            "filters",
            "query",
            false,
            "v1 filters, e.g. event:page==/schulden/**;visit:source==Google|Bing;visit:country!=NL",
            json!({"type": "string", "pattern": filters_pattern()}),
        ),
    ]
}

/// `property==value|value;property!=value`, with the known properties (values plain here;
/// the server also takes `\\;`, `\\|` and `\\\\` escapes).
fn filters_pattern() -> String {
    let properties = luister_query::Property::allowed()
        .replace(' ', "")
        .replace(',', "|")
        .replace("event:props:<key>", "event:props:[a-z0-9_]{1,40}");
    let value = "[a-zA-Z0-9/*_. -]{1,60}";
    let clause = format!("({properties})(==|!=){value}(\\|{value}){{0,4}}");
    format!("^({clause}(;{clause}){{0,4}})?$")
}

fn paging() -> Vec<Value> {
    vec![
        typed(
            "limit",
            "query",
            false,
            "rows per page (default 100)",
            json!({"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        typed(
            "page",
            "query",
            false,
            "page number, from 1",
            json!({"type": "integer", "minimum": 1, "maximum": 100000}),
        ),
    ]
}

fn path_param(name: &str) -> Value {
    let schema = if name == "domain" || name == "site_id" {
        json!({"type": "string", "pattern": DOMAIN_PATTERN, "example": "enschede.nl"})
    } else {
        json!({"type": "string", "pattern": "^[0-9a-f]{1,32}$"})
    };
    typed(name, "path", true, name, schema)
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
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"},
            "429": {"$ref": "#/components/responses/Error"},
            "503": {"$ref": "#/components/responses/Error"},
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

/// `metrics`: a comma-separated list of known metrics.
fn metrics_param(description: &str) -> Value {
    let names = luister_query::Metric::allowed().replace(' ', "");
    let one = format!("({})", names.replace(',', "|"));
    typed(
        "metrics",
        "query",
        false,
        description,
        json!({"type": "string", "pattern": format!("^{one}(,{one})*$")}),
    )
}

fn stats_paths() -> Value {
    let metrics = luister_query::Metric::allowed();
    let mut breakdown = period_params();
    breakdown.push(param(
        "property",
        "query",
        true,
        "event:page, event:goal, event:props:<key>, visit:source, …",
    ));
    breakdown.push(metrics_param(&format!("comma-separated metrics (default visitors): {metrics}; scroll_depth and time_on_page only with property=event:page")));
    breakdown.extend(paging());
    let mut aggregate = period_params();
    aggregate.push(metrics_param(&format!(
        "comma-separated metrics (default visitors): {metrics}. {ENGAGEMENT}"
    )));
    aggregate.push(typed(
        "compare",
        "query",
        false,
        "previous_period or year_over_year (the same dates a year earlier) adds change per metric (null where a value is null)",
        json!({"type": "string", "enum": ["previous_period", "year_over_year"]}),
    ));
    let mut timeseries = period_params();
    timeseries.push(metrics_param(&format!(
        "comma-separated metrics (default visitors): {metrics}. {ENGAGEMENT}"
    )));
    timeseries.push(typed(
        "interval",
        "query",
        false,
        "bucket size (default date); hour only for ranges up to 31 days",
        json!({"type": "string", "enum": ["date", "week", "month", "hour"]}),
    ));
    json!({
        "/stats/realtime/visitors": {"get": op("visitors in the last 5 minutes", vec![site_id()], None,
            ("200", response("a bare number", json!({"type": "integer"}))))},
        "/stats/realtime/breakdown": {"get": op("visitors per page or source in the last 5 minutes, most first (at most 100)", vec![site_id(), typed(
            "property", "query", true, "event:page or visit:source",
            json!({"type": "string", "enum": ["event:page", "visit:source"]}))], None,
            ("200", response("{\"results\": [{<property>, visitors}]}", obj())))},
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
    terms.push(typed(
        "compare",
        "query",
        false,
        "previous_period or year_over_year adds change in searches",
        json!({"type": "string", "enum": ["previous_period", "year_over_year"]}),
    ));
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
    let network_sites = typed(
        "site_id",
        "query",
        true,
        "the network's sites, comma-separated (2 to 20), e.g. enschede.nl,voedselbank-enschede.nl",
        json!({"type": "string", "pattern": "^[a-z0-9-]+(\\.[a-z0-9-]+)+(,[a-z0-9-]+(\\.[a-z0-9-]+)+){1,19}$"}),
    );
    let mut flows = vec![network_sites.clone()];
    flows.extend(
        period_params()
            .into_iter()
            .skip(1)
            .filter(|p| p["name"] != "filters"),
    );
    let mut combined = vec![network_sites];
    combined.extend(period_params().into_iter().skip(1));
    combined.push(metrics_param("as in /stats/aggregate (default visitors)"));
    flows.extend(paging());
    json!({
        "/network/flows": {"get": op("pageviews on one site of a network referred from another, by page", flows, None,
            ("200", response("{\"results\": [{from, to, page, visitors, visits, pageviews}]}", obj())))},
        "/network/aggregate": {"get": op("the aggregate of each site of a network, side by side", combined, None,
            ("200", response("{\"results\": [{site_id, results: {metric: {value}}}]}", obj())))},
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

/// Plausible's Sites API (`plausible_sites`): parameters as JSON, a form or a query.
fn plausible_sites_paths() -> Value {
    let body = |required: &[&str], properties: Value| {
        Some(
            json!({"type": "object", "required": required, "additionalProperties": false, "properties": properties}),
        )
    };
    let site_id = || json!({"type": "string", "pattern": DOMAIN_PATTERN, "maxLength": 253});
    let limit = typed(
        "limit",
        "query",
        false,
        "items at most (default 100)",
        json!({"type": "integer", "minimum": 1, "maximum": 1000}),
    );
    let deleted = || ("200", response("{\"deleted\": true}", obj()));
    let goal = || {
        (
            "200",
            response(
                "{id, display_name, goal_type, event_name, page_path}",
                obj(),
            ),
        )
    };
    json!({
        "/sites": {
            "get": op("Plausible: the sites the token may read, {sites: [{domain, timezone}], meta}", vec![limit.clone()], None,
                ("200", response("{sites, meta}", obj()))),
            "post": op("Plausible: add a site (admin); Luister's own settings are under /api/luister/v1/sites",
                vec![], body(&["domain"], json!({"domain": {"type": "string", "pattern": DOMAIN_PATTERN, "maxLength": 253},
                    "timezone": {"type": "string", "enum": time_zones()}, "team_id": {"type": "string", "description": "ignored"}})),
                ("200", response("{domain, timezone}", obj()))),
        },
        "/sites/goals": {
            "get": op("Plausible: the site's goals, {goals, meta}", vec![site_id(), limit], None, ("200", response("{goals, meta}", obj()))),
            "put": op("Plausible: find or create a goal (write scope)", vec![],
                body(&["site_id", "goal_type"], json!({"site_id": site_id(), "goal_type": {"type": "string", "enum": ["event", "page"]},
                    "event_name": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 :_.-]{0,119}$"},
                    "page_path": {"type": "string", "pattern": "^/[a-zA-Z0-9/*_.-]{0,200}$"},
                    "display_name": {"type": "string", "maxLength": 120, "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,100}$"}})),
                goal()),
        },
        "/sites/goals/{goal_id}": {"delete": op("Plausible: delete a goal (write scope)", vec![path_param("goal_id"), site_id()], None, deleted())},
        "/sites/shared-links": {"put": op("Plausible: a new shared link to the site's dashboard (admin), {name, url}", vec![],
            body(&["site_id", "name"], json!({"site_id": site_id(), "name": {"type": "string", "minLength": 1, "maxLength": 100}})),
            ("200", response("{name, url}", obj())))},
        "/sites/{site_id}": {
            "get": op("Plausible: one site, {domain, timezone, custom_properties}", vec![path_param("site_id")], None, ("200", response("{domain, timezone}", obj()))),
            "put": op("Plausible: change a site's domain; Luister cannot (400, with the reason)", vec![path_param("site_id")],
                body(&[], json!({"domain": {"type": "string", "pattern": DOMAIN_PATTERN}})), ("200", response("never", obj()))),
            "delete": op("Plausible: remove a site with its goals, funnels and tokens (admin)", vec![path_param("site_id")], None, deleted()),
        },
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
            "post": op("add a goal", domain(), Some(json!({"$ref": "#/components/schemas/NewGoal"})), ("201", response("the goal", json!({"$ref": "#/components/schemas/Goal"})))),
        },
        "/sites/{domain}/goals/{id}": {"delete": op("delete a goal", domain_id(), None, none())},
        "/sites/{domain}/funnels": {
            "get": op("list saved funnels", domain(), None, ("200", response("funnels", json!({"type": "array", "items": obj()})))),
            "post": op("save a funnel", domain(), Some(json!({"$ref": "#/components/schemas/NewFunnel"})), ("201", response("the funnel", obj()))),
        },
        "/sites/{domain}/funnels/{id}": {"delete": op("delete a saved funnel", domain_id(), None, none())},
        "/sites/{domain}/actions": {
            "get": op("list actions", domain(), None, ("200", response("actions", json!({"type": "array", "items": {"$ref": "#/components/schemas/Action"}})))),
            "post": op("add an action (write scope)", domain(), Some(json!({"$ref": "#/components/schemas/NewAction"})), ("201", response("the action", json!({"$ref": "#/components/schemas/Action"})))),
        },
        "/sites/{domain}/actions/{id}": {
            "get": op("one action", domain_id(), None, ("200", response("the action", json!({"$ref": "#/components/schemas/Action"})))),
            "patch": op("change an action (write scope)", domain_id(), Some(json!({"$ref": "#/components/schemas/ActionPatch"})), ("200", response("the action", json!({"$ref": "#/components/schemas/Action"})))),
            "delete": op("delete an action (write scope)", domain_id(), None, none()),
        },
        "/actions/{id}/impact": {"get": op("the measured impact of an action, with significance, value and robustness",
            vec![path_param("id"),
                 typed("before_days", "query", false, "local days before the start date (default 28)", json!({"type": "integer", "minimum": 1, "maximum": 366})),
                 typed("after_days", "query", false, "local days from the start date plus skip_days (default 28)", json!({"type": "integer", "minimum": 1, "maximum": 366})),
                 typed("skip_days", "query", false, "days after the start left out (default 0)", json!({"type": "integer", "minimum": 0, "maximum": 366})),
                 typed("lang", "query", false, "language of the verdict (default nl)", json!({"type": "string", "enum": ["nl", "en"]}))], None,
            ("200", response("{method, before, after, p_value, significant, verdict, …} (see docs/statistics.md)", obj())))},
        "/sites/{domain}/impact/summary": {"get": op("every action started in a range with its effect, and their combined value",
            vec![path_param("domain"),
                 typed("from", "query", false, "first start date (default a year before to)", json!({"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"})),
                 typed("to", "query", false, "last start date (default today)", json!({"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"})),
                 typed("before_days", "query", false, "as for an action's impact", json!({"type": "integer", "minimum": 1, "maximum": 366})),
                 typed("after_days", "query", false, "as for an action's impact", json!({"type": "integer", "minimum": 1, "maximum": 366})),
                 typed("lang", "query", false, "language of the verdicts", json!({"type": "string", "enum": ["nl", "en"]}))], None,
            ("200", response("{from, to, actions: [{action, impact | not_measured}], combined: {extra_conversions, eur, hours, …_ci95}}", obj())))},
        "/cycles": {"get": op("the site's review cycle and its last twelve cycles, newest first", vec![site_id()], None,
            ("200", response("{weeks, start_date, cycles: [{number, first, last}]}", obj())))},
        "/cycles/report": {"get": op("the report of a cycle, every figure against the cycle before with its significance",
            vec![site_id(),
                 typed("cycle", "query", false, "current (default), previous, or a date inside the cycle", json!({"type": "string", "pattern": "^(current|previous|20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))$"})),
                 typed("lang", "query", false, "language of the verdicts", json!({"type": "string", "enum": ["nl", "en"]}))], None,
            ("200", response("{cycle, previous_cycle, has_data, headline, goals, funnels, search, movers, actions}", obj())))},
        "/sites/{domain}/cycle": {"put": op("set the review cycle (write scope)", vec![path_param("domain")],
            Some(json!({"type": "object", "required": ["weeks", "start_date"], "additionalProperties": false, "properties": {
                "weeks": {"type": "integer", "minimum": 1, "maximum": 52},
                "start_date": {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}}})),
            ("200", response("{weeks, start_date}", obj())))},
        "/alerts": {"get": op("anomalies: days far outside what the same weekday of the four weeks before predicts (see docs/statistics.md)",
            vec![site_id(),
                 typed("date", "query", false, "the last day (default yesterday, in the site's time zone)", json!({"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"})),
                 typed("days", "query", false, "how many days up to date (default 1)", json!({"type": "integer", "minimum": 1, "maximum": 14}))], None,
            ("200", response("{\"results\": [{date, kind, subject, value, expected, direction, message}]}", obj())))},
        "/audit": {"get": op("changes to sites, goals and funnels: who, what, when (admin)",
            vec![typed("site_id", "query", false, "only this site's changes", json!({"type": "string", "pattern": DOMAIN_PATTERN})),
                 typed("limit", "query", false, "newest entries (default 100)", json!({"type": "integer", "minimum": 1, "maximum": 1000}))], None,
            ("200", response("[{at, actor, action, site_id, subject}], newest first", json!({"type": "array", "items": obj()}))))},
        "/openapi.json": {"get": {"summary": "this document", "security": [], "responses": {"200": response("OpenAPI 3", obj())}}},
    })
}

/// The fields of an action as sent (`NewAction`; all optional in `ActionPatch`).
fn action_fields() -> Value {
    json!({
        "title": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\s]"},
        "description": {"type": "string", "maxLength": 5000},
        "owner": {"type": "string", "maxLength": 200},
        "start_date": {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"},
        "status": {"type": "string", "enum": ["planned", "active", "done"]},
        "expected_direction": {"type": "string", "enum": ["up", "down"]},
        "target": {"$ref": "#/components/schemas/Target"},
        "control": {"$ref": "#/components/schemas/Target"},
    })
}

/// What an action is measured on.
fn target_schema() -> Value {
    let kind = |name: &str, required: Vec<&str>, props: Value| {
        let mut p = props;
        p["type"] = json!({"type": "string", "enum": [name]});
        let mut req = vec!["type"];
        req.extend(required);
        json!({"type": "object", "required": req, "additionalProperties": false, "properties": p})
    };
    json!({"oneOf": [
        kind("goal", vec!["goal"], json!({"goal": {"type": "string", "minLength": 1, "maxLength": 120}, "page": {"type": "string", "pattern": "^/[a-zA-Z0-9/*_.-]{0,200}$"}})),
        kind("funnel", vec!["funnel"], json!({"funnel": {"type": "string", "minLength": 1, "maxLength": 120}})),
        kind("metric", vec!["metric"], json!({"metric": {"type": "string", "enum": ["visitors", "visits", "pageviews", "events", "bounce_rate"]}, "filters": {"type": "string", "pattern": filters_pattern()}})),
        kind("search", vec!["measure"], json!({"term": {"type": "string", "maxLength": 100}, "measure": {"type": "string", "enum": ["searches", "zero_result_rate", "exit_rate", "refinement_rate"]}})),
    ]})
}

fn step_schema() -> Value {
    let one = |name: &str, schema: Value| json!({"type": "object", "required": [name], "additionalProperties": false, "properties": {name: schema}});
    json!({"description": "exactly one of page (glob), event (name) or search (term glob, * = any search)",
    "oneOf": [
        one("page", json!({"type": "string", "pattern": "^/[a-zA-Z0-9/*_.-]{0,200}$"})),
        one("event", json!({"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 :_.-]{0,119}$"})),
        one("search", json!({"type": "string", "pattern": "^[a-z0-9*][a-z0-9* ]{0,99}$"})),
    ]})
}

fn components() -> Value {
    let error = response(
        "error",
        json!({"type": "object", "properties": {"error": {"type": "string"}}}),
    );
    let funnel_fields = json!({
        "steps": {"type": "array", "minItems": 2, "maxItems": 8, "items": step_schema()},
        "window_seconds": {"type": "integer", "minimum": 1, "maximum": 31 * 86_400, "default": 3600},
        "filters": {"type": "string", "pattern": filters_pattern()},
        "breakdown": {"type": "string", "description": "a visit property, e.g. visit:source",
                      "enum": ["visit:source", "visit:channel", "visit:device", "visit:browser", "visit:os", "visit:country", "visit:utm_campaign"]},
    });
    let mut request = funnel_fields.clone();
    request["site_id"] =
        json!({"type": "string", "pattern": DOMAIN_PATTERN, "example": "enschede.nl"});
    request["period"] =
        json!({"type": "string", "enum": ["day", "7d", "30d", "month", "6mo", "12mo"]});
    request["date"] = json!({"type": "string", "pattern": date_pattern(false)});
    request["limit"] = json!({"type": "integer", "minimum": 1, "maximum": 1000});
    request["page"] = json!({"type": "integer", "minimum": 1, "maximum": 100000});
    let mut saved = funnel_fields;
    saved["name"] =
        json!({"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[^\\s].*$"});
    json!({
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {"Error": error},
        "schemas": {
            "FunnelRequest": {"type": "object", "required": ["site_id", "steps"], "additionalProperties": false, "properties": request},
            "NewFunnel": {"type": "object", "required": ["name", "steps"], "additionalProperties": false, "properties": saved},
            "Goal": {"type": "object", "description": "a goal as stored: event_name or page_path is empty",
                "properties": {
                "id": {"type": "string"}, "event_name": {"type": "string"}, "page_path": {"type": "string"},
                "display_name": {"type": "string"}, "value_eur": {"type": "number"}, "minutes_saved": {"type": "number"}}},
            "NewGoal": {"type": "object", "additionalProperties": false, "description": "either event_name or page_path",
                "oneOf": [{"required": ["event_name"], "not": {"required": ["page_path"]}}, {"required": ["page_path"], "not": {"required": ["event_name"]}}],
                "properties": {
                "event_name": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 :_.-]{0,119}$"},
                "page_path": {"type": "string", "pattern": "^/[a-zA-Z0-9/*_.-]{0,200}$"},
                "display_name": {"type": "string", "maxLength": 120, "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,100}$"},
                "value_eur": {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
                "minutes_saved": {"type": "number", "minimum": 0, "maximum": 1_000_000}}},
            "Target": target_schema(),
            "NewAction": {"type": "object", "required": ["title", "start_date", "target"], "additionalProperties": false, "properties": action_fields()},
            "ActionPatch": {"type": "object", "additionalProperties": false, "properties": action_fields()},
            "Action": {"type": "object", "properties": {
                "id": {"type": "string"}, "site_id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                "owner": {"type": "string"}, "start_date": {"type": "string", "format": "date"}, "status": {"type": "string"},
                "expected_direction": {"type": "string"}, "target": obj(), "control": obj(), "created_at": {"type": "integer"}}},
            "NewSite": {"type": "object", "required": ["domain"], "additionalProperties": false, "properties": {
                "domain": {"type": "string", "pattern": DOMAIN_PATTERN, "maxLength": 253},
                "timezone": {"nullable": true, "type": "string", "enum": time_zones()},
                "search_params": {"nullable": true, "type": "array", "items": {"type": "string", "pattern": PARAM_PATTERN}},
                "allowed_params": {"nullable": true, "type": "array", "items": {"type": "string", "pattern": PARAM_PATTERN}},
                "matomo_id": {"nullable": true, "type": "integer", "minimum": 0, "maximum": 4_294_967_295u64},
                "extra_hosts": {"nullable": true, "type": "array", "items": {"type": "string", "pattern": DOMAIN_PATTERN, "maxLength": 253}},
                "salt_rotation": {"nullable": true, "type": "string", "enum": ["daily", "weekly", null]},
                "retention_months": {"nullable": true, "type": "integer", "minimum": 0, "maximum": 1200},
                "open_data": {"nullable": true, "type": "boolean"}}},
        }
    })
}

/// Every IANA time zone a site may be given, and null for the default.
fn time_zones() -> Value {
    let mut zones: Vec<Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| Value::String(tz.name().into()))
        .collect();
    zones.push(Value::Null);
    Value::Array(zones)
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for group in [stats_paths(), report_paths(), manage_paths()] {
        for (path, item) in group.as_object().into_iter().flatten() {
            paths.insert(super::api(path), item.clone());
        }
    }
    for (path, item) in plausible_sites_paths().as_object().into_iter().flatten() {
        paths.insert(format!("{}{path}", super::PREFIX), item.clone());
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
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} not in openapi.json"
            );
        }
        let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(described, routes.len());
    }
}
