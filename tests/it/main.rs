//! Luister's integration tests: real ClickHouse, real HTTP. One binary, one module per area.

mod collector;
mod store;
