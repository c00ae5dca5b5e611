//! One spool segment: a file of JSON lines, one [`EventRecord`] per line.
//!
//! `*.open` is being appended to; `*.ready` is sealed and waits for the sink.
//! Segment names carry a sequence number so they are written in arrival order.

use luister_model::EventRecord;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

pub const OPEN_SUFFIX: &str = "open";
pub const READY_SUFFIX: &str = "ready";

/// `seg-000000000042.ready`
pub fn segment_path(dir: &Path, sequence: u64, suffix: &str) -> PathBuf {
    dir.join(format!("seg-{sequence:012}.{suffix}"))
}

/// The sequence number in a segment file name.
pub fn sequence_of(path: &Path) -> Option<u64> {
    path.file_stem()?
        .to_str()?
        .strip_prefix("seg-")?
        .parse()
        .ok()
}

/// Reads a sealed segment. A torn last line (a crash mid-write of an event that was
/// never acknowledged) is skipped and counted.
pub fn read_segment(path: &Path) -> std::io::Result<(Vec<EventRecord>, usize)> {
    let file = std::fs::File::open(path)?;
    let mut records = Vec::new();
    let mut unreadable = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<EventRecord>(&line) {
            Ok(record) => records.push(record),
            Err(_) => unreadable += 1,
        }
    }
    Ok((records, unreadable))
}

/// The sealed segments in `dir`, oldest first.
pub fn ready_segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(READY_SUFFIX))
        .filter_map(|p| sequence_of(&p).map(|s| (s, p)))
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}
