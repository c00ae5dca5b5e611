//! One spool segment: a file of lines, one [`SpoolRecord`] per line, each its CRC-32 in
//! hex, a space and its JSON (`1a2b3c4d {"e":…}`), so a damaged line is found, not stored.
//! Lines without a checksum (segments of earlier releases) are read as plain JSON.
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

    /// The checksummed lines of this batch, events first.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let records = self
            .events
            .iter()
            .map(SpoolRecordRef::Event)
            .chain(self.sessions.iter().map(SpoolRecordRef::Session));
        let mut json = Vec::with_capacity(512);
        for record in records {
            json.clear();
            serde_json::to_writer(&mut json, &record)?;
            out.extend_from_slice(format!("{:08x} ", crc32fast::hash(&json)).as_bytes());
            out.extend_from_slice(&json);
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

/// Reads a segment. A line that is torn (a crash mid-write of an event that was never
/// acknowledged) or damaged (its checksum does not match) is skipped and counted.
pub fn read_segment(path: &Path) -> std::io::Result<(Batch, usize)> {
    let file = std::fs::File::open(path)?;
    let mut records = Batch::default();
    let mut unreadable = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        match decode_line(&line) {
            Some(record) => records.push(record),
            None => unreadable += 1,
        }
    }
    Ok((records, unreadable))
}

/// One line: `crc32hex json`, or bare JSON from an earlier release.
fn decode_line(line: &[u8]) -> Option<SpoolRecord> {
    let json = match line.get(8) {
        Some(b' ') => {
            let expected = u32::from_str_radix(std::str::from_utf8(&line[..8]).ok()?, 16).ok()?;
            let json = &line[9..];
            (crc32fast::hash(json) == expected).then_some(json)?
        }
        _ => line,
    };
    serde_json::from_slice(json).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_lines_are_found_by_their_checksum() {
        let batch = Batch {
            events: vec![EventRecord {
                event_id: 7,
                pathname: "/schulden".into(),
                ..Default::default()
            }],
            sessions: Vec::new(),
        };
        let mut bytes = Vec::new();
        batch.encode(&mut bytes).unwrap();
        assert_eq!(
            decode_line(&bytes[..bytes.len() - 1]),
            Some(SpoolRecord::Event(batch.events[0].clone()))
        );
        // One flipped letter still parses as JSON, but not past the checksum.
        let text = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("/schulden", "/schuldem");
        assert_eq!(decode_line(text.trim_end().as_bytes()), None);
        // A line of an earlier release (no checksum) is read as before.
        let legacy = serde_json::to_vec(&SpoolRecord::Event(batch.events[0].clone())).unwrap();
        assert!(decode_line(&legacy).is_some());
        assert_eq!(decode_line(b"0000 torn"), None);
    }
}
