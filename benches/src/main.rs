//! Luister's benchmarks. Speed and memory targets live here, never in unit tests.
//!
//! `cargo run --release -p luister-benches -- ingest` and `… -- enrich`.

mod enrich;
mod ingest;
mod query_bench;
mod soak;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "luister-bench",
    about = "Luister's load and latency benchmarks (build with --release)"
)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Load `luister serve` over loopback with realistic mixed events; report events/s, latency, RSS.
    Ingest(ingest::IngestArgs),
    /// Time each enrichment stage and the whole pipeline per event, in process.
    Enrich(enrich::EnrichArgs),
    /// Import ~10 million synthetic events and time the dashboard overview, a funnel and search terms.
    Query(query_bench::QueryArgs),
    /// A fixed event rate for minutes with ClickHouse frozen in the middle: RSS, spool, latency, loss.
    Soak(soak::SoakArgs),
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    match cli.bench {
        Bench::Ingest(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(ingest::run(args)),
        Bench::Enrich(args) => enrich::run(args),
        Bench::Query(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(query_bench::run(args)),
        Bench::Soak(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(soak::run(args)),
    }
}

/// Realistic mixed traffic shared by the benchmarks: varied agents, addresses, pages.
pub mod traffic {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    pub const USER_AGENTS: &[&str] = &[
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ];
    const PAGES: &[&str] = &[
        "/",
        "/afval",
        "/schulden",
        "/schulden/hulp",
        "/zoeken?q=paspoort+aanvragen",
        "/parkeren/vergunning?id=7",
        "/contact",
    ];
    const REFERRERS: &[&str] = &[
        "",
        "https://www.google.nl/",
        "https://www.bing.com/",
        "https://nu.nl/artikel/1",
        "https://t.co/x",
    ];

    /// Deterministic generator of (body, ip, user agent).
    pub struct Traffic(StdRng);

    impl Traffic {
        pub fn new(seed: u64) -> Self {
            Self(StdRng::seed_from_u64(seed))
        }

        pub fn next_event(&mut self, domain: &str) -> (String, String, &'static str) {
            let rng = &mut self.0;
            // Agents get a varied minor version so the UA cache sees realistic variety.
            let agent = USER_AGENTS[rng.random_range(0..USER_AGENTS.len())];
            let page = PAGES[rng.random_range(0..PAGES.len())];
            let referrer = REFERRERS[rng.random_range(0..REFERRERS.len())];
            let name = if rng.random_bool(0.1) {
                "Aanvraag verstuurd"
            } else {
                "pageview"
            };
            let body = format!(
                r#"{{"n":"{name}","u":"https://{domain}{page}","d":"{domain}","r":"{referrer}","p":{{"kanaal":"web"}}}}"#
            );
            let ip = if rng.random_bool(0.2) {
                format!(
                    "2001:db8:{:x}::{:x}",
                    rng.random::<u16>(),
                    rng.random::<u16>()
                )
            } else {
                format!(
                    "{}.{}.{}.{}",
                    rng.random_range(1..224),
                    rng.random::<u8>(),
                    rng.random::<u8>(),
                    rng.random_range(1..255)
                )
            };
            (body, ip, agent)
        }
    }
}
