//! Every Prometheus metric Luister exports, with name and help text, in one list.
//!
//! Labels have bounded values only: drop reasons from an enum, HTTP routes as
//! matched patterns (unmatched requests share one label), status codes.

use once_cell::sync::Lazy;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// The registry `/metrics` renders.
pub static REGISTRY: Lazy<Registry> =
    Lazy::new(|| Registry::new_custom(Some("luister".into()), None).expect("registry"));

fn register<T: prometheus::core::Collector + Clone + 'static>(metric: T) -> T {
    REGISTRY
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

/// Events decoded from requests or import lines, by source (`plausible`, `matomo`, `import`).
pub static EVENTS_RECEIVED: Lazy<IntCounterVec> = Lazy::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("events_received_total", "Events decoded, by source"),
            &["source"],
        )
        .expect("metric"),
    )
});

/// Events written to ClickHouse.
pub static EVENTS_STORED: Lazy<IntCounter> = Lazy::new(|| {
    register(
        IntCounter::new("events_stored_total", "Events written to ClickHouse").expect("metric"),
    )
});

/// Events not stored, by reason (`unknown_site`, `bot_spider`, `malformed`, …).
pub static EVENTS_DROPPED: Lazy<IntCounterVec> = Lazy::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("events_dropped_total", "Events not stored, by reason"),
            &["reason"],
        )
        .expect("metric"),
    )
});

/// Events waiting in the disk spool.
pub static SPOOL_EVENTS: Lazy<IntGauge> = Lazy::new(|| {
    register(
        IntGauge::new(
            "spool_events",
            "Events in the disk spool, not yet in ClickHouse",
        )
        .expect("metric"),
    )
});

/// Bytes of the disk spool.
pub static SPOOL_BYTES: Lazy<IntGauge> = Lazy::new(|| {
    register(IntGauge::new("spool_bytes", "Bytes of the disk spool").expect("metric"))
});

/// Spool segments waiting to be written.
pub static SPOOL_SEGMENTS: Lazy<IntGauge> = Lazy::new(|| {
    register(
        IntGauge::new(
            "spool_segments",
            "Sealed spool segments waiting for ClickHouse",
        )
        .expect("metric"),
    )
});

/// Events per INSERT.
pub static BATCH_SIZE: Lazy<Histogram> = Lazy::new(|| {
    register(
        Histogram::with_opts(
            HistogramOpts::new("batch_size_events", "Events per ClickHouse INSERT").buckets(vec![
                1.0, 10.0, 100.0, 1_000.0, 5_000.0, 10_000.0, 50_000.0, 100_000.0,
            ]),
        )
        .expect("metric"),
    )
});

/// Seconds an INSERT took.
pub static FLUSH_SECONDS: Lazy<Histogram> = Lazy::new(|| {
    register(
        Histogram::with_opts(
            HistogramOpts::new(
                "flush_duration_seconds",
                "Seconds per ClickHouse INSERT of a batch",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )
        .expect("metric"),
    )
});

/// Failed ClickHouse operations, by operation (`insert`, `query`, `refresh`).
pub static CLICKHOUSE_ERRORS: Lazy<IntCounterVec> = Lazy::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("clickhouse_errors_total", "Failed ClickHouse operations"),
            &["operation"],
        )
        .expect("metric"),
    )
});

/// HTTP requests by matched route pattern, method and status.
pub static HTTP_REQUESTS: Lazy<IntCounterVec> = Lazy::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests"),
            &["route", "method", "status"],
        )
        .expect("metric"),
    )
});

/// HTTP request latency by matched route pattern.
pub static HTTP_SECONDS: Lazy<HistogramVec> = Lazy::new(|| {
    register(
        HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["route"],
        )
        .expect("metric"),
    )
});

/// Spool segments set aside in `spool/quarantine` (rejected for good, or damaged).
pub static SPOOL_QUARANTINED: Lazy<IntCounter> = Lazy::new(|| {
    register(
        IntCounter::new(
            "spool_quarantined_segments_total",
            "Spool segments moved to quarantine: rejected by ClickHouse for good, or damaged",
        )
        .expect("metric"),
    )
});

/// Requests refused by a rate limit, by limit (`client`, `site`, `auth`).
pub static RATE_LIMITED: Lazy<IntCounterVec> = Lazy::new(|| {
    register(
        IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused with 429, by limit: client, site, auth",
            ),
            &["limit"],
        )
        .expect("metric"),
    )
});

/// Visits open in this collector's memory.
pub static OPEN_VISITS: Lazy<IntGauge> = Lazy::new(|| {
    register(IntGauge::new("open_visits", "Visits open in the collector's memory").expect("metric"))
});

/// Open visits forgotten because the visit map reached its limit (a flood of new clients).
pub static VISITS_EVICTED: Lazy<IntCounter> = Lazy::new(|| {
    register(
        IntCounter::new(
            "visits_evicted_total",
            "Open visits forgotten because the in-memory visit map was full",
        )
        .expect("metric"),
    )
});

/// Forces every metric into the registry so `/metrics` lists them before first use.
pub fn init() {
    for source in ["plausible", "matomo", "import"] {
        EVENTS_RECEIVED.with_label_values(&[source]);
    }
    CLICKHOUSE_ERRORS.with_label_values(&["insert"]);
    Lazy::force(&EVENTS_STORED);
    Lazy::force(&EVENTS_DROPPED);
    Lazy::force(&SPOOL_EVENTS);
    Lazy::force(&SPOOL_BYTES);
    Lazy::force(&SPOOL_SEGMENTS);
    Lazy::force(&BATCH_SIZE);
    Lazy::force(&FLUSH_SECONDS);
    Lazy::force(&CLICKHOUSE_ERRORS);
    Lazy::force(&HTTP_REQUESTS);
    Lazy::force(&HTTP_SECONDS);
    Lazy::force(&OPEN_VISITS);
    for limit in ["client", "site", "auth"] {
        RATE_LIMITED.with_label_values(&[limit]);
    }
    Lazy::force(&SPOOL_QUARANTINED);
    Lazy::force(&VISITS_EVICTED);
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    init();
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}
