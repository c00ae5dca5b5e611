//! Luister's outgoing channels: a report or a list of alerts, once rendered, goes to a
//! folder (for the archive), by e-mail (SMTP with STARTTLS and authentication; HTML with
//! a plain-text part) and to a webhook (JSON). What to send and when is decided elsewhere
//! (the server's background upkeep, `luister report --send`); this crate only delivers.

pub mod due;

use lettre::message::{header::ContentType, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Where reports and alerts go; every channel is optional.
#[derive(Debug, Clone, Default)]
pub struct DeliverySettings {
    /// Folder the HTML reports are written to.
    pub reports_dir: Option<PathBuf>,
    pub smtp: Option<SmtpSettings>,
    /// Receives a JSON POST per report or list of alerts.
    pub webhook_url: Option<String>,
}

impl DeliverySettings {
    pub fn is_configured(&self) -> bool {
        self.reports_dir.is_some() || self.smtp.is_some() || self.webhook_url.is_some()
    }
}

/// An SMTP server reached with STARTTLS (required) and, when a user is given, authentication.
#[derive(Clone, Default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// A CA certificate (PEM) to trust besides the public roots (a gemeente's own CA).
    pub ca_file: Option<PathBuf>,
    pub from: String,
    pub to: Vec<String>,
}

/// The password is never printed.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    "(none)"
                } else {
                    "(set, hidden)"
                },
            )
            .field("ca_file", &self.ca_file)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// One thing to deliver, rendered.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// `report` or `alerts`.
    pub kind: &'static str,
    pub site_id: String,
    pub subject: String,
    /// The HTML document (e-mail body and the file in the folder).
    #[serde(skip)]
    pub html: String,
    /// The plain-text part of the e-mail.
    pub text: String,
    /// File name in the folder.
    #[serde(skip)]
    pub file_name: String,
    /// The data itself, for the webhook.
    pub data: serde_json::Value,
}

/// Why a channel failed, said so ops can fix it.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("reports folder: {0}")]
    Folder(#[from] std::io::Error),
    #[error("e-mail: {0}")]
    Mail(String),
    #[error("webhook: {0}")]
    Webhook(String),
}

/// What went where.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub file: Option<PathBuf>,
    pub mailed_to: usize,
    pub webhook: bool,
}

/// Sends `item` through every configured channel; stops at the first failure (the caller
/// retries later: nothing is recorded as delivered then).
pub async fn deliver(
    settings: &DeliverySettings,
    item: &Outgoing,
) -> Result<Delivered, DeliveryError> {
    let mut done = Delivered::default();
    if let Some(dir) = &settings.reports_dir {
        done.file = Some(write_file(dir, item).await?);
    }
    if let Some(smtp) = &settings.smtp {
        done.mailed_to = send_mail(smtp, item).await?;
    }
    if let Some(url) = &settings.webhook_url {
        post_webhook(url, item).await?;
        done.webhook = true;
    }
    Ok(done)
}

/// Writes the HTML to the folder under a temporary name first, so a reader never sees half.
async fn write_file(dir: &std::path::Path, item: &Outgoing) -> Result<PathBuf, DeliveryError> {
    tokio::fs::create_dir_all(dir).await?;
    let target = dir.join(&item.file_name);
    let part = dir.join(format!(".{}.part", item.file_name));
    tokio::fs::write(&part, item.html.as_bytes()).await?;
    tokio::fs::rename(&part, &target).await?;
    Ok(target)
}

fn mail_error(e: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Mail(e.to_string())
}

async fn send_mail(smtp: &SmtpSettings, item: &Outgoing) -> Result<usize, DeliveryError> {
    let mut tls = TlsParameters::builder(smtp.host.clone());
    if let Some(ca) = &smtp.ca_file {
        let pem = tokio::fs::read(ca)
            .await
            .map_err(|e| DeliveryError::Mail(format!("cannot read {}: {e}", ca.display())))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(mail_error)?);
    }
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .tls(Tls::Required(tls.build().map_err(mail_error)?))
        .timeout(Some(Duration::from_secs(30)));
    if !smtp.username.is_empty() {
        transport = transport.credentials(Credentials::new(
            smtp.username.clone(),
            smtp.password.clone(),
        ));
    }
    let transport = transport.build();
    let mut builder = Message::builder()
        .from(smtp.from.parse().map_err(mail_error)?)
        .subject(&item.subject);
    for to in &smtp.to {
        builder = builder.to(to.parse().map_err(mail_error)?);
    }
    let message = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(item.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(item.html.clone()),
                ),
        )
        .map_err(mail_error)?;
    transport.send(message).await.map_err(mail_error)?;
    Ok(smtp.to.len())
}

async fn post_webhook(url: &str, item: &Outgoing) -> Result<(), DeliveryError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DeliveryError::Webhook(e.to_string()))?;
    let response = client
        .post(url)
        .json(item)
        .send()
        .await
        .map_err(|e| DeliveryError::Webhook(e.to_string()))?;
    if !response.status().is_success() {
        return Err(DeliveryError::Webhook(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    Ok(())
}
