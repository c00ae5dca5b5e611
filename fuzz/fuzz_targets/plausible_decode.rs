//! Plausible Events API bodies: decoding never panics, whatever arrives.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luister_ingest::decode::{decode_plausible, RequestContext};

fuzz_target!(|body: &[u8]| {
    let ctx = RequestContext {
        received_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        ip: Some("192.0.2.1".parse().unwrap()),
        user_agent: "Mozilla/5.0".into(),
    };
    let _ = decode_plausible(body, &ctx);
});
