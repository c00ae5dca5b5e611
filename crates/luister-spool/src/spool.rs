//! The append side of the spool: where the collector writes before answering 202.

use crate::segment::{self, Batch, OPEN_SUFFIX, READY_SUFFIX};
use luister_metrics as metrics;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When appended bytes are forced to the disk.
///
/// A plain `write` survives a killed process (the kernel has the bytes); only a
/// power loss can lose what was not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Sync when a segment is sealed (at most one batch age is at risk on power loss).
    #[default]
    OnSeal,
    /// Sync every append before answering (slow, power-loss safe).
    Always,
}

/// Spool settings.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    /// Seal a segment (one INSERT) at this many events…
    pub max_batch_events: usize,
    /// …or when its first event is this old.
    pub max_batch_age: Duration,
    /// Refuse new events (503) past this many bytes waiting, rather than fill the disk.
    pub max_bytes: u64,
    pub fsync: FsyncPolicy,
}

/// Why an append failed; the collector answers 503 and the client may retry.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool is full ({0} bytes waiting); is ClickHouse reachable?")]
    Full(u64),
    #[error("spool i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// What is waiting in the spool now.
#[derive(Debug, Default)]
pub struct SpoolStats {
    events: AtomicU64,
    bytes: AtomicU64,
}

impl SpoolStats {
    /// Rows (events and visit changes) waiting.
    pub fn records(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn add(&self, events: u64, bytes: u64) {
        let e = self.events.fetch_add(events, Ordering::Relaxed) + events;
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        metrics::SPOOL_EVENTS.set(e as i64);
        metrics::SPOOL_BYTES.set(b as i64);
    }

    pub(crate) fn remove(&self, events: u64, bytes: u64) {
        let e = self
            .events
            .fetch_sub(events.min(self.records()), Ordering::Relaxed)
            .saturating_sub(events);
        let b = self
            .bytes
            .fetch_sub(bytes.min(self.bytes()), Ordering::Relaxed)
            .saturating_sub(bytes);
        metrics::SPOOL_EVENTS.set(e as i64);
        metrics::SPOOL_BYTES.set(b as i64);
    }
}

struct OpenSegment {
    file: File,
    path: PathBuf,
    events: usize,
    /// Bytes of whole lines written; a failed write is cut back to this.
    bytes: u64,
    opened: Instant,
}

/// The disk spool. Appends are serialised by one lock; each is one `write` call.
pub struct Spool {
    config: SpoolConfig,
    current: Mutex<Option<OpenSegment>>,
    next_sequence: AtomicU64,
    stats: SpoolStats,
    sealed: tokio::sync::Notify,
}

impl Spool {
    /// Opens (creating) the spool directory and seals segments a previous run left open.
    pub fn open(config: SpoolConfig) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(&config.dir)?;
        let mut last_sequence = 0;
        let stats = SpoolStats::default();
        for entry in std::fs::read_dir(&config.dir)? {
            let path = entry?.path();
            let Some(sequence) = segment::sequence_of(&path) else {
                continue;
            };
            last_sequence = last_sequence.max(sequence);
            if path.extension().and_then(|e| e.to_str()) == Some(OPEN_SUFFIX) {
                std::fs::rename(&path, path.with_extension(READY_SUFFIX))?;
            }
        }
        let ready = segment::ready_segments(&config.dir)?;
        for path in &ready {
            let (records, damaged) = segment::read_segment(path)?;
            if damaged > 0 {
                set_aside_damaged(&config.dir, path, &records, damaged)?;
            }
            stats.add(records.len() as u64, std::fs::metadata(path)?.len());
        }
        metrics::SPOOL_SEGMENTS.set(ready.len() as i64);
        Ok(Self {
            config,
            current: Mutex::new(None),
            next_sequence: AtomicU64::new(last_sequence + 1),
            stats,
            sealed: tokio::sync::Notify::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }

    pub fn stats(&self) -> &SpoolStats {
        &self.stats
    }

    /// `Err(Full)` when the spool has no room for more; checked before any work is done.
    pub fn check_room(&self) -> Result<(), SpoolError> {
        if self.stats.bytes() >= self.config.max_bytes {
            return Err(SpoolError::Full(self.stats.bytes()));
        }
        Ok(())
    }

    /// Appends records durably (see [`FsyncPolicy`]); once this returns they will reach the sink.
    pub fn append(&self, records: &Batch) -> Result<(), SpoolError> {
        if records.is_empty() {
            return Ok(());
        }
        self.check_room()?;
        let mut buffer = Vec::with_capacity(records.len() * 512);
        records.encode(&mut buffer).map_err(std::io::Error::other)?;
        let mut current = self.current.lock();
        if current.is_none() {
            *current = Some(self.new_segment()?);
        }
        let segment = current.as_mut().expect("just opened");
        let written = segment.file.write_all(&buffer).and_then(|_| {
            if self.config.fsync == FsyncPolicy::Always {
                segment.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // A full disk may take half a line: cut it off, or the next line would be glued
            // to it and lost as damaged.
            segment.file.set_len(segment.bytes)?;
            return Err(e.into());
        }
        segment.bytes += buffer.len() as u64;
        segment.events += records.len();
        self.stats.add(records.len() as u64, buffer.len() as u64);
        if segment.events >= self.config.max_batch_events {
            self.seal(&mut current)?;
        }
        Ok(())
    }

    /// Seals the open segment if it is old enough; called by the flusher's timer.
    pub fn seal_if_due(&self) -> Result<bool, SpoolError> {
        let mut current = self.current.lock();
        let due = current
            .as_ref()
            .is_some_and(|s| s.events > 0 && s.opened.elapsed() >= self.config.max_batch_age);
        if due {
            self.seal(&mut current)?;
        }
        Ok(due)
    }

    /// Seals whatever is open (shutdown).
    pub fn seal_now(&self) -> Result<(), SpoolError> {
        let mut current = self.current.lock();
        if current.as_ref().is_some_and(|s| s.events > 0) {
            self.seal(&mut current)?;
        }
        Ok(())
    }

    /// Waits until a segment is sealed or `timeout` passes.
    pub async fn wait_sealed(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.sealed.notified()).await;
    }

    /// Sealed segments, oldest first.
    pub fn ready_segments(&self) -> Result<Vec<PathBuf>, SpoolError> {
        Ok(segment::ready_segments(&self.config.dir)?)
    }

    /// Deletes a segment the sink has accepted.
    pub fn acknowledge(&self, path: &Path, events: usize) -> Result<(), SpoolError> {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(path)?;
        metrics::SPOOL_SEGMENTS.dec();
        self.stats.remove(events as u64, bytes);
        Ok(())
    }

    /// Moves a segment the sink keeps rejecting out of the way (to `quarantine/`, with the
    /// reason beside it), so the batches behind it flow again; nothing is deleted.
    pub fn quarantine(&self, path: &Path, records: usize, reason: &str) -> Result<(), SpoolError> {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        move_to_quarantine(&self.config.dir, path, reason)?;
        metrics::SPOOL_SEGMENTS.dec();
        metrics::SPOOL_QUARANTINED.inc();
        self.stats.remove(records as u64, bytes);
        Ok(())
    }

    fn new_segment(&self) -> Result<OpenSegment, SpoolError> {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        let path = segment::segment_path(&self.config.dir, sequence, OPEN_SUFFIX);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        Ok(OpenSegment {
            file,
            path,
            events: 0,
            bytes: 0,
            opened: Instant::now(),
        })
    }

    fn seal(&self, current: &mut Option<OpenSegment>) -> Result<(), SpoolError> {
        if let Some(segment) = current.take() {
            if self.config.fsync == FsyncPolicy::OnSeal {
                segment.file.sync_data()?;
            }
            std::fs::rename(&segment.path, segment.path.with_extension(READY_SUFFIX))?;
            metrics::SPOOL_SEGMENTS.inc();
            self.sealed.notify_one();
        }
        Ok(())
    }
}

/// Where segments that cannot be written are kept: `<spool>/quarantine`.
pub fn quarantine_dir(spool_dir: &Path) -> PathBuf {
    spool_dir.join("quarantine")
}

/// Moves `path` into the quarantine folder with `<name>.reason` beside it.
fn move_to_quarantine(spool_dir: &Path, path: &Path, reason: &str) -> std::io::Result<()> {
    let folder = quarantine_dir(spool_dir);
    std::fs::create_dir_all(&folder)?;
    let name = path.file_name().unwrap_or_default();
    let mut target = folder.join(name);
    if target.exists() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        target = folder.join(format!("{}.{stamp}", name.to_string_lossy()));
    }
    std::fs::rename(path, &target)?;
    let mut reason_path = target.into_os_string();
    reason_path.push(".reason");
    std::fs::write(reason_path, format!("{reason}\n"))
}

/// A segment with damaged lines found at start: the file goes to quarantine as it is
/// (counted), and its intact records take its place, so one bad line neither stops the
/// spool nor loses the lines around it.
fn set_aside_damaged(
    spool_dir: &Path,
    path: &Path,
    intact: &Batch,
    damaged: usize,
) -> Result<(), SpoolError> {
    tracing::warn!(
        "{}: {damaged} damaged line(s); the segment is kept in quarantine",
        path.display()
    );
    metrics::EVENTS_DROPPED
        .with_label_values(&["spool_damaged_line"])
        .inc_by(damaged as u64);
    move_to_quarantine(
        spool_dir,
        path,
        &format!("{damaged} damaged line(s) found at start; intact lines were kept in the spool"),
    )?;
    metrics::SPOOL_QUARANTINED.inc();
    let mut bytes = Vec::new();
    intact.encode(&mut bytes).map_err(std::io::Error::other)?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, &bytes)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}
