//! Starts a private `clickhouse-server` on loopback, for `luister serve` without a
//! configured URL and for tests. The server is a child process with its data under
//! a directory we own; it is stopped when [`EmbeddedClickHouse`] is stopped or dropped.
//!
//! The server has one user, `luister`, with a generated password kept in the data
//! directory (mode 0700, files 0600), reachable from loopback only: another local account
//! can neither read the salts nor write a token. Before any credentials are sent, the
//! listening socket is checked to belong to our child, so a process that took the port
//! first is never talked to.

use crate::{ClickHouseSettings, StoreError};
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// Where Debian's package puts the server binary.
const DEBIAN_SERVER_PATH: &str = "/usr/sbin/clickhouse-server";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The one user of the private server.
pub const USER: &str = "luister";
const PASSWORD_FILE: &str = "luister-password";
const PID_FILE: &str = "luister-clickhouse.pid";

/// A running private ClickHouse server.
pub struct EmbeddedClickHouse {
    child: Option<Child>,
    http_port: u16,
    dir: PathBuf,
    password: String,
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
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io_error)?;
        std::fs::create_dir_all(dir.join("data")).map_err(io_error)?;
        stop_leftover(&dir).await;
        let password = password(&dir)?;
        write_private(&dir.join("users.xml"), &users_xml(&password))?;
        let http_port = free_port()?;
        let tcp_port = free_port()?;
        let config = dir.join("config.xml");
        write_private(&config, &config_xml(&dir, http_port, tcp_port))?;
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
            let _ = std::fs::write(dir.join(PID_FILE), pid.to_string());
        }
        let mut server = Self {
            child: Some(child),
            http_port,
            dir,
            password,
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

    /// How to reach the server as its user, in `database`.
    pub fn settings(&self, database: &str) -> ClickHouseSettings {
        ClickHouseSettings {
            url: self.url(),
            user: USER.into(),
            password: self.password.clone(),
            database: database.into(),
            ca_file: None,
        }
    }

    /// The settings of a private server that another process started in `dir` and still
    /// runs there at `url`, when the port is really that process's.
    pub fn running(dir: &Path, url: &str, database: &str) -> Option<ClickHouseSettings> {
        let pid: u32 = std::fs::read_to_string(dir.join(PID_FILE))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let port: u16 = url.rsplit_once(':')?.1.parse().ok()?;
        if !listener_owned_by(pid, port) {
            return None;
        }
        Some(ClickHouseSettings {
            url: url.into(),
            user: USER.into(),
            password: std::fs::read_to_string(dir.join(PASSWORD_FILE))
                .ok()?
                .trim()
                .into(),
            database: database.into(),
            ca_file: None,
        })
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
                    let _ = std::fs::remove_file(self.dir.join(PID_FILE));
                    return;
                }
            }
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
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
        let pid = self.child.as_ref().and_then(Child::id).unwrap_or(0);
        while started.elapsed() < START_TIMEOUT {
            if listener_owned_by(pid, self.http_port) && ping(self.http_port).await {
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

/// Whether process `pid` holds the socket listening on loopback `port` (Linux `/proc`).
pub fn listener_owned_by(pid: u32, port: u16) -> bool {
    if pid == 0 {
        return false;
    }
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| listening_inodes(&text, port))
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| {
            let target = target.to_string_lossy();
            inodes
                .iter()
                .any(|inode| target == format!("socket:[{inode}]"))
        })
}

/// Inodes of the sockets listening on `port` in a `/proc/net/tcp` table.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit_once(':')?.1;
            let listening = *fields.get(3)? == LISTEN;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| fields.get(9).map(|inode| inode.to_string()))
                .flatten()
        })
        .collect()
}

/// The server's password: made once, kept in the data directory readable by us only.
fn password(dir: &Path) -> Result<String, StoreError> {
    let path = dir.join(PASSWORD_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().into());
        }
    }
    let password: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    write_private(&path, &password)?;
    Ok(password)
}

/// Writes `text` to a file only its owner may read (0600), replacing what was there.
fn write_private(path: &Path, text: &str) -> Result<(), StoreError> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)
}

/// The server's users: `luister` with the password's hash, from loopback only.
fn users_xml(password: &str) -> String {
    let hash: String = Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>10000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <{USER}>
            <password_sha256_hex>{hash}</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </{USER}>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"#
    )
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
    let pid_file = dir.join(PID_FILE);
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

/// A minimal config: loopback only, data, logs and users under `dir`.
fn config_xml(dir: &Path, http_port: u16, tcp_port: u16) -> String {
    let dir = dir.display();
    let users = format!("{dir}/users.xml");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0";
        assert_eq!(listening_inodes(table, 8080), vec!["4242".to_string()]);
        assert!(listening_inodes(table, 9000).is_empty());
    }

    #[test]
    fn our_own_listener_is_recognised() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listener_owned_by(std::process::id(), port));
        assert!(!listener_owned_by(1, port));
        assert!(!listener_owned_by(0, port));
    }
}
