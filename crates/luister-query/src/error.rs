//! Errors of the query layer; the HTTP status of each is decided in the server's api module.

use luister_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A request parameter is missing or malformed; `param` names it, `reason` says what is allowed.
    #[error("invalid parameter {param}: {reason}")]
    InvalidParam { param: String, reason: String },
    /// Unknown site, or one the caller may not read (the two are indistinguishable on purpose).
    #[error("site {0} not found")]
    SiteNotFound(String),
    /// Unknown saved funnel or goal.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

impl QueryError {
    pub fn param(param: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParam {
            param: param.into(),
            reason: reason.into(),
        }
    }
}
