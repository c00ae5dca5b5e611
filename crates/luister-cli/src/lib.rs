//! The `luister` command: configuration, the embedded ClickHouse, import and the
//! subcommands that wire the other crates together. `anyhow` lives only here.

pub mod commands;
pub mod config;
pub mod database;
pub mod demo;
pub mod enrichment;
pub mod healthcheck;
pub mod import;
mod manage;
pub mod report;
pub mod spool;
mod users;
