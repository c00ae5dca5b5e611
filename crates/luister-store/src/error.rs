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
    /// A name that must be unique is taken.
    #[error("{0}")]
    Conflict(String),
    #[error("site {0} not found")]
    SiteNotFound(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a site has at most {max} {what}; delete one first")]
    LimitReached { what: &'static str, max: usize },
    #[error("embedded clickhouse: {0}")]
    Embedded(String),
}

/// ClickHouse error codes that mean the data itself was refused (parse and type errors):
/// sending the same rows again gives the same answer.
const REJECTION_CODES: [u32; 16] = [
    6, 8, 16, 26, 27, 33, 38, 41, 47, 53, 62, 69, 70, 72, 117, 131,
];

impl StoreError {
    /// Whether ClickHouse refused the rows themselves (a type or parse error), as opposed
    /// to being unreachable, busy or misconfigured: only then is retrying pointless.
    pub fn is_rejection(&self) -> bool {
        match self {
            StoreError::ClickHouse(clickhouse::error::Error::BadResponse(message)) => {
                error_code(message).is_some_and(|code| REJECTION_CODES.contains(&code))
            }
            _ => false,
        }
    }
}

/// The number after `Code: ` in a ClickHouse error message.
fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_told_from_outages() {
        let bad = |m: &str| StoreError::ClickHouse(clickhouse::error::Error::BadResponse(m.into()));
        assert!(
            bad("Code: 33, e.displayText() = DB::Exception: Cannot read all data").is_rejection()
        );
        assert!(bad("Code: 53. DB::Exception: Type mismatch").is_rejection());
        assert!(!bad("Code: 252, e.displayText() = DB::Exception: Too many parts").is_rejection());
        assert!(!bad("Code: 60. DB::Exception: Table luister.events doesn't exist").is_rejection());
        assert!(!StoreError::ClickHouse(clickhouse::error::Error::TimedOut).is_rejection());
    }
}
