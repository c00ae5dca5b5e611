//! Connecting to ClickHouse, with the switches that make one code path serve 18.16 and current releases.

use crate::StoreError;
use clickhouse::Client;

/// Where and how to reach ClickHouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseSettings {
    pub url: String,
    pub user: String,
    pub password: String,
    pub database: String,
    /// Extra CA certificates (PEM) trusted beside the system's, for `https://` URLs.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A connection to Luister's database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) client: Client,
    settings: ClickHouseSettings,
    server_version: String,
}

impl Store {
    /// Connects, creates the database if needed and detects the server version.
    pub async fn connect(settings: ClickHouseSettings) -> Result<Self, StoreError> {
        let base = base_client(&settings)?;
        let server_version: String =
            base.query("SELECT version()")
                .fetch_one()
                .await
                .map_err(|e| StoreError::Unreachable {
                    url: settings.url.clone(),
                    reason: with_causes(&e),
                })?;
        check_identifier("database", &settings.database)?;
        base.query(&format!(
            "CREATE DATABASE IF NOT EXISTS `{}`",
            settings.database
        ))
        .execute()
        .await?;
        let mut client = base.with_database(&settings.database);
        if is_legacy(&server_version) {
            // 18.x needs this to read `LowCardinality` columns; current releases reject the setting.
            client = client.with_setting("allow_experimental_low_cardinality_type", "1");
        }
        Ok(Self {
            client,
            settings,
            server_version,
        })
    }

    /// The raw client, for the query layer.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn settings(&self) -> &ClickHouseSettings {
        &self.settings
    }

    /// `SELECT version()` as answered at connect time.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// True when ClickHouse answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.client
            .query("SELECT 1")
            .fetch_one::<u8>()
            .await
            .is_ok()
    }

    /// Drops the whole database; for tests and `luister` resets only.
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        base_client(&self.settings)?
            .query(&format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.settings.database
            ))
            .execute()
            .await?;
        Ok(())
    }
}

fn base_client(settings: &ClickHouseSettings) -> Result<Client, StoreError> {
    let mut client = crate::tls::http_client(settings.ca_file.as_deref())?
        .with_url(&settings.url)
        .with_user(&settings.user)
        // 18.16 rejects the crate's schema probe (`describe_include_subcolumns`).
        .with_validation(false);
    if !settings.password.is_empty() {
        client = client.with_password(&settings.password);
    }
    Ok(client)
}

/// An error and its causes on one line: the client's own message ("client error
/// (Connect)") hides why, e.g. that a certificate is not trusted.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn is_legacy(version: &str) -> bool {
    version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major < 19)
}

/// Database and table names are spliced into DDL, so only plain identifiers are allowed.
pub(crate) fn check_identifier(field: &'static str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field,
            reason: format!("{name:?} must be letters, digits and _ (not starting with a digit)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_detection() {
        assert!(is_legacy("18.16.1"));
        assert!(!is_legacy("24.8.4.13"));
        assert!(!is_legacy("garbage"));
    }

    #[test]
    fn identifiers() {
        assert!(check_identifier("database", "luister_test_1").is_ok());
        assert!(check_identifier("database", "x`; DROP").is_err());
        assert!(check_identifier("database", "1abc").is_err());
    }
}
