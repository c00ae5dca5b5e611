//! Luister's HTTP server.
//!
//! Routes: the collector (`/api/event`, Matomo's `/matomo.php`), ops (`/health`,
//! `/ready`, `/metrics`), the tracker script (`/js/…`) and the query API (`api`).
//! Handlers decode and answer; the pipeline, spool and query crates do the work.

pub mod api;
mod background;
pub use background::StoreSink;
mod client_ip;
mod collector;
mod http_guard;
mod http_metrics;
mod matomo;
mod open_data;
mod ops;
pub mod rate_limit;
mod server;
mod site_lookup;
mod state;
mod tracker;

pub use client_ip::{ForwardedHeader, TrustedProxies};
pub use server::{start, ServerHandle, StartError};
pub use state::{AppState, ServerSettings};
pub use tracker::versioned_path;
