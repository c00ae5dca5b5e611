//! Cookieless visitor ids: a keyed hash of (salt of the period, site, IP, User-Agent).
//!
//! The salt changes every UTC day (or week, per site), so the same person gets an
//! unrelated id the next period, and once a salt is deleted nobody can recompute
//! which id belonged to which IP. This module only hashes; who keeps the salts is
//! behind [`SaltSource`].

use chrono::{Datelike, NaiveDate};
use luister_model::SaltRotation;
use parking_lot::{Mutex, RwLock};
use siphasher::sip::SipHasher13;
use std::collections::HashMap;
use std::hash::Hasher;
use std::net::IpAddr;

/// A 128-bit SipHash key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaltKey {
    pub k0: u64,
    pub k1: u64,
}

/// First day of the salt period that contains `date`.
pub fn period_start(rotation: SaltRotation, date: NaiveDate) -> NaiveDate {
    match rotation {
        SaltRotation::Daily => date,
        SaltRotation::Weekly => {
            date - chrono::Days::new(date.weekday().num_days_from_monday().into())
        }
    }
}

/// First day of the period before the one that contains `date`.
pub fn previous_period_start(rotation: SaltRotation, date: NaiveDate) -> NaiveDate {
    let days = match rotation {
        SaltRotation::Daily => 1,
        SaltRotation::Weekly => 7,
    };
    period_start(rotation, date) - chrono::Days::new(days)
}

/// Who holds the salts: ClickHouse-backed for live traffic, throwaway for an import.
pub trait SaltSource: Send + Sync {
    fn salt(&self, rotation: SaltRotation, period_start: NaiveDate) -> Option<SaltKey>;
}

/// The visitor id of (site, ip, user agent) under `key`.
pub fn visitor_id(key: SaltKey, site: &str, ip: Option<IpAddr>, user_agent: &str) -> u64 {
    let mut hasher = SipHasher13::new_with_keys(key.k0, key.k1);
    hasher.write(site.as_bytes());
    hasher.write_u8(0xff);
    match ip {
        Some(IpAddr::V4(v4)) => hasher.write(&v4.octets()),
        Some(IpAddr::V6(v6)) => hasher.write(&v6.octets()),
        None => hasher.write_u8(0),
    }
    hasher.write_u8(0xff);
    hasher.write(user_agent.as_bytes());
    // 0 is reserved for "no visitor"; map it away.
    hasher.finish().max(1)
}

/// Salts that a live collector refreshed from the database; read on every event.
#[derive(Default)]
pub struct SharedSalts {
    keys: RwLock<HashMap<(SaltRotation, NaiveDate), SaltKey>>,
}

impl SharedSalts {
    /// Replaces the known salts with exactly `keys` (deleted salts disappear here too).
    pub fn replace(&self, keys: impl IntoIterator<Item = ((SaltRotation, NaiveDate), SaltKey)>) {
        *self.keys.write() = keys.into_iter().collect();
    }

    pub fn len(&self) -> usize {
        self.keys.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SaltSource for SharedSalts {
    fn salt(&self, rotation: SaltRotation, period_start: NaiveDate) -> Option<SaltKey> {
        self.keys.read().get(&(rotation, period_start)).copied()
    }
}

/// One fresh random salt per period seen, forgotten when dropped: what an import uses,
/// so the same person on two days of imported history counts as two visitors.
#[derive(Default)]
pub struct EphemeralSalts {
    keys: Mutex<HashMap<(SaltRotation, NaiveDate), SaltKey>>,
}

impl SaltSource for EphemeralSalts {
    fn salt(&self, rotation: SaltRotation, period_start: NaiveDate) -> Option<SaltKey> {
        let mut keys = self.keys.lock();
        Some(
            *keys
                .entry((rotation, period_start))
                .or_insert_with(|| SaltKey {
                    k0: rand::random(),
                    k1: rand::random(),
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SaltKey = SaltKey { k0: 1, k1: 2 };

    #[test]
    fn same_inputs_same_id_any_change_another() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let base = visitor_id(KEY, "a.nl", Some(ip), "UA");
        assert_eq!(base, visitor_id(KEY, "a.nl", Some(ip), "UA"));
        assert_ne!(base, visitor_id(KEY, "b.nl", Some(ip), "UA"));
        assert_ne!(
            base,
            visitor_id(KEY, "a.nl", Some("192.0.2.2".parse().unwrap()), "UA")
        );
        assert_ne!(base, visitor_id(KEY, "a.nl", Some(ip), "UA2"));
        assert_ne!(
            base,
            visitor_id(SaltKey { k0: 1, k1: 3 }, "a.nl", Some(ip), "UA")
        );
        // Field boundaries matter: ("a.n", "lUA") must not collide with ("a.nl", "UA").
        assert_ne!(
            visitor_id(KEY, "a.n", None, "lUA"),
            visitor_id(KEY, "a.nl", None, "UA")
        );
    }

    #[test]
    fn periods() {
        let wed = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let mon = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(period_start(SaltRotation::Daily, wed), wed);
        assert_eq!(period_start(SaltRotation::Weekly, wed), mon);
        assert_eq!(period_start(SaltRotation::Weekly, mon), mon);
        assert_eq!(
            previous_period_start(SaltRotation::Weekly, wed),
            mon - chrono::Days::new(7)
        );
        assert_eq!(
            previous_period_start(SaltRotation::Daily, wed),
            wed - chrono::Days::new(1)
        );
    }

    #[test]
    fn ephemeral_salts_are_stable_within_and_differ_across_periods() {
        let salts = EphemeralSalts::default();
        let d1 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let a = salts.salt(SaltRotation::Daily, d1);
        assert_eq!(a, salts.salt(SaltRotation::Daily, d1));
        assert_ne!(a, salts.salt(SaltRotation::Daily, d2));
    }
}
