//! Faults beyond an outage: a slow ClickHouse (the spool absorbs it, the collector stays
//! fast) and a full spool disk (clear 503s, nothing corrupted, recovery when space returns).

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_tests::app::TestApp;
use luister_tests::TestDb;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn now() -> DateTime<Utc> {
    "2026-11-02T10:00:00Z".parse().unwrap()
}

fn page(i: usize) -> String {
    format!(r#"{{"n":"pageview","u":"https://enschede.nl/{i}","d":"enschede.nl"}}"#)
}

/// A TCP proxy in front of ClickHouse that holds every chunk for `delay_ms` in each direction.
struct SlowProxy {
    url: String,
    delay_ms: Arc<AtomicU64>,
}

async fn slow_proxy(target: String) -> SlowProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let delay_ms = Arc::new(AtomicU64::new(0));
    let delay = delay_ms.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&target).await else {
                continue;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write, delay.clone()));
            tokio::spawn(pump(server_read, client_write, delay.clone()));
        }
    });
    SlowProxy { url, delay_ms }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay_ms: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        tokio::time::sleep(Duration::from_millis(delay_ms.load(Ordering::Relaxed))).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

// Two workers: the proxy's tasks must run while the test database is dropped (that blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_clickhouse_does_not_slow_the_collector() {
    let target = luister_tests::clickhouse_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let proxy = slow_proxy(target).await;
    let db = TestDb::on(&proxy.url).await;
    let app = TestApp::start_on(db, now(), &[Site::new("enschede.nl")]).await;
    proxy.delay_ms.store(500, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut most_waiting = 0;
    for i in 0..100 {
        let started = Instant::now();
        let response = app
            .send(&page(i), &format!("192.0.2.{}", i % 50), FIREFOX)
            .await;
        latencies.push(started.elapsed());
        assert_eq!(response.status(), 202);
        let waiting = app.server.as_ref().unwrap().state.spool.stats().records();
        most_waiting = most_waiting.max(waiting);
    }
    latencies.sort();
    let (median, worst) = (latencies[50], latencies[99]);
    assert!(median < Duration::from_millis(50), "median {median:?}");
    assert!(worst < Duration::from_millis(400), "slowest {worst:?}");
    assert!(
        most_waiting > 0,
        "the spool held events while ClickHouse was slow"
    );
    proxy.delay_ms.store(0, Ordering::Relaxed);
    app.flushed().await;
    let stored = app.db.count("SELECT count() FROM events").await;
    assert_eq!(stored, 100);
}

/// A small tmpfs mounted over a directory; unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (scripts/test.sh and CI run as root)"
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the disk under `dir` with a file; returns its path.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![7u8; 1024];
    while file.write_all(&chunk).is_ok() {}
    path
}

#[tokio::test]
async fn a_full_spool_disk_refuses_clearly_corrupts_nothing_and_recovers() {
    let mut app = TestApp::start(now(), &[Site::new("enschede.nl")]).await;
    app.crash_server();
    let disk = SmallDisk::mount(app.spool_dir.path(), "256k");
    app.start_server().await;
    let mut accepted = 0;
    for i in 0..20 {
        if app.send(&page(i), "192.0.2.1", FIREFOX).await.status() == 202 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 20);
    let filler = fill(app.spool_dir.path());
    let mut refused = 0;
    for i in 20..60 {
        let response = app.send(&page(i), "192.0.2.1", FIREFOX).await;
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => {
                refused += 1;
                assert!(response.headers().contains_key("retry-after"));
                let text = response.text().await.unwrap();
                assert!(text.contains("No space left"), "{text}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "a full disk must refuse");
    let ready = app
        .http
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    std::fs::remove_file(filler).unwrap();
    for i in 60..80 {
        assert_eq!(app.send(&page(i), "192.0.2.1", FIREFOX).await.status(), 202);
        accepted += 1;
    }
    // A restart reads every segment back: no line was damaged by the full disk.
    app.restart_server().await;
    app.flushed().await;
    let stored = app.db.count("SELECT count() FROM events").await;
    assert_eq!(stored, accepted);
    let metrics = app.metrics().await;
    assert!(!metrics.contains("spool_damaged_line"), "{metrics}");
    assert!(!metrics.contains("spool_torn_line"), "{metrics}");
    app.crash_server();
    drop(disk);
}
