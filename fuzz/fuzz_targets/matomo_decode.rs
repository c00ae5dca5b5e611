//! Matomo tracking requests, single (query string or form body) and bulk (JSON).
#![no_main]
use libfuzzer_sys::fuzz_target;
use luister_ingest::decode::RequestContext;
use luister_ingest::matomo::{decode_matomo, decode_matomo_bulk, is_bulk_body, wants_image};
use luister_ingest::validate::SiteRegistry;
use luister_model::Site;

fuzz_target!(|body: &[u8]| {
    let ctx = RequestContext {
        received_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        ip: Some("192.0.2.1".parse().unwrap()),
        user_agent: "Mozilla/5.0".into(),
    };
    let mut site = Site::new("enschede.nl");
    site.matomo_id = 1;
    let sites = SiteRegistry::new([site]);
    if is_bulk_body(body) {
        let _ = decode_matomo_bulk(body, &ctx, &sites);
    } else if let Ok(query) = std::str::from_utf8(body) {
        let _ = wants_image(query);
        let _ = decode_matomo(query, &ctx, &sites);
    }
});
