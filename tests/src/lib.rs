//! Fixtures for Luister's integration tests: a real ClickHouse and a fresh database per test.
//!
//! The test script (`scripts/test.sh`) starts one ClickHouse for the whole run and
//! exports its URL as `LUISTER_TEST_CLICKHOUSE_URL`. Without it, the first test in a
//! process starts a private server that exits with the process.

use luister_store::{ClickHouseSettings, Store};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// URL of the ClickHouse the tests use.
pub fn clickhouse_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("LUISTER_TEST_CLICKHOUSE_URL").unwrap_or_else(|_| start_private_server())
    })
    .clone()
}

/// Starts `clickhouse-server` under a watchdog shell that stops it when this process ends.
fn start_private_server() -> String {
    let dir = std::env::temp_dir().join(format!("luister-test-ch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = free_port();
    let tcp = free_port();
    let config = dir.join("config.xml");
    std::fs::write(&config, config_xml(&dir.display().to_string(), port, tcp))
        .expect("write config");
    let binary = luister_store::embedded::EmbeddedClickHouse::find_binary()
        .expect("clickhouse-server not installed: run scripts/test.sh, which installs it");
    let script = format!(
        "{} --config-file={} >/dev/null 2>&1 & ch=$!; \
         while kill -0 {} 2>/dev/null; do sleep 1; done; kill $ch; wait $ch; rm -rf {}",
        binary.display(),
        config.display(),
        std::process::id(),
        dir.display()
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn clickhouse watchdog");
    // Detached on purpose: the shell ends by itself when this process does.
    std::mem::forget(watchdog);
    let url = format!("http://127.0.0.1:{port}");
    wait_for_ping(port);
    url
}

fn wait_for_ping(port: u16) {
    use std::io::{Read, Write};
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /ping HTTP/1.0\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.contains("Ok.") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("test clickhouse on port {port} did not start");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn config_xml(dir: &str, http: u16, tcp: u16) -> String {
    format!(
        "<?xml version=\"1.0\"?><yandex><logger><level>warning</level><log>{dir}/ch.log</log>\
         <errorlog>{dir}/ch.err.log</errorlog></logger><http_port>{http}</http_port><tcp_port>{tcp}</tcp_port>\
         <listen_host>127.0.0.1</listen_host><path>{dir}/data/</path><tmp_path>{dir}/tmp/</tmp_path>\
         <users_config>/etc/clickhouse-server/users.xml</users_config><default_profile>default</default_profile>\
         <default_database>default</default_database><mark_cache_size>268435456</mark_cache_size></yandex>"
    )
}

/// Settings for a database name nobody else uses.
pub fn fresh_settings() -> ClickHouseSettings {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    ClickHouseSettings {
        url: clickhouse_url(),
        user: "default".into(),
        password: String::new(),
        database: format!(
            "luister_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ),
        ca_file: None,
    }
}

/// A migrated database of its own for one test, dropped when the value is dropped.
pub struct TestDb {
    pub store: Store,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::on(&clickhouse_url()).await
    }

    /// A fresh database on the ClickHouse at `url`.
    pub async fn on(url: &str) -> Self {
        Self::on_server(ClickHouseSettings {
            url: url.to_string(),
            ..fresh_settings()
        })
        .await
    }

    /// A fresh database on the server and as the user of `server` (its database name is ignored).
    pub async fn on_server(server: ClickHouseSettings) -> Self {
        let settings = ClickHouseSettings {
            database: fresh_settings().database,
            ..server
        };
        let store = Store::connect(settings)
            .await
            .expect("connect to test clickhouse");
        store.migrate().await.expect("migrate");
        Self { store }
    }

    /// A handle on an existing database (not dropped by this value's owner alone:
    /// dropping it drops the database too).
    pub async fn attach(url: &str, database: &str) -> Self {
        let settings = ClickHouseSettings {
            url: url.to_string(),
            database: database.to_string(),
            ..fresh_settings()
        };
        Self {
            store: Store::connect(settings)
                .await
                .expect("connect to test clickhouse"),
        }
    }

    pub fn settings(&self) -> ClickHouseSettings {
        self.store.settings().clone()
    }

    /// The single number `sql` answers (a `count()`, say).
    pub async fn count(&self, sql: &str) -> u64 {
        self.store
            .client()
            .query(sql)
            .fetch_one()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs `sql` (without a FORMAT clause) and returns its rows as JSON objects, for
    /// assertions on any column; an error from ClickHouse fails the test with its text.
    pub async fn json_rows(&self, sql: &str) -> Vec<serde_json::Value> {
        let settings = self.settings();
        let response = reqwest::Client::new()
            .post(format!("{}/?database={}", settings.url, settings.database))
            .body(format!("{sql} FORMAT JSONEachRow"))
            .send()
            .await
            .expect("clickhouse answers");
        let ok = response.status().is_success();
        let text = response.text().await.expect("clickhouse body");
        assert!(ok, "{sql}: {text}");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a JSON row"))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let store = self.store.clone();
        // Drop runs inside the test's runtime; a helper thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(store.drop_database());
            }
        })
        .join();
    }
}

pub mod app;
pub mod tls_server;

/// `target/<profile>/luister`, next to the directory holding the running test binary.
pub fn luister_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join("luister");
    assert!(
        path.is_file(),
        "{} not built (cargo build --bin luister)",
        path.display()
    );
    path
}
