//! `luister spool`: the segments the flusher set aside in `spool/quarantine` (rejected by
//! ClickHouse for good, or damaged), listed and written again once the cause is fixed.
//!
//! Replays go straight to ClickHouse through the same sink the flusher uses, as retries
//! (events already stored are skipped), so a replay never stores an event twice.

use luister_server::StoreSink;
use luister_spool::{quarantine_dir, read_segment, EventSink};
use luister_store::Store;
use std::path::{Path, PathBuf};

/// One quarantined segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedSegment {
    pub name: String,
    pub path: PathBuf,
    pub events: usize,
    pub visit_changes: usize,
    /// Lines that could not be read (damaged or torn).
    pub damaged: usize,
    pub reason: String,
}

/// The quarantined segments of the spool in `spool_dir`, oldest first.
pub fn list(spool_dir: &Path) -> std::io::Result<Vec<QuarantinedSegment>> {
    let folder = quarantine_dir(spool_dir);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".reason"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let (batch, damaged) = read_segment(&path)?;
            let reason = std::fs::read_to_string(reason_path(&path)).unwrap_or_default();
            Ok(QuarantinedSegment {
                name: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                events: batch.events.len(),
                visit_changes: batch.sessions.len(),
                damaged,
                reason: reason.trim().into(),
                path,
            })
        })
        .collect()
}

/// What replaying one segment did.
#[derive(Debug)]
pub struct Replayed {
    pub name: String,
    /// Events stored now, or why ClickHouse refused the segment again (it stays).
    pub outcome: Result<usize, String>,
}

/// Writes the quarantined segments named in `names` (all when empty) to ClickHouse;
/// a segment written is deleted, one refused again stays with its new reason.
pub async fn replay(
    store: &Store,
    spool_dir: &Path,
    names: &[String],
) -> std::io::Result<Vec<Replayed>> {
    let sink = StoreSink {
        store: store.clone(),
        engine: luister_query::QueryEngine::new(store.clone()),
    };
    let mut done = Vec::new();
    for segment in list(spool_dir)? {
        if !names.is_empty() && !names.contains(&segment.name) {
            continue;
        }
        let (batch, _) = read_segment(&segment.path)?;
        let outcome = match sink.write_batch(&batch, true).await {
            Ok(stored) => {
                std::fs::remove_file(&segment.path)?;
                let _ = std::fs::remove_file(reason_path(&segment.path));
                Ok(stored)
            }
            Err(e) => {
                std::fs::write(reason_path(&segment.path), format!("{e}\n"))?;
                Err(e.to_string())
            }
        };
        done.push(Replayed {
            name: segment.name,
            outcome,
        });
    }
    Ok(done)
}

fn reason_path(path: &Path) -> PathBuf {
    let mut reason = path.as_os_str().to_owned();
    reason.push(".reason");
    PathBuf::from(reason)
}
