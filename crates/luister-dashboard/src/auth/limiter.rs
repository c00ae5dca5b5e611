//! Sign-in rate limiting with exponential backoff, per account and per client address.
//!
//! Per account five failures are free (typos happen); after that each failure doubles the
//! wait before the next attempt, up to 15 minutes. A success clears the account's count.
//! Per address the allowance is ten times larger, since a whole town hall may sign in
//! through one proxy. Keys are forgotten after an hour without failures.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(3600);
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn wait(&self, free: u32) -> Duration {
        if self.count < free {
            return Duration::ZERO;
        }
        let exp = (self.count - free).min(20);
        Duration::from_secs(1u64 << exp).min(MAX_WAIT)
    }
}

/// Failed sign-ins per key (`email:…`, `ip:…`).
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Failures>>,
    /// Failures a key may have before it waits.
    free: u32,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        Self::with_free_failures(FREE_FAILURES)
    }
}

impl SignInLimiter {
    /// A limiter that lets each key fail `free` times before it waits.
    pub fn with_free_failures(free: u32) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            free,
        }
    }

    /// `Err(wait)` while any of `keys` must still wait before another attempt.
    pub fn check(&self, keys: &[String]) -> Result<(), Duration> {
        let now = Instant::now();
        let failures = self.failures.lock();
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .map(|f| f.wait(self.free).saturating_sub(now.duration_since(f.last)))
            .max()
            .unwrap_or(Duration::ZERO);
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    /// Counts a failed attempt against every key.
    pub fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.failures.lock();
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        for k in keys {
            let entry = failures.entry(k.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) > FORGET_AFTER {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    /// Clears the count of a key after a successful sign-in.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_failures_then_backoff() {
        let limiter = SignInLimiter::default();
        let keys = vec!["email:a@x.nl".to_string()];
        for _ in 0..FREE_FAILURES {
            assert!(limiter.check(&keys).is_ok());
            limiter.failed(&keys);
        }
        let wait = limiter.check(&keys).expect_err("must wait");
        assert!(wait <= Duration::from_secs(1) && !wait.is_zero());
        limiter.failed(&keys);
        assert!(limiter.check(&keys).expect_err("longer") > Duration::from_secs(1));
        limiter.succeeded(&keys[0]);
        assert!(limiter.check(&keys).is_ok());
        assert_eq!(
            Failures {
                count: 60,
                last: Instant::now()
            }
            .wait(FREE_FAILURES),
            MAX_WAIT
        );
    }
}
