//! Query parameters of the stats API: periods, dates, filters, metrics, properties.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luister_model::Site;
use luister_query::params::{aggregate, breakdown, timeseries, Params};

fuzz_target!(|input: &str| {
    let mut params = Params::new();
    for (i, part) in input.split('&').take(8).enumerate() {
        let (key, value) = part.split_once('=').unwrap_or((["period", "date", "filters", "metrics", "property", "interval", "limit", "compare"][i % 8], part));
        params.insert(key.into(), value.into());
    }
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let _ = aggregate(Site::new("enschede.nl"), &params, now);
    let _ = timeseries(Site::new("enschede.nl"), &params, now);
    let _ = breakdown(Site::new("enschede.nl"), &params, now);
    let _ = luister_query::filter::parse_filters("filters", input);
});
