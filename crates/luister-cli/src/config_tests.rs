use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_file_and_env_layer_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("luister.toml");
    std::fs::write(
        &path,
        "listen = \"0.0.0.0:9000\"\n[clickhouse]\nurl = \"http://ch:8123\"\ndatabase = \"a\"\n[spool]\nmax_batch_events = 5\n",
    )
    .unwrap();
    let config = Config::load(
        Some(&path),
        env(&[
            ("LUISTER_CLICKHOUSE_DATABASE", "b"),
            ("LUISTER_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("PATH", "/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
    assert_eq!(config.clickhouse.url, "http://ch:8123");
    assert_eq!(config.clickhouse.database, "b");
    assert_eq!(config.clickhouse.user, "default");
    assert_eq!(config.spool.max_batch_events, 5);
    assert_eq!(config.trusted_proxies, vec!["10.0.0.0/8", "127.0.0.1"]);
    assert_eq!(Config::load(None, env(&[])).unwrap(), Config::default());
}

#[test]
fn typos_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[clickhouse]\nurll = \"x\"\n").unwrap();
    let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
    assert!(err.contains("unknown field `urll`"), "{err}");
    let err = Config::load(None, env(&[("LUISTER_CLIKHOUSE_URL", "x")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LUISTER_CLIKHOUSE_URL") && err.contains("LUISTER_CLICKHOUSE_URL"),
        "{err}"
    );
    let err = Config::load(None, env(&[("LUISTER_SPOOL_MAX_BYTES", "lots")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_bytes"), "{err}");
    assert!(Config::load(None, env(&[("LUISTER_TRUSTED_PROXIES", "not-an-ip")])).is_err());
    assert!(Config::load(None, env(&[("LUISTER_LISTEN", "nowhere")])).is_err());
    assert!(Config::load(None, env(&[("LUISTER_FORWARDED_HEADER", "via")])).is_err());
    let config = Config::load(
        None,
        env(&[
            ("LUISTER_FORWARDED_HEADER", "forwarded"),
            ("LUISTER_ANONYMIZE_IP", "true"),
            ("LUISTER_QUERY_MAX_EXECUTION_SECONDS", "5"),
        ]),
    )
    .unwrap();
    assert!(config.anonymize_ip);
    assert_eq!(
        config.forwarded_header().unwrap(),
        ForwardedHeader::Forwarded
    );
    assert_eq!(config.query.max_execution_seconds, 5);
    let config = Config::load(
        None,
        env(&[("LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT", "0")]),
    )
    .unwrap();
    assert_eq!(config.rate_limit.collector_per_client, 0.0);
    assert!(Config::load(
        None,
        env(&[("LUISTER_RATE_LIMIT_COLLECTOR_PER_SITE", "-1")])
    )
    .is_err());
}

#[test]
fn the_clickhouse_password_is_never_printed() {
    let config = Config::load(None, env(&[("LUISTER_CLICKHOUSE_PASSWORD", "s3cret-pw")])).unwrap();
    let printed = format!("{config:#?}");
    assert!(!printed.contains("s3cret-pw"), "{printed}");
    assert!(printed.contains("(set, hidden)"), "{printed}");
}

#[test]
fn the_example_file_loads_and_dashboard_keys_are_checked() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/luister.example.toml");
    let config = Config::load(Some(&example), env(&[])).unwrap();
    assert_eq!(config.dashboard.session_idle_minutes, 120);
    let config = Config::load(
        None,
        env(&[
            ("LUISTER_PUBLIC_URL", "https://statistiek.enschede.nl"),
            ("LUISTER_DASHBOARD_SESSION_IDLE_MINUTES", "30"),
            ("LUISTER_PASSWORD", "not a config key, read by users add"),
        ]),
    )
    .unwrap();
    assert_eq!(
        config.dashboard.public_url,
        "https://statistiek.enschede.nl"
    );
    assert_eq!(config.dashboard.session_idle_minutes, 30);
    for bad in [
        ("LUISTER_PUBLIC_URL", "statistiek.enschede.nl"),
        ("LUISTER_DASHBOARD_SESSION_IDLE_MINUTES", "0"),
    ] {
        let error = Config::load(None, env(&[bad])).unwrap_err().to_string();
        assert!(error.contains("dashboard."), "{bad:?}: {error}");
    }
}

#[test]
fn single_sign_on_needs_a_client_and_roles_and_hides_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("luister.toml");
    std::fs::write(
        &path,
        "[dashboard.oidc]\nroles_claim = \"groups\"\nanalyst_values = [\"luister-analist\"]\n",
    )
    .unwrap();
    let issuer = (
        "LUISTER_OIDC_ISSUER",
        "https://login.example.nl/realms/gemeente",
    );
    let config = Config::load(
        Some(&path),
        env(&[
            issuer,
            ("LUISTER_OIDC_CLIENT_ID", "luister"),
            ("LUISTER_OIDC_CLIENT_SECRET", "zeer-geheim"),
        ]),
    )
    .unwrap();
    assert_eq!(config.dashboard.oidc.client_secret.expose(), "zeer-geheim");
    assert!(
        !format!("{config:?}").contains("zeer-geheim"),
        "the secret is never printed"
    );
    let no_client = Config::load(Some(&path), env(&[issuer]))
        .unwrap_err()
        .to_string();
    assert!(no_client.contains("client_id"), "{no_client}");
    std::fs::write(&path, "[dashboard.oidc]\nclient_id = \"luister\"\n").unwrap();
    let no_roles = Config::load(Some(&path), env(&[issuer]))
        .unwrap_err()
        .to_string();
    assert!(no_roles.contains("admin_values"), "{no_roles}");
}

#[test]
fn a_ca_file_goes_with_an_https_clickhouse_url() {
    let config = Config::load(
        None,
        env(&[
            ("LUISTER_CLICKHOUSE_URL", "https://ch.example.nl:8443"),
            ("LUISTER_CLICKHOUSE_CA_FILE", "/etc/luister/ca.pem"),
        ]),
    )
    .unwrap();
    assert_eq!(
        config.clickhouse.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/luister/ca.pem"))
    );
    let err = Config::load(
        None,
        env(&[
            ("LUISTER_CLICKHOUSE_URL", "http://127.0.0.1:8123"),
            ("LUISTER_CLICKHOUSE_CA_FILE", "/etc/luister/ca.pem"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("clickhouse.ca_file"), "{err}");
    let err = Config::load(
        None,
        env(&[("LUISTER_CLICKHOUSE_URL", "ch.example.nl:8123")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("must start with http:// or https://"), "{err}");
}
