//! The ceiling for the ingest ratio: a bare actix-web server that answers `POST /api/event`
//! with 202 after reading the body, as `luister serve` does, and does nothing else.
//!
//! Same body limit (64 KiB), same answer (`202`, `text/plain`, `ok`) and, unless
//! `--workers` says otherwise, the same number of actix workers as Luister's default
//! (actix's own: one per available core). It must not decode, enrich or store: it measures
//! what HTTP over loopback costs on this machine, so `benches/ratio/ingest_ratio.sh` can
//! report Luister's throughput as a fraction of it.

use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use std::net::SocketAddr;

/// Luister's limit on a collector request body (`ServerSettings::max_event_body`).
const MAX_EVENT_BODY: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "ceiling",
    about = "Answers 202 to POST /api/event: the ceiling Luister's ingest is measured against"
)]
struct Args {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    /// Actix workers; 0 = actix's default, which is what `luister serve` uses.
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

async fn accept_event(body: web::Bytes) -> HttpResponse {
    // The extractor has read the whole body; touch it so the read cannot be skipped.
    std::hint::black_box(body.len());
    HttpResponse::Accepted()
        .content_type("text/plain")
        .body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut server = HttpServer::new(|| {
        App::new().service(
            web::resource("/api/event")
                .app_data(web::PayloadConfig::new(MAX_EVENT_BODY))
                .route(web::post().to(accept_event)),
        )
    })
    .shutdown_timeout(1);
    if args.workers > 0 {
        server = server.workers(args.workers);
    }
    server.bind(args.listen)?.run().await
}
