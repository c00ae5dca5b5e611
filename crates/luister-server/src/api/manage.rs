//! Managing sites (admin), goals and saved funnels (anyone who may read the site).

use super::auth::Caller;
use super::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use luister_model::{SaltRotation, Site};
use luister_store::{AuditEntry, Goal, SavedFunnel};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Body of `POST /api/luister/v1/sites`; unset fields take the defaults of `luister sites add`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSite {
    domain: String,
    timezone: Option<String>,
    search_params: Option<Vec<String>>,
    allowed_params: Option<Vec<String>>,
    matomo_id: Option<u32>,
    extra_hosts: Option<Vec<String>>,
    salt_rotation: Option<String>,
    retention_months: Option<u16>,
    open_data: Option<bool>,
}

impl NewSite {
    fn into_site(self) -> Result<Site, ApiError> {
        let mut site = Site::new(self.domain);
        if let Some(rotation) = self.salt_rotation {
            site.salt_rotation = SaltRotation::parse(&rotation).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid salt_rotation: {rotation:?} is not daily or weekly"
                ))
            })?;
        }
        site.timezone = self.timezone.unwrap_or(site.timezone);
        site.search_params = self.search_params.unwrap_or(site.search_params);
        site.allowed_params = self.allowed_params.unwrap_or_default();
        site.matomo_id = self.matomo_id.unwrap_or(0);
        site.extra_hosts = self.extra_hosts.unwrap_or_default();
        site.retention_months = self.retention_months.unwrap_or(0);
        site.open_data = self.open_data.unwrap_or(false);
        Ok(site)
    }
}

pub(super) async fn list_sites(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    Ok(HttpResponse::Ok().json(state.store.list_sites().await?))
}

pub(super) async fn add_site(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewSite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let site = body.into_inner().into_site()?;
    create_site(&state, &caller, &site).await?;
    Ok(HttpResponse::Created().json(site))
}

/// Stores a new site, logs it and has the collector take its events at once; both
/// site APIs (ours and Plausible's) add sites here.
pub(super) async fn create_site(
    state: &AppState,
    caller: &Caller,
    site: &Site,
) -> Result<(), ApiError> {
    state.store.add_site(site).await?;
    audit(state, caller, "site.add", &site.domain, &site.domain).await?;
    state.reload_sites().await?;
    Ok(())
}

/// Removes a site with its goals, funnels and tokens, logs it and stops collecting for it.
pub(super) async fn remove_site(
    state: &AppState,
    caller: &Caller,
    domain: &str,
) -> Result<luister_store::SiteRemoval, ApiError> {
    let removed = state.store.remove_site(domain).await?;
    audit(state, caller, "site.remove", domain, domain).await?;
    state.reload_sites().await?;
    Ok(removed)
}

pub(super) async fn delete_site(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let removed = remove_site(&state, &caller, &domain).await?;
    Ok(HttpResponse::Ok().json(json!({
        "removed": *domain,
        "goals": removed.goals,
        "funnels": removed.funnels,
        "tokens_revoked": removed.tokens_revoked,
        "tokens_narrowed": removed.tokens_narrowed,
    })))
}

/// A goal as the API shows and accepts it: value in euros.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GoalBody {
    #[serde(default, skip_deserializing)]
    id: String,
    #[serde(default)]
    event_name: String,
    #[serde(default)]
    page_path: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    value_eur: f64,
    #[serde(default)]
    minutes_saved: f64,
}

impl GoalBody {
    fn from_goal(g: Goal) -> Self {
        Self {
            id: g.id,
            event_name: g.event_name,
            page_path: g.page_path,
            display_name: g.display_name,
            value_eur: g.value_cents as f64 / 100.0,
            minutes_saved: g.minutes_saved,
        }
    }

    fn into_goal(self, site_id: &str) -> Result<Goal, ApiError> {
        if !(self.value_eur.is_finite() && (0.0..=1e12).contains(&self.value_eur)) {
            return Err(ApiError::BadRequest(
                "invalid value_eur: a number of euros, zero or more".into(),
            ));
        }
        Ok(Goal {
            site_id: site_id.into(),
            id: String::new(),
            event_name: self.event_name.trim().into(),
            page_path: self.page_path.trim().into(),
            display_name: self.display_name.trim().into(),
            value_cents: (self.value_eur * 100.0).round() as i64,
            minutes_saved: self.minutes_saved,
        })
    }
}

pub(super) async fn list_goals(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&domain)).await?;
    let goals: Vec<GoalBody> = state
        .store
        .list_goals(&site.domain)
        .await?
        .into_iter()
        .map(GoalBody::from_goal)
        .collect();
    Ok(HttpResponse::Ok().json(goals))
}

