//! A ClickHouse that speaks only HTTPS, with a CA and a server certificate made for the
//! test by `openssl`: what a managed or shared ClickHouse looks like to Luister.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running HTTPS-only ClickHouse; stopped and removed when dropped.
pub struct TlsClickHouse {
    pub https_url: String,
    /// The CA that signed the server's certificate (PEM).
    pub ca_file: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl TlsClickHouse {
    /// Makes the certificates and starts the server; panics with the reason when it cannot.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        make_certificates(&path);
        let https = super::free_port();
        let http = super::free_port();
        let tcp = super::free_port();
        let config = path.join("config.xml");
        std::fs::write(
            &config,
            config_xml(&path.display().to_string(), https, http, tcp),
        )
        .expect("write config");
        let binary = luister_store::embedded::EmbeddedClickHouse::find_binary()
            .expect("clickhouse-server not installed: run scripts/test.sh, which installs it");
        let child = Command::new(binary)
            .arg(format!("--config-file={}", config.display()))
            .current_dir(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clickhouse-server");
        // The plain port only tells when the server is up; the tests use HTTPS.
        super::wait_for_ping(http);
        Self {
            https_url: format!("https://127.0.0.1:{https}"),
            ca_file: path.join("ca.pem"),
            child,
            _dir: dir,
        }
    }
}

impl Drop for TlsClickHouse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_certificates(dir: &std::path::Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    openssl(
        dir,
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
         -subj /CN=Luister-test-CA -addext basicConstraints=critical,CA:TRUE \
         -addext keyUsage=critical,keyCertSign,cRLSign",
    );
    openssl(
        dir,
        "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
    );
    openssl(
        dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
         -days 2 -extfile server.ext",
    );
}

fn openssl(dir: &std::path::Path, args: &str) {
    let output = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("openssl is installed (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn config_xml(dir: &str, https: u16, http: u16, tcp: u16) -> String {
    format!(
        "<?xml version=\"1.0\"?><yandex><logger><level>warning</level><log>{dir}/ch.log</log>\
         <errorlog>{dir}/ch.err.log</errorlog></logger>\
         <https_port>{https}</https_port><http_port>{http}</http_port><tcp_port>{tcp}</tcp_port>\
         <openSSL><server><certificateFile>{dir}/server.pem</certificateFile>\
         <privateKeyFile>{dir}/server.key</privateKeyFile><verificationMode>none</verificationMode>\
         <loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>true</cacheSessions>\
         <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>\
         <preferServerCiphers>true</preferServerCiphers></server></openSSL>\
         <listen_host>127.0.0.1</listen_host><path>{dir}/data/</path><tmp_path>{dir}/tmp/</tmp_path>\
         <users_config>/etc/clickhouse-server/users.xml</users_config><default_profile>default</default_profile>\
         <default_database>default</default_database><mark_cache_size>268435456</mark_cache_size></yandex>"
    )
}
