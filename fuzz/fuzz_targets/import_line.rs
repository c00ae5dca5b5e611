//! One NDJSON line of `luister import`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &str| {
    let _ = luister_ingest::import_line::decode_import_line(line);
});
