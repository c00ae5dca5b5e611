//! The `luister` binary as a user runs it: help, sites, tokens, import exit codes, config errors.

use luister_tests::app::data_dir;
use luister_tests::fresh_settings;
use std::io::Write;
use std::process::{Command, Output};

fn binary() -> std::path::PathBuf {
    luister_tests::luister_binary()
}

struct Cli {
    database: String,
    url: String,
}

impl Cli {
    fn new() -> Self {
        let settings = fresh_settings();
        Self {
            database: settings.database,
            url: settings.url,
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LUISTER_CLICKHOUSE_URL", &self.url)
            .env("LUISTER_CLICKHOUSE_DATABASE", &self.database)
            .env("LUISTER_DATA_FILES", data_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = blocking::drop_database(&self.url, &self.database);
    }
}

/// Drops a test database without an async runtime.
mod blocking {
    pub fn drop_database(url: &str, database: &str) -> std::io::Result<()> {
        use std::io::{Read, Write};
        let address = url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address)?;
        let body = format!("DROP DATABASE IF EXISTS `{database}`");
        write!(
            stream,
            "POST / HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut out = String::new();
        stream.read_to_string(&mut out).map(|_| ())
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_lists_every_subcommand() {
    let output = Command::new(binary()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = text(&output);
    for command in ["serve", "migrate", "import", "sites", "token"] {
        assert!(help.contains(command), "{command} missing from --help");
    }
    for sub in [["sites", "add"], ["import", "--help"], ["token", "create"]] {
        let output = Command::new(binary())
            .args(sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{sub:?} --help failed");
    }
}

#[test]
fn sites_tokens_and_import_through_the_binary() {
    let cli = Cli::new();
    let added = cli.run(
        &[
            "sites",
            "add",
            "enschede.nl",
            "--matomo-id",
            "3",
            "--salt-rotation",
            "weekly",
        ],
        None,
    );
    assert!(added.status.success(), "{}", text(&added));
    let listed = cli.run(&["sites", "list"], None);
    assert!(
        text(&listed).contains("enschede.nl\tEurope/Amsterdam\tweekly matomo_id=3"),
        "{}",
        text(&listed)
    );
    let bad = cli.run(&["sites", "add", "Not A Domain"], None);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("domain"), "{}", text(&bad));

    let token = cli.run(
        &[
            "token",
            "create",
            "--name",
            "wijkteam",
            "--site",
            "enschede.nl",
        ],
        None,
    );
    assert!(token.status.success(), "{}", text(&token));
    assert!(!String::from_utf8_lossy(&token.stdout).trim().is_empty());
    let unknown_site = cli.run(
        &["token", "create", "--name", "x", "--site", "hengelo.nl"],
        None,
    );
    assert!(!unknown_site.status.success());

    let nothing = cli.run(
        &["import", "-"],
        Some("{broken\n{\"timestamp\":\"2026-11-02T10:00:00Z\"}\n"),
    );
    assert!(
        !nothing.status.success(),
        "an import that imported nothing must fail"
    );
    let report = text(&nothing);
    assert!(
        report.contains("line 1") && report.contains("line 2"),
        "{report}"
    );

    let line = r#"{"timestamp":"2026-11-02T10:00:00Z","domain":"enschede.nl","name":"pageview","url":"https://enschede.nl/","ip":"192.0.2.1","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}"#;
    let imported = cli.run(
        &["import", "--format", "ndjson", "-", "--json"],
        Some(&format!("{line}\n{line}\n")),
    );
    assert!(imported.status.success(), "{}", text(&imported));
    let json: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(json["imported"], 2);

    let log = "192.0.2.7 - - [02/Nov/2026:11:00:00 +0100] \"GET /afval HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\"\n\
               192.0.2.7 - - [02/Nov/2026:11:00:01 +0100] \"GET /site.css HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n";
    let logged = cli.run(
        &[
            "import",
            "--format",
            "combined",
            "--site",
            "enschede.nl",
            "-",
            "--json",
        ],
        Some(log),
    );
    assert!(logged.status.success(), "{}", text(&logged));
    let json: serde_json::Value = serde_json::from_slice(&logged.stdout).unwrap();
    assert_eq!(
        (
            json["imported"].as_u64(),
            json["dropped"]["not_html"].as_u64()
        ),
        (Some(1), Some(1)),
        "{json}"
    );
    let misused = cli.run(&["import", "--site", "enschede.nl", "-"], Some(""));
    assert!(!misused.status.success() && text(&misused).contains("--format combined"));

    let published = cli.run(&["sites", "open-data", "enschede.nl", "on"], None);
    assert!(
        text(&published).contains("/open-data/enschede.nl"),
        "{}",
        text(&published)
    );
    let listed = cli.run(&["sites", "list"], None);
    assert!(text(&listed).contains("open_data"), "{}", text(&listed));
    let withdrawn = cli.run(&["sites", "open-data", "enschede.nl", "off"], None);
    assert!(withdrawn.status.success(), "{}", text(&withdrawn));
    assert!(!text(&cli.run(&["sites", "list"], None)).contains("open_data"));
    let unknown = cli.run(&["sites", "open-data", "onbekend.nl", "on"], None);
    assert!(!unknown.status.success() && text(&unknown).contains("onbekend.nl"));

    let unconfirmed = cli.run(&["sites", "remove", "enschede.nl"], None);
    assert!(!unconfirmed.status.success(), "{}", text(&unconfirmed));
    assert!(
        text(&unconfirmed).contains("--yes"),
        "{}",
        text(&unconfirmed)
    );
    let removed = cli.run(&["sites", "remove", "enschede.nl"], Some("enschede.nl\n"));
    assert!(removed.status.success(), "{}", text(&removed));
    let again = cli.run(&["sites", "add", "enschede.nl"], None);
    assert!(again.status.success());
    let removed = cli.run(&["sites", "remove", "enschede.nl", "--yes"], None);
    assert!(removed.status.success(), "{}", text(&removed));
}

#[test]
fn configuration_mistakes_are_clear_errors() {
    let cli = Cli::new();
    let mut command = Command::new(binary());
    let output = command
        .arg("migrate")
        .env("LUISTER_CLICKHOUS_URL", &cli.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("unknown environment variable LUISTER_CLICKHOUS_URL"),
        "{}",
        text(&output)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("luister.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\n[spool]\nmax_batch = 5\n").unwrap();
    let output = Command::new(binary())
        .args(["--config", file.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("unknown field `max_batch`"),
        "{}",
        text(&output)
    );
    let output = Command::new(binary())
        .arg("config")
        .env_clear()
        .env("LUISTER_CLICKHOUSE_PASSWORD", "zeer-geheim-wachtwoord")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(!text(&output).contains("zeer-geheim"), "{}", text(&output));
    assert!(text(&output).contains("(set, hidden)"), "{}", text(&output));
    let output = Command::new(binary())
        .arg("serve")
        .env_clear()
        .env("LUISTER_CLICKHOUSE_URL", &cli.url)
        .env("LUISTER_ADMIN_TOKEN", "a")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("LUISTER_ADMIN_TOKEN is 1 characters; use at least 32"),
        "{}",
        text(&output)
    );
}

/// `luister serve` as a child process on a free port, with a spool that only flushes on demand.
fn spawn_serve(cli: &Cli, state_dir: &std::path::Path, port: u16) -> std::process::Child {
    Command::new(binary())
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LUISTER_CLICKHOUSE_URL", &cli.url)
        .env("LUISTER_CLICKHOUSE_DATABASE", &cli.database)
        .env("LUISTER_DATA_FILES", data_dir())
        .env("LUISTER_DATA_DIR", state_dir)
        .env("LUISTER_LISTEN", format!("127.0.0.1:{port}"))
        // Nothing is written to ClickHouse before the kill: a batch waits a minute.
        .env("LUISTER_SPOOL_MAX_BATCH_AGE_MS", "60000")
        .env("LUISTER_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &::reqwest::Client, base: &str) {
    for _ in 0..300 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{base} did not come up");
}

#[tokio::test]
async fn killed_server_loses_no_accepted_event() {
    let cli = Cli::new();
    assert!(cli
        .run(&["sites", "add", "enschede.nl"], None)
        .status
        .success());
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let http = ::reqwest::Client::new();
    let mut server = spawn_serve(&cli, data.path(), port);
    wait_healthy(&http, &base).await;
    for i in 0..40 {
        let body =
            format!(r#"{{"n":"pageview","u":"https://enschede.nl/p/{i}","d":"enschede.nl"}}"#);
        let response = http
            .post(format!("{base}/api/event"))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    // SIGKILL: no shutdown hook, no flush.
    server.kill().unwrap();
    server.wait().unwrap();
    let db = luister_tests::TestDb::attach(&cli.url, &cli.database).await;
    let count = || async { db.json_rows("SELECT count() AS n FROM events").await[0]["n"].clone() };
    assert_eq!(count().await, "0", "nothing was flushed before the kill");
    // The next start replays the spool; a graceful stop flushes it.
    let mut server = spawn_serve(&cli, data.path(), port);
    wait_healthy(&http, &base).await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    server.wait().unwrap();
    assert_eq!(count().await, "40");
}

// Multi-threaded: the binary is awaited with a blocking call while the server answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_says_whether_the_server_is_ready() {
    let app = luister_tests::app::TestApp::start(chrono::Utc::now(), &[]).await;
    let ask = |url: String| {
        Command::new(binary())
            .args(["healthcheck", "--url", &url, "--timeout-seconds", "3"])
            .env_clear()
            .output()
            .unwrap()
    };
    let ready = ask(format!("{}/ready", app.base));
    assert!(ready.status.success(), "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.stdout).starts_with("ready: "));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = ask(format!("http://127.0.0.1:{closed}/ready"));
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(stderr.starts_with("not ready: "), "{stderr}");

    let missing = ask(format!("{}/no-such-page", app.base));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));
}
