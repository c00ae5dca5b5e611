//! `luister users …`: dashboard accounts. Passwords come from `LUISTER_PASSWORD` or are
//! asked twice on the terminal without echo; they are stored only as Argon2id hashes.

use crate::database::Database;
use crate::manage::audit;
use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use luister_store::{UserRole, MIN_PASSWORD_CHARS};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a dashboard user, or change an existing one's role, sites and password.
    Add {
        /// The e-mail address the user signs in with.
        email: String,
        /// viewer reads; analyst also manages goals and funnels; admin manages everything.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A site the user may open (repeatable; not needed for admins).
        #[arg(long)]
        site: Vec<String>,
    },
    /// List users with their role and sites.
    List,
    /// Remove a user; their sessions end at their next request.
    Remove { email: String },
    /// Set a new password for a user.
    Passwd { email: String },
    /// Turn a user's two-factor sign-in off (a lost phone); admins set it up again at their next sign-in.
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Analyst,
    Admin,
}

impl RoleArg {
    fn role(self) -> UserRole {
        match self {
            RoleArg::Viewer => UserRole::Viewer,
            RoleArg::Analyst => UserRole::Analyst,
            RoleArg::Admin => UserRole::Admin,
        }
    }
}

/// `LUISTER_PASSWORD`, or asked twice on the terminal.
fn new_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("LUISTER_PASSWORD") {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password: set LUISTER_PASSWORD");
    }
    let first = rpassword::prompt_password(format!(
        "Password (at least {MIN_PASSWORD_CHARS} characters): "
    ))
    .context("reading the password")?;
    let second =
        rpassword::prompt_password("Same password again: ").context("reading the password")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

pub(crate) async fn users(db: &Database, command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add { email, role, site } => {
            let password = new_password()?;
            let user = db
                .store
                .put_user(&email, role.role(), site, &password)
                .await?;
            audit(
                db,
                "user.put",
                "",
                &format!("{} ({})", user.email, user.role.as_str()),
            )
            .await?;
            let reach = if user.role == UserRole::Admin {
                "every site".to_string()
            } else {
                user.sites.join(", ")
            };
            println!(
                "{} can sign in as {} on {reach}",
                user.email,
                user.role.as_str()
            );
        }
        UsersCommand::List => {
            for user in db.store.list_users().await? {
                let reach = if user.role == UserRole::Admin {
                    "*".to_string()
                } else {
                    user.sites.join(",")
                };
                let second = if user.has_totp { "2fa" } else { "-" };
                println!("{}\t{}\t{second}\t{reach}", user.email, user.role.as_str());
            }
        }
        UsersCommand::Remove { email } => {
            let user = db.store.remove_user(&email).await?;
            audit(db, "user.remove", "", &user.email).await?;
            println!("removed {}", user.email);
        }
        UsersCommand::Reset2fa { email } => {
            db.store.clear_user_totp(&email).await?;
            audit(db, "user.2fa_reset", "", &email.trim().to_lowercase()).await?;
            println!(
                "two-factor sign-in is off for {}",
                email.trim().to_lowercase()
            );
        }
        UsersCommand::Passwd { email } => {
            if db.store.get_user(&email).await?.is_none() {
                bail!("no user {email}: add one with `luister users add`");
            }
            let password = new_password()?;
            db.store.set_user_password(&email, &password).await?;
            audit(db, "user.passwd", "", &email.trim().to_lowercase()).await?;
            println!("password changed for {}", email.trim().to_lowercase());
        }
    }
    Ok(ExitCode::SUCCESS)
}
