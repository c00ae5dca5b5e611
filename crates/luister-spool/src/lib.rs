//! Durable buffering between the collector and ClickHouse.
//!
//! Accepted events are appended to a segment file on disk before the collector
//! answers; sealed segments are written to an [`EventSink`] in batches by the
//! [`Flusher`] and deleted only after the sink accepted them. A ClickHouse outage
//! or a killed process delays data; it does not lose it.

mod flusher;
mod segment;
mod spool;

pub use flusher::{EventSink, Flusher, FlusherConfig, SinkError, MAX_REJECTIONS};
pub use segment::{read_segment, Batch, SpoolRecord};
pub use spool::{quarantine_dir, FsyncPolicy, Spool, SpoolConfig, SpoolError, SpoolStats};
