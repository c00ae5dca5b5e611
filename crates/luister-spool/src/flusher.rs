//! The drain side of the spool: sealed segments → sink, deleted only once accepted.

use crate::segment;
use crate::Batch;
use crate::Spool;
use luister_metrics as metrics;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a batch was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The sink could not be reached or was busy: try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The sink refused this batch itself (a type error, a broken row): trying again will
    /// not help; after [`MAX_REJECTIONS`] the batch is quarantined.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// Attempts of a batch rejected by the sink before it is quarantined.
pub const MAX_REJECTIONS: u32 = 3;

/// Where batches go. `retry` says an earlier attempt of this batch may have landed
/// (a failure with unknown outcome, or a segment left by a previous run), so the sink
/// must not store an event twice.
pub trait EventSink: Send + Sync + 'static {
    fn write_batch(
        &self,
        batch: &Batch,
        retry: bool,
    ) -> impl Future<Output = Result<usize, SinkError>> + Send;
}

/// Flusher timing.
#[derive(Debug, Clone)]
pub struct FlusherConfig {
    /// How often the open segment is checked for age.
    pub tick: Duration,
    /// Longest wait between attempts while the sink fails.
    pub max_backoff: Duration,
    /// How long shutdown keeps trying to drain before leaving the rest on disk.
    pub shutdown_grace: Duration,
}

impl Default for FlusherConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Moves sealed segments to the sink in order.
pub struct Flusher<S: EventSink> {
    spool: Arc<Spool>,
    sink: S,
    config: FlusherConfig,
    /// Segments whose earlier attempt had an unknown outcome.
    uncertain: HashSet<PathBuf>,
    /// Segments the sink rejected, and how often.
    rejections: HashMap<PathBuf, u32>,
}

impl<S: EventSink> Flusher<S> {
    /// Segments already sealed at start come from an earlier run: treat them as uncertain.
    pub fn new(spool: Arc<Spool>, sink: S, config: FlusherConfig) -> Self {
        let uncertain = spool
            .ready_segments()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Self {
            spool,
            sink,
            config,
            uncertain,
            rejections: HashMap::new(),
        }
    }

