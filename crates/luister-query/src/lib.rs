//! Luister's query layer: Plausible Stats API v1 compatible stats, funnels, site-search
//! reports and goal value, from the `events` table and, for visit-level metrics, the
//! `sessions` table that ingestion keeps (one row per visit state, weighted by `sign`).
//! A visit belongs to the period in which it started, whole, as in Plausible.
//!
//! The path of a request: [`params`] turns HTTP parameters into a typed query
//! ([`StatsQuery`], [`FunnelQuery`], …); [`sql`] compiles it (the only module that
//! writes SQL, every value bound); [`QueryEngine`] runs the statements and returns
//! typed results ([`results`]) that serialise in the API's JSON shapes. This crate
//! knows nothing of HTTP status codes or authentication.
//!
//! Counting: distinct visitors and visits use ClickHouse's `uniq`, as Plausible does. It is
//! exact while a group holds fewer than 65,536 distinct ids (every test fixture, most
//! breakdown rows of a gemeente) and within about 1 % above that, at a third of the cost
//! of `uniqExact` (see `benches/src/query_bench.rs`).
//!
//! Unfiltered reports of sites with daily salts add up per-day rollups of closed salt
//! periods (exact: visitor ids of different days never meet) and read only the last day
//! or two from the raw tables; see `engine::rollup`.

mod engine;
mod error;
pub mod filter;
pub mod metric;
pub mod open_data;
pub mod params;
pub mod period;
pub mod property;
pub mod query;
pub mod results;
pub mod sql;

pub use engine::{ConversionCounts, QueryEngine, RollupReport, SearchCounts};
pub use error::QueryError;
pub use filter::Filter;
pub use metric::{Metric, MetricValue};
pub use params::{FunnelDefinition, FunnelRequest, Params};
pub use period::{DateRange, Interval, Period};
pub use property::Property;
pub use query::*;
pub use sql::stats::RealtimeDimension;
