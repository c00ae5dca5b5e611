//! Soak benchmark: a release `luister serve` under a fixed event rate for minutes, with a
//! fault in the middle (its ClickHouse frozen with SIGSTOP, then thawed). Prints RSS and
//! spool depth over time, latency percentiles, and the loss (accepted but not stored),
//! which must be zero: the run exits non-zero otherwise.

use crate::ingest::{
    clickhouse_pid, launch, metric, peak_rss_kib, percentile_ms, wait_until, Launch, DOMAIN,
};
use crate::traffic::Traffic;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The binary under test (build it with `cargo build --release --bin luister`).
    #[arg(long, default_value = "target/release/luister")]
    pub luister_bin: PathBuf,
    /// Folder with the data files.
    #[arg(long, default_value = "vendor-data")]
    pub data_files: PathBuf,
    /// Events per second, held for the whole run.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Length of the run in seconds.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Seconds ClickHouse is frozen, starting at the middle of the run (0: no fault).
    #[arg(long, default_value_t = 60)]
    pub fault_seconds: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    pub sample_every: u64,
    /// Port for the server under test.
    #[arg(long, default_value_t = 18_766)]
    pub port: u16,
}

#[derive(Default)]
struct Tally {
    accepted: AtomicUsize,
    refused: AtomicUsize,
    failed: AtomicUsize,
    latencies_us: Mutex<Vec<u32>>,
}

pub async fn run(args: SoakArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (server, base, http) = launch(
        &Launch {
            bin: &args.luister_bin,
            data_files: &args.data_files,
            port: args.port,
        },
        64,
    )
    .await?;
    let clickhouse = clickhouse_pid(&server.dir).ok_or("no ClickHouse pid")?;
    // The probe event of the start must be stored before the count starts.
    wait_until(
        || async { metric(&http, &base, "luister_spool_events").await == 0.0 },
        60,
    )
    .await?;
    let stored_before = metric(&http, &base, "luister_events_stored_total").await;
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let sender = tokio::spawn(send_at_rate(
        http.clone(),
        base.clone(),
        args.rate,
        args.seconds,
        tally.clone(),
    ));
    let fault_from = Duration::from_secs(args.seconds / 2);
    let fault_to = fault_from + Duration::from_secs(args.fault_seconds);
    let (mut frozen, mut thawed) = (args.fault_seconds == 0, args.fault_seconds == 0);
    println!("  t(s)  rss(MiB)  spool  accepted  refused  fault");
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(Duration::from_secs(args.sample_every)).await;
        let t = started.elapsed();
        if !frozen && t >= fault_from {
            signal("-STOP", clickhouse);
            frozen = true;
        }
        if frozen && !thawed && t >= fault_to {
            signal("-CONT", clickhouse);
            thawed = true;
        }
        println!(
            "{:6.0}  {:8.1}  {:5.0}  {:8}  {:7}  {}",
            t.as_secs_f64(),
            rss_kib(server.child.id()) as f64 / 1024.0,
            metric(&http, &base, "luister_spool_events").await,
            tally.accepted.load(Ordering::Relaxed),
            tally.refused.load(Ordering::Relaxed),
            if frozen && !thawed {
                "clickhouse frozen"
            } else {
                ""
            }
        );
    }
    if frozen && !thawed {
        signal("-CONT", clickhouse);
    }
    sender.await?;
    wait_until(
        || async { metric(&http, &base, "luister_spool_events").await == 0.0 },
        600,
    )
    .await?;
    let stored = metric(&http, &base, "luister_events_stored_total").await - stored_before;
    let accepted = tally.accepted.load(Ordering::Relaxed);
    let mut latencies = tally
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let pct = |p: f64| percentile_ms(&latencies, p);
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    println!(
        "accepted {accepted}, refused {} (429/503), failed {}, stored {stored:.0}; peak RSS {:.1} MiB",
        tally.refused.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        peak_rss_kib(server.child.id()) as f64 / 1024.0
    );
    let lost = accepted as f64 - stored;
    drop(server);
    if lost != 0.0 {
        return Err(format!("lost {lost} accepted events").into());
    }
    println!("loss: 0");
    Ok(())
}

/// Sends `rate` events a second for `seconds`, in 100 slices a second.
async fn send_at_rate(
    http: reqwest::Client,
    base: String,
    rate: u32,
    seconds: u64,
    tally: Arc<Tally>,
) {
    let url = format!("{base}/api/event");
    let mut traffic = Traffic::new(99);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let slices = seconds * 100;
    let mut owed = 0.0;
    for _ in 0..slices {
        tick.tick().await;
        owed += f64::from(rate) / 100.0;
        while owed >= 1.0 {
            owed -= 1.0;
            let (body, ip, agent) = traffic.next_event(DOMAIN);
            if agent.contains("bot") {
                continue;
            }
            let request = http
                .post(&url)
                .header("content-type", "text/plain")
                .header("user-agent", agent)
                .header("x-forwarded-for", ip)
                .body(body);
            let tally = tally.clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                let response = request.send().await;
                let micros = sent.elapsed().as_micros() as u32;
                match response.map(|r| r.status().as_u16()) {
                    Ok(202) => tally.accepted.fetch_add(1, Ordering::Relaxed),
                    Ok(429 | 503) => tally.refused.fetch_add(1, Ordering::Relaxed),
                    _ => tally.failed.fetch_add(1, Ordering::Relaxed),
                };
                if let Ok(mut l) = tally.latencies_us.lock() {
                    l.push(micros);
                }
            });
        }
    }
    // Let the last requests finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

fn signal(which: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(which)
        .arg(pid.to_string())
        .status();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
