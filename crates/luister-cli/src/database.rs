//! Opens Luister's ClickHouse: the configured server, or the embedded one under the
//! data directory (shared with a `luister serve` that is already running).

use crate::config::Config;
use anyhow::Context;
use luister_store::embedded::EmbeddedClickHouse;
use luister_store::{ClickHouseSettings, Store};
use std::path::PathBuf;

/// A migrated store, and the embedded server behind it when this process started one.
pub struct Database {
    pub store: Store,
    embedded: Option<(EmbeddedClickHouse, PathBuf)>,
}

impl Database {
    /// Connects (starting the embedded server if needed) and applies migrations.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let mut embedded = None;
        let settings = if config.clickhouse.url.is_empty() {
            let dir = config.data_dir.join("clickhouse");
            let marker = dir.join("running-url");
            let database = &config.clickhouse.database;
            match running_embedded(&dir, &marker, database).await {
                Some(settings) => settings,
                None => {
                    eprintln!("starting embedded ClickHouse in {} …", dir.display());
                    let server = EmbeddedClickHouse::start(&dir)
                        .await
                        .context("starting embedded ClickHouse")?;
                    let settings = server.settings(database);
                    std::fs::write(&marker, server.url())
                        .with_context(|| format!("writing {}", marker.display()))?;
                    embedded = Some((server, marker));
                    settings
                }
            }
        } else {
            ClickHouseSettings {
                url: config.clickhouse.url.clone(),
                user: config.clickhouse.user.clone(),
                password: config.clickhouse.password.expose().to_string(),
                database: config.clickhouse.database.clone(),
                ca_file: config.clickhouse.ca_file.clone(),
            }
        };
        let store = Store::connect(settings)
            .await
            .context("connecting to ClickHouse")?;
        store
            .migrate()
            .await
            .context("applying schema migrations")?;
        Ok(Self { store, embedded })
    }

    /// Stops the embedded server if this process started it.
    pub async fn close(mut self) {
        if let Some((mut server, marker)) = self.embedded.take() {
            let _ = std::fs::remove_file(marker);
            server.stop().await;
        }
    }
}

/// The settings of an embedded server another `luister` process runs, if it is still
/// that process's and answers.
async fn running_embedded(
    dir: &std::path::Path,
    marker: &std::path::Path,
    database: &str,
) -> Option<ClickHouseSettings> {
    let url = std::fs::read_to_string(marker).ok()?.trim().to_string();
    let settings = EmbeddedClickHouse::running(dir, &url, database)?;
    let answers = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        Store::connect(settings.clone()),
    )
    .await
    .ok()?
    .is_ok();
    answers.then_some(settings)
}
