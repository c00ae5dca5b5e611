//! Plausible's Sites API on its own paths under `/api/v1/sites`, so a provisioning
//! script written for Plausible works against Luister: sites, goals and shared links in
//! Plausible's shapes. Luister's own management API, with every setting, is under
//! [`super::LUISTER_PREFIX`].
//!
//! Parameters come as JSON or as a URL-encoded form (and, for reads, in the query
//! string). Differences from Plausible: a site's domain cannot be changed (it is the
//! site's id in every stored event); an existing shared link's URL cannot be shown
//! again (only a hash of its secret is kept), so asking for a name that exists is 409;
//! lists are answered in one page of up to `limit` (default 100, at most 1000) items and
//! `meta.after` is always null.

use super::auth::Caller;
use super::error::ApiError;
use super::manage::{self, audit};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, Route};
use luister_model::Site;
use luister_query::QueryError;
use luister_store::Goal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

type Params = HashMap<String, String>;

pub(super) fn routes() -> Vec<(&'static str, String, Route)> {
    let v1 = |path: &str| format!("{}{path}", super::PREFIX);
    vec![
        ("get", v1("/sites"), web::get().to(list_sites)),
        ("post", v1("/sites"), web::post().to(create_site)),
        ("get", v1("/sites/goals"), web::get().to(list_goals)),
        ("put", v1("/sites/goals"), web::put().to(put_goal)),
        (
            "delete",
            v1("/sites/goals/{goal_id}"),
            web::delete().to(delete_goal),
        ),
        (
            "put",
            v1("/sites/shared-links"),
            web::put().to(put_shared_link),
        ),
        ("get", v1("/sites/{site_id}"), web::get().to(get_site)),
        ("put", v1("/sites/{site_id}"), web::put().to(update_site)),
        (
            "delete",
            v1("/sites/{site_id}"),
            web::delete().to(delete_site),
        ),
    ]
}

/// The request's parameters: the query string, then the body (JSON object or form) over
/// it; any name not in `allowed` is refused, so a misspelt one is not silently ignored.
fn params(req: &HttpRequest, body: &[u8], allowed: &[&str]) -> Result<Params, ApiError> {
    let out = all_params(req, body)?;
    match out.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::BadRequest(format!(
            "unknown parameter {unknown:?}; this endpoint takes {}",
            allowed.join(", ")
        ))),
        None => Ok(out),
    }
}

fn all_params(req: &HttpRequest, body: &[u8]) -> Result<Params, ApiError> {
    let mut out: Params = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        out.extend(url::form_urlencoded::parse(body).into_owned());
    } else if content_type.starts_with("multipart/") {
        return Err(ApiError::BadRequest(
            "send the parameters as JSON or as a URL-encoded form (curl -d or --json), not multipart".into(),
        ));
    } else {
        let object: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("invalid json body: {e}")))?;
        for (key, value) in object {
            let Value::String(text) = value else {
                return Err(ApiError::BadRequest(format!("invalid {key}: a string")));
            };
            out.insert(key, text);
        }
    }
    Ok(out)
}

fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| QueryError::param(name, "missing").into())
}

/// `{after, before, limit}` of a list, all in one page.
fn page<T: serde::Serialize>(items: Vec<T>, params: &Params) -> Result<(Vec<T>, Value), ApiError> {
    let limit = match params.get("limit").map(|l| l.trim()) {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| QueryError::param("limit", "a whole number from 1 to 1000"))?,
    };
    let items: Vec<T> = items.into_iter().take(limit).collect();
    Ok((
        items,
        json!({"after": null, "before": null, "limit": limit}),
    ))
}

fn site_json(site: &Site) -> Value {
    json!({"domain": site.domain, "timezone": site.timezone})
}

fn goal_json(goal: &Goal) -> Value {
    let (kind, event, page) = if goal.event_name.is_empty() {
        ("page", Value::Null, Value::from(goal.page_path.clone()))
    } else {
        ("event", Value::from(goal.event_name.clone()), Value::Null)
    };
    json!({"id": goal.id, "display_name": goal.display_name, "goal_type": kind,
           "event_name": event, "page_path": page})
}

/// `GET /api/v1/sites`: `{"sites": [{domain, timezone}], "meta": {…}}`, the sites the
/// caller may read.
async fn list_sites(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &[], &["limit", "after", "before"])?;
    let sites: Vec<Value> = state
        .store
        .list_sites()
        .await?
        .iter()
        .filter(|s| caller.can_read(&s.domain))
        .map(site_json)
        .collect();
    let (sites, meta) = page(sites, &params)?;
    Ok(HttpResponse::Ok().json(json!({"sites": sites, "meta": meta})))
}

/// `POST /api/v1/sites` with `domain` and `timezone` (admin): `{domain, timezone}`.
async fn create_site(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let params = params(&req, &body, &["domain", "timezone", "team_id"])?;
    let mut site = Site::new(required(&params, "domain")?.to_ascii_lowercase());
    if let Some(tz) = params.get("timezone").filter(|t| !t.trim().is_empty()) {
        site.timezone = tz.trim().to_string();
    }
    if site.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(QueryError::param("timezone", "not an IANA time zone").into());
    }
    manage::create_site(&state, &caller, &site).await?;
    Ok(HttpResponse::Ok().json(site_json(&site)))
}

