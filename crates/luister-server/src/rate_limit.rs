//! Rate limits: token buckets per client (the collector; failed sign-ins everywhere) and
//! per site (the collector).
//!
//! Clients are keyed by a SipHash of their address under a key made at start and never
//! stored, so the limiter's memory holds no address. The number of buckets is bounded:
//! past [`MAX_BUCKETS`] per shard, full buckets (clients at rest) are forgotten first.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Buckets per shard before idle ones are forgotten.
const MAX_BUCKETS: usize = 4_096;

/// One limit: `per_second` on average, bursts up to `burst`. A rate of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub const OFF: Rate = Rate {
        per_second: 0.0,
        burst: 0.0,
    };

    /// `per_second` on average, with bursts of ten seconds' worth.
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: (per_second * 10.0).max(1.0),
        }
    }

    fn is_off(&self) -> bool {
        self.per_second <= 0.0
    }
}

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Events one client address may send to the collector.
    pub collector_per_client: Rate,
    /// Events one site may receive.
    pub collector_per_site: Rate,
    /// Failed authentications one client address may make.
    pub auth_failures_per_client: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            collector_per_client: Rate::per_second(50.0),
            collector_per_site: Rate::per_second(50_000.0),
            auth_failures_per_client: Rate {
                per_second: 0.2,
                burst: 10.0,
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets for one limit.
pub struct RateLimiter {
    rate: Rate,
    key: (u64, u64),
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            key: (rand::random(), rand::random()),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Takes `cost` tokens for `subject`; `Err(wait)` when there are not enough.
    pub fn take(&self, subject: &impl Hash, cost: f64, now: Instant) -> Result<(), Duration> {
        if self.rate.is_off() {
            return Ok(());
        }
        let key = self.hash(subject);
        let mut shard = self.shards[(key % SHARDS as u64) as usize].lock();
        if shard.len() >= MAX_BUCKETS && !shard.contains_key(&key) {
            self.forget_rested(&mut shard, now);
        }
        let bucket = shard.entry(key).or_insert(Bucket {
            tokens: self.rate.burst,
            updated: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            let missing = cost - bucket.tokens;
            Err(Duration::from_secs_f64(missing / self.rate.per_second))
        }
    }

    /// `Err(wait)` when `subject` has no token left, without taking one.
    pub fn check(&self, subject: &impl Hash, now: Instant) -> Result<(), Duration> {
        if self.rate.is_off() {
            return Ok(());
        }
        let key = self.hash(subject);
        let mut shard = self.shards[(key % SHARDS as u64) as usize].lock();
        match shard.get_mut(&key) {
            Some(bucket) => {
                self.refill(bucket, now);
                if bucket.tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(Duration::from_secs_f64(
                        (1.0 - bucket.tokens) / self.rate.per_second,
                    ))
                }
            }
            None => Ok(()),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        bucket.updated = now;
    }

    /// Forgets buckets that have refilled (their clients are at rest); if none has, the
    /// oldest half.
    fn forget_rested(&self, shard: &mut HashMap<u64, Bucket>, now: Instant) {
        let full_after = Duration::from_secs_f64(self.rate.burst / self.rate.per_second);
        shard.retain(|_, b| now.saturating_duration_since(b.updated) < full_after);
        if shard.len() >= MAX_BUCKETS {
            let mut times: Vec<Instant> = shard.values().map(|b| b.updated).collect();
            let middle = times.len() / 2;
            let (_, cut, _) = times.select_nth_unstable(middle);
            let cut = *cut;
            shard.retain(|_, b| b.updated > cut);
        }
    }

    fn hash(&self, subject: &impl Hash) -> u64 {
        let mut hasher = siphasher::sip::SipHasher13::new_with_keys(self.key.0, self.key.1);
        subject.hash(&mut hasher);
        hasher.finish()
    }
}

/// The limiters of one server.
pub struct Limiters {
    pub collector_client: RateLimiter,
    pub collector_site: RateLimiter,
    pub auth_failures: RateLimiter,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            collector_client: RateLimiter::new(limits.collector_per_client),
            collector_site: RateLimiter::new(limits.collector_per_site),
            auth_failures: RateLimiter::new(limits.auth_failures_per_client),
        }
    }
}

/// The subject for a client: its address, or one shared key for requests without one.
pub fn client_key(ip: Option<IpAddr>) -> IpAddr {
    ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Whole seconds for `Retry-After`, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_the_average_rate() {
        let limiter = RateLimiter::new(Rate {
            per_second: 2.0,
            burst: 5.0,
        });
        let start = Instant::now();
        for _ in 0..5 {
            assert!(limiter.take(&"a", 1.0, start).is_ok());
        }
        let wait = limiter.take(&"a", 1.0, start).unwrap_err();
        assert_eq!(retry_after_secs(wait), 1);
        assert!(limiter.take(&"b", 1.0, start).is_ok(), "another client");
        let later = start + Duration::from_millis(500);
        assert!(limiter.take(&"a", 1.0, later).is_ok(), "refilled one");
        assert!(limiter.take(&"a", 1.0, later).is_err());
        assert!(RateLimiter::new(Rate::OFF).take(&"a", 1e9, start).is_ok());
    }

    #[test]
    fn memory_stays_bounded_under_many_clients() {
        let limiter = RateLimiter::new(Rate::per_second(1.0));
        let start = Instant::now();
        for i in 0..200_000u32 {
            let _ = limiter.take(&i, 1.0, start + Duration::from_micros(i.into()));
        }
        let buckets: usize = limiter.shards.iter().map(|s| s.lock().len()).sum();
        assert!(buckets <= SHARDS * MAX_BUCKETS, "{buckets}");
    }
}
