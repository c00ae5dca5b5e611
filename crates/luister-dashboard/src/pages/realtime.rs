//! Nu live (`/sites/{domain}/live`): visitors, pages and sources of the last five
//! minutes; the live part refreshes every 10 seconds when JavaScript runs.

use super::{readable_site, render, site_layout};
use crate::auth::SignedIn;
use crate::chart;
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::report::{ReportRow, ReportTable};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_query::{params, RealtimeDimension};

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

/// Visitors now, and the pages and sources of the last five minutes (shared with the monitor).
pub async fn live_view(dash: &Dashboard, site: &Site, lang: Lang) -> Result<LiveView, PageError> {
    let t = lang.text();
    let realtime = params::realtime(site.clone(), dash.clock.now());
    let (visitors_now, pages, sources) = tokio::try_join!(
        dash.engine.realtime_visitors(&realtime),
        dash.engine
            .realtime_breakdown(&realtime, RealtimeDimension::Page, 10),
        dash.engine
            .realtime_breakdown(&realtime, RealtimeDimension::Source, 10),
    )?;
    let table = |id: &str, title: &str, key_header: &str, rows: Vec<(String, u64)>| {
        let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
        ReportTable {
            id: id.into(),
            title: title.into(),
            key_header: key_header.into(),
            headers: vec![t.visitors.to_string()],
            metrics: vec!["visitors"],
            rows: rows
                .into_iter()
                .map(|(label, visitors)| ReportRow {
                    share_bar: chart::share_bar(visitors as f64 / max),
                    cells: vec![format::int(visitors, lang)],
                    filter_href: None,
                    label,
                })
                .collect(),
            csv_href: String::new(),
        }
    };
    Ok(LiveView {
        visitors_now: format::int(visitors_now, lang),
        tables: vec![
            table("live-pages", t.pages_now, t.page, pages),
            table("live-sources", t.sources_now, t.sources, sources),
        ],
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
    let live = live_view(&dash, &site, lang).await?;
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
