//! Page URLs and referrers: parsing, query-string stripping, classification.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luister_ingest::enrich::page_url::{link_without_query, parse_page_url};
use luister_ingest::enrich::ReferrerClassifier;
use luister_model::Site;
use std::sync::OnceLock;

fuzz_target!(|input: &str| {
    static REFERRERS: OnceLock<ReferrerClassifier> = OnceLock::new();
    let referrers = REFERRERS.get_or_init(ReferrerClassifier::built_in);
    let mut site = Site::new("enschede.nl");
    site.allowed_params = vec!["id".into()];
    let (url, referrer) = input.split_once('\n').unwrap_or((input, input));
    if let Ok(page) = parse_page_url(url, &site, true) {
        let _ = referrers.classify_page(referrer, &page, &site);
        assert!(!page.pathname.is_empty());
    }
    let _ = parse_page_url(url, &site, false);
    let _ = referrers.classify(referrer, "", "", &site);
    let _ = link_without_query(url);
});
