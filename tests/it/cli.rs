//! The `luister` binary as a user runs it: help, sites, tokens, import exit codes, config errors.

use luister_tests::app::data_dir;
use luister_tests::fresh_settings;
use std::io::Write;
use std::process::{Command, Output};

/// `target/<profile>/luister`, next to the directory holding this test binary.
fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join("luister");
    assert!(
        path.is_file(),
        "{} not built (cargo build --bin luister)",
        path.display()
    );
    path
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

    let removed = cli.run(&["sites", "remove", "enschede.nl"], None);
    assert!(removed.status.success());
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
}
