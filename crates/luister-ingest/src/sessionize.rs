//! Sessions: the same visitor with less than 30 minutes since their last event.
//!
//! Kept in memory per collector (a load balancer that hashes on client IP keeps a
//! visitor on one collector); seeded from ClickHouse after a restart so a restart
//! does not split running sessions.

use parking_lot::Mutex;
use std::collections::HashMap;

/// Inactivity after which the next event starts a new visit.
pub const SESSION_TIMEOUT_SECS: u32 = 30 * 60;
const SHARDS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct OpenSession {
    session_id: u64,
    last_seen: u32,
}

/// Assigns session ids to visitors' events.
pub struct Sessionizer {
    shards: Vec<Mutex<HashMap<u64, OpenSession>>>,
}

impl Default for Sessionizer {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

/// Which visitor id an event keeps, and its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub visitor_id: u64,
    pub session_id: u64,
}

impl Sessionizer {
    fn shard(&self, visitor_id: u64) -> &Mutex<HashMap<u64, OpenSession>> {
        &self.shards[(visitor_id % SHARDS as u64) as usize]
    }

    /// The session of an event at `timestamp` (Unix seconds).
    ///
    /// `previous_id` is the visitor's id under the previous salt: a visit that was
    /// open when the salt rotated continues under that id instead of being split.
    pub fn assign(&self, visitor_id: u64, previous_id: Option<u64>, timestamp: u32) -> Assigned {
        if let Some(previous) = previous_id.filter(|p| *p != visitor_id) {
            let mut shard = self.shard(previous).lock();
            if let Some(open) = shard.get_mut(&previous) {
                if is_continuation(open.last_seen, timestamp) {
                    open.last_seen = open.last_seen.max(timestamp);
                    return Assigned {
                        visitor_id: previous,
                        session_id: open.session_id,
                    };
                }
            }
        }
        let mut shard = self.shard(visitor_id).lock();
        let open = shard.entry(visitor_id).or_insert_with(|| OpenSession {
            session_id: new_session_id(),
            last_seen: timestamp,
        });
        if !is_continuation(open.last_seen, timestamp) {
            open.session_id = new_session_id();
            open.last_seen = timestamp;
        }
        open.last_seen = open.last_seen.max(timestamp);
        Assigned {
            visitor_id,
            session_id: open.session_id,
        }
    }

    /// Registers a session known from storage (after a restart).
    pub fn seed(&self, visitor_id: u64, session_id: u64, last_seen: u32) {
        let mut shard = self.shard(visitor_id).lock();
        let entry = shard.entry(visitor_id).or_insert(OpenSession {
            session_id,
            last_seen,
        });
        if last_seen >= entry.last_seen {
            *entry = OpenSession {
                session_id,
                last_seen,
            };
        }
    }

    /// Forgets sessions idle since before `now - timeout`, so memory follows live traffic.
    pub fn prune(&self, now: u32) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock();
            let before = shard.len();
            shard.retain(|_, s| now.saturating_sub(s.last_seen) < SESSION_TIMEOUT_SECS);
            removed += before - shard.len();
        }
        removed
    }

    pub fn open_sessions(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

/// An event within the timeout of the last one (either side, for imports out of order).
fn is_continuation(last_seen: u32, timestamp: u32) -> bool {
    timestamp.abs_diff(last_seen) < SESSION_TIMEOUT_SECS
}

fn new_session_id() -> u64 {
    rand::random::<u64>().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_of_thirty_minutes_starts_a_new_session() {
        let s = Sessionizer::default();
        let a = s.assign(7, None, 1000);
        assert_eq!(s.assign(7, None, 1000 + 29 * 60), a);
        // 29 minutes after the previous *event*, not the first one.
        assert_eq!(s.assign(7, None, 1000 + 58 * 60), a);
        let b = s.assign(7, None, 1000 + 58 * 60 + 31 * 60);
        assert_ne!(a.session_id, b.session_id);
        assert_ne!(s.assign(8, None, 1000).session_id, b.session_id);
    }

    #[test]
    fn session_open_at_salt_rotation_continues_under_previous_id() {
        let s = Sessionizer::default();
        let before = s.assign(100, None, 86_400 - 60);
        let after = s.assign(200, Some(100), 86_400 + 60);
        assert_eq!(after, before);
        // Once that session has expired, the new id takes over.
        let later = s.assign(200, Some(100), 86_400 + 3_600);
        assert_eq!(later.visitor_id, 200);
        assert_ne!(later.session_id, before.session_id);
    }

    #[test]
    fn seed_and_prune() {
        let s = Sessionizer::default();
        s.seed(5, 42, 10_000);
        assert_eq!(s.assign(5, None, 10_100).session_id, 42);
        assert_eq!(s.prune(10_100 + SESSION_TIMEOUT_SECS), 1);
        assert_eq!(s.open_sessions(), 0);
    }
}
