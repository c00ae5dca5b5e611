//! The query API (owned by the query layer's HTTP handlers).

/// Registers the query API routes.
pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
