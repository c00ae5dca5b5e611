//! Nothing accepted is lost: ClickHouse outages and crashes delay events, never drop
//! or duplicate them.

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_store::embedded::EmbeddedClickHouse;
use luister_tests::app::TestApp;
use luister_tests::TestDb;
use std::time::Duration;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z")
        .unwrap()
        .into()
}

async fn send_pages(app: &TestApp, from: usize, to: usize) {
    for i in from..to {
        let body =
            format!(r#"{{"n":"pageview","u":"https://enschede.nl/p/{i}","d":"enschede.nl"}}"#);
        let status = app
            .send(&body, &format!("192.0.2.{}", i % 250), UA)
            .await
            .status();
        assert_eq!(status, 202, "event {i}");
    }
}

async fn count_distinct(app: &TestApp) -> (u64, u64) {
    app.store()
        .client()
        .query("SELECT count(), uniqExact(pathname) FROM events")
        .fetch_one()
        .await
        .unwrap()
}

#[tokio::test]
async fn clickhouse_outage_delays_but_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut clickhouse = EmbeddedClickHouse::start(dir.path()).await.unwrap();
    let app = TestApp::start_on(
        TestDb::on_server(clickhouse.settings("x")).await,
        now(),
        &[Site::new("enschede.nl")],
    )
    .await;
    send_pages(&app, 0, 50).await;
    app.flushed().await;
    clickhouse.kill().await;
    // Accepted while ClickHouse is down: they wait in the spool.
    send_pages(&app, 50, 150).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.server.as_ref().unwrap().state.spool.stats().records() >= 100);
    let ready = app
        .http
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    clickhouse.restart().await.unwrap();
    app.flushed().await;
    assert_eq!(count_distinct(&app).await, (150, 150));
    clickhouse.stop().await;
}

#[tokio::test]
async fn crashed_server_replays_its_spool_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut clickhouse = EmbeddedClickHouse::start(dir.path()).await.unwrap();
    let mut app = TestApp::start_on(
        TestDb::on_server(clickhouse.settings("x")).await,
        now(),
        &[Site::new("enschede.nl")],
    )
    .await;
    send_pages(&app, 0, 20).await;
    app.flushed().await;
    clickhouse.kill().await;
    send_pages(&app, 20, 60).await;
    // The process dies with 40 accepted events in its spool.
    app.crash_server();
    clickhouse.restart().await.unwrap();
    app.start_server().await;
    app.flushed().await;
    assert_eq!(count_distinct(&app).await, (60, 60));
    // A graceful stop drains everything too.
    send_pages(&app, 60, 70).await;
    app.restart_server().await;
    app.flushed().await;
    assert_eq!(count_distinct(&app).await, (70, 70));
    clickhouse.stop().await;
}

#[tokio::test]
async fn the_private_clickhouse_answers_only_luister_with_its_password() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut clickhouse = EmbeddedClickHouse::start(dir.path()).await.unwrap();
    let ask = |user: &str, password: &str| {
        let url = clickhouse.url();
        let (user, password) = (user.to_string(), password.to_string());
        async move {
            reqwest::Client::new()
                .post(format!("{url}/"))
                .basic_auth(user, Some(password))
                .body("SELECT 1")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let settings = clickhouse.settings("default");
    assert_eq!(ask(&settings.user, &settings.password).await, 200);
    assert_ne!(
        ask("default", "").await,
        200,
        "Debian's open default user is gone"
    );
    assert_ne!(ask(&settings.user, "wrong").await, 200);
    for file in ["luister-password", "users.xml", "config.xml"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
    }
    let dir_mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0);
    // Another process's server in the folder is used only when the port is really its own.
    let url = clickhouse.url();
    assert!(EmbeddedClickHouse::running(dir.path(), &url, "x").is_some());
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("http://127.0.0.1:{}", squatter.local_addr().unwrap().port());
    assert!(EmbeddedClickHouse::running(dir.path(), &taken, "x").is_none());
    clickhouse.stop().await;
}
