//! Overzicht (`/sites/{domain}`): headline numbers with their change, visitors over time,
//! and the report tables (pages, sources, campaigns, places, devices, goals), each row a
//! filter. Also the CSV export of any of those tables.

use super::{query_params, readable_site, render, see_other, site_layout};
use crate::auth::SignedIn;
use crate::chart;
use crate::csv::{Cell, CsvTable};
use crate::error::PageError;
use crate::format;
use crate::i18n::{Lang, Text};
use crate::layout::Layout;
use crate::report::{breakdown_table, metric_text, ReportState, ReportTable, TableSpec, Toolbar};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::try_join_all;
use luister_model::Site;
use luister_query::{params, Comparison, Interval, Metric, Params};

/// One headline number.
pub struct Kpi {
    pub label: &'static str,
    pub metric: &'static str,
    pub value: String,
    /// `+12%` against the previous period, when comparing.
    pub change: Option<String>,
    pub change_class: &'static str,
}

/// The time chart and its table alternative.
pub struct TimeChart {
    pub svg: String,
    pub title: String,
    /// (bucket label, value, compared value)
    pub rows: Vec<(String, String, String)>,
    pub comparing: bool,
    /// "previous period" or "last year", for the legend and the table.
    pub compared_label: &'static str,
    /// The actions that started in the range, marked on the chart (title and date).
    pub actions: Vec<String>,
}

/// Everything the overview shows, for a user's page and for a share link alike.
pub struct OverviewView {
    pub domain: String,
    pub kpis: Vec<Kpi>,
    pub chart: TimeChart,
    pub tables: Vec<ReportTable>,
    pub toolbar: Toolbar,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    view: OverviewView,
}

/// The tables of the overview: id, property, metrics (as API names).
const TABLES: &[(&str, &str, &[Metric])] = &[
    (
        "pages",
        "event:page",
        &[Metric::Visitors, Metric::Pageviews],
    ),
    (
        "entry-pages",
        "visit:entry_page",
        &[Metric::Visitors, Metric::Visits],
    ),
    (
        "exit-pages",
        "visit:exit_page",
        &[Metric::Visitors, Metric::Visits],
    ),
    (
        "sources",
        "visit:source",
        &[Metric::Visitors, Metric::Visits],
    ),
    (
        "channels",
        "visit:channel",
        &[Metric::Visitors, Metric::Visits],
    ),
    (
        "campaigns",
        "visit:utm_campaign",
        &[Metric::Visitors, Metric::Visits],
    ),
    ("countries", "visit:country", &[Metric::Visitors]),
    ("regions", "visit:region", &[Metric::Visitors]),
    ("cities", "visit:city", &[Metric::Visitors]),
    ("devices", "visit:device", &[Metric::Visitors]),
    ("browsers", "visit:browser", &[Metric::Visitors]),
    ("operating-systems", "visit:os", &[Metric::Visitors]),
    ("goals", "event:goal", &[Metric::Visitors, Metric::Events]),
];

const KPI_METRICS: &[Metric] = &[
    Metric::Visitors,
    Metric::Visits,
    Metric::Pageviews,
    Metric::BounceRate,
    Metric::VisitDuration,
];

fn table_title(id: &str, t: &Text) -> &'static str {
    match id {
        "pages" => t.top_pages,
        "entry-pages" => t.entry_pages,
        "exit-pages" => t.exit_pages,
        "sources" => t.sources,
        "channels" => t.channels,
        "campaigns" => t.campaigns,
        "countries" => t.countries,
        "regions" => t.regions,
        "cities" => t.cities,
        "devices" => t.devices,
        "browsers" => t.browsers,
        "operating-systems" => t.operating_systems,
        _ => t.goals,
    }
}

pub fn metric_header(metric: Metric, t: &Text) -> &'static str {
    match metric {
        Metric::Visitors => t.visitors,
        Metric::Visits => t.visits,
        Metric::Pageviews => t.pageviews,
        Metric::BounceRate => t.bounce_rate,
        Metric::VisitDuration => t.visit_duration,
        Metric::Events => t.conversions,
        Metric::ConversionRate => t.conversion_rate,
        _ => t.value,
    }
}

