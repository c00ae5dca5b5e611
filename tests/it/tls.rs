//! ClickHouse over HTTPS: a server with a certificate from a private CA is reached when
//! that CA is configured, and refused (with a clear reason) when it is not.

use luister_store::{ClickHouseSettings, Store};
use luister_tests::tls_server::TlsClickHouse;
use luister_tests::{fresh_settings, TestDb};

fn https_settings(server: &TlsClickHouse, ca: bool) -> ClickHouseSettings {
    ClickHouseSettings {
        url: server.https_url.clone(),
        ca_file: ca.then(|| server.ca_file.clone()),
        ..fresh_settings()
    }
}

#[tokio::test]
async fn https_with_the_configured_ca_migrates_writes_and_reads() {
    let server = TlsClickHouse::start();
    let store = Store::connect(https_settings(&server, true))
        .await
        .expect("connect over https");
    let db = TestDb { store };
    let report = db.store.migrate().await.expect("migrate over https");
    assert!(report.current_version >= 11, "{report:?}");
    db.store
        .add_site(&luister_model::Site::new("tls.example"))
        .await
        .expect("add a site");
    luister_tests::app::import_lines(
        &db,
        &[r#"{"domain":"tls.example","name":"pageview","url":"https://tls.example/schulden","timestamp":"2026-11-02T10:00:00Z","ip":"192.0.2.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}"#.to_string()],
    )
    .await;
    let stored = db
        .count(
            "SELECT count() FROM events WHERE site_id = 'tls.example' AND pathname = '/schulden'",
        )
        .await;
    assert_eq!(stored, 1);
    assert!(db.store.server_version().starts_with(char::is_numeric));
}

#[tokio::test]
async fn without_the_ca_the_servers_certificate_is_refused() {
    let server = TlsClickHouse::start();
    let err = Store::connect(https_settings(&server, false))
        .await
        .err()
        .expect("an unknown issuer must not be trusted");
    let text = format!("{err:?}");
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );
}

#[test]
fn the_binary_reaches_https_clickhouse_with_a_ca_file_from_the_environment() {
    let server = TlsClickHouse::start();
    let database = fresh_settings().database;
    let run = |ca: Option<&std::path::Path>| {
        let mut command = std::process::Command::new(luister_tests::luister_binary());
        command
            .arg("migrate")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LUISTER_CLICKHOUSE_URL", &server.https_url)
            .env("LUISTER_CLICKHOUSE_DATABASE", &database);
        if let Some(ca) = ca {
            command.env("LUISTER_CLICKHOUSE_CA_FILE", ca);
        }
        command.output().expect("run luister migrate")
    };
    let refused = run(None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("connecting to ClickHouse"), "{stderr}");
    assert!(
        stderr.contains("certificate"),
        "the reason is named: {stderr}"
    );

    let done = run(Some(&server.ca_file));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("schema at version"), "{stdout}");
}
