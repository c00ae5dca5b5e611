//! Reports and alerts go out: to a folder, by e-mail through a real SMTP server with
//! STARTTLS and authentication (Python's aiosmtpd, started here with a certificate made
//! here), and to a webhook; and the server sends a finished cycle's report by itself, once.

use chrono::{DateTime, Duration, Utc};
use luister_delivery::{deliver, DeliverySettings, SmtpSettings};
use luister_impact::{CycleSetting, Lang};
use luister_model::Site;
use luister_tests::app::{import_lines, TestApp};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SITE: &str = "enschede.nl";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

fn now() -> DateTime<Utc> {
    "2026-11-30T09:00:00Z".parse().unwrap()
}

/// 3 visitors a day over the 28 days before the clock.
fn lines() -> Vec<String> {
    (1..=28i64)
        .flat_map(|d| {
            (0..3).map(move |n| {
                json!({"timestamp": (now() - Duration::days(d)).to_rfc3339(), "domain": SITE,
                       "url": format!("https://{SITE}/"), "ip": format!("203.0.{d}.{n}"), "user_agent": UA}).to_string()
            })
        })
        .collect()
}

struct SmtpServer {
    child: Child,
    port: u16,
    ca: PathBuf,
    inbox: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_smtp(dir: &Path) -> SmtpServer {
    // A CA of our own and a server certificate it signed (webpki refuses a CA as a server's).
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr, ext) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("leaf.csr"),
        dir.join("leaf.ext"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: Vec<std::ffi::OsString>| {
        let ok = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(ok.success());
    };
    let os = |parts: &[&dyn AsRef<std::ffi::OsStr>]| {
        parts
            .iter()
            .map(|p| p.as_ref().to_os_string())
            .collect::<Vec<_>>()
    };
    openssl(os(&[
        &"req",
        &"-x509",
        &"-newkey",
        &"rsa:2048",
        &"-nodes",
        &"-days",
        &"1",
        &"-subj",
        &"/CN=Luister test CA",
        &"-keyout",
        &ca_key,
        &"-out",
        &ca,
    ]));
    openssl(os(&[
        &"req",
        &"-newkey",
        &"rsa:2048",
        &"-nodes",
        &"-subj",
        &"/CN=127.0.0.1",
        &"-keyout",
        &key,
        &"-out",
        &csr,
    ]));
    openssl(os(&[
        &"x509",
        &"-req",
        &"-in",
        &csr,
        &"-CA",
        &ca,
        &"-CAkey",
        &ca_key,
        &"-CAcreateserial",
        &"-days",
        &"1",
        &"-extfile",
        &ext,
        &"-out",
        &cert,
    ]));
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mail/smtp_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(&cert)
        .arg(&key)
        .arg(&inbox)
        .args(["rapport", "geheim-wachtwoord"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd (scripts/setup.sh --test installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    SmtpServer {
        child,
        port,
        ca,
        inbox,
    }
}

/// A one-request HTTP server that keeps the body it was sent.
fn start_webhook() -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/luister", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

#[tokio::test]
async fn a_report_goes_to_the_folder_by_mail_and_to_the_webhook() {
    let app = TestApp::start(now(), &[Site::new(SITE)]).await;
    import_lines(&app.db, &lines()).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = start_smtp(dir.path());
    let (webhook, received) = start_webhook();
    let settings = DeliverySettings {
        reports_dir: Some(dir.path().join("rapporten")),
        webhook_url: Some(webhook),
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: smtp.port,
            username: "rapport".into(),
            password: "geheim-wachtwoord".into(),
            ca_file: Some(smtp.ca.clone()),
            from: "Luister <luister@enschede.nl>".into(),
            to: vec!["webteam@enschede.nl".into()],
        }),
    };
    let setting = CycleSetting::default();
    let cycle = setting.containing(now().date_naive()).previous(&setting);
    let engine = luister_query::QueryEngine::new(app.store().clone());
    let report = luister_impact::cycle_report(
        &engine,
        app.store(),
        &Site::new(SITE),
        (&setting, cycle),
        Lang::Nl,
        now(),
    )
    .await
    .unwrap();
    let visitors = report
        .headline
        .iter()
        .find(|f| f.name == "visitors")
        .unwrap()
        .value;
    assert!(visitors > 0.0);
    let outgoing = luister_delivery::due::report_outgoing(&report).unwrap();
    let done = deliver(&settings, &outgoing).await.unwrap();
    assert_eq!(done.mailed_to, 1);
    assert!(done.webhook);
    let file = std::fs::read_to_string(done.file.unwrap()).unwrap();
    assert!(file.contains("Cyclusrapport") && file.contains("<svg"));

    let mail = std::fs::read_to_string(smtp.inbox.join("0.eml")).unwrap();
    assert!(
        mail.contains("Subject: Cyclusrapport enschede.nl"),
        "{mail}"
    );
    assert!(
        mail.contains("multipart/alternative")
            && mail.contains("text/plain")
            && mail.contains("text/html")
    );
    let row = format!("| Bezoekers | {} |", visitors as u64);
    assert!(
        mail.replace("=\r\n", "").contains(&row),
        "the same number in the mail: {row}\n{mail}"
    );
    let hook: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert_eq!(hook["kind"], "report");
    let hooked = hook["data"]["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "visitors")
        .unwrap()["value"]
        .as_f64();
    assert_eq!(hooked, Some(visitors));

    // A server that cannot be reached is said so, and nothing counts as delivered.
    let mut wrong = settings.clone();
    wrong.reports_dir = None;
    wrong.webhook_url = None;
    if let Some(s) = wrong.smtp.as_mut() {
        s.port = free_port();
    }
    let error = deliver(&wrong, &outgoing).await.unwrap_err().to_string();
    assert!(error.starts_with("e-mail:"), "{error}");
}

fn reports_dir() -> PathBuf {
    std::env::temp_dir().join(format!("luister-delivery-test-{}", std::process::id()))
}

#[tokio::test]
async fn the_server_writes_a_finished_cycles_report_once() {
    let dir = reports_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let app = TestApp::start_tweaked(
        luister_tests::TestDb::new().await,
        now(),
        &[Site::new(SITE)],
        |s| {
            s.delivery.reports_dir = Some(reports_dir());
        },
    )
    .await;
    import_lines(&app.db, &lines()).await;
    let setting = CycleSetting::default();
    let ended = setting.containing(now().date_naive()).previous(&setting);
    let expected = dir.join(format!("luister-{SITE}-{}.html", ended.first));
    let started = std::time::Instant::now();
    while !expected.exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(expected.exists(), "{} was not written", expected.display());
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let recorded = app
        .db
        .count(&format!(
            "SELECT count() FROM deliveries WHERE site_id = '{SITE}' AND kind = 'report'"
        ))
        .await;
    assert_eq!(recorded, 1, "delivered once, however often the check runs");
    let _ = std::fs::remove_dir_all(&dir);
}
