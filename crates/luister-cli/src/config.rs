//! Luister's configuration: one typed struct from a TOML file, then `LUISTER_*`
//! environment variables on top. Unknown keys and unknown `LUISTER_*` variables are
//! errors, so a typo never silently falls back to a default.

use luister_server::rate_limit::{Rate, RateLimits};
use luister_server::{ForwardedHeader, TrustedProxies};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A password or client secret: read from the configuration, never printed
/// (`luister config`, logs show only whether one is set).
#[derive(Clone, PartialEq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "(none)"
        } else {
            "(set, hidden)"
        })
    }
}

/// Everything `luister` can be told.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Spool, embedded ClickHouse data and other state live here.
    pub data_dir: PathBuf,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR networks).
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies put the client address in: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// Shorten client addresses (IPv4 to /24, IPv6 to /64) before hashing and geo lookup.
    pub anonymize_ip: bool,
    /// Keep events from headless browsers (off: they are almost always bots).
    pub allow_headless: bool,
    pub clickhouse: ClickHouseConfig,
    pub query: QuerySettings,
    pub rate_limit: RateLimitSettings,
    pub enrichment: EnrichmentConfig,
    pub spool: SpoolSettings,
    pub dashboard: DashboardConfig,
    pub delivery: DeliveryConfig,
}

/// `[delivery]`: where cycle reports and alerts go when they are due.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Folder the cycle reports (HTML) are written to; empty: none.
    pub reports_dir: PathBuf,
    /// A URL that receives each report and each day's alerts as JSON; empty: none.
    pub webhook_url: String,
    /// Minutes between checks of what is due.
    pub check_minutes: u64,
    pub smtp: SmtpConfig,
}

/// `[delivery.smtp]`: e-mail through an SMTP server with STARTTLS; off without a host.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    /// A CA certificate (PEM) to trust besides the public roots.
    pub ca_file: PathBuf,
    pub from: String,
    pub to: Vec<String>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            reports_dir: PathBuf::new(),
            webhook_url: String::new(),
            check_minutes: 60,
            smtp: SmtpConfig::default(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            username: String::new(),
            password: Secret::default(),
            ca_file: PathBuf::new(),
            from: String::new(),
            to: Vec::new(),
        }
    }
}

/// The web dashboard at `/`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// A CSS file of NL Design System design tokens (a gemeente's own theme); empty: neutral.
    pub theme_css: PathBuf,
    /// Public address of this server (`https://statistiek.enschede.nl`): for the embed
    /// snippet and share links, and an `https://` one marks cookies `Secure`.
    pub public_url: String,
    /// Minutes without a request after which a dashboard session ends.
    pub session_idle_minutes: u64,
    /// Origins allowed to show the monitor in a frame (e.g. an intranet page); empty: none.
    pub monitor_frame_ancestors: Vec<String>,
    /// Admins must set up and use two-factor sign-in (TOTP), as the BIO asks.
    pub require_totp_for_admins: bool,
    /// Single sign-on with OpenID Connect (Entra ID, Keycloak, ADFS); off without an issuer.
    pub oidc: OidcConfig,
}

/// `[dashboard.oidc]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The provider's issuer URL (its `/.well-known/openid-configuration` is read); empty: off.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Text of the sign-in button.
    pub label: String,
    /// Claim with the user's roles or groups.
    pub roles_claim: String,
    /// Claim values that make a user an admin, an analyst or a viewer.
    pub admin_values: Vec<String>,
    pub analyst_values: Vec<String>,
    pub viewer_values: Vec<String>,
    /// Claim with the domains a viewer or analyst may open; empty: `default_sites`.
    pub sites_claim: String,
    pub default_sites: Vec<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            label: "Inloggen met uw organisatie-account".into(),
            roles_claim: "roles".into(),
            admin_values: Vec::new(),
            analyst_values: Vec::new(),
            viewer_values: Vec::new(),
            sites_claim: String::new(),
            default_sites: Vec::new(),
        }
    }
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            theme_css: PathBuf::new(),
            public_url: String::new(),
            session_idle_minutes: 120,
            monitor_frame_ancestors: Vec::new(),
            require_totp_for_admins: true,
            oidc: OidcConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// Empty: start a private ClickHouse under `data_dir/clickhouse`.
    pub url: String,
    pub user: String,
    pub password: Secret,
    pub database: String,
    /// PEM file of CA certificates trusted beside the system's, for an `https://` URL.
    pub ca_file: Option<PathBuf>,
}

