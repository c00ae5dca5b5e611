use super::*;
use chrono::{DateTime, Utc};

fn ctx() -> RequestContext {
    RequestContext {
        received_at: DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        ip: Some("192.0.2.1".parse().unwrap()),
        user_agent: "Mozilla/5.0 UA".into(),
    }
}

fn sites() -> SiteRegistry {
    let mut enschede = Site::new("enschede.nl");
    enschede.matomo_id = 3;
    let mut other = Site::new("hengelo.nl");
    other.matomo_id = 7;
    SiteRegistry::new([enschede, other, Site::new("no-matomo.nl")])
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const PAGE: &str = "https://www.enschede.nl/afval?x=1";

/// `idsite=3&rec=1&url=PAGE&urlref=…` followed by `extra`.
fn request(extra: &str) -> String {
    format!(
        "idsite=3&rec=1&url={}&urlref={}&_id=0123456789abcdef&uid=jan&cid=fedcba9876543210&cip=10.0.0.1&res=1920x1080&action_name=Afval&cdt=2001-01-01&rand=42{extra}",
        enc(PAGE),
        enc("https://www.google.nl/")
    )
}

/// (name, props, revenue) of the single event a request yields.
fn one(query: &str) -> (String, Props, Option<(i64, String)>) {
    let events = decode_matomo(query, &ctx(), &sites()).unwrap_or_else(|e| panic!("{query}: {e}"));
    assert_eq!(events.len(), 1, "{query}");
    let e = &events[0];
    (e.name.clone(), e.props.clone(), e.revenue.clone())
}

type Props = Vec<(String, String)>;

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn request_kinds_table() {
    let search_page = enc("https://www.enschede.nl/zoeken?q=Schuld+Hulp");
    let cases: Vec<(String, &str, Props)> = vec![
        (request(""), "pageview", vec![]),
        (
            request("&pv_id=abc123&gt_ms=20&pf_net=3"),
            "pageview",
            vec![],
        ),
        (
            request("&e_c=Formulier&e_a=Verzonden&e_n=paspoort&e_v=2.5"),
            "Formulier: Verzonden",
            props(&[
                ("category", "Formulier"),
                ("action", "Verzonden"),
                ("name", "paspoort"),
                ("value", "2.5"),
            ]),
        ),
        (
            request("&e_c=Video&e_a=Play"),
            "Video: Play",
            props(&[("category", "Video"), ("action", "Play")]),
        ),
        (
            request("&search=Schuldhulp&search_cat=Diensten&search_count=4"),
            "search",
            props(&[
                ("query", "Schuldhulp"),
                ("results", "4"),
                ("category", "Diensten"),
            ]),
        ),
        (
            request("&search=paspoort"),
            "search",
            props(&[("query", "paspoort")]),
        ),
        (
            request("&search=paspoort&search_count=abc"),
            "search",
            props(&[("query", "paspoort")]),
        ),
        // The term is in the page URL: the search results page's own pageview.
        (
            format!(
                "{}&search=schuld%20hulp&search_count=0",
                request("").replace(&enc(PAGE), &search_page)
            ),
            "pageview",
            props(&[("results", "0")]),
        ),
        (
            format!(
                "{}&search=schuldhulp&search_cat=Alles",
                request("").replace(&enc(PAGE), &search_page)
            ),
            "search",
            props(&[("query", "schuldhulp"), ("category", "Alles")]),
        ),
        (
            request(&format!(
                "&link={}",
                enc("https://www.rijksoverheid.nl/a?b=c#d")
            )),
            "Outbound Link: Click",
            props(&[("url", "https://www.rijksoverheid.nl/a?b=c#d")]),
        ),
        (
            request(&format!(
                "&download={}",
                enc("https://www.enschede.nl/docs/folder.pdf?v=2#p3")
            )),
            "File Download",
            props(&[("url", "https://www.enschede.nl/docs/folder.pdf")]),
        ),
        (
            request("&idgoal=0&ec_id=A-17&revenue=12.50&ec_st=10"),
            "Purchase",
            vec![],
        ),
    ];
    for (query, name, expected_props) in cases {
        let (got_name, got_props, _) = one(&query);
        assert_eq!(
            (got_name.as_str(), &got_props),
            (name, &expected_props),
            "{query}"
        );
    }
}

#[test]
fn first_parameter_wins_and_pageview_fields() {
    let twice = format!("{}&url={}", request(""), enc("https://elders.nl/"));
    let events = decode_matomo(&twice, &ctx(), &sites()).unwrap();
    let e = &events[0];
    assert_eq!(e.domain, "enschede.nl");
    assert_eq!(e.url, PAGE);
    assert_eq!(e.referrer, "https://www.google.nl/");
    assert_eq!(
        e.timestamp,
        ctx().received_at,
        "cdt without token_auth is ignored"
    );
    assert_eq!(e.ip, ctx().ip, "cip without token_auth is ignored");
    assert_eq!(e.user_agent, "Mozilla/5.0 UA");
    assert!(e.interactive && !e.keep_hash && e.revenue.is_none());
    assert!(
        e.props.is_empty(),
        "_id, uid, res, action_name are not kept: {:?}",
        e.props
    );
}

#[test]
fn javascript_undefined_is_absent() {
    let (name, got, _) = one(&request(
        "&e_c=Video&e_a=Play&e_n=undefined&e_v=undefined&mtm_campaign=undefined",
    ));
    assert_eq!(
        (name.as_str(), got),
        (
            "Video: Play",
            props(&[("category", "Video"), ("action", "Play")])
        )
    );
    let (name, got, _) = one(&request(
        "&search=wmo&search_cat=undefined&search_count=null",
    ));
    assert_eq!((name.as_str(), got), ("search", props(&[("query", "wmo")])));
    assert_eq!(
        decode_matomo("idsite=3&rec=1&url=undefined", &ctx(), &sites()),
        Err(MatomoError::Missing("url"))
    );
}

#[test]
fn order_revenue_is_in_euro_cents() {
    assert_eq!(
        one(&request("&idgoal=0&ec_id=A-17&revenue=12.50")).2,
        Some((1250, "EUR".into()))
    );
    assert_eq!(
        one(&request("&idgoal=0&ec_id=A-17&revenue=7")).2,
        Some((700, "EUR".into()))
    );
}

#[test]
fn requests_that_store_nothing() {
    let internal_link = format!("&link={}", enc("https://loket.enschede.nl/x"));
    let same_host_link = format!("&link={}", enc("https://www.enschede.nl/contact"));
    for extra in [
        "&ping=1",
        "&idgoal=2&revenue=5",
        "&idgoal=0&revenue=5",
        "&ca=1",
        "&c_n=Banner&c_p=x",
        "&ma_id=v1&ma_ti=Film",
        internal_link.as_str(),
        same_host_link.as_str(),
    ] {
        let events = decode_matomo(&request(extra), &ctx(), &sites()).unwrap();
        assert!(events.is_empty(), "{extra}: {events:?}");
    }
    // A ping needs no url.
    assert!(decode_matomo("idsite=3&rec=1&ping=1", &ctx(), &sites())
        .unwrap()
        .is_empty());
}

#[test]
fn malformed_requests_are_clear_errors() {
    let cases: Vec<(String, MatomoError)> = vec![
        ("".into(), MatomoError::NotRecorded),
        (
            "idsite=3&url=https%3A%2F%2Fenschede.nl%2F".into(),
            MatomoError::NotRecorded,
        ),
        (
            "idsite=3&rec=0&url=https%3A%2F%2Fenschede.nl%2F".into(),
            MatomoError::NotRecorded,
        ),
        (
            "rec=1&url=https%3A%2F%2Fenschede.nl%2F".into(),
            MatomoError::Missing("idsite"),
        ),
        (
            "idsite=abc&rec=1".into(),
            MatomoError::Invalid {
                field: "idsite",
                expected: "a positive whole number",
            },
        ),
        (
            "idsite=-1&rec=1".into(),
            MatomoError::Invalid {
                field: "idsite",
                expected: "a positive whole number",
            },
        ),
        (
            "idsite=99&rec=1&url=https%3A%2F%2Fenschede.nl%2F".into(),
            MatomoError::UnknownSite(99),
        ),
        (
            "idsite=0&rec=1&url=https%3A%2F%2Fno-matomo.nl%2F".into(),
            MatomoError::UnknownSite(0),
        ),
        ("idsite=3&rec=1".into(), MatomoError::Missing("url")),
        ("idsite=3&rec=1&url=".into(), MatomoError::Missing("url")),
        (request("&e_c=Video"), MatomoError::Missing("e_a")),
        (request("&e_a=Play"), MatomoError::Missing("e_c")),
        (
            request("&e_c=V&e_a=P&e_v=veel"),
            MatomoError::Invalid {
                field: "e_v",
                expected: "a number",
            },
        ),
        (
            request("&link=javascript%3Aalert(1)"),
            MatomoError::Invalid {
                field: "link",
                expected: "an absolute http(s) URL",
            },
        ),
        (
            request("&download=%2Frelative.pdf"),
            MatomoError::Invalid {
                field: "download",
                expected: "an absolute http(s) URL",
            },
        ),
        (
            request("&idgoal=0&ec_id=1&revenue=veel"),
            MatomoError::Invalid {
                field: "revenue",
                expected: "a number",
            },
        ),
        (
            format!(
                "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F{}",
                "a".repeat(MAX_URL_LEN)
            ),
            MatomoError::TooLong {
                field: "url",
                max: MAX_URL_LEN,
            },
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            decode_matomo(&query, &ctx(), &sites()),
            Err(expected),
            "{query}"
        );
    }
}

#[test]
fn idsite_maps_to_the_site_and_leading_question_mark() {
    let query = "?idsite=7&rec=1&url=https%3A%2F%2Fhengelo.nl%2Fa%20b";
    let events = decode_matomo(query, &ctx(), &sites()).unwrap();
    assert_eq!(
        (events[0].domain.as_str(), events[0].url.as_str()),
        ("hengelo.nl", "https://hengelo.nl/a b")
    );
}

#[test]
fn long_values_are_cut_not_refused() {
    let long = "é".repeat(MAX_PROP_VALUE_LEN + 10);
    let (name, props, _) = one(&request(&format!(
        "&e_c={}&e_a={}&e_n={}",
        enc(&long),
        enc("a"),
        enc(&long)
    )));
    assert_eq!(name.chars().count(), MAX_NAME_LEN);
    assert_eq!(props[2].1.chars().count(), MAX_PROP_VALUE_LEN);
}

#[test]
fn bulk_requests() {
    let body = serde_json::json!({
        "requests": [
            format!("?{}", request("")),
            format!("/matomo.php?{}", request("&e_c=A&e_a=B")),
            request("&ping=1"),
            "?idsite=99&rec=1&url=https%3A%2F%2Fx.nl%2F",
            {"idsite": 3, "rec": 1, "url": "https://enschede.nl/json", "search": "wmo", "search_count": 2},
            17
        ]
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(is_bulk_body(&bytes));
    let decoded = decode_matomo_bulk(&bytes, &ctx(), &sites()).unwrap();
    let events: Vec<&RawEvent> = decoded.events().collect();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["pageview", "A: B", "search"]);
    assert_eq!(
        events[2].props,
        props(&[("query", "wmo"), ("results", "2")])
    );
    assert_eq!((decoded.tracked, decoded.invalid), (4, 2));
    assert_eq!(decoded.first_error, Some(MatomoError::UnknownSite(99)));
}

#[test]
fn send_image() {
    assert!(wants_image("idsite=1&rec=1"));
    assert!(wants_image("?send_image=1"));
    assert!(!wants_image("?idsite=1&send_image=0"));
}

#[test]
fn bad_bulk_bodies() {
    for body in [&b"{"[..], b"{}", br#"{"requests": "x"}"#, b"[]"] {
        assert!(
            matches!(
                decode_matomo_bulk(body, &ctx(), &sites()),
                Err(MatomoError::Bulk(_))
            ),
            "{body:?}"
        );
    }
    let too_many = serde_json::json!({ "requests": vec![request(""); MAX_BULK_REQUESTS + 1] });
    let bytes = serde_json::to_vec(&too_many).unwrap();
    assert!(matches!(
        decode_matomo_bulk(&bytes, &ctx(), &sites()),
        Err(MatomoError::Bulk(_))
    ));
    assert!(!is_bulk_body(b"idsite=1&rec=1"));
    assert!(is_bulk_body(b"  \n{\"requests\":[]}"));
}

#[test]
fn garbage_never_panics() {
    for query in [
        "%",
        "%%%",
        "&&&=",
        "idsite=3&rec=1&url=%FF%FE",
        "idsite=4294967296&rec=1",
        "rec=1&idsite=3&url=https%3A%2F%2F%5B%3A%3A1",
    ] {
        let _ = decode_matomo(query, &ctx(), &sites());
    }
}

#[test]
fn ua_stands_for_the_user_agent() {
    let query = format!("{}&ua=Mozilla%2F5.0%20(X11)", request(""));
    let events = decode_matomo(&query, &ctx(), &sites()).unwrap();
    assert_eq!(events[0].user_agent, "Mozilla/5.0 (X11)");
    let events = decode_matomo(&request(""), &ctx(), &sites()).unwrap();
    assert_eq!(
        events[0].user_agent,
        ctx().user_agent,
        "no ua: the header's"
    );
}

#[test]
fn cip_and_cdt_become_claims_only_with_a_token() {
    let decoded = decode_matomo_request(&request(""), &ctx(), &sites()).unwrap();
    assert_eq!(
        decoded.claims, None,
        "no token_auth: nothing to check, nothing applied"
    );

    let query = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc\
                 &cip=2001%3Adb8%3A%3A7&cdt=2026-11-29%2009%3A30%3A00";
    let mut decoded = decode_matomo_request(query, &ctx(), &sites()).unwrap();
    let claims = decoded.claims.clone().expect("claims");
    assert_eq!(claims.token, "abc");
    assert_eq!(claims.ip, Some("2001:db8::7".parse().unwrap()));
    let time = DateTime::parse_from_rfc3339("2026-11-29T09:30:00Z").unwrap();
    assert_eq!(claims.time, Some(time.with_timezone(&Utc)));
    claims.apply(&mut decoded.events);
    assert_eq!(decoded.events[0].ip, claims.ip);
    assert_eq!(decoded.events[0].timestamp, time);

    let unix = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc&cdt=1795942800";
    let decoded = decode_matomo_request(unix, &ctx(), &sites()).unwrap();
    assert_eq!(
        decoded.claims.unwrap().time.unwrap().to_rfc3339(),
        "2026-11-29T09:00:00+00:00"
    );
}

#[test]
fn claims_out_of_bounds_are_refused() {
    let base = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc";
    for (extra, field) in [
        ("&cip=10.0.0", "cip"),
        ("&cdt=2026-11-27%2009%3A59%3A59", "cdt"),
        ("&cdt=2026-11-29%2011%3A00%3A00", "cdt"),
        ("&cdt=gisteren", "cdt"),
    ] {
        let err =
            decode_matomo_request(&format!("{base}{extra}"), &ctx(), &sites()).expect_err(extra);
        assert!(
            matches!(err, MatomoError::Invalid { field: f, .. } if f == field),
            "{extra}: {err}"
        );
    }
}

#[test]
fn a_bulk_token_covers_its_requests() {
    let body = serde_json::json!({
        "requests": ["?idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&cip=192.0.2.9"],
        "token_auth": "bulk-token"
    });
    let decoded = decode_matomo_bulk(body.to_string().as_bytes(), &ctx(), &sites()).unwrap();
    assert_eq!(
        decoded.requests[0].claims.as_ref().unwrap().token,
        "bulk-token"
    );
}
