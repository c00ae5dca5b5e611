//! Server-side dashboard sessions: the browser holds only a random 256-bit id in an
//! HttpOnly cookie; what it stands for lives here, in memory, keyed by the id's hash.
//!
//! Sessions end after `idle` without a request, after `max_age` in any case, on sign-out,
//! and when their user is removed (the user is looked up again on every request). A
//! restart signs everyone out: acceptable for a dashboard, and nothing to leak on disk.

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A dashboard user, by e-mail.
    User(String),
    /// A visitor who opened a password-protected share link (its id).
    ShareLink(String),
    /// A user whose password was right and whose second factor is still to come.
    SecondFactor(String),
    /// An admin who must set up two-factor sign-in before anything else.
    Enrolling(String),
}

#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// What a valid session grants: its principal and the CSRF token its forms must carry.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub principal: Principal,
    pub csrf: String,
}

/// Live sessions.
pub struct SessionStore {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    max_age: Duration,
}

/// At most this many sessions; the oldest go first (a flood of sign-ins cannot fill memory).
const MAX_SESSIONS: usize = 100_000;

fn key(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

/// 256 random bits as 64 hex characters.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SessionStore {
    pub fn new(idle: Duration, max_age: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            idle,
            max_age,
        }
    }

    /// Starts a session; returns the cookie value (shown once, never stored).
    pub fn create(&self, principal: Principal) -> String {
        let cookie = random_token();
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        if sessions.len() >= MAX_SESSIONS {
            self.expire(&mut sessions, now);
            if sessions.len() >= MAX_SESSIONS {
                if let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| *k)
                {
                    sessions.remove(&oldest);
                }
            }
        }
        sessions.insert(
            key(&cookie),
            Session {
                principal,
                csrf: random_token(),
                created: now,
                last_seen: now,
            },
        );
        cookie
    }

    /// The grant of a live session, which counts as activity.
    pub fn get(&self, cookie: &str) -> Option<SessionGrant> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        let k = key(cookie);
        let session = sessions.get_mut(&k)?;
        if now.duration_since(session.last_seen) > self.idle
            || now.duration_since(session.created) > self.max_age
        {
            sessions.remove(&k);
            return None;
        }
        session.last_seen = now;
        Some(SessionGrant {
            principal: session.principal.clone(),
            csrf: session.csrf.clone(),
        })
    }

    /// Ends a session (sign-out).
    pub fn remove(&self, cookie: &str) {
        self.sessions.lock().remove(&key(cookie));
    }

    /// Ends every session of a principal (a removed user, a revoked link).
    pub fn remove_principal(&self, principal: &Principal) {
        self.sessions
            .lock()
            .retain(|_, s| &s.principal != principal);
    }

    fn expire(&self, sessions: &mut HashMap<[u8; 32], Session>, now: Instant) {
        sessions.retain(|_, s| {
            now.duration_since(s.last_seen) <= self.idle
                && now.duration_since(s.created) <= self.max_age
        });
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_idle_or_removed() {
        let store = SessionStore::new(Duration::from_millis(50), Duration::from_secs(60));
        let cookie = store.create(Principal::User("a@x.nl".into()));
        let grant = store.get(&cookie).expect("live");
        assert_eq!(grant.principal, Principal::User("a@x.nl".into()));
        assert_eq!(grant.csrf.len(), 64);
        assert!(store.get("not-a-session").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(store.get(&cookie).is_none(), "idle session ended");
        let cookie = store.create(Principal::User("a@x.nl".into()));
        store.remove_principal(&Principal::User("a@x.nl".into()));
        assert!(store.get(&cookie).is_none());
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