/// Rate limits; 0 turns one off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Events per second one client address may send (bursts of ten seconds' worth).
    pub collector_per_client: f64,
    /// Events per second one site may receive.
    pub collector_per_site: f64,
    /// Failed API authentications per minute from one address (bursts of 10).
    pub auth_failures_per_minute: f64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            collector_per_client: 50.0,
            collector_per_site: 50_000.0,
            auth_failures_per_minute: 12.0,
        }
    }
}

/// Limits on the ClickHouse work one API query may cause.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuerySettings {
    /// Seconds a report query may run before ClickHouse stops it.
    pub max_execution_seconds: u64,
    /// Bytes of memory a report query may use in ClickHouse.
    pub max_memory_bytes: u64,
}

impl Default for QuerySettings {
    fn default() -> Self {
        Self {
            max_execution_seconds: 30,
            max_memory_bytes: 4 << 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichmentConfig {
    /// Folder with `regexes.yaml`, `crawler-user-agents.json`, `referers.yml` (see scripts/fetch-data.sh).
    pub data_files: PathBuf,
    /// MaxMind-format geo databases; empty means the DB-IP files in `data_files` if present.
    pub geo_databases: Vec<PathBuf>,
    /// Path to ua-parser's `regexes.yaml` when not in `data_files`.
    pub ua_regexes: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolSettings {
    /// Events per INSERT at most.
    pub max_batch_events: usize,
    /// Milliseconds an event may wait before its batch is written.
    pub max_batch_age_ms: u64,
    /// Bytes waiting on disk before the collector answers 503.
    pub max_bytes: u64,
    /// `on_seal` (default) or `always` (fsync every request; slower, power-loss safe).
    pub fsync: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8000".parse().expect("valid address"),
            data_dir: PathBuf::from("data"),
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
            anonymize_ip: false,
            allow_headless: false,
            clickhouse: ClickHouseConfig::default(),
            query: QuerySettings::default(),
            rate_limit: RateLimitSettings::default(),
            enrichment: EnrichmentConfig::default(),
            spool: SpoolSettings::default(),
            dashboard: DashboardConfig::default(),
            delivery: DeliveryConfig::default(),
        }
    }
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            user: "default".into(),
            password: Secret::default(),
            database: "luister".into(),
            ca_file: None,
        }
    }
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            data_files: PathBuf::from("vendor-data"),
            geo_databases: Vec::new(),
            ua_regexes: None,
        }
    }
}

impl Default for SpoolSettings {
    fn default() -> Self {
        Self {
            max_batch_events: 10_000,
            max_batch_age_ms: 1_000,
            max_bytes: 1 << 30,
            fsync: "on_seal".into(),
        }
    }
}