    /// Runs until `shutdown` turns true, then seals and drains what it can.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.spool.seal_if_due() {
                tracing::error!("spool: {e}");
            }
            match self.flush_ready().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(
                        "writing events to clickhouse failed, will retry in {backoff:?}: {e}"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    continue;
                }
            }
            tokio::select! {
                _ = self.spool.wait_sealed(self.config.tick) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.drain().await;
    }

    /// Seals the open segment and writes everything, retrying until the grace period ends.
    pub async fn drain(&mut self) {
        if let Err(e) = self.spool.seal_now() {
            tracing::error!("spool: {e}");
        }
        let deadline = Instant::now() + self.config.shutdown_grace;
        while Instant::now() < deadline {
            match self.flush_ready().await {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!("draining spool: {e}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        tracing::warn!(
            "{} rows stay in the spool at {} and will be written on the next start",
            self.spool.stats().records(),
            self.spool.dir().display()
        );
    }

    /// Writes every sealed segment, oldest first; stops at the first failure.
    pub async fn flush_ready(&mut self) -> Result<usize, SinkError> {
        let io = |e: &dyn std::fmt::Display| SinkError::Unavailable(e.to_string());
        let mut written = 0;
        for path in self.spool.ready_segments().map_err(|e| io(&e))? {
            let (records, unreadable) = segment::read_segment(&path).map_err(|e| io(&e))?;
            if unreadable > 0 {
                tracing::warn!("{}: skipped {unreadable} torn line(s)", path.display());
                metrics::EVENTS_DROPPED
                    .with_label_values(&["spool_torn_line"])
                    .inc_by(unreadable as u64);
            }
            let retry = self.uncertain.contains(&path);
            let started = Instant::now();
            match self.sink.write_batch(&records, retry).await {
                Ok(stored) => {
                    metrics::EVENTS_STORED.inc_by(stored as u64);
                    metrics::BATCH_SIZE.observe(records.events.len() as f64);
                }
                Err(e) => {
                    metrics::CLICKHOUSE_ERRORS
                        .with_label_values(&["insert"])
                        .inc();
                    self.uncertain.insert(path.clone());
                    if let SinkError::Rejected(reason) = &e {
                        let count = self.rejections.entry(path.clone()).or_default();
                        *count += 1;
                        if *count >= MAX_REJECTIONS {
                            tracing::error!(
                                "{}: rejected {count} times, moved to quarantine: {reason}",
                                path.display()
                            );
                            self.spool
                                .quarantine(&path, records.len(), &e.to_string())
                                .map_err(|e| SinkError::Unavailable(e.to_string()))?;
                            self.rejections.remove(&path);
                            self.uncertain.remove(&path);
                            continue;
                        }
                    }
                    return Err(e);
                }
            }
            metrics::FLUSH_SECONDS.observe(started.elapsed().as_secs_f64());
            self.spool
                .acknowledge(&path, records.len())
                .map_err(|e| io(&e))?;
            self.uncertain.remove(&path);
            self.rejections.remove(&path);
            written += records.len();
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FsyncPolicy, SpoolConfig};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// An in-memory sink that can be told to fail, standing in for ClickHouse in unit tests
    /// (the integration tests use the real server).
    #[derive(Default, Clone)]
    struct MemorySink {
        rows: Arc<Mutex<Vec<(u64, bool)>>>,
        failing: Arc<AtomicBool>,
    }

    impl EventSink for MemorySink {
        async fn write_batch(&self, batch: &Batch, retry: bool) -> Result<usize, SinkError> {
            if self.failing.load(Ordering::Relaxed) {
                return Err(SinkError::Unavailable("down".into()));
            }
            if batch.events.iter().any(|e| e.event_id == REJECTED_ID) {
                return Err(SinkError::Rejected("type mismatch".into()));
            }
            let mut rows = self.rows.lock().unwrap();
            rows.extend(batch.events.iter().map(|r| (r.event_id, retry)));
            Ok(batch.events.len())
        }
    }

    fn config(dir: &std::path::Path) -> SpoolConfig {
        SpoolConfig {
            dir: dir.to_path_buf(),
            max_batch_events: 3,
            max_batch_age: Duration::from_secs(3600),
            max_bytes: 1 << 30,
            fsync: FsyncPolicy::OnSeal,
        }
    }

    fn record(id: u64) -> Batch {
        Batch {
            events: vec![event(id)],
            sessions: Vec::new(),
        }
    }

    fn event(id: u64) -> luister_model::EventRecord {
        luister_model::EventRecord {
            event_id: id,
            site_id: "a.nl".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn failed_batches_stay_and_are_retried_as_uncertain() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(config(dir.path())).unwrap());
        let sink = MemorySink::default();
        let mut flusher = Flusher::new(spool.clone(), sink.clone(), FlusherConfig::default());
        for id in 1..=4 {
            spool.append(&record(id)).unwrap();
        }
        sink.failing.store(true, Ordering::Relaxed);
        assert!(flusher.flush_ready().await.is_err());
        assert_eq!(spool.stats().records(), 4);
        sink.failing.store(false, Ordering::Relaxed);
        assert_eq!(flusher.flush_ready().await.unwrap(), 3);
        spool.seal_now().unwrap();
        assert_eq!(flusher.flush_ready().await.unwrap(), 1);
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(rows, vec![(1, true), (2, true), (3, true), (4, false)]);
        assert_eq!(spool.stats().records(), 0);
        assert!(spool.ready_segments().unwrap().is_empty());
    }

    #[tokio::test]
    async fn reopened_spool_replays_open_and_sealed_segments() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(config(dir.path())).unwrap();
            for id in 1..=5 {
                spool.append(&record(id)).unwrap();
            }
            // Dropped without sealing: segment 2 stays `.open`, as after a crash.
        }
        let spool = Arc::new(Spool::open(config(dir.path())).unwrap());
        assert_eq!(spool.stats().records(), 5);
        let sink = MemorySink::default();
        let mut flusher = Flusher::new(spool.clone(), sink.clone(), FlusherConfig::default());
        assert_eq!(flusher.flush_ready().await.unwrap(), 5);
        assert!(sink.rows.lock().unwrap().iter().all(|(_, retry)| *retry));
        // New appends go to a fresh segment number, after the replayed ones.
        spool.append(&record(6)).unwrap();
        spool.seal_now().unwrap();
        assert_eq!(flusher.flush_ready().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn full_spool_refuses_instead_of_filling_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(SpoolConfig {
            max_bytes: 10,
            ..config(dir.path())
        })
        .unwrap();
        spool.append(&record(1)).unwrap();
        assert!(matches!(
            spool.append(&record(2)),
            Err(crate::SpoolError::Full(_))
        ));
    }

    const REJECTED_ID: u64 = 666;

    #[tokio::test]
    async fn a_batch_rejected_for_good_is_quarantined_and_the_rest_flows() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(config(dir.path())).unwrap());
        let sink = MemorySink::default();
        let mut flusher = Flusher::new(spool.clone(), sink.clone(), FlusherConfig::default());
        for id in [1, REJECTED_ID, 3, 4, 5, 6] {
            spool.append(&record(id)).unwrap();
        }
        for _ in 1..MAX_REJECTIONS {
            assert!(matches!(
                flusher.flush_ready().await,
                Err(SinkError::Rejected(_))
            ));
        }
        assert_eq!(flusher.flush_ready().await.unwrap(), 3);
        let quarantined: Vec<_> = std::fs::read_dir(crate::quarantine_dir(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(quarantined.len(), 2, "{quarantined:?}");
        assert!(quarantined.iter().any(|n| n.ends_with(".reason")));
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![4, 5, 6]);
        assert_eq!(spool.stats().records(), 0);
    }

    #[tokio::test]
    async fn segments_cut_anywhere_never_stop_the_start_and_keep_their_intact_lines() {
        for cut in [1usize, 17, 100, 333, 517, 901] {
            let dir = tempfile::tempdir().unwrap();
            {
                let spool = Spool::open(config(dir.path())).unwrap();
                for id in 1..=3 {
                    spool.append(&record(id)).unwrap();
                }
            }
            let path = crate::segment::segment_path(dir.path(), 1, crate::segment::READY_SUFFIX);
            let mut bytes = std::fs::read(&path).unwrap();
            let cut = cut % bytes.len();
            bytes.truncate(cut);
            // A damaged byte in the middle of what remains, too.
            if let Some(b) = bytes.get_mut(cut / 2) {
                *b = b.wrapping_add(1);
            }
            std::fs::write(&path, &bytes).unwrap();
            let spool = Arc::new(Spool::open(config(dir.path())).expect("start never fails"));
            let sink = MemorySink::default();
            let mut flusher = Flusher::new(spool.clone(), sink.clone(), FlusherConfig::default());
            let written = flusher.flush_ready().await.unwrap();
            assert!(written < 3, "cut {cut}: {written}");
            let quarantine = crate::quarantine_dir(dir.path());
            let kept = std::fs::read_dir(&quarantine).map_or(0, |d| d.count());
            assert!(
                written == 2 || kept > 0,
                "cut {cut}: damage must be set aside"
            );
        }
    }

    #[test]
    fn torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg-000000000001.ready");
        let line = serde_json::to_string(&crate::SpoolRecord::Event(event(1))).unwrap();
        std::fs::write(&path, format!("{line}\n{}", &line[..10])).unwrap();
        let (records, torn) = segment::read_segment(&path).unwrap();
        assert_eq!((records.events.len(), torn), (1, 1));
    }
}
