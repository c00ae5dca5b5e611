//! Errors of a page, turned into an HTML answer in one place.

use crate::i18n::Lang;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use luister_query::QueryError;
use luister_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then come back to `return_to`.
    #[error("sign-in required")]
    SignInRequired { return_to: String },
    /// Unknown, or not for this user (the two look the same on purpose).
    #[error("not found")]
    NotFound,
    /// The user may read but not change this.
    #[error("forbidden")]
    Forbidden,
    /// A form or URL parameter that cannot be used; the reason is shown.
    #[error("{0}")]
    BadRequest(String),
    #[error("query: {0}")]
    Query(#[from] QueryError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Render(#[from] askama::Error),
}

/// An action or impact that cannot be measured is the user's to fix (400); the rest keeps its layer.
impl From<luister_impact::ActionError> for PageError {
    fn from(e: luister_impact::ActionError) -> Self {
        match e {
            luister_impact::ActionError::Invalid { field, reason } => {
                PageError::BadRequest(format!("{field}: {reason}"))
            }
            luister_impact::ActionError::Store(e) => PageError::Store(e),
            luister_impact::ActionError::Query(e) => PageError::Query(e),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired { .. } => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Query(QueryError::InvalidParam { .. }) => StatusCode::BAD_REQUEST,
            Self::Query(QueryError::SiteNotFound(_) | QueryError::NotFound { .. }) => {
                StatusCode::NOT_FOUND
            }
            Self::Store(e) | Self::Query(QueryError::Store(e)) if e.is_rejection() => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::SignInRequired { return_to } = self {
            let target = format!(
                "/inloggen?terug={}",
                percent_encoding::utf8_percent_encode(
                    return_to,
                    percent_encoding::NON_ALPHANUMERIC
                )
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
        }
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "dashboard page failed");
        }
        let t = Lang::Nl.text();
        let (title, detail) = match self {
            Self::NotFound => (t.not_found, t.not_found_text.to_string()),
            Self::Forbidden => (
                t.error,
                "U mag dit niet wijzigen. / You may not change this.".into(),
            ),
            Self::BadRequest(reason) => (t.error, reason.clone()),
            Self::Query(QueryError::InvalidParam { param, reason }) => {
                (t.error, format!("{param}: {reason}"))
            }
            Self::Store(e) | Self::Query(QueryError::Store(e)) if e.is_rejection() => {
                (t.error, e.to_string())
            }
            _ => (
                t.error,
                "Probeer het later opnieuw. / Please try again later.".into(),
            ),
        };
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(crate::layout::error_page(title, &detail))
    }
}
