//! Loads the enrichment data files named by the configuration, with messages that
//! say how to get them.

use crate::config::Config;
use anyhow::Context;
use luister_ingest::enrich::DataFiles;
use luister_ingest::pipeline::{Enrichers, PipelineConfig};
use std::sync::Arc;

/// The data files in use, after applying the configuration's overrides.
pub fn data_files(config: &Config) -> DataFiles {
    let mut files = DataFiles::in_dir(&config.enrichment.data_files);
    if let Some(regexes) = &config.enrichment.ua_regexes {
        files.regexes_yaml = regexes.clone();
    }
    if !config.enrichment.geo_databases.is_empty() {
        files.geo_databases = config.enrichment.geo_databases.clone();
    }
    files
}

/// Loads user-agent regexes, bot list, referrer list and geo databases.
pub fn load(config: &Config) -> anyhow::Result<Arc<Enrichers>> {
    let files = data_files(config);
    let enrichers = Enrichers::load(&PipelineConfig {
        data_files: files.clone(),
        allow_headless: config.allow_headless,
    })
    .with_context(|| {
        format!(
            "loading enrichment data from {} (run scripts/fetch-data.sh to download it)",
            config.enrichment.data_files.display()
        )
    })?;
    Ok(Arc::new(enrichers))
}
