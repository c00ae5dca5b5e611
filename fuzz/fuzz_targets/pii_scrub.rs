//! The personal-data scrubber: never panics, and a second pass changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luister_ingest::enrich::pii::{normalize_search_term, scrub};

fuzz_target!(|text: &str| {
    let once = scrub(text).into_owned();
    assert_eq!(scrub(&once), once, "scrubbing is not idempotent");
    let term = normalize_search_term(text);
    assert_eq!(normalize_search_term(&term), term, "normalising is not idempotent");
});
