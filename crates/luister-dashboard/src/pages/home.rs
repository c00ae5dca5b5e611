//! `/` (to the site list or the sign-in page), `/sites` (the sites a user may open) and
//! the language switch `/taal/{nl|en}`.

use super::{query_params, render, see_other};
use crate::auth::{safe_return_path, SignedIn};
use crate::error::PageError;
use crate::i18n::{Lang, LANG_COOKIE};
use crate::layout::Layout;
use crate::Dashboard;
use crate::{chart, format};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_query::Metric;

/// `GET /`.
pub async fn root(who: Option<SignedIn>) -> HttpResponse {
    see_other(if who.is_some() { "/sites" } else { "/inloggen" })
}

pub struct SiteEntry {
    pub domain: String,
    pub timezone: String,
    /// Visitors of the last 7 days, and their days as a sparkline.
    pub visitors: String,
    pub sparkline: String,
}

/// At most this many sites get their numbers on the list (each costs one query).
const SITES_WITH_NUMBERS: usize = 50;

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    layout: Layout,
    sites: Vec<SiteEntry>,
}

/// `GET /sites`.
pub async fn sites(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    let readable: Vec<_> = dash
        .store
        .list_sites()
        .await?
        .into_iter()
        .filter(|s| who.user.can_read(&s.domain))
        .collect();
    let week: luister_query::Params = [
        ("period".to_string(), "7d".to_string()),
        ("metrics".to_string(), "visitors".to_string()),
    ]
    .into();
    let now = dash.clock.now();
    let engine = &dash.engine;
    let series =
        futures_util::future::join_all(readable.iter().take(SITES_WITH_NUMBERS).map(|s| {
            let week = &week;
            async move {
                let q = luister_query::params::timeseries(s.clone(), week, now).ok()?;
                let total = luister_query::params::aggregate(s.clone(), week, now).ok()?;
                let (points, total) = tokio::join!(engine.timeseries(&q), engine.aggregate(&total));
                Some((points.ok()?, total.ok()?))
            }
        }))
        .await;
    let sites = readable
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let numbers = series.get(i).cloned().flatten();
            let (visitors, sparkline) = match numbers {
                Some((points, total)) => {
                    let values: Vec<f64> = points
                        .results
                        .iter()
                        .map(|p| {
                            p.values
                                .get(Metric::Visitors)
                                .and_then(|v| v.as_f64())
                                .unwrap_or(0.0)
                        })
                        .collect();
                    let count = total
                        .values
                        .get(Metric::Visitors)
                        .and_then(|v| v.as_f64())
                        .unwrap_or(0.0);
                    (
                        format::int(count as u64, lang),
                        chart::sparkline(lang.text().visitors_over_time, &values),
                    )
                }
                None => ("–".into(), String::new()),
            };
            SiteEntry {
                domain: s.domain,
                timezone: s.timezone,
                visitors,
                sparkline,
            }
        })
        .collect();
    let mut layout = Layout::new(&dash, &req, lang.text().sites);
    layout.user = Some(who.user.email.clone());
    layout.is_admin = who.user.role == luister_store::UserRole::Admin;
    layout.csrf = who.csrf.clone();
    render(&SitesPage { layout, sites })
}

/// `GET /taal/{lang}?terug=…`: remembers the language for a year and goes back.
pub async fn switch_language(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    lang: web::Path<String>,
) -> HttpResponse {
    let lang = Lang::parse(&lang).unwrap_or_default();
    let back = query_params(&req)
        .get("terug")
        .map(|p| safe_return_path(p))
        .unwrap_or_else(|| "/".into());
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(dash.settings.secure_cookies)
        .max_age(CookieDuration::days(365))
        .finish();
    let mut response = see_other(&back);
    let _ = response.add_cookie(&cookie);
    response
}
