//! The one place where errors of the query API become HTTP statuses and JSON bodies.
//!
//! Body: `{"error": "<message>"}`; messages are lower-case without a trailing period.
//! Database failures are logged in full and answered with a generic message.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use luister_query::QueryError;
use luister_store::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("too many failed authentications from this address; try again in {0} s")]
    TooManyFailures(u64),
    #[error("this endpoint needs an admin token")]
    AdminOnly,
    #[error("this token may only read; changing goals, funnels and actions needs a token with scope write")]
    ReadOnly,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::Invalid { .. } => StatusCode::BAD_REQUEST,
        StoreError::SiteExists(_) | StoreError::Conflict(_) => StatusCode::CONFLICT,
        StoreError::SiteNotFound(_) => StatusCode::NOT_FOUND,
        StoreError::LimitReached { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::AdminOnly | Self::ReadOnly => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Query(QueryError::InvalidParam { .. }) => StatusCode::BAD_REQUEST,
            Self::Query(QueryError::SiteNotFound(_) | QueryError::NotFound { .. }) => {
                StatusCode::NOT_FOUND
            }
            Self::Query(QueryError::Store(e)) | Self::Store(e) => store_status(e),
            Self::Query(QueryError::ClickHouse(e)) if over_query_limits(&e.to_string()) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Query(QueryError::ClickHouse(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "query api: over the query limits");
            "this report needs more time or memory than the query limits allow; choose a shorter period or fewer filters".to_string()
        } else if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "query api");
            "the database could not answer this request".to_string()
        } else {
            self.to_string()
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::TooManyFailures(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(json!({ "error": message }))
    }
}

/// ClickHouse stopped the query at `max_execution_time` or `max_memory_usage`.
fn over_query_limits(message: &str) -> bool {
    [
        "Code: 159",
        "Code: 241",
        "TIMEOUT_EXCEEDED",
        "MEMORY_LIMIT_EXCEEDED",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let param = ApiError::Query(QueryError::param("period", "\"x\" is not one of day"));
        assert_eq!(param.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(
            param.to_string(),
            "invalid parameter period: \"x\" is not one of day"
        );
        assert_eq!(
            ApiError::Query(QueryError::SiteNotFound("a.nl".into())).status_code(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::Store(StoreError::SiteExists("a.nl".into())).status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::Unauthorized.status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ApiError::Store(StoreError::Embedded("x".into())).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
