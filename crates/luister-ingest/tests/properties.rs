//! Properties that must hold for every input, checked on generated ones: decoding never
//! panics, and scrubbing personal data is idempotent (so it leaves no match behind).

use chrono::{DateTime, Utc};
use luister_ingest::access_log;
use luister_ingest::decode::{decode_plausible, RequestContext};
use luister_ingest::enrich::pii::{normalize_search_term, scrub};
use luister_ingest::matomo::{decode_matomo, decode_matomo_bulk};
use luister_ingest::validate::SiteRegistry;
use luister_model::Site;
use proptest::prelude::*;

fn ctx() -> RequestContext {
    RequestContext {
        received_at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        ip: Some("192.0.2.1".parse().unwrap()),
        user_agent: "Mozilla/5.0".into(),
    }
}

/// Text made of the pieces personal data and its near misses are made of.
fn pii_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("jan@example.nl".to_string()),
        Just("NL91ABNA0417164300".to_string()),
        Just("111222333".to_string()),
        Just("06-12345678".to_string()),
        Just("+31 6 1234 5678".to_string()),
        Just("7511 JN 12".to_string()),
        Just("%40".to_string()),
        Just("[email]".to_string()),
        "[0-9]{1,12}",
        "[a-zA-Z@.%+ -]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.join(""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn scrubbing_is_idempotent(text in pii_like()) {
        let once = scrub(&text).into_owned();
        let twice = scrub(&once).into_owned();
        prop_assert_eq!(&twice, &once, "a second pass found more in {:?}", text);
    }

    #[test]
    fn personal_data_between_words_never_survives(words in prop::collection::vec(
        prop_oneof![
            Just("jan@example.nl"), Just("NL91ABNA0417164300"), Just("111222333"),
            Just("0612345678"), Just("7511 JN 12"), Just("schuldhulp"), Just("paspoort"), Just("2026"),
        ],
        0..10,
    )) {
        let text = words.join(" ");
        let scrubbed = scrub(&text).into_owned();
        for personal in ["jan@example.nl", "NL91ABNA0417164300", "111222333", "0612345678", "7511 JN 12"] {
            prop_assert!(!scrubbed.contains(personal), "{:?} left in {:?}", personal, scrubbed);
        }
    }

    #[test]
    fn search_terms_normalise_to_a_fixed_point(text in pii_like()) {
        let term = normalize_search_term(&text);
        prop_assert_eq!(normalize_search_term(&term), term.clone());
        prop_assert!(term.len() <= 500);
    }

    #[test]
    fn plausible_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_plausible(&body, &ctx());
    }

    #[test]
    fn plausible_shaped_json_never_panics(
        name in any::<String>(), url in pii_like(), domain in "[a-z.,]{0,40}", props in any::<String>()
    ) {
        let body = serde_json::json!({"n": name, "u": url, "d": domain, "p": props, "sd": -5, "e": 1e300});
        let _ = decode_plausible(body.to_string().as_bytes(), &ctx());
    }

    #[test]
    fn matomo_requests_never_panic(query in "[a-z_=&%0-9A-F?.:/]{0,200}", body in any::<String>()) {
        let mut site = Site::new("enschede.nl");
        site.matomo_id = 1;
        let sites = SiteRegistry::new([site]);
        let _ = decode_matomo(&format!("idsite=1&rec=1&{query}"), &ctx(), &sites);
        let _ = decode_matomo_bulk(body.as_bytes(), &ctx(), &sites);
        let bulk = serde_json::json!({"requests": [format!("?idsite=1&rec=1&{query}"), {"idsite": 1, "rec": 1, "url": query}]});
        let _ = decode_matomo_bulk(bulk.to_string().as_bytes(), &ctx(), &sites);
    }

    #[test]
    fn access_log_lines_never_panic(
        head in "[a-z.:0-9 -]{0,30}", request in any::<String>(), tail in any::<String>(), status in 0u32..1000
    ) {
        let line = format!("{head} 203.0.113.9 - - [02/Nov/2026:10:15:00 +0100] \"{request}\" {status} 1 \"{tail}\" \"{tail}\"");
        let _ = access_log::decode_line(&line, Some("enschede.nl"));
        let _ = access_log::decode_line(&line, None);
        let _ = access_log::parse_line(&tail);
    }
}
