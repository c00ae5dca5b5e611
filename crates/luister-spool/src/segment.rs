//! One spool segment: a file of JSON lines, one [`SpoolRecord`] per line.
//!
//! `*.open` is being appended to; `*.ready` is sealed and waits for the sink.
//! Segment names carry a sequence number so they are written in arrival order.

use luister_model::{EventRecord, SessionRecord};
use serde::{Deserialize, Serialize};
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

/// One line of a segment: an event row or a change of a visit's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpoolRecord {
    #[serde(rename = "e")]
    Event(EventRecord),
    #[serde(rename = "s")]
    Session(SessionRecord),
}

/// What one append or one segment holds: rows for `events` and for `sessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<EventRecord>,
    pub sessions: Vec<SessionRecord>,
}

impl Batch {
    /// Rows of both kinds.
    pub fn len(&self) -> usize {
        self.events.len() + self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, record: SpoolRecord) {
        match record {
            SpoolRecord::Event(e) => self.events.push(e),
            SpoolRecord::Session(s) => self.sessions.push(s),
        }
    }

    /// The JSON lines of this batch, events first.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut *out, &SpoolRecordRef::Event(event))?;
            out.push(b'\n');
        }
        for session in &self.sessions {
            serde_json::to_writer(&mut *out, &SpoolRecordRef::Session(session))?;
            out.push(b'\n');
        }
        Ok(())
    }
}

/// Borrowing twin of [`SpoolRecord`] for writing without clones.
#[derive(Serialize)]
enum SpoolRecordRef<'a> {
    #[serde(rename = "e")]
    Event(&'a EventRecord),
    #[serde(rename = "s")]
    Session(&'a SessionRecord),
}

/// Reads a sealed segment. A torn last line (a crash mid-write of an event that was
/// never acknowledged) is skipped and counted.
pub fn read_segment(path: &Path) -> std::io::Result<(Batch, usize)> {
    let file = std::fs::File::open(path)?;
    let mut records = Batch::default();
    let mut unreadable = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<SpoolRecord>(&line) {
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
