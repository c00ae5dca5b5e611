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
        let url = if config.clickhouse.url.is_empty() {
            let dir = config.data_dir.join("clickhouse");
            let marker = dir.join("running-url");
            match running_embedded(&marker).await {
                Some(url) => url,
                None => {
                    eprintln!("starting embedded ClickHouse in {} …", dir.display());
                    let server = EmbeddedClickHouse::start(&dir)
                        .await
                        .context("starting embedded ClickHouse")?;
                    let url = server.url();
                    std::fs::write(&marker, &url)
                        .with_context(|| format!("writing {}", marker.display()))?;
                    embedded = Some((server, marker));
                    url
                }
            }
        } else {
            config.clickhouse.url.clone()
        };
        let settings = ClickHouseSettings {
            url,
            user: config.clickhouse.user.clone(),
            password: config.clickhouse.password.clone(),
            database: config.clickhouse.database.clone(),
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

/// The URL of an embedded server another `luister` process runs, if it still answers.
async fn running_embedded(marker: &std::path::Path) -> Option<String> {
    let url = std::fs::read_to_string(marker).ok()?.trim().to_string();
    let settings = ClickHouseSettings {
        url: url.clone(),
        user: "default".into(),
        password: String::new(),
        database: "default".into(),
    };
    let answers = tokio::time::timeout(std::time::Duration::from_secs(3), Store::connect(settings))
        .await
        .ok()?
        .is_ok();
    answers.then_some(url)
}