fn metric_names(metrics: &[Metric]) -> String {
    metrics
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs every query of the overview (concurrently) and builds the view.
pub async fn build(
    dash: &Dashboard,
    site: &Site,
    state: &ReportState,
    csv_path: &str,
    lang: Lang,
) -> Result<OverviewView, PageError> {
    let t = lang.text();
    let now = dash.clock.now();
    let kpi_query = params::aggregate(
        site.clone(),
        &state.query(&[("metrics", &metric_names(KPI_METRICS))]),
        now,
    )?;
    let series_query =
        params::timeseries(site.clone(), &state.query(&[("metrics", "visitors")]), now)?;
    let previous_query = compared_range_query(site, state, series_query.interval, now)?;
    let table_queries = TABLES
        .iter()
        .map(|(_, property, metrics)| {
            params::breakdown(
                site.clone(),
                &state.query(&[
                    ("property", property),
                    ("metrics", &metric_names(metrics)),
                    ("limit", "10"),
                ]),
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    let engine = &dash.engine;
    let (aggregate, series, previous, breakdowns) = tokio::try_join!(
        engine.aggregate(&kpi_query),
        engine.timeseries(&series_query),
        async {
            match &previous_query {
                Some(q) => engine.timeseries(q).await.map(Some),
                None => Ok(None),
            }
        },
        try_join_all(table_queries.iter().map(|q| engine.breakdown(q))),
    )?;

    let kpis = KPI_METRICS
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let value = aggregate.values.get(*m).and_then(|v| v.as_f64());
            let change = aggregate
                .changes
                .as_ref()
                .and_then(|c| c.get(i).copied().flatten());
            // A higher bounce rate is worse: its colour follows that.
            let good = |c: f64| {
                if *m == Metric::BounceRate {
                    c < 0.0
                } else {
                    c > 0.0
                }
            };
            Kpi {
                label: metric_header(*m, t),
                metric: m.name(),
                value: metric_text(*m, value, lang),
                change: change.map(|c| format::change(c, lang)),
                change_class: match change {
                    Some(0.0) => "luister-change--flat",
                    Some(c) if good(c) => "luister-change--up",
                    Some(_) => "luister-change--down",
                    None => "",
                },
            }
        })
        .collect();

    let values: Vec<f64> = series
        .results
        .iter()
        .map(|p| {
            p.values
                .get(Metric::Visitors)
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        })
        .collect();
    let previous_values: Option<Vec<f64>> = previous.map(|r| {
        r.results
            .iter()
            .map(|p| {
                p.values
                    .get(Metric::Visitors)
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0)
            })
            .collect()
    });
    let actions = action_markers(dash, site, &series).await?;
    let markers: Vec<(usize, String)> = actions
        .iter()
        .map(|(i, title, date)| (*i, format!("{title} ({})", format::date(*date, lang))))
        .collect();
    let labels: Vec<String> = series
        .results
        .iter()
        .map(|p| format::bucket_label(&p.date, lang))
        .collect();
    let chart = TimeChart {
        svg: chart::line(
            "visitors-chart",
            t.visitors_over_time,
            &labels,
            &values,
            previous_values.as_deref(),
            &|v| format::decimal(v, 0, lang),
            &markers,
        ),
        title: t.visitors_over_time.into(),
        rows: labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                (
                    label.clone(),
                    format::int(values[i] as u64, lang),
                    previous_values
                        .as_ref()
                        .and_then(|p| p.get(i))
                        .map(|v| format::int(*v as u64, lang))
                        .unwrap_or_default(),
                )
            })
            .collect(),
        comparing: previous_values.is_some(),
        actions: markers.iter().map(|(_, text)| text.clone()).collect(),
        compared_label: if state.comparison() == Some("year_over_year") {
            t.previous_year
        } else {
            t.previous_period
        },
    };

    let tables = TABLES
        .iter()
        .zip(&breakdowns)
        .map(|((id, property, metrics), result)| {
            let columns: Vec<(Metric, &'static str)> =
                metrics.iter().map(|m| (*m, metric_header(*m, t))).collect();
            breakdown_table(
                &TableSpec {
                    id,
                    title: table_title(id, t),
                    property,
                    metrics: &columns,
                    csv_path,
                },
                result,
                state,
                lang,
            )
        })
        .collect();

    Ok(OverviewView {
        domain: site.domain.clone(),
        kpis,
        chart,
        tables,
        toolbar: state.toolbar(t),
    })
}

