//! Luister's ingestion stages, in the order an event passes them:
//! decode → validate → enrich → sessionize. The result is an [`EventRecord`] ready
//! for the spool. Nothing here does network I/O; data files are loaded once at start.
//!
//! [`EventRecord`]: luister_model::EventRecord

pub mod access_log;
pub mod decode;
pub mod enrich;
pub mod import_line;
pub mod matomo;
pub mod pipeline;
pub mod salts;
pub mod sessionize;
pub mod validate;

pub use pipeline::{DropReason, Pipeline, PipelineConfig, Processed};
