//! `luister import`: historical events from NDJSON, or page views from a web server's
//! access log, through the same stages as live events (decode → validate → enrich →
//! sessionize → store), with the file's timestamps.
//!
//! Salts are throwaway, one per UTC day (or week) present in the file, so imported
//! history counts visitors exactly as live collection would have.

use luister_ingest::access_log::{self, Skip};
pub use luister_ingest::import_line::{decode_import_line, ImportLine};
use luister_ingest::pipeline::Enrichers;
use luister_ingest::salts::EphemeralSalts;
use luister_ingest::validate::SiteRegistry;
use luister_ingest::{Pipeline, Processed};
use luister_spool::Batch;
use luister_store::{Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

/// Malformed lines listed by number in the report, at most.
const LISTED_MALFORMED: usize = 50;
const BATCH: usize = 50_000;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub imported: u64,
    pub dropped: BTreeMap<String, u64>,
    pub malformed: u64,
    /// `(line number, why)` of the first malformed lines.
    pub malformed_lines: Vec<(u64, String)>,
}

/// Why an import stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading input at line {line}: {source}")]
    Read { line: u64, source: std::io::Error },
    #[error("storing events: {0}")]
    Store(#[from] StoreError),
    #[error("marking the rollups of the imported days for rebuilding: {0}")]
    Rollups(#[from] luister_query::QueryError),
}

/// How the import reports progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Print a progress line on stderr (when it is a terminal).
    pub progress: bool,
    /// Shorten client addresses before hashing, as `anonymize_ip` does for live events.
    pub anonymize_ip: bool,
}

/// What the lines of an import are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFormat {
    /// One JSON object a line ([`ImportLine`]).
    Ndjson,
    /// A combined access log; `site` names the site when the log has no virtual host
    /// column (and overrides it when it has one).
    Combined { site: Option<String> },
}

/// Imports every line of `input` (NDJSON) for the sites known to `store`.
pub async fn import_ndjson(
    store: &Store,
    enrichers: Arc<Enrichers>,
    input: impl BufRead,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    import(store, enrichers, input, &LineFormat::Ndjson, options).await
}

/// Imports every line of `input`, read as `format`, for the sites known to `store`.
pub async fn import(
    store: &Store,
    enrichers: Arc<Enrichers>,
    mut input: impl BufRead,
    format: &LineFormat,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    let sites = Arc::new(SiteRegistry::new(store.list_sites().await?));
    if let LineFormat::Combined { site: Some(domain) } = format {
        if sites.get(domain).is_none() {
            return Err(ImportError::Store(StoreError::SiteNotFound(domain.clone())));
        }
    }
    // An access log line without a User-Agent is a script, not a person; an NDJSON
    // export may simply not have kept the agent.
    let pipeline = Pipeline::new(sites, Arc::new(EphemeralSalts::default()), enrichers)
        .accept_missing_user_agent(*format == LineFormat::Ndjson)
        .anonymize_ip(options.anonymize_ip);
    let mut report = ImportReport::default();
    let mut batch = Batch::default();
    let engine = luister_query::QueryEngine::new(store.clone());
    let mut progress = Progress::new(options.progress && std::io::stderr().is_terminal());
    let mut buffer = Vec::new();
    for number in 1u64.. {
        buffer.clear();
        let read = input
            .read_until(b'\n', &mut buffer)
            .map_err(|source| ImportError::Read {
                line: number,
                source,
            })?;
        if read == 0 {
            break;
        }
        // A stray byte that is not UTF-8 (a log written with escaping off) must not stop
        // an import halfway, after earlier batches are stored: it becomes U+FFFD.
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        match process_line(&pipeline, format, line) {
            Ok(processed) => {
                for p in processed {
                    batch.events.push(p.event);
                    batch.sessions.extend(p.sessions);
                }
            }
            Err(LineOutcome::Malformed(why)) => {
                report.malformed += 1;
                if report.malformed_lines.len() < LISTED_MALFORMED {
                    report.malformed_lines.push((number, why));
                }
            }
            Err(LineOutcome::Dropped(reason)) => *report.dropped.entry(reason).or_default() += 1,
        }
        if batch.events.len() >= BATCH {
            if let Some(latest) = batch.events.iter().map(|e| e.timestamp).max() {
                bound_open_visits(&pipeline, latest);
            }
            report.imported += store_batch(store, &engine, &mut batch).await?;
        }
        progress.tick(report.lines);
    }
    if !batch.is_empty() {
        report.imported += store_batch(store, &engine, &mut batch).await?;
    }
    progress.finish(report.lines);
    Ok(report)
}

enum LineOutcome {
    Malformed(String),
    Dropped(String),
}

/// Visits kept open in memory before the importer forgets old ones.
const MAX_OPEN_VISITS: usize = 500_000;

/// Keeps memory bounded on long files: past [`MAX_OPEN_VISITS`], visits idle for a
/// day before the newest event read are closed (a file in rough time order never
/// continues them).
fn bound_open_visits(pipeline: &Pipeline, latest: u32) {
    let sessions = pipeline.sessions();
    if sessions.open_sessions() > MAX_OPEN_VISITS {
        let day = 86_400;
        sessions
            .prune(latest.saturating_sub(day) + luister_ingest::sessionize::SESSION_TIMEOUT_SECS);
    }
}

/// Writes a batch (events, then the visit changes), marks the rollups of its days for
/// building again, and empties it; returns events stored.
async fn store_batch(
    store: &Store,
    engine: &luister_query::QueryEngine,
    batch: &mut Batch,
) -> Result<u64, ImportError> {
    let stored = store.insert_events(&batch.events, false).await?;
    store.insert_sessions(&batch.sessions, false).await?;
    engine.invalidate_rollups_for(&batch.events).await?;
    *batch = Batch::default();
    Ok(stored as u64)
}

/// One line → processed events, through the live decoder so both paths read events alike.
fn process_line(
    pipeline: &Pipeline,
    format: &LineFormat,
    line: &str,
) -> Result<Vec<Processed>, LineOutcome> {
    let raws = match format {
        LineFormat::Ndjson => decode_import_line(line).map_err(LineOutcome::Malformed)?,
        LineFormat::Combined { site } => match access_log::decode_line(line, site.as_deref()) {
            Ok(raw) => vec![raw],
            Err(Skip::Malformed(why)) => return Err(LineOutcome::Malformed(why)),
            Err(skip) => return Err(LineOutcome::Dropped(skip.reason())),
        },
    };
    let mut records = Vec::with_capacity(raws.len());
    for raw in &raws {
        match pipeline.process(raw) {
            Ok(record) => records.push(record),
            Err(reason) => return Err(LineOutcome::Dropped(reason.as_str().to_string())),
        }
    }
    Ok(records)
}

/// A single progress line on a terminal, refreshed twice a second.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    fn tick(&mut self, lines: u64) {
        if self.enabled && self.last.elapsed().as_millis() >= 500 {
            self.last = Instant::now();
            self.print(lines);
        }
    }

    fn finish(&mut self, lines: u64) {
        if self.enabled {
            self.print(lines);
            eprintln!();
        }
    }

    fn print(&self, lines: u64) {
        let rate = lines as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        eprint!("\r{lines} lines read ({rate:.0}/s)   ");
        let _ = std::io::stderr().flush();
    }
}
