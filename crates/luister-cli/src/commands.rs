//! The subcommands and their `--help`.

use crate::config::{Config, DashboardConfig};
use crate::database::Database;
use crate::import::{import_ndjson, ImportOptions, ImportReport, LineFormat};
use crate::manage::{list_quarantine, replay_quarantine, sites, tokens};
use crate::users::{users, UsersCommand};
use crate::{demo, enrichment};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use luister_dashboard::DashboardSettings;
use luister_model::{Clock, Site, SystemClock};
use luister_server::ServerSettings;
use luister_spool::{FlusherConfig, FsyncPolicy, SpoolConfig};
use luister_store::QueryLimits;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Luister: privacy-friendly, cookieless web analytics for municipalities.
#[derive(Debug, Parser)]
#[command(name = "luister", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./luister.toml when it exists. LUISTER_* variables override it.
    #[arg(long, global = true, env = "LUISTER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the collector, query API and dashboard (starts a private ClickHouse when no URL is configured).
    Serve(ServeArgs),
    /// Apply database schema migrations and exit (serve does this too).
    Migrate,
    /// Import historical events from a file, through the same stages as live events.
    Import(ImportArgs),
    /// Manage the sites Luister accepts events for.
    #[command(subcommand)]
    Sites(SitesCommand),
    /// Manage API tokens for the query API and dashboard.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage dashboard users (password from LUISTER_PASSWORD or asked on the terminal).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Write a site's cycle report (HTML, Markdown or JSON): every figure against the cycle before.
    Report(crate::report::ReportArgs),
    /// Print the effective configuration (after file and environment) and exit.
    Config,
    /// Inspect and replay spool segments set aside in quarantine.
    #[command(subcommand)]
    Spool(SpoolCommand),
    /// Ask a running server whether it is ready (exit 0) or not (exit 1); for container health checks.
    Healthcheck(crate::healthcheck::HealthcheckArgs),
}

#[derive(Debug, Subcommand)]
pub enum SpoolCommand {
    /// List the quarantined segments with their events and why they were set aside.
    List,
    /// Write quarantined segments to ClickHouse again (after fixing the cause); events already stored are skipped.
    Replay {
        /// Segment names from `luister spool list`.
        names: Vec<String>,
        /// Replay every quarantined segment.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only a hash is stored).
    Create(TokenArgs),
    /// List tokens (names and scopes, never the tokens themselves).
    List,
    /// Revoke a token by id or name.
    Revoke {
        /// The token's id or name.
        token: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("reach").required(true).args(["admin", "site"])))]