/// A configuration problem, said so a person can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("unknown environment variable {0}; known: {known}", known = ENV_KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "))]
    UnknownEnv(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// Environment variables and the key each sets.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("LUISTER_LISTEN", "listen"),
    ("LUISTER_DATA_DIR", "data_dir"),
    ("LUISTER_TRUSTED_PROXIES", "trusted_proxies"),
    ("LUISTER_FORWARDED_HEADER", "forwarded_header"),
    ("LUISTER_ANONYMIZE_IP", "anonymize_ip"),
    ("LUISTER_ALLOW_HEADLESS", "allow_headless"),
    ("LUISTER_CLICKHOUSE_URL", "clickhouse.url"),
    ("LUISTER_CLICKHOUSE_USER", "clickhouse.user"),
    ("LUISTER_CLICKHOUSE_PASSWORD", "clickhouse.password"),
    ("LUISTER_CLICKHOUSE_DATABASE", "clickhouse.database"),
    ("LUISTER_CLICKHOUSE_CA_FILE", "clickhouse.ca_file"),
    ("LUISTER_DATA_FILES", "enrichment.data_files"),
    ("LUISTER_GEO_DATABASES", "enrichment.geo_databases"),
    ("LUISTER_UA_REGEXES", "enrichment.ua_regexes"),
    ("LUISTER_SPOOL_MAX_BATCH_EVENTS", "spool.max_batch_events"),
    ("LUISTER_SPOOL_MAX_BATCH_AGE_MS", "spool.max_batch_age_ms"),
    ("LUISTER_SPOOL_MAX_BYTES", "spool.max_bytes"),
    ("LUISTER_SPOOL_FSYNC", "spool.fsync"),
    ("LUISTER_DASHBOARD_THEME_CSS", "dashboard.theme_css"),
    ("LUISTER_PUBLIC_URL", "dashboard.public_url"),
    (
        "LUISTER_DASHBOARD_SESSION_IDLE_MINUTES",
        "dashboard.session_idle_minutes",
    ),
    (
        "LUISTER_DASHBOARD_REQUIRE_TOTP_FOR_ADMINS",
        "dashboard.require_totp_for_admins",
    ),
    ("LUISTER_OIDC_ISSUER", "dashboard.oidc.issuer"),
    ("LUISTER_REPORTS_DIR", "delivery.reports_dir"),
    ("LUISTER_WEBHOOK_URL", "delivery.webhook_url"),
    ("LUISTER_SMTP_HOST", "delivery.smtp.host"),
    ("LUISTER_SMTP_USERNAME", "delivery.smtp.username"),
    ("LUISTER_SMTP_PASSWORD", "delivery.smtp.password"),
    ("LUISTER_OIDC_CLIENT_ID", "dashboard.oidc.client_id"),
    ("LUISTER_OIDC_CLIENT_SECRET", "dashboard.oidc.client_secret"),
    (
        "LUISTER_QUERY_MAX_EXECUTION_SECONDS",
        "query.max_execution_seconds",
    ),
    ("LUISTER_QUERY_MAX_MEMORY_BYTES", "query.max_memory_bytes"),
    (
        "LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT",
        "rate_limit.collector_per_client",
    ),
    (
        "LUISTER_RATE_LIMIT_COLLECTOR_PER_SITE",
        "rate_limit.collector_per_site",
    ),
    (
        "LUISTER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE",
        "rate_limit.auth_failures_per_minute",
    ),
];

/// Variables read elsewhere, allowed beside the configuration keys.
const OTHER_ENV: &[&str] = &[
    "LUISTER_CONFIG",
    "LUISTER_ADMIN_TOKEN",
    "LUISTER_LOG",
    "LUISTER_PASSWORD",
];

