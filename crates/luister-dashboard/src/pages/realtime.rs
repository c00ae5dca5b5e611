//! Nu live (`/sites/{domain}/live`): visitors in the last five minutes, and today's pages
//! and sources; the live part refreshes every 10 seconds when JavaScript runs.

use super::{readable_site, render, site_layout};
use crate::auth::SignedIn;
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::report::{breakdown_table, ReportState, ReportTable, TableSpec};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_query::{params, Metric, Params};

#[derive(Template)]
#[template(path = "realtime.html")]
struct RealtimePage {
    layout: Layout,
    domain: String,
    live: LiveView,
}

/// The refreshed part: the number now and today's tables.
pub struct LiveView {
    pub visitors_now: String,
    pub tables: Vec<ReportTable>,
}

/// Visitors now plus today's top rows of `properties` (shared with the monitor).
pub async fn live_view(
    dash: &Dashboard,
    site: &Site,
    base_path: &str,
    lang: Lang,
) -> Result<LiveView, PageError> {
    let t = lang.text();
    let now = dash.clock.now();
    let today: Params = [("period".to_string(), "day".to_string())].into();
    let state = ReportState::new(base_path, &today);
    let specs = [
        ("live-pages", "event:page", t.pages_today),
        ("live-sources", "visit:source", t.sources_today),
    ];
    let queries = specs
        .iter()
        .map(|(_, property, _)| {
            params::breakdown(
                site.clone(),
                &state.query(&[
                    ("property", property),
                    ("metrics", "visitors"),
                    ("limit", "10"),
                ]),
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let realtime = params::realtime(site.clone(), now);
    let (visitors_now, results) = tokio::try_join!(
        dash.engine.realtime_visitors(&realtime),
        futures_util::future::try_join_all(queries.iter().map(|q| dash.engine.breakdown(q))),
    )?;
    let columns = [(Metric::Visitors, t.visitors)];
    let csv_path = format!("/sites/{}/export.csv", site.domain);
    let tables = specs
        .iter()
        .zip(&results)
        .map(|((id, property, title), result)| {
            breakdown_table(
                &TableSpec {
                    id,
                    title,
                    property,
                    metrics: &columns,
                    csv_path: &csv_path,
                },
                result,
                &state,
                lang,
            )
        })
        .collect();
    Ok(LiveView {
        visitors_now: format::int(visitors_now, lang),
        tables,
    })
}

/// `GET /sites/{domain}/live`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let lang = Lang::of(&req);
    let live = live_view(&dash, &site, &format!("/sites/{}", site.domain), lang).await?;
    let mut layout = site_layout(
        &dash,
        &req,
        &who,
        format!("{} – {}", lang.text().realtime, site.domain),
        &site.domain,
        "/live",
    );
    layout.refresh = 10;
    render(&RealtimePage {
        layout,
        domain: site.domain.clone(),
        live,
    })
}
