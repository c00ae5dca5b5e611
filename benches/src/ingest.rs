//! Ingest load benchmark: a release `luister serve` (with its private ClickHouse)
//! on loopback, loaded with realistic mixed events by concurrent HTTP clients.
//! Prints events/s accepted and stored, latency percentiles and peak RSS.

use crate::traffic::Traffic;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The binary under test (build it with `cargo build --release --bin luister`).
    #[arg(long, default_value = "target/release/luister")]
    pub luister_bin: PathBuf,
    /// Folder with the data files.
    #[arg(long, default_value = "vendor-data")]
    pub data_files: PathBuf,
    /// Events to send.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Port for the server under test.
    #[arg(long, default_value_t = 18_765)]
    pub port: u16,
}

pub(crate) const DOMAIN: &str = "bench.gemeente.nl";

/// A `luister serve` child with its data folder; stopped (SIGTERM) when dropped.
pub(crate) struct Server {
    pub child: Child,
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Where the binary under test is and how to start it.
pub(crate) struct Launch<'a> {
    pub bin: &'a std::path::Path,
    pub data_files: &'a std::path::Path,
    pub port: u16,
}

fn luister(launch: &Launch, dir: &std::path::Path) -> Command {
    let mut command = Command::new(launch.bin);
    command
        .env("LUISTER_DATA_DIR", dir)
        .env("LUISTER_DATA_FILES", launch.data_files)
        .env("LUISTER_LISTEN", format!("127.0.0.1:{}", launch.port))
        // All load comes from one address here: measure the pipeline, not the limiter.
        .env("LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT", "0")
        .env("LUISTER_RATE_LIMIT_COLLECTOR_PER_SITE", "0")
        .env("LUISTER_LOG", "warn");
    command
}

/// Starts `luister serve` with a private ClickHouse in a fresh folder, adds the bench
/// site and waits until it accepts events; returns the server, its base URL and a client.
pub(crate) async fn launch(
    launch: &Launch<'_>,
    connections: usize,
) -> Result<(Server, String, reqwest::Client), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("luister-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let child = luister(launch, &dir)
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        dir: dir.clone(),
    };
    let base = format!("http://127.0.0.1:{}", launch.port);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    wait_until(
        || async { http.get(format!("{base}/health")).send().await.is_ok() },
        120,
    )
    .await?;
    let status = luister(launch, &dir)
        .args(["sites", "add", DOMAIN])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("luister sites add failed".into());
    }
    let probe = r#"{"n":"pageview","u":"https://bench.gemeente.nl/","d":"bench.gemeente.nl"}"#;
    wait_until(
        || async {
            http.post(format!("{base}/api/event"))
                .header(
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                )
                .body(probe)
                .send()
                .await
                .is_ok_and(|r| r.status() == 202)
        },
        30,
    )
    .await?;
    Ok((server, base, http))
}

pub async fn run(args: IngestArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (server, base, http) = launch(
        &Launch {
            bin: &args.luister_bin,
            data_files: &args.data_files,
            port: args.port,
        },
        args.concurrency,
    )
    .await?;
    let dir = server.dir.clone();
    let stored_before = metric(&http, &base, "luister_events_stored_total").await;
    println!(
        "sending {} events with {} connections to {base}",
        args.events, args.concurrency
    );
    let started = Instant::now();
    let (latencies, accepted) = load(&http, &base, &args).await;
    let send_secs = started.elapsed().as_secs_f64();
    wait_until(
        || async { metric(&http, &base, "luister_spool_events").await == 0.0 },
        300,
    )
    .await?;
    let store_secs = started.elapsed().as_secs_f64();
    let stored = metric(&http, &base, "luister_events_stored_total").await - stored_before;
    let dropped = metric(&http, &base, "luister_events_dropped_total").await;
    report(&latencies, accepted, send_secs, stored, store_secs, dropped);
    println!(
        "peak RSS luister:    {:.1} MiB",
        peak_rss_kib(server.child.id()) as f64 / 1024.0
    );
    if let Some(pid) = clickhouse_pid(&dir) {
        println!(
            "peak RSS clickhouse: {:.1} MiB",
            peak_rss_kib(pid) as f64 / 1024.0
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Sends every event; returns per-request latencies (µs) and how many got 202.
async fn load(http: &reqwest::Client, base: &str, args: &IngestArgs) -> (Vec<u32>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (http, url, next, total) = (
            http.clone(),
            format!("{base}/api/event"),
            next.clone(),
            args.events,
        );
        tasks.push(tokio::spawn(async move {
            let mut traffic = Traffic::new(worker as u64 + 7);
            let (mut latencies, mut accepted) = (Vec::new(), 0usize);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let (body, ip, agent) = traffic.next_event(DOMAIN);
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header("content-type", "text/plain")
                    .header("user-agent", agent)
                    .header("x-forwarded-for", ip)
                    .body(body)
                    .send()
                    .await;
                latencies.push(sent.elapsed().as_micros() as u32);
                if response.is_ok_and(|r| r.status() == 202) {
                    accepted += 1;
                }
            }
            (latencies, accepted)
        }));
    }
    let mut all = Vec::new();
    let mut accepted = 0;
    for task in tasks {
        if let Ok((latencies, ok)) = task.await {
            all.extend(latencies);
            accepted += ok;
        }
    }
    (all, accepted)
}

fn report(
    latencies: &[u32],
    accepted: usize,
    send_secs: f64,
    stored: f64,
    store_secs: f64,
    dropped: f64,
) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let pct = |p: f64| percentile_ms(&sorted, p);
    println!(
        "accepted: {accepted} in {send_secs:.2} s = {:.0} events/s",
        accepted as f64 / send_secs
    );
    println!(
        "stored:   {stored:.0} in {store_secs:.2} s = {:.0} events/s (bots dropped: {dropped:.0})",
        stored / store_secs
    );
    println!(
        "latency:  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

/// The `p` quantile (0 to 1) of sorted latencies in microseconds, in milliseconds.
pub(crate) fn percentile_ms(sorted_micros: &[u32], p: f64) -> f64 {
    let index = ((sorted_micros.len() as f64 - 1.0) * p) as usize;
    f64::from(sorted_micros.get(index).copied().unwrap_or(0)) / 1000.0
}

/// Sum of a metric's samples in `/metrics`.
pub(crate) async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let Ok(response) = http.get(format!("{base}/metrics")).send().await else {
        return f64::NAN;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l[name.len()..].starts_with(' ') || l[name.len()..].starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn wait_until<F, Fut>(
    mut check: F,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("timed out waiting for the server".into())
}

pub(crate) fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn clickhouse_pid(dir: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("clickhouse/luister-clickhouse.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}
