//! Luister's integration tests: real ClickHouse, real HTTP. One binary, one module per area.

mod access;
mod alerts;
mod cli;
mod collector;
mod dashboard;
mod delivery;
mod durability;
mod faults;
mod hardening;
mod impact;
mod import;
mod matomo;
mod query_api;
mod query_engagement;
mod query_fixture;
mod query_funnels;
mod query_goals;
mod query_rollups;
mod query_search;
mod query_sessions;
mod query_stats;
mod query_timezones;
mod query_tokens;
mod store;
mod tls;
mod upgrade;
