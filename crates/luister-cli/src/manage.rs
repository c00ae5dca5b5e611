//! The subcommands that change what Luister knows: sites, tokens and quarantined spool
//! segments. Every change is written to the audit log with the account that made it.

use crate::commands::{ScopeArg, SiteArgs, SitesCommand, TokenCommand};
use crate::config::Config;
use crate::database::Database;
use anyhow::{bail, Context};
use luister_model::{SaltRotation, Site};
use luister_store::TokenScope;
use std::io::BufRead;
use std::process::ExitCode;

pub(crate) fn list_quarantine(config: &Config) -> anyhow::Result<ExitCode> {
    let segments = crate::spool::list(&config.data_dir.join("spool"))?;
    if segments.is_empty() {
        println!("no quarantined segments");
    }
    for s in segments {
        println!(
            "{}\t{} events\t{} visit changes\t{} damaged lines\t{}",
            s.name, s.events, s.visit_changes, s.damaged, s.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn replay_quarantine(
    db: &Database,
    spool_dir: &std::path::Path,
    names: &[String],
) -> anyhow::Result<ExitCode> {
    let replayed = crate::spool::replay(&db.store, spool_dir, names).await?;
    for r in replayed.iter().filter(|r| r.outcome.is_ok()) {
        audit(db, "spool.replay", "", &r.name).await?;
    }
    let mut failed = false;
    for r in &replayed {
        match &r.outcome {
            Ok(stored) => println!("{}: {stored} events stored", r.name),
            Err(why) => {
                failed = true;
                println!("{}: refused again, kept: {why}", r.name);
            }
        }
    }
    if replayed.is_empty() {
        println!("nothing to replay");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) async fn sites(db: &Database, command: SitesCommand) -> anyhow::Result<ExitCode> {
    match command {
        SitesCommand::Add(args) => {
            let site = site_from_args(args)?;
            db.store.add_site(&site).await?;
            audit(db, "site.add", &site.domain, &site.domain).await?;
            println!(
                "added {} (time zone {}, visitor ids rotate {})",
                site.domain,
                site.timezone,
                site.salt_rotation.as_str()
            );
            println!(
                "embed: <script defer data-domain=\"{}\" src=\"https://<your luister host>/js/script.js\"></script>",
                site.domain
            );
        }
        SitesCommand::List => {
            let sites = db.store.list_sites().await?;
            if sites.is_empty() {
                println!("no sites yet: add one with `luister sites add <domain>`");
            }
            for site in sites {
                let mut extra = if site.matomo_id > 0 {
                    format!(" matomo_id={}", site.matomo_id)
                } else {
                    String::new()
                };
                if site.open_data {
                    extra.push_str(" open_data");
                }
                println!(
                    "{}\t{}\t{}{extra}",
                    site.domain,
                    site.timezone,
                    site.salt_rotation.as_str()
                );
            }
        }
        SitesCommand::OpenData { domain, state } => {
            let site = db.store.set_open_data(&domain, state == "on").await?;
            audit(db, "site.open_data", &site.domain, &state).await?;
            if site.open_data {
                println!(
                    "{} publishes its monthly figures at /open-data/{} (counts under {} suppressed)",
                    site.domain,
                    site.domain,
                    luister_query::open_data::MIN_COUNT
                );
            } else {
                println!("{} no longer publishes open data", site.domain);
            }
        }
        SitesCommand::Remove { domain, yes } => {
            if !yes && !confirmed(&domain)? {
                bail!("not removed: type the domain to confirm, or pass --yes");
            }
            let removed = db.store.remove_site(&domain).await?;
            audit(db, "site.remove", &domain, &domain).await?;
            println!(
                "removed {domain} with {} goals and {} saved funnels; {} tokens revoked, {} tokens keep their other sites",
                removed.goals, removed.funnels, removed.tokens_revoked, removed.tokens_narrowed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Records a change made on the command line, by the account that ran it.
pub(crate) async fn audit(
    db: &Database,
    action: &str,
    site_id: &str,
    subject: &str,
) -> anyhow::Result<()> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let entry = luister_store::AuditEntry::new(&format!("cli {user}"), action, site_id, subject);
    Ok(db.store.audit(entry).await?)
}

/// Asks on the terminal (or reads standard input) for the domain to be typed again.
fn confirmed(domain: &str) -> anyhow::Result<bool> {
    eprint!(
        "This removes {domain} with its goals, saved funnels and tokens. Type {domain} to confirm: "
    );
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == domain)
}

pub(crate) async fn tokens(db: &Database, command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(args) => {
            for domain in &args.site {
                if db.store.get_site(domain).await?.is_none() {
                    bail!(
                        "site {domain} not found: add it first with `luister sites add {domain}`"
                    );
                }
            }
            let scope = match args.scope {
                _ if args.admin => TokenScope::Admin,
                ScopeArg::Read => TokenScope::Read,
                ScopeArg::Write => TokenScope::Write,
                ScopeArg::Admin => TokenScope::Admin,
            };
            let token = db
                .store
                .create_token(&args.name, scope, args.site.clone())
                .await?;
            let subject = format!("{} ({})", args.name, scope.as_str());
            audit(db, "token.create", &args.site.join(","), &subject).await?;
            println!("{token}");
            let reach = if scope == TokenScope::Admin {
                "every site".to_string()
            } else {
                args.site.join(", ")
            };
            eprintln!(
                "scope {} on {reach}; store this token now: it is shown only once",
                scope.as_str()
            );
        }
        TokenCommand::List => {
            for token in db.store.list_tokens().await? {
                let reach = if token.admin {
                    "*".to_string()
                } else {
                    token.sites.join(",")
                };
                println!(
                    "{}\t{}\t{}\t{reach}",
                    token.id,
                    token.name,
                    token.scope.as_str()
                );
            }
        }
        TokenCommand::Revoke { token } => {
            let revoked = db.store.revoke_token(&token).await?;
            let subject = format!("{} ({})", revoked.name, revoked.id);
            audit(db, "token.revoke", &revoked.sites.join(","), &subject).await?;
            println!("revoked {} ({})", revoked.name, revoked.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn site_from_args(args: SiteArgs) -> anyhow::Result<Site> {
    let mut site = Site::new(args.domain.trim().to_ascii_lowercase());
    site.timezone = args.timezone;
    if !args.search_params.is_empty() {
        site.search_params = args.search_params;
    }
    site.allowed_params = args.allowed_params;
    site.matomo_id = args.matomo_id.unwrap_or(0);
    site.extra_hosts = args
        .extra_hosts
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    site.salt_rotation = SaltRotation::parse(&args.salt_rotation).context("salt rotation")?;
    site.retention_months = args.retention_months;
    site.open_data = args.open_data;
    Ok(site)
}
