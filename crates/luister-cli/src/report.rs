//! `luister report`: a cycle report as one file a team opens in its meeting, prints or
//! archives (HTML with inline charts and styles, Markdown, or JSON).

use crate::database::Database;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use luister_impact::CycleSetting;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportLang {
    Nl,
    En,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The site's domain.
    #[arg(long)]
    pub site: String,
    /// current, previous, or a date inside the cycle (YYYY-MM-DD).
    #[arg(long, default_value = "previous")]
    pub cycle: String,
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// File to write; without it the report goes to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "nl")]
    pub lang: ReportLang,
    /// Also deliver the report through the configured channels ([delivery]: folder, e-mail, webhook).
    #[arg(long)]
    pub send: bool,
}

pub(crate) async fn report(
    db: &Database,
    args: ReportArgs,
    delivery: &luister_delivery::DeliverySettings,
) -> anyhow::Result<ExitCode> {
    let Some(site) = db.store.get_site(&args.site).await? else {
        bail!("site {} not found: see `luister sites list`", args.site);
    };
    let setting = CycleSetting::from_stored(db.store.get_cycle(&site.domain).await?);
    let tz: chrono_tz::Tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = chrono::Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let current = setting.containing(today);
    let cycle = match args.cycle.as_str() {
        "current" => current,
        "previous" => current.previous(&setting),
        date => setting.containing(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").with_context(|| {
                format!("--cycle {date:?}: give current, previous or a date like 2026-11-02")
            })?,
        ),
    };
    let (lang, dashboard_lang) = match args.lang {
        ReportLang::Nl => (luister_impact::Lang::Nl, luister_dashboard::Lang::Nl),
        ReportLang::En => (luister_impact::Lang::En, luister_dashboard::Lang::En),
    };
    let engine = luister_query::QueryEngine::new(db.store.clone());
    let report =
        luister_impact::cycle_report(&engine, &db.store, &site, (&setting, cycle), lang, now)
            .await?;
    let text = match args.format {
        ReportFormat::Html => luister_dashboard::report_view::report_html(&report, dashboard_lang)?,
        ReportFormat::Md => {
            luister_dashboard::report_view::report_markdown(&report, dashboard_lang)
        }
        ReportFormat::Json => serde_json::to_string_pretty(&report)?,
    };
    if args.send {
        if !delivery.is_configured() {
            bail!("--send needs a channel: set [delivery] reports_dir, webhook_url or [delivery.smtp] in the configuration");
        }
        let outgoing =
            luister_delivery::due::report_outgoing(&report).map_err(anyhow::Error::msg)?;
        let done = luister_delivery::deliver(delivery, &outgoing).await?;
        eprintln!(
            "delivered: {}{} e-mail recipients{}",
            done.file
                .map(|f| format!("{}, ", f.display()))
                .unwrap_or_default(),
            done.mailed_to,
            if done.webhook { ", webhook" } else { "" }
        );
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote the report of {} ({} – {}) to {}",
                site.domain,
                cycle.first,
                cycle.last,
                path.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