impl Config {
    /// Reads `file` (if given) and applies `env` (pass `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        let env: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("LUISTER_"))
            .collect();
        for (name, value) in &env {
            if OTHER_ENV.contains(&name.as_str()) || name.starts_with("LUISTER_TEST_") {
                continue;
            }
            let key = ENV_KEYS
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, key)| *key)
                .ok_or_else(|| ConfigError::UnknownEnv(name.clone()))?;
            let env_error = |message| ConfigError::Env {
                name: name.clone(),
                message,
            };
            let value = env_value(key, value).map_err(env_error)?;
            set_key(&mut table, key, value).map_err(env_error)?;
        }
        let origin = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("environment"));
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: origin,
                    message: e.message().to_string(),
                })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.check_clickhouse()?;
        self.trusted_proxies()?;
        self.forwarded_header()?;
        let rates = [
            self.rate_limit.collector_per_client,
            self.rate_limit.collector_per_site,
            self.rate_limit.auth_failures_per_minute,
        ];
        if rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
            return Err(ConfigError::Invalid {
                field: "rate_limit",
                message: "rates are numbers, 0 (off) or more".into(),
            });
        }
        if self.query.max_execution_seconds == 0 {
            return Err(ConfigError::Invalid {
                field: "query.max_execution_seconds",
                message: "must be at least 1".into(),
            });
        }
        if !matches!(self.spool.fsync.as_str(), "on_seal" | "always") {
            return Err(ConfigError::Invalid {
                field: "spool.fsync",
                message: format!("{:?} is not on_seal or always", self.spool.fsync),
            });
        }
        if self.dashboard.session_idle_minutes == 0 {
            return Err(ConfigError::Invalid {
                field: "dashboard.session_idle_minutes",
                message: "must be at least 1".into(),
            });
        }
        let url = &self.dashboard.public_url;
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                field: "dashboard.public_url",
                message: format!("{url:?} must start with https:// or http://"),
            });
        }
        let smtp = &self.delivery.smtp;
        if !smtp.host.is_empty() && (smtp.from.is_empty() || smtp.to.is_empty()) {
            return Err(ConfigError::Invalid {
                field: "delivery.smtp",
                message: "e-mail needs from and to (a list of addresses)".into(),
            });
        }
        if self.delivery.check_minutes == 0 {
            return Err(ConfigError::Invalid {
                field: "delivery.check_minutes",
                message: "must be at least 1".into(),
            });
        }
        let oidc = &self.dashboard.oidc;
        if !oidc.issuer.is_empty() {
            if !(oidc.issuer.starts_with("https://") || oidc.issuer.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    field: "dashboard.oidc.issuer",
                    message: format!("{:?} must start with https://", oidc.issuer),
                });
            }
            if oidc.client_id.is_empty() {
                return Err(ConfigError::Invalid {
                    field: "dashboard.oidc.client_id",
                    message: "single sign-on needs the client id the provider gave".into(),
                });
            }
            if oidc.admin_values.is_empty()
                && oidc.analyst_values.is_empty()
                && oidc.viewer_values.is_empty()
            {
                return Err(ConfigError::Invalid {
                    field: "dashboard.oidc",
                    message: "name the claim values that give a role (admin_values, analyst_values, viewer_values)".into(),
                });
            }
        }
        if self.spool.max_batch_events == 0 {
            return Err(ConfigError::Invalid {
                field: "spool.max_batch_events",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    fn check_clickhouse(&self) -> Result<(), ConfigError> {
        let ch = &self.clickhouse;
        let https = ch.url.starts_with("https://");
        if !(ch.url.is_empty() || https || ch.url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                field: "clickhouse.url",
                message: format!("{:?} must start with http:// or https://", ch.url),
            });
        }
        if ch.ca_file.is_some() && !https {
            return Err(ConfigError::Invalid {
                field: "clickhouse.ca_file",
                message: "a CA file is only used with an https:// clickhouse.url".into(),
            });
        }
        Ok(())
    }

    /// The rate limits as the server takes them.
    pub fn rate_limits(&self) -> RateLimits {
        let r = &self.rate_limit;
        RateLimits {
            collector_per_client: Rate::per_second(r.collector_per_client),
            collector_per_site: Rate::per_second(r.collector_per_site),
            auth_failures_per_client: Rate {
                per_second: r.auth_failures_per_minute / 60.0,
                burst: 10.0,
            },
        }
    }

    pub fn forwarded_header(&self) -> Result<ForwardedHeader, ConfigError> {
        self.forwarded_header
            .parse()
            .map_err(|message| ConfigError::Invalid {
                field: "forwarded_header",
                message,
            })
    }

    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        self.trusted_proxies
            .join(",")
            .parse()
            .map_err(|message| ConfigError::Invalid {
                field: "trusted_proxies",
                message,
            })
    }
}

/// Environment values are text; turn them into the TOML type the key expects.
fn env_value(key: &str, value: &str) -> Result<toml::Value, String> {
    let trimmed = value.trim();
    Ok(match key {
        "trusted_proxies" | "enrichment.geo_databases" => toml::Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.into()))
                .collect(),
        ),
        "allow_headless" | "anonymize_ip" | "dashboard.require_totp_for_admins" => match trimmed {
            "1" | "true" | "yes" => toml::Value::Boolean(true),
            "0" | "false" | "no" | "" => toml::Value::Boolean(false),
            other => return Err(format!("{key} must be true or false, not {other:?}")),
        },
        "spool.max_batch_events"
        | "spool.max_batch_age_ms"
        | "spool.max_bytes"
        | "query.max_execution_seconds"
        | "query.max_memory_bytes"
        | "dashboard.session_idle_minutes" => trimmed
            .parse::<u32>()
            .map(|n| toml::Value::Integer(n.into()))
            .or_else(|_| trimmed.parse::<i64>().map(toml::Value::Integer))
            .ok()
            .filter(|v| v.as_integer().is_some_and(|n| n >= 0))
            .ok_or_else(|| format!("{key} must be a whole number, not {value:?}"))?,
        "rate_limit.collector_per_client"
        | "rate_limit.collector_per_site"
        | "rate_limit.auth_failures_per_minute" => trimmed
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(toml::Value::Float)
            .ok_or_else(|| format!("{key} must be a number, 0 or more, not {value:?}"))?,
        _ => toml::Value::String(value.into()),
    })
}

fn set_key(table: &mut toml::Table, dotted: &str, value: toml::Value) -> Result<(), String> {
    match dotted.split_once('.') {
        None => {
            table.insert(dotted.into(), value);
            Ok(())
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(inner) => set_key(inner, rest, value),
                _ => Err(format!("{head} is not a table in the config file")),
            }
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
