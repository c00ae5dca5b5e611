//! A site added while the server runs takes events at once: an event for a domain the
//! collector does not know makes it look the domain up in ClickHouse (and reload the site
//! list when it is there), instead of answering "unknown site" until the next refresh.
//!
//! Misses are remembered for a few seconds per domain, and lookups are capped per second
//! overall, so a flood of made-up domains costs ClickHouse almost nothing.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a domain that ClickHouse did not know is not asked about again.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Lookups per second at most, whatever the domains.
const LOOKUPS_PER_SECOND: u32 = 20;
/// Remembered misses at most (the map is cleared when full).
const MAX_MISSES: usize = 10_000;

#[derive(Default)]
struct State {
    misses: HashMap<String, Instant>,
    second_started: Option<Instant>,
    lookups_this_second: u32,
}

/// Which unknown domains may be looked up now.
#[derive(Default)]
pub(crate) struct SiteMisses {
    state: Mutex<State>,
}

impl SiteMisses {
    /// Whether `domain` may be looked up now; counts the lookup when it may.
    pub(crate) fn may_look_up(&self, domain: &str) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock();
        if state
            .misses
            .get(domain)
            .is_some_and(|at| now.duration_since(*at) < NEGATIVE_TTL)
        {
            return false;
        }
        let new_second = state
            .second_started
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1));
        if new_second {
            state.second_started = Some(now);
            state.lookups_this_second = 0;
        }
        if state.lookups_this_second >= LOOKUPS_PER_SECOND {
            return false;
        }
        state.lookups_this_second += 1;
        true
    }

    /// Remembers that ClickHouse does not know `domain`.
    pub(crate) fn missed(&self, domain: &str) {
        let mut state = self.state.lock();
        if state.misses.len() >= MAX_MISSES {
            state.misses.clear();
        }
        state.misses.insert(domain.to_string(), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_are_remembered_and_lookups_capped() {
        let misses = SiteMisses::default();
        assert!(misses.may_look_up("nieuw.nl"));
        misses.missed("nieuw.nl");
        assert!(
            !misses.may_look_up("nieuw.nl"),
            "a recent miss is not asked again"
        );
        let allowed = (0..100)
            .filter(|i| misses.may_look_up(&format!("verzonnen{i}.nl")))
            .count();
        assert_eq!(allowed as u32, LOOKUPS_PER_SECOND - 1);
    }
}
