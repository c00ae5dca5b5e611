//! What is due: the report of a cycle that has ended, and the alerts of yesterday. Each
//! goes out once per site (recorded in the `deliveries` table); a failed delivery is not
//! recorded, so the next check tries again.

use crate::{deliver, DeliverySettings, Outgoing};
use chrono::{DateTime, Utc};
use luister_dashboard::report_view::{report_html, report_markdown};
use luister_impact::{CycleReport, CycleSetting};
use luister_model::Site;
use luister_query::QueryEngine;
use luister_store::Store;

/// A cycle report ready to deliver.
pub fn report_outgoing(report: &CycleReport) -> Result<Outgoing, String> {
    let lang = luister_dashboard::Lang::Nl;
    Ok(Outgoing {
        kind: "report",
        site_id: report.site_id.clone(),
        subject: format!(
            "Cyclusrapport {} {} – {}",
            report.site_id, report.cycle.first, report.cycle.last
        ),
        html: report_html(report, lang).map_err(|e| e.to_string())?,
        text: report_markdown(report, lang),
        file_name: format!("luister-{}-{}.html", report.site_id, report.cycle.first),
        data: serde_json::to_value(report).map_err(|e| e.to_string())?,
    })
}

/// A day's alerts ready to deliver.
pub fn alerts_outgoing(
    site: &Site,
    date: chrono::NaiveDate,
    alerts: &[luister_impact::Alert],
) -> Outgoing {
    let lines: Vec<String> = alerts.iter().map(|a| format!("- {}", a.message)).collect();
    let items: String = alerts
        .iter()
        .map(|a| format!("<li>{}</li>", luister_dashboard::chart::escape(&a.message)))
        .collect();
    Outgoing {
        kind: "alerts",
        site_id: site.domain.clone(),
        subject: format!("Signalen {} {date}", site.domain),
        html: format!(
            "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>Signalen {site} {date}</title></head><body><h1>Signalen {site} {date}</h1><ul>{items}</ul></body></html>",
            site = luister_dashboard::chart::escape(&site.domain)
        ),
        text: format!("Signalen {} {date}\n\n{}\n", site.domain, lines.join("\n")),
        file_name: format!("luister-{}-signalen-{date}.html", site.domain),
        data: serde_json::json!({ "date": date, "alerts": alerts }),
    }
}

/// Delivers what is due for every site; returns what went out, in words, for the log.
pub async fn deliver_due(
    store: &Store,
    engine: &QueryEngine,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for site in store.list_sites().await.map_err(|e| e.to_string())? {
        let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
        let today = now.with_timezone(&tz).date_naive();
        let setting = CycleSetting::from_stored(
            store
                .get_cycle(&site.domain)
                .await
                .map_err(|e| e.to_string())?,
        );
        let ended = setting.containing(today).previous(&setting);
        let key = ended.first.to_string();
        if !store
            .was_delivered(&site.domain, "report", &key)
            .await
            .map_err(|e| e.to_string())?
        {
            let report = luister_impact::cycle_report(
                engine,
                store,
                &site,
                (&setting, ended),
                luister_impact::Lang::Nl,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            deliver(settings, &report_outgoing(&report)?)
                .await
                .map_err(|e| e.to_string())?;
            store
                .record_delivery(&site.domain, "report", &key)
                .await
                .map_err(|e| e.to_string())?;
            done.push(format!(
                "report of {} {} – {}",
                site.domain, ended.first, ended.last
            ));
        }
        let yesterday = today - chrono::Duration::days(1);
        let key = yesterday.to_string();
        if !store
            .was_delivered(&site.domain, "alerts", &key)
            .await
            .map_err(|e| e.to_string())?
        {
            let alerts = luister_impact::alerts_for_day(engine, store, &site, yesterday, now)
                .await
                .map_err(|e| e.to_string())?;
            if !alerts.is_empty() {
                deliver(settings, &alerts_outgoing(&site, yesterday, &alerts))
                    .await
                    .map_err(|e| e.to_string())?;
                done.push(format!(
                    "{} alerts of {} {yesterday}",
                    alerts.len(),
                    site.domain
                ));
            }
            store
                .record_delivery(&site.domain, "alerts", &key)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(done)
}
