//! Ops endpoints: liveness, readiness, Prometheus metrics.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// `GET /health`: the process is up.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /ready`: ClickHouse answers and the spool directory is writable.
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let clickhouse = state.store.ping().await;
    // A name of its own per call: concurrent probes must not remove each other's file.
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    let probe = state.spool.dir().join(format!(".ready-probe-{n}"));
    let spool = std::fs::write(&probe, b"ok")
        .and_then(|_| std::fs::remove_file(&probe))
        .is_ok();
    let body = json!({
        "clickhouse": if clickhouse { "ok" } else { "unreachable" },
        "spool": if spool { "ok" } else { "not writable" },
        "spool_rows": state.spool.stats().records(),
    });
    if clickhouse && spool {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let sessions = state.pipeline.sessions();
    luister_metrics::OPEN_VISITS.set(sessions.open_sessions() as i64);
    let evicted = sessions.evicted();
    let counted = luister_metrics::VISITS_EVICTED.get();
    luister_metrics::VISITS_EVICTED.inc_by(evicted.saturating_sub(counted));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(luister_metrics::render())
}