/// `GET /api/v1/sites/{site_id}`: `{domain, timezone, custom_properties}`.
async fn get_site(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&path)).await?;
    let mut answer = site_json(&site);
    answer["custom_properties"] = json!([]);
    Ok(HttpResponse::Ok().json(answer))
}

/// `PUT /api/v1/sites/{site_id}`: Luister cannot rename a site; says so.
async fn update_site(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let site = caller.site(&state, Some(&path)).await?;
    Err(ApiError::BadRequest(format!(
        "luister cannot change the domain of {}: it is the site's id in every stored event; \
         add the new host name to the site instead (extra_hosts in {}/sites)",
        site.domain,
        super::LUISTER_PREFIX
    )))
}

/// `DELETE /api/v1/sites/{site_id}` (admin): `{"deleted": true}`; the site's goals,
/// saved funnels and tokens go with it, as in [`super::manage`].
async fn delete_site(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let site = caller.site(&state, Some(&path)).await?;
    manage::remove_site(&state, &caller, &site.domain).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": true})))
}

/// `GET /api/v1/sites/goals?site_id=…`: `{"goals": [...], "meta": {…}}`.
async fn list_goals(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &[], &["site_id", "limit", "after", "before"])?;
    let site = caller
        .site(&state, Some(required(&params, "site_id")?))
        .await?;
    let goals: Vec<Value> = state
        .store
        .list_goals(&site.domain)
        .await?
        .iter()
        .map(goal_json)
        .collect();
    let (goals, meta) = page(goals, &params)?;
    Ok(HttpResponse::Ok().json(json!({"goals": goals, "meta": meta})))
}

/// `PUT /api/v1/sites/goals` with `site_id`, `goal_type` (`event` or `page`) and
/// `event_name` or `page_path`: finds or creates the goal (write scope).
async fn put_goal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = [
        "site_id",
        "goal_type",
        "event_name",
        "page_path",
        "display_name",
    ];
    let params = params(&req, &body, &fields)?;
    let site = caller
        .site_to_change(&state, Some(required(&params, "site_id")?))
        .await?;
    for field in ["event_name", "page_path"] {
        if params.get(field).is_some_and(|v| v.trim().is_empty()) {
            return Err(QueryError::param(field, "empty; leave it out").into());
        }
    }
    let mut goal = match required(&params, "goal_type")? {
        "event" => Goal::event(&site.domain, required(&params, "event_name")?),
        "page" => Goal::page(&site.domain, required(&params, "page_path")?),
        _ => return Err(QueryError::param("goal_type", "event or page").into()),
    };
    if let Some(name) = params.get("display_name") {
        goal.display_name = name.trim().to_string();
        if goal.display_name.is_empty() {
            let why = "empty; leave it out for the default";
            return Err(QueryError::param("display_name", why).into());
        }
    }
    let existing = state.store.list_goals(&site.domain).await?;
    let same = |g: &&Goal| g.event_name == goal.event_name && g.page_path == goal.page_path;
    let goal = match existing.iter().find(same) {
        Some(found) => found.clone(),
        None => {
            let added = state.store.add_goal(&goal).await?;
            let subject = format!("{} ({})", added.id, added.display_name);
            audit(&state, &caller, "goal.add", &site.domain, &subject).await?;
            added
        }
    };
    let mut answer = goal_json(&goal);
    answer["domain"] = Value::from(site.domain);
    Ok(HttpResponse::Ok().json(answer))
}

/// `DELETE /api/v1/sites/goals/{goal_id}` with `site_id`: `{"deleted": true}`.
async fn delete_goal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = params(&req, &body, &["site_id"])?;
    let site = caller
        .site_to_change(&state, Some(required(&params, "site_id")?))
        .await?;
    manage::remove_goal(&state, &caller, &site, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": true})))
}

/// `PUT /api/v1/sites/shared-links` with `site_id` and `name` (admin): a new link to the
/// site's read-only dashboard, `{name, url}`.
async fn put_shared_link(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let params = params(&req, &body, &["site_id", "name"])?;
    let site = caller
        .site(&state, Some(required(&params, "site_id")?))
        .await?;
    let name = required(&params, "name")?;
    let links = state.store.list_share_links(Some(&site.domain)).await?;
    if links.iter().any(|l| l.name == name) {
        return Err(luister_store::StoreError::Conflict(format!(
            "a shared link named {name:?} exists; luister shows a link's url only when it is made: \
             revoke it on /beheer and ask again"
        ))
        .into());
    }
    let (link, secret) = state
        .store
        .create_share_link(&site.domain, name, None)
        .await?;
    audit(&state, &caller, "share_link.create", &site.domain, &link.id).await?;
    let base = state.settings.dashboard.public_base(&req);
    Ok(HttpResponse::Ok()
        .json(json!({"name": link.name, "url": format!("{base}/gedeeld/{secret}")})))
}
