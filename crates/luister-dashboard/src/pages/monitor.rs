//! Monitor (`/gedeeld/{link}/monitor`): one full screen for the team room, opened with a
//! share link so it needs no account. Today so far against the same weekday of the last
//! four weeks (up to the same hour), visitors now, saved funnels, top searches and
//! searches without results; refreshed every 30 seconds, large enough to read across a room.

use super::realtime::live_view;
use super::share::{open_link, ShareAccess};
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::layout::{html, Layout};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate, Timelike};
use futures_util::future::try_join_all;
use luister_model::Site;
use luister_query::{params, FunnelDefinition, Metric, Params, SearchReport};

pub struct MonitorFunnel {
    pub name: String,
    pub conversion_rate: String,
    pub entered: String,
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    layout: Layout,
    domain: String,
    visitors_now: String,
    today: String,
    weekday_average: String,
    change: Option<String>,
    change_class: &'static str,
    funnels: Vec<MonitorFunnel>,
    top_searches: Vec<(String, String)>,
    zero_searches: Vec<(String, String)>,
    alerts: Vec<String>,
}

fn day_params(date: NaiveDate) -> Params {
    [
        ("period".to_string(), "custom".to_string()),
        ("date".to_string(), format!("{date},{date}")),
        ("interval".to_string(), "hour".to_string()),
        ("metrics".to_string(), "visits".to_string()),
    ]
    .into()
}

/// Visits today up to now, and the mean of the same weekday of four weeks, up to the same hour.
async fn today_against_weekdays(dash: &Dashboard, site: &Site) -> Result<(u64, f64), PageError> {
    let now = dash.clock.now();
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    let hour = local.hour() as usize;
    let days: Vec<NaiveDate> = (0..=4u64)
        .filter_map(|w| today.checked_sub_days(Days::new(7 * w)))
        .collect();
    let queries = days
        .iter()
        .map(|d| params::timeseries(site.clone(), &day_params(*d), now))
        .collect::<Result<Vec<_>, _>>()?;
    let series = try_join_all(queries.iter().map(|q| dash.engine.timeseries(q))).await?;
    // Visits belong to the hour they start in, so hourly counts add up (distinct
    // visitors would not).
    let up_to_hour = |i: usize| -> f64 {
        series[i]
            .results
            .iter()
            .take(hour + 1)
            .filter_map(|p| p.values.get(Metric::Visits).and_then(|v| v.as_f64()))
            .sum()
    };
    let today_sum = up_to_hour(0);
    let weeks = (1..series.len()).map(up_to_hour).collect::<Vec<_>>();
    let mean = if weeks.is_empty() {
        0.0
    } else {
        weeks.iter().sum::<f64>() / weeks.len() as f64
    };
    Ok((today_sum as u64, mean))
}

async fn funnels_today(
    dash: &Dashboard,
    site: &Site,
    lang: Lang,
) -> Result<Vec<MonitorFunnel>, PageError> {
    let saved = dash.store.list_funnels(&site.domain).await?;
    let today: Params = [("period".to_string(), "day".to_string())].into();
    let mut out = Vec::new();
    for funnel in saved.iter().take(4) {
        let Ok(definition) = serde_json::from_str::<FunnelDefinition>(&funnel.definition) else {
            continue;
        };
        let q = params::funnel(site.clone(), &definition, &today, dash.clock.now())?;
        let result = dash.engine.funnel(&q).await?;
        out.push(MonitorFunnel {
            name: funnel.name.clone(),
            conversion_rate: format::percent(result.conversion_rate, lang),
            entered: format::int(result.steps.first().map(|s| s.visitors).unwrap_or(0), lang),
        });
    }
    Ok(out)
}

async fn searches_today(
    dash: &Dashboard,
    site: &Site,
    report: SearchReport,
    lang: Lang,
) -> Result<Vec<(String, String)>, PageError> {
    let today: Params = [
        ("period".to_string(), "day".to_string()),
        ("limit".to_string(), "8".to_string()),
    ]
    .into();
    let q = params::search_terms(site.clone(), &today, dash.clock.now(), report)?;
    let result = dash.engine.search_terms(&q).await?;
    Ok(result
        .results
        .iter()
        .map(|r| {
            let count = if report == SearchReport::ZeroResults {
                r.zero_results
            } else {
                r.searches
            };
            (r.term.clone(), format::int(count, lang))
        })
        .collect())
}

/// `GET /gedeeld/{link}/monitor`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    secret: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = match open_link(&dash, &req, &secret).await? {
        ShareAccess::Open(open) => open.1,
        ShareAccess::NeedsPassword => {
            return Ok(super::see_other(&format!("/gedeeld/{secret}")));
        }
    };
    let lang = Lang::of(&req);
    let t = lang.text();
    let ((today, mean), live, funnels, top_searches, zero_searches, alerts) = tokio::try_join!(
        today_against_weekdays(&dash, &site),
        live_view(&dash, &site, lang),
        funnels_today(&dash, &site, lang),
        searches_today(&dash, &site, SearchReport::Terms, lang),
        searches_today(&dash, &site, SearchReport::ZeroResults, lang),
        super::actions::yesterdays_alerts(&dash, &site),
    )?;
    let change = (mean > 0.0).then(|| (today as f64 - mean) / mean * 100.0);
    let mut layout = Layout::new(&dash, &req, format!("{} – {}", t.monitor, site.domain));
    layout.refresh = 30;
    let page = MonitorPage {
        layout,
        domain: site.domain.clone(),
        visitors_now: live.visitors_now,
        today: format::int(today, lang),
        weekday_average: format::decimal(mean, 0, lang),
        change: change.map(|c| format::change(c.round(), lang)),
        change_class: match change {
            Some(c) if c > 0.0 => "luister-change--up",
            Some(c) if c < 0.0 => "luister-change--down",
            _ => "luister-change--flat",
        },
        funnels,
        top_searches,
        zero_searches,
        alerts,
    };
    Ok(html(
        page.render()?,
        Some(&dash.settings.monitor_frame_ancestors),
    ))
}