pub struct TokenArgs {
    /// A name that says who or what uses the token.
    #[arg(long)]
    pub name: String,
    /// Full access: every site, and managing sites and tokens (the same as --scope admin).
    #[arg(long)]
    pub admin: bool,
    /// A site the token acts on (repeatable).
    #[arg(long)]
    pub site: Vec<String>,
    /// What the token may do on its sites: read reports, or also write goals, funnels and actions
    /// (and send Matomo's `cip`/`cdt` as a server-side tracker).
    #[arg(long, value_enum, default_value = "read")]
    pub scope: ScopeArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Read,
    Write,
    Admin,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Add the demo site demo.gemeente.nl with 30 days of generated traffic if it has none.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// One JSON object per line: timestamp, domain, name, url, referrer, ip, user_agent, props.
    Ndjson,
    /// An nginx or Apache access log in the combined format, optionally with the virtual
    /// host first: page views of HTML pages (2xx and 304); assets, redirects, errors and
    /// bots are counted and left out.
    Combined,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Input format.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: ImportFormat,
    /// File to read, or - for standard input.
    pub file: String,
    /// The site the log belongs to (combined logs without a virtual host column need it;
    /// with one, it overrides the host).
    #[arg(long)]
    pub site: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// Add a site.
    Add(SiteArgs),
    /// List the sites.
    List,
    /// Turn the public monthly export of aggregated figures on or off (see docs/open-data.md).
    OpenData {
        /// The site's domain.
        domain: String,
        /// `on` publishes /open-data/DOMAIN, `off` withdraws it.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Remove a site with its goals, saved funnels and tokens (its stored events stay until retention drops them).
    Remove {
        /// The site's domain.
        domain: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// The domain the tracker sends as data-domain, e.g. enschede.nl.
    pub domain: String,
    /// IANA time zone in which report days start.
    #[arg(long, default_value = "Europe/Amsterdam")]
    pub timezone: String,
    /// URL parameter holding a site-search term (repeatable; default: q, query, search, s, zoekterm, …).
    #[arg(long = "search-param")]
    pub search_params: Vec<String>,
    /// Query parameter kept in stored URLs (repeatable; all others are dropped).
    #[arg(long = "allow-param")]
    pub allowed_params: Vec<String>,
    /// idsite of this site in an existing Matomo tracker.
    #[arg(long)]
    pub matomo_id: Option<u32>,
    /// Another host name whose pages belong to this site (repeatable).
    #[arg(long = "host")]
    pub extra_hosts: Vec<String>,
    /// How often visitor ids change: daily (most private) or weekly (keeps multi-day funnels whole).
    #[arg(long, default_value = "daily", value_parser = ["daily", "weekly"])]
    pub salt_rotation: String,
    /// Months of events to keep; older ones are deleted daily (0 keeps everything).
    #[arg(long, default_value_t = 0)]
    pub retention_months: u16,
    /// Publish aggregated monthly figures at /open-data/DOMAIN (counts under 10 visitors suppressed).
    #[arg(long)]
    pub open_data: bool,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config_path = cli.config.clone().or_else(|| {
        let default = PathBuf::from("luister.toml");
        default.is_file().then_some(default)
    });
    let config = Config::load(config_path.as_deref(), std::env::vars())?;
    match cli.command {
        Command::Config => {
            println!("{config:#?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(&config, args).await,
        Command::Healthcheck(args) => Ok(crate::healthcheck::run(&config, &args).await),
        Command::Migrate => {
            with_database(&config, |db| async move {
                let report = db.store.migrate().await?;
                println!(
                    "schema at version {} (applied now: {:?})",
                    report.current_version, report.applied
                );
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        Command::Import(args) => {
            let enrichers = enrichment::load(&config)?;
            let anonymize_ip = config.anonymize_ip;
            with_database(&config, |db| async move {
                import(&db, enrichers, &args, anonymize_ip).await
            })
            .await
        }
        Command::Sites(command) => {
            with_database(&config, |db| async move { sites(&db, command).await }).await
        }
        Command::Token(command) => {
            with_database(&config, |db| async move { tokens(&db, command).await }).await
        }
        Command::Report(args) => {
            let delivery = delivery_settings(&config);
            with_database(&config, |db| async move {
                crate::report::report(&db, args, &delivery).await
            })
            .await
        }
        Command::Users(command) => {
            with_database(&config, |db| async move { users(&db, command).await }).await
        }
        Command::Spool(SpoolCommand::List) => list_quarantine(&config),
        Command::Spool(SpoolCommand::Replay { names, all }) => {
            if names.is_empty() && !all {
                bail!("name the segments to replay (see `luister spool list`), or pass --all");
            }
            let spool_dir = config.data_dir.join("spool");
            with_database(&config, |db| async move {
                replay_quarantine(&db, &spool_dir, &names).await
            })
            .await
        }
    }
}

/// Opens the database, runs `f`, and closes the database (stopping an embedded server) whatever happened.
async fn with_database<F, Fut>(config: &Config, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Arc<Database>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let db = Arc::new(Database::open(config).await?);
    let result = f(db.clone()).await;
    if let Ok(db) = Arc::try_unwrap(db) {
        db.close().await;
    }
    result
}

async fn import(
    db: &Database,
    enrichers: Arc<luister_ingest::pipeline::Enrichers>,
    args: &ImportArgs,
    anonymize_ip: bool,
) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead> = if args.file == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file =
            std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, file))
    };
    let format = match args.format {
        ImportFormat::Ndjson if args.site.is_some() => {
            anyhow::bail!(
                "--site is for access logs (--format combined); NDJSON lines name their domain"
            )
        }
        ImportFormat::Ndjson => LineFormat::Ndjson,
        ImportFormat::Combined => LineFormat::Combined {
            site: args.site.clone(),
        },
    };
    let options = ImportOptions {
        progress: true,
        anonymize_ip,
    };
    let report = crate::import::import(&db.store, enrichers, input, &format, options).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.imported == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(report: &ImportReport) {
    println!(
        "{} lines read, {} events imported",
        report.lines, report.imported
    );
    for (reason, count) in &report.dropped {
        println!("dropped {count} ({reason})");
    }
    if report.malformed > 0 {
        println!("{} malformed lines:", report.malformed);
        for (line, why) in &report.malformed_lines {
            println!("  line {line}: {why}");
        }
        if report.malformed > report.malformed_lines.len() as u64 {
            println!(
                "  … and {} more",
                report.malformed - report.malformed_lines.len() as u64
            );
        }
    }
    if report.imported == 0 {
        println!("nothing was imported");
    }
}

fn server_settings(config: &Config) -> anyhow::Result<ServerSettings> {
    Ok(ServerSettings {
        listen: config.listen,
        trusted_proxies: config.trusted_proxies()?,
        forwarded_header: config.forwarded_header()?,
        anonymize_ip: config.anonymize_ip,
        query_limits: QueryLimits {
            max_execution_seconds: config.query.max_execution_seconds,
            max_memory_bytes: config.query.max_memory_bytes,
        },
        visit_limits: Default::default(),
        rate_limits: config.rate_limits(),
        max_event_body: 64 * 1024,
        admin_token: admin_token(std::env::var("LUISTER_ADMIN_TOKEN").ok())?,
        spool: SpoolConfig {
            dir: config.data_dir.join("spool"),
            max_batch_events: config.spool.max_batch_events,
            max_batch_age: Duration::from_millis(config.spool.max_batch_age_ms),
            max_bytes: config.spool.max_bytes,
            fsync: if config.spool.fsync == "always" {
                FsyncPolicy::Always
            } else {
                FsyncPolicy::OnSeal
            },
        },
        flusher: FlusherConfig::default(),
        site_refresh: Duration::from_secs(10),
        workers: 0,
        dashboard: dashboard_settings(&config.dashboard)?,
        delivery: delivery_settings(config),
        delivery_check: Duration::from_secs(config.delivery.check_minutes * 60),
    })
}

/// The configured channels of reports and alerts.
pub(crate) fn delivery_settings(config: &Config) -> luister_delivery::DeliverySettings {
    let d = &config.delivery;
    let path = |p: &std::path::Path| (!p.as_os_str().is_empty()).then(|| p.to_path_buf());
    luister_delivery::DeliverySettings {
        reports_dir: path(&d.reports_dir),
        webhook_url: (!d.webhook_url.is_empty()).then(|| d.webhook_url.clone()),
        smtp: (!d.smtp.host.is_empty()).then(|| luister_delivery::SmtpSettings {
            host: d.smtp.host.clone(),
            port: d.smtp.port,
            username: d.smtp.username.clone(),
            password: d.smtp.password.expose().to_string(),
            ca_file: path(&d.smtp.ca_file),
            from: d.smtp.from.clone(),
            to: d.smtp.to.clone(),
        }),
    }
}

fn dashboard_settings(config: &DashboardConfig) -> anyhow::Result<DashboardSettings> {
    let theme_css = if config.theme_css.as_os_str().is_empty() {
        None
    } else {
        Some(std::fs::read_to_string(&config.theme_css).with_context(|| {
            format!(
                "dashboard.theme_css: cannot read {}",
                config.theme_css.display()
            )
        })?)
    };
    let idle = Duration::from_secs(config.session_idle_minutes * 60);
    Ok(DashboardSettings {
        theme_css,
        secure_cookies: config.public_url.starts_with("https://"),
        session_idle: idle,
        session_max_age: idle.max(Duration::from_secs(12 * 3600)),
        monitor_frame_ancestors: config.monitor_frame_ancestors.clone(),
        public_url: config.public_url.trim_end_matches('/').to_string(),
        require_totp_for_admins: config.require_totp_for_admins,
        oidc: (!config.oidc.issuer.is_empty()).then(|| luister_dashboard::OidcSettings {
            issuer: config.oidc.issuer.clone(),
            client_id: config.oidc.client_id.clone(),
            client_secret: config.oidc.client_secret.expose().to_string(),
            label: config.oidc.label.clone(),
            roles_claim: config.oidc.roles_claim.clone(),
            admin_values: config.oidc.admin_values.clone(),
            analyst_values: config.oidc.analyst_values.clone(),
            viewer_values: config.oidc.viewer_values.clone(),
            sites_claim: config.oidc.sites_claim.clone(),
            default_sites: config.oidc.default_sites.clone(),
        }),
    })
}

/// Shortest `LUISTER_ADMIN_TOKEN` accepted: guessing it must be out of reach.
const MIN_ADMIN_TOKEN_LEN: usize = 32;

fn admin_token(value: Option<String>) -> anyhow::Result<Option<String>> {
    match value.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        Some(token) if token.len() < MIN_ADMIN_TOKEN_LEN => bail!(
            "LUISTER_ADMIN_TOKEN is {} characters; use at least {MIN_ADMIN_TOKEN_LEN} random ones (e.g. `openssl rand -hex 32`)",
            token.len()
        ),
        token => Ok(token),
    }
}

async fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = server_settings(config)?;
    let enrichers = enrichment::load(config)?;
    let db = Database::open(config).await?;
    let mut demo_password = None;
    if args.demo {
        let loaded = async {
            load_demo(&db, enrichers.clone()).await?;
            demo::seed_dashboard(&db.store).await
        };
        match loaded.await {
            Ok(password) => demo_password = Some(password),
            Err(e) => {
                db.close().await;
                return Err(e);
            }
        }
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let server = match luister_server::start(settings, db.store.clone(), enrichers, clock).await {
        Ok(server) => server,
        Err(e) => {
            db.close().await;
            bail!(e);
        }
    };
    println!("Luister is listening on http://{}", server.addr);
    if let Some(password) = demo_password {
        println!(
            "  dashboard:         http://{}/ — sign in as {} (analyst of the demo site) with password {password}",
            server.addr,
            demo::DEMO_USER
        );
    } else {
        println!(
            "  dashboard:         http://{}/ (add a user: luister users add you@gemeente.nl --role admin)",
            server.addr
        );
    }
    println!("  add a site:        luister sites add gemeente.nl");
    println!("  API token:         luister token create --name beheer --admin   (then see /api/v1/openapi.json)");
    println!("  embed on the site: <script defer data-domain=\"gemeente.nl\" src=\"http://{}/js/script.js\"></script>", server.addr);
    println!(
        "  send a test event: curl -X POST http://{}/api/event -H 'Content-Type: text/plain' -d '{{\"n\":\"pageview\",\"u\":\"https://gemeente.nl/\",\"d\":\"gemeente.nl\"}}'",
        server.addr
    );
    wait_for_stop_signal().await;
    eprintln!("stopping: finishing requests and writing the spool to ClickHouse …");
    server.stop().await;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
}

/// Adds the demo site and imports 30 days of generated visits, once.
async fn load_demo(
    db: &Database,
    enrichers: Arc<luister_ingest::pipeline::Enrichers>,
) -> anyhow::Result<()> {
    if db.store.get_site(demo::DEMO_DOMAIN).await?.is_some() {
        return Ok(());
    }
    db.store.add_site(&Site::new(demo::DEMO_DOMAIN)).await?;
    eprintln!(
        "generating 30 days of demo traffic for {} …",
        demo::DEMO_DOMAIN
    );
    let spec = demo::DemoSpec {
        domain: demo::DEMO_DOMAIN.into(),
        days: 30,
        visits_per_day: 400,
        end: chrono::Utc::now(),
        seed: 2026,
    };
    let mut text = Vec::new();
    for line in demo::generate(&spec) {
        serde_json::to_writer(&mut text, &line)?;
        text.push(b'\n');
    }
    let report = import_ndjson(
        &db.store,
        enrichers,
        std::io::Cursor::new(text),
        ImportOptions {
            progress: true,
            anonymize_ip: false,
        },
    )
    .await?;
    eprintln!("demo data: {} events", report.imported);
    Ok(())
}
