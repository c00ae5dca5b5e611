//! Cyclus (`/sites/{domain}/cyclus?cycle=current|previous|YYYY-MM-DD`): the cycle report
//! with its significance markers, the actions and their value, and the same report as a
//! self-contained HTML file to download (`…/cyclus/rapport.html`).

use super::{query_params, readable_site, render, site_layout};
use crate::auth::SignedIn;
use crate::error::PageError;
use crate::i18n::{Lang, Text};
use crate::layout::Layout;
use crate::report_view::{report_html, ReportView};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_impact::{Cycle, CycleReport, CycleSetting};
use luister_model::Site;

#[derive(Template)]
#[template(path = "cycle.html")]
struct CyclePage {
    layout: Layout,
    t: &'static Text,
    domain: String,
    view: ReportView,
    /// Recent cycles for the picker: label, link, chosen.
    cycles: Vec<(String, String, bool)>,
    download_href: String,
}

async fn build(
    dash: &Dashboard,
    site: &Site,
    choice: Option<&str>,
    lang: Lang,
) -> Result<(CycleReport, CycleSetting, Cycle), PageError> {
    let setting = CycleSetting::from_stored(dash.store.get_cycle(&site.domain).await?);
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = dash.clock.now().with_timezone(&tz).date_naive();
    let current = setting.containing(today);
    let cycle = match choice.map(str::trim).filter(|c| !c.is_empty()) {
        None | Some("current") => current,
        Some("previous") => current.previous(&setting),
        Some(date) => setting.containing(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .ok()
                .filter(|d| *d <= today && *d >= luister_query::params::FIRST_REPORT_DATE)
                .ok_or_else(|| {
                    PageError::BadRequest(format!("{date:?} is geen cyclus / is not a cycle"))
                })?,
        ),
    };
    let impact_lang = crate::impact_view::impact_lang(lang);
    let report = luister_impact::cycle_report(
        &dash.engine,
        &dash.store,
        site,
        (&setting, cycle),
        impact_lang,
        dash.clock.now(),
    )
    .await?;
    Ok((report, setting, current))
}

/// `GET /sites/{domain}/cyclus`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let lang = Lang::of(&req);
    let t = lang.text();
    let query = query_params(&req);
    let choice = query.get("cycle").map(String::as_str);
    let (report, setting, current) = build(&dash, &site, choice, lang).await?;
    let base = format!("/sites/{}/cyclus", site.domain);
    let cycles = (0..6)
        .map(|back| {
            let c = setting.nth(current.number - back);
            (
                format!(
                    "{} – {}",
                    crate::format::date(c.first, lang),
                    crate::format::date(c.last, lang)
                ),
                format!("{base}?cycle={}", c.first),
                c.number == report.cycle.number,
            )
        })
        .collect();
    render(&CyclePage {
        layout: site_layout(
            &dash,
            &req,
            &who,
            format!("{} – {}", t.cycle, site.domain),
            &site.domain,
            "/cyclus",
        ),
        t,
        domain: site.domain.clone(),
        view: ReportView::new(&report, lang),
        cycles,
        download_href: format!("{base}/rapport.html?cycle={}", report.cycle.first),
    })
}

/// `GET /sites/{domain}/cyclus/rapport.html?cycle=`: the report as one file.
pub async fn download(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let lang = Lang::of(&req);
    let query = query_params(&req);
    let (report, _, _) = build(&dash, &site, query.get("cycle").map(String::as_str), lang).await?;
    let name = format!("luister-{}-{}.html", site.domain, report.cycle.first);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(report_html(&report, lang)?))
}