/// The actions that started within the series: (bucket index, title, start date); the
/// bucket is the last one that begins on or before the start date.
async fn action_markers(
    dash: &Dashboard,
    site: &Site,
    series: &luister_query::results::TimeseriesResult,
) -> Result<Vec<(usize, String, chrono::NaiveDate)>, PageError> {
    let starts: Vec<Option<chrono::NaiveDate>> = series
        .results
        .iter()
        .map(|p| {
            p.date
                .get(..10)
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        })
        .collect();
    let (Some(Some(first)), Some(Some(last))) = (starts.first(), starts.last()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for action in dash.store.list_actions(&site.domain).await? {
        let Ok(date) = chrono::NaiveDate::parse_from_str(&action.start_date, "%Y-%m-%d") else {
            continue;
        };
        // The last bucket runs as long as the others (a day, a week, a month).
        let width = match (starts.first(), starts.get(1)) {
            (Some(Some(a)), Some(Some(b))) => (*b - *a).num_days().max(1),
            _ => 1,
        };
        if date < *first || date >= *last + chrono::Duration::days(width) {
            continue;
        }
        if let Some(index) = starts.iter().rposition(|s| s.is_some_and(|s| s <= date)) {
            out.push((index, action.title, date));
        }
    }
    Ok(out)
}

/// The timeseries of the compared range (the period before, or the same dates a year
/// earlier), in the current view's interval so the two lines line up.
fn compared_range_query(
    site: &Site,
    state: &ReportState,
    interval: Interval,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<luister_query::StatsQuery>, PageError> {
    let Some(comparison) = state.comparison().and_then(Comparison::parse) else {
        return Ok(None);
    };
    let tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let (_, range) = params::range(&state.query(&[]), tz, now)?;
    let compared = match comparison {
        Comparison::PreviousPeriod => range.previous(),
        Comparison::YearOverYear => range.year_before(),
    };
    if compared.first < params::FIRST_REPORT_DATE {
        return Ok(None);
    }
    let mut query = state.query(&[("metrics", "visitors")]);
    query.insert("period".into(), "custom".into());
    query.insert(
        "date".into(),
        format!("{},{}", compared.first, compared.last),
    );
    query.remove("compare");
    let interval = match interval {
        Interval::Hour => "hour",
        Interval::Date => "date",
        Interval::Week => "week",
        Interval::Month => "month",
    };
    query.insert("interval".into(), interval.into());
    Ok(Some(params::timeseries(site.clone(), &query, now)?))
}

/// `GET /sites/{domain}`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let query = query_params(&req);
    let state = ReportState::new(req.path(), &query);
    if let Some(target) = state.custom_range_redirect(&query) {
        return Ok(see_other(&target));
    }
    let lang = Lang::of(&req);
    let csv_path = format!("/sites/{}/export.csv", site.domain);
    let view = build(&dash, &site, &state, &csv_path, lang).await?;
    let title = format!("{} – {}", lang.text().overview, site.domain);
    render(&OverviewPage {
        layout: site_layout(&dash, &req, &who, title, &site.domain, ""),
        view,
    })
}

/// The overview page's HTML for `query`, as a signed-in user would get it, without HTTP
/// (for the benchmark of the page's server time).
pub async fn render_html(
    dash: &Dashboard,
    site: &Site,
    query: &Params,
) -> Result<String, PageError> {
    let path = format!("/sites/{}", site.domain);
    let state = ReportState::new(&path, query);
    let lang = Lang::Nl;
    let view = build(dash, site, &state, &format!("{path}/export.csv"), lang).await?;
    let mut layout = Layout::for_path(
        dash,
        lang,
        &path,
        format!("{} – {}", lang.text().overview, site.domain),
    )
    .site_nav(&site.domain, "");
    layout.user = Some("bench@gemeente.nl".into());
    Ok(OverviewPage { layout, view }.render()?)
}

/// `GET /sites/{domain}/export.csv?property=…`: one overview table, up to 1,000 rows.
pub async fn csv(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    domain: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let site = readable_site(&dash, &who, &domain).await?;
    let query = query_params(&req);
    breakdown_csv(&dash, &site, &query, Lang::of(&req)).await
}

/// The CSV of one overview table (shared with share links).
pub async fn breakdown_csv(
    dash: &Dashboard,
    site: &Site,
    query: &Params,
    lang: Lang,
) -> Result<HttpResponse, PageError> {
    let property = query.get("property").map(String::as_str).unwrap_or("");
    let (id, property, metrics) = TABLES
        .iter()
        .find(|(_, p, _)| *p == property)
        .ok_or_else(|| PageError::BadRequest(format!("no table for property {property:?}")))?;
    let state = ReportState::new("", query);
    let q = params::breakdown(
        site.clone(),
        &state.query(&[
            ("property", property),
            ("metrics", &metric_names(metrics)),
            ("limit", "1000"),
        ]),
        dash.clock.now(),
    )?;
    let result = dash.engine.breakdown(&q).await?;
    let mut header = vec![property.to_string()];
    header.extend(metrics.iter().map(|m| m.name().to_string()));
    let rows =
        result
            .results
            .iter()
            .map(|row| {
                let mut cells = vec![Cell::Text(row.value.clone())];
                cells.extend(metrics.iter().map(|m| {
                    Cell::Number(row.values.get(*m).and_then(|v| v.as_f64()).unwrap_or(0.0))
                }));
                cells
            })
            .collect();
    let _ = lang;
    Ok(csv_response(
        &format!("{}-{id}.csv", site.domain),
        &CsvTable { header, rows },
    ))
}

/// A CSV download answer.
pub fn csv_response(file_name: &str, table: &CsvTable) -> HttpResponse {
    let safe_name: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe_name}\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(table.render())
}