pub(super) async fn add_goal(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
    body: web::Json<GoalBody>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let goal = state
        .store
        .add_goal(&body.into_inner().into_goal(&site.domain)?)
        .await?;
    let subject = format!("{} ({})", goal.id, goal.display_name);
    audit(&state, &caller, "goal.add", &site.domain, &subject).await?;
    Ok(HttpResponse::Created().json(GoalBody::from_goal(goal)))
}

pub(super) async fn delete_goal(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    remove_goal(&state, &caller, &site, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes goal `id` of `site` and logs it; 404 when the site has no such goal.
pub(super) async fn remove_goal(
    state: &AppState,
    caller: &Caller,
    site: &Site,
    id: String,
) -> Result<(), ApiError> {
    let goals = state.store.list_goals(&site.domain).await?;
    if !goals.iter().any(|g| g.id == id) {
        return Err(luister_query::QueryError::NotFound { what: "goal", id }.into());
    }
    state.store.delete_goal(&site.domain, &id).await?;
    audit(state, caller, "goal.delete", &site.domain, &id).await?;
    Ok(())
}

/// Body of `POST /api/luister/v1/sites/{domain}/funnels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewFunnel {
    name: String,
    steps: Vec<luister_query::FunnelStep>,
    #[serde(default = "default_window")]
    window_seconds: u32,
    #[serde(default)]
    filters: String,
    #[serde(default)]
    breakdown: Option<String>,
}

fn default_window() -> u32 {
    3600
}

fn funnel_json(f: SavedFunnel) -> serde_json::Value {
    let definition: serde_json::Value = serde_json::from_str(&f.definition).unwrap_or_default();
    json!({ "id": f.id, "site_id": f.site_id, "name": f.name, "definition": definition })
}

pub(super) async fn list_funnels(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site(&state, Some(&domain)).await?;
    let funnels: Vec<_> = state
        .store
        .list_funnels(&site.domain)
        .await?
        .into_iter()
        .map(funnel_json)
        .collect();
    Ok(HttpResponse::Ok().json(funnels))
}

pub(super) async fn add_funnel(
    state: web::Data<AppState>,
    caller: Caller,
    domain: web::Path<String>,
    body: web::Json<NewFunnel>,
) -> Result<HttpResponse, ApiError> {
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    let body = body.into_inner();
    let definition = luister_query::FunnelDefinition {
        steps: body.steps,
        window_seconds: body.window_seconds,
        filters: body.filters,
        breakdown: body.breakdown,
    };
    luister_query::params::check_funnel_definition(&definition)?;
    let definition =
        serde_json::to_string(&definition).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let saved = SavedFunnel {
        site_id: site.domain,
        id: String::new(),
        name: body.name,
        definition,
    };
    let saved = state.store.add_funnel(&saved).await?;
    let subject = format!("{} ({})", saved.id, saved.name);
    audit(&state, &caller, "funnel.add", &saved.site_id, &subject).await?;
    Ok(HttpResponse::Created().json(funnel_json(saved)))
}

pub(super) async fn delete_funnel(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let site = caller.site_to_change(&state, Some(&domain)).await?;
    match state.store.get_funnel(&id).await? {
        Some(f) if f.site_id == site.domain => {}
        _ => return Err(luister_query::QueryError::NotFound { what: "funnel", id }.into()),
    }
    state.store.delete_funnel(&site.domain, &id).await?;
    audit(&state, &caller, "funnel.delete", &site.domain, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Records a change in the audit log.
pub(super) async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    site_id: &str,
    subject: &str,
) -> Result<(), ApiError> {
    let entry = AuditEntry::new(&caller.actor(), action, site_id, subject);
    Ok(state.store.audit(entry).await?)
}

/// Query of `GET /api/luister/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    site_id: Option<String>,
    limit: Option<String>,
}

/// `GET /api/luister/v1/audit` (admin): the newest changes, who made them and when.
pub(super) async fn audit_log(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None => 100,
        Some(text) => text.parse::<u32>().unwrap_or(0),
    };
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "invalid parameter limit: 1 to 1000".into(),
        ));
    }
    if query
        .site_id
        .as_deref()
        .is_some_and(|s| !luister_store::is_site_domain(s))
    {
        return Err(ApiError::BadRequest(
            "invalid parameter site_id: a site's domain, or leave it out for every site".into(),
        ));
    }
    let entries = state
        .store
        .audit_entries(query.site_id.as_deref(), limit)
        .await?;
    let rows: Vec<_> = entries
        .into_iter()
        .map(|e| {
            let at = chrono::DateTime::from_timestamp(e.at.into(), 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            json!({"at": at, "actor": e.actor, "action": e.action, "site_id": e.site_id, "subject": e.subject})
        })
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}
