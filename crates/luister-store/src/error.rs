//! Errors of the storage layer.

/// What can go wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("clickhouse did not answer at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("site {0} already exists")]
    SiteExists(String),
    #[error("site {0} not found")]
    SiteNotFound(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a site has at most {max} {what}; delete one first")]
    LimitReached { what: &'static str, max: usize },
    #[error("embedded clickhouse: {0}")]
    Embedded(String),
}
