//! Starts a private `clickhouse-server` on loopback, for `luister serve` without a
//! configured URL and for tests. The server is a child process with its data under
//! a directory we own; it is stopped when [`EmbeddedClickHouse`] is stopped or dropped.

use crate::StoreError;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// Where Debian's package puts the server binary.
const DEBIAN_SERVER_PATH: &str = "/usr/sbin/clickhouse-server";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running private ClickHouse server.
pub struct EmbeddedClickHouse {
    child: Option<Child>,
    http_port: u16,
    dir: PathBuf,
}

impl EmbeddedClickHouse {
    /// Finds the server binary on PATH or at Debian's location.
    pub fn find_binary() -> Option<PathBuf> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("clickhouse-server"))
                .find(|p| p.is_file())
        });
        on_path.or_else(|| {
            let debian = PathBuf::from(DEBIAN_SERVER_PATH);
            debian.is_file().then_some(debian)
        })
    }

    /// Starts a server with its data in `dir` and waits until it answers `/ping`.
    pub async fn start(dir: &Path) -> Result<Self, StoreError> {
        let binary = Self::find_binary().ok_or_else(|| {
            StoreError::Embedded(
                "clickhouse-server not found on PATH or at /usr/sbin/clickhouse-server; \
                 install it (apt-get install clickhouse-server) or set a ClickHouse URL"
                    .into(),
            )
        })?;
        let dir = absolute(dir)?;
        std::fs::create_dir_all(dir.join("data")).map_err(io_error)?;
        stop_leftover(&dir).await;
        let http_port = free_port()?;
        let tcp_port = free_port()?;
        let config = dir.join("config.xml");
        std::fs::write(&config, config_xml(&dir, http_port, tcp_port)).map_err(io_error)?;
        let child = Command::new(&binary)
            .arg(format!("--config-file={}", config.display()))
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StoreError::Embedded(format!("cannot start {}: {e}", binary.display())))?;
        if let Some(pid) = child.id() {
            let _ = std::fs::write(dir.join("luister-clickhouse.pid"), pid.to_string());
        }
        let mut server = Self {
            child: Some(child),
            http_port,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 20 s).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                terminate(pid).await;
                if tokio::time::timeout(Duration::from_secs(20), child.wait())
                    .await
                    .is_ok()
                {
                    let _ = std::fs::remove_file(self.dir.join("luister-clickhouse.pid"));
                    return;
                }
            }
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_file(self.dir.join("luister-clickhouse.pid"));
    }

    /// Kills the server without a chance to clean up; for crash tests.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port and data (after `stop` or `kill`).
    pub async fn restart(&mut self) -> Result<(), StoreError> {
        self.stop().await;
        let binary =
            Self::find_binary().ok_or_else(|| StoreError::Embedded("binary gone".into()))?;
        let child = Command::new(binary)
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StoreError::Embedded(e.to_string()))?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), StoreError> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if ping(self.http_port).await {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(StoreError::Embedded(format!(
                        "clickhouse-server exited with {status}; see {}",
                        self.dir.join("log/clickhouse-server.err.log").display()
                    )));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StoreError::Embedded(format!(
            "clickhouse-server did not answer within {}s",
            START_TIMEOUT.as_secs()
        )))
    }
}

impl Drop for EmbeddedClickHouse {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Answers whether `GET /ping` on the port says `Ok.`.
async fn ping(port: u16) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).contains("Ok."))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// A server left running by a crashed earlier run would hold the data directory's lock.
async fn stop_leftover(dir: &Path) {
    let pid_file = dir.join("luister-clickhouse.pid");
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        if let Ok(pid) = pid.trim().parse::<u32>() {
            let cmdline =
                std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.contains("clickhouse") {
                terminate(pid).await;
                for _ in 0..100 {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let _ = std::fs::remove_file(pid_file);
    }
}

async fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
}

fn free_port() -> Result<u16, StoreError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io_error)
}

fn absolute(dir: &Path) -> Result<PathBuf, StoreError> {
    std::fs::create_dir_all(dir).map_err(io_error)?;
    dir.canonicalize().map_err(io_error)
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Embedded(e.to_string())
}

/// A minimal config: loopback only, data and logs under `dir`, Debian's users.xml.
fn config_xml(dir: &Path, http_port: u16, tcp_port: u16) -> String {
    let dir = dir.display();
    let users = if Path::new("/etc/clickhouse-server/users.xml").is_file() {
        "/etc/clickhouse-server/users.xml".to_string()
    } else {
        format!("{dir}/users.xml")
    };
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{dir}/log/clickhouse-server.log</log>
        <errorlog>{dir}/log/clickhouse-server.err.log</errorlog>
        <size>50M</size>
        <count>2</count>
    </logger>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{users}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
"#
    )
}
