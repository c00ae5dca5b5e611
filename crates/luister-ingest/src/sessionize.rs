//! Sessions: the same visitor with less than 30 minutes since their last event.
//!
//! Kept in memory per collector (a load balancer that hashes on client IP keeps a
//! visitor on one collector); seeded from ClickHouse after a restart so a restart
//! does not split running sessions. Besides the id, each open visit keeps its
//! [`SessionRecord`], so every event yields the row changes of the `sessions` table.

use luister_model::{EventRecord, SessionRecord};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Inactivity after which the next event starts a new visit.
pub const SESSION_TIMEOUT_SECS: u32 = 30 * 60;
const SHARDS: usize = 64;

#[derive(Debug, Clone)]
struct OpenSession {
    session_id: u64,
    last_seen: u32,
    /// The visit as last written to the `sessions` table.
    state: Option<SessionRecord>,
}

/// Engagement reports describe a pageview already counted; they neither extend nor open a visit.
fn extends_visit(name: &str) -> bool {
    name != "engagement"
}

/// How many open visits a collector keeps in memory at most. A flood of new clients
/// (every address/User-Agent pair opens a visit) must not grow memory without bound: past
/// the cap the visits idle the longest are forgotten (counted in [`Sessionizer::evicted`]);
/// their next event starts a new visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitLimits {
    pub max_open_visits: usize,
    /// Estimated heap bytes of the open visits (their stored texts dominate).
    pub max_bytes: usize,
}

impl Default for VisitLimits {
    fn default() -> Self {
        Self {
            max_open_visits: 200_000,
            max_bytes: 96 << 20,
        }
    }
}

#[derive(Default)]
struct Shard {
    visits: HashMap<u64, OpenSession>,
    bytes: usize,
}

impl Shard {
    fn insert(&mut self, visitor_id: u64, open: OpenSession) {
        self.bytes += open.bytes();
        if let Some(old) = self.visits.insert(visitor_id, open) {
            self.bytes = self.bytes.saturating_sub(old.bytes());
        }
    }

    /// Forgets the longest-idle eighth of the visits while over a limit; returns how many.
    fn evict_over(&mut self, max_visits: usize, max_bytes: usize) -> usize {
        let mut evicted = 0;
        while !self.visits.is_empty() && (self.visits.len() > max_visits || self.bytes > max_bytes)
        {
            let mut seen: Vec<u32> = self.visits.values().map(|v| v.last_seen).collect();
            let cut = seen.len() / 8;
            let (_, threshold, _) = seen.select_nth_unstable(cut);
            let threshold = *threshold;
            let before = self.visits.len();
            self.visits.retain(|_, v| v.last_seen > threshold);
            self.bytes = self.visits.values().map(OpenSession::bytes).sum();
            evicted += before - self.visits.len();
        }
        evicted
    }
}

impl OpenSession {
    /// Rough heap size: the struct plus the texts of its visit row.
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + 48 + self.state.as_ref().map_or(0, SessionRecord::text_bytes)
    }
}

/// Assigns session ids to visitors' events.
pub struct Sessionizer {
    shards: Vec<Mutex<Shard>>,
    limits: VisitLimits,
    evicted: AtomicU64,
}

impl Default for Sessionizer {
    fn default() -> Self {
        Self::with_limits(VisitLimits::default())
    }
}

/// Which visitor id an event keeps, and its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub visitor_id: u64,
    pub session_id: u64,
}

impl Sessionizer {
    pub fn with_limits(limits: VisitLimits) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            limits,
            evicted: AtomicU64::new(0),
        }
    }

    fn shard(&self, visitor_id: u64) -> &Mutex<Shard> {
        &self.shards[(visitor_id % SHARDS as u64) as usize]
    }

    /// Open visits forgotten because of [`VisitLimits`] since start.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    fn keep_within_limits(&self, shard: &mut Shard) {
        let max_visits = (self.limits.max_open_visits / SHARDS).max(1);
        let max_bytes = (self.limits.max_bytes / SHARDS).max(1);
        let evicted = shard.evict_over(max_visits, max_bytes);
        if evicted > 0 {
            self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        }
    }

    /// The session of an event at `timestamp` (Unix seconds) named `name`.
    ///
    /// `previous_id` is the visitor's id under the previous salt: a visit that was
    /// open when the salt rotated continues under that id instead of being split.
    pub fn assign(
        &self,
        visitor_id: u64,
        previous_id: Option<u64>,
        timestamp: u32,
        name: &str,
    ) -> Assigned {
        let extends = extends_visit(name);
        if let Some(previous) = previous_id.filter(|p| *p != visitor_id) {
            let mut shard = self.shard(previous).lock();
            if let Some(open) = shard.visits.get_mut(&previous) {
                if is_continuation(open.last_seen, timestamp) {
                    if extends {
                        open.last_seen = open.last_seen.max(timestamp);
                    }
                    return Assigned {
                        visitor_id: previous,
                        session_id: open.session_id,
                    };
                }
            }
        }
        let mut shard = self.shard(visitor_id).lock();
        match shard.visits.get_mut(&visitor_id) {
            Some(open) if is_continuation(open.last_seen, timestamp) => {
                if extends {
                    open.last_seen = open.last_seen.max(timestamp);
                }
                Assigned {
                    visitor_id,
                    session_id: open.session_id,
                }
            }
            _ if !extends => Assigned {
                visitor_id,
                session_id: new_session_id(),
            },
            _ => {
                let session_id = new_session_id();
                shard.insert(
                    visitor_id,
                    OpenSession {
                        session_id,
                        last_seen: timestamp,
                        state: None,
                    },
                );
                self.keep_within_limits(&mut shard);
                Assigned {
                    visitor_id,
                    session_id,
                }
            }
        }
    }

    /// Folds a stored event into its visit; returns the `sessions` rows to write:
    /// the cancelled earlier state (if any) and the new one.
    pub fn record(&self, event: &EventRecord) -> Vec<SessionRecord> {
        if !extends_visit(&event.name) {
            return Vec::new();
        }
        let mut guard = self.shard(event.visitor_id).lock();
        let shard = &mut *guard;
        let Some(open) = shard
            .visits
            .get_mut(&event.visitor_id)
            .filter(|o| o.session_id == event.session_id)
        else {
            return Vec::new();
        };
        let next = match &open.state {
            Some(before) => fold(before, event),
            None => first_state(event),
        };
        let size_before = open.bytes();
        let rows = match open.state.replace(next.clone()) {
            Some(before) => vec![before.cancelled(), next],
            None => vec![next],
        };
        shard.bytes = (shard.bytes + open.bytes()).saturating_sub(size_before);
        self.keep_within_limits(shard);
        rows
    }

    /// Registers a visit known from storage (after a restart).
    pub fn seed(&self, state: SessionRecord) {
        let mut shard = self.shard(state.visitor_id).lock();
        let newer = shard
            .visits
            .get(&state.visitor_id)
            .is_none_or(|open| state.ended_at >= open.last_seen);
        if newer {
            let visitor_id = state.visitor_id;
            let open = OpenSession {
                session_id: state.session_id,
                last_seen: state.ended_at,
                state: Some(state),
            };
            shard.insert(visitor_id, open);
            self.keep_within_limits(&mut shard);
        }
    }

    /// Forgets sessions idle since before `now - timeout`, so memory follows live traffic.
    pub fn prune(&self, now: u32) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock();
            let before = shard.visits.len();
            shard
                .visits
                .retain(|_, s| now.saturating_sub(s.last_seen) < SESSION_TIMEOUT_SECS);
            shard.bytes = shard.visits.values().map(OpenSession::bytes).sum();
            removed += before - shard.visits.len();
        }
        removed
    }

    pub fn open_sessions(&self) -> usize {
        self.shards.iter().map(|s| s.lock().visits.len()).sum()
    }

    /// Estimated heap bytes of the open visits.
    pub fn open_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().bytes).sum()
    }
}

/// An event within the timeout of the last one (either side, for imports out of order).
fn is_continuation(last_seen: u32, timestamp: u32) -> bool {
    timestamp.abs_diff(last_seen) < SESSION_TIMEOUT_SECS
}

fn new_session_id() -> u64 {
    rand::random::<u64>().max(1)
}

/// A visit of one event: its visit properties come from that event.
fn first_state(event: &EventRecord) -> SessionRecord {
    let pageview = event.name == "pageview";
    SessionRecord {
        site_id: event.site_id.clone(),
        session_id: event.session_id,
        visitor_id: event.visitor_id,
        sign: 1,
        event_id: event.event_id,
        started_at: event.timestamp,
        ended_at: event.timestamp,
        pageviews: pageview.into(),
        events: 1,
        interactions: u32::from(!pageview && event.interactive == 1),
        entry_page: if pageview {
            event.pathname.clone()
        } else {
            String::new()
        },
        exit_page: if pageview {
            event.pathname.clone()
        } else {
            String::new()
        },
        hostname: event.hostname.clone(),
        referrer: event.referrer.clone(),
        referrer_source: event.referrer_source.clone(),
        channel: event.channel.clone(),
        utm_source: event.utm_source.clone(),
        utm_medium: event.utm_medium.clone(),
        utm_campaign: event.utm_campaign.clone(),
        utm_content: event.utm_content.clone(),
        utm_term: event.utm_term.clone(),
        country_code: event.country_code.clone(),
        region: event.region.clone(),
        city: event.city.clone(),
        browser: event.browser.clone(),
        browser_version: event.browser_version.clone(),
        os: event.os.clone(),
        os_version: event.os_version.clone(),
        device: event.device.clone(),
    }
}

/// `before` with `event` added; an event earlier than the visit's start (an import out of
/// order) gives the visit its properties.
fn fold(before: &SessionRecord, event: &EventRecord) -> SessionRecord {
    let single = first_state(event);
    let pageview = event.name == "pageview";
    let earlier = event.timestamp < before.started_at;
    let base = if earlier { &single } else { before };
    let first_pageview = before.entry_page.is_empty() && before.pageviews == 0;
    SessionRecord {
        sign: 1,
        event_id: event.event_id,
        started_at: before.started_at.min(event.timestamp),
        ended_at: before.ended_at.max(event.timestamp),
        pageviews: before.pageviews + single.pageviews,
        events: before.events + 1,
        interactions: before.interactions + single.interactions,
        entry_page: if pageview && (first_pageview || earlier) {
            event.pathname.clone()
        } else {
            before.entry_page.clone()
        },
        exit_page: if pageview && (first_pageview || event.timestamp >= before.ended_at) {
            event.pathname.clone()
        } else {
            before.exit_page.clone()
        },
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PV: &str = "pageview";

    #[test]
    fn gap_of_thirty_minutes_starts_a_new_session() {
        let s = Sessionizer::default();
        let a = s.assign(7, None, 1000, PV);
        assert_eq!(s.assign(7, None, 1000 + 29 * 60, PV), a);
        // 29 minutes after the previous *event*, not the first one.
        assert_eq!(s.assign(7, None, 1000 + 58 * 60, PV), a);
        let b = s.assign(7, None, 1000 + 58 * 60 + 31 * 60, PV);
        assert_ne!(a.session_id, b.session_id);
        assert_ne!(s.assign(8, None, 1000, PV).session_id, b.session_id);
    }

    #[test]
    fn a_flood_of_new_visitors_stays_within_the_limits() {
        let s = Sessionizer::with_limits(VisitLimits {
            max_open_visits: 6_400,
            max_bytes: 64 << 20,
        });
        for visitor in 1..=50_000u64 {
            s.assign(visitor, None, visitor as u32, PV);
        }
        assert!(s.open_sessions() <= 6_400, "{}", s.open_sessions());
        assert_eq!(s.open_sessions() as u64 + s.evicted(), 50_000);
        // The newest visits are kept: the latest visitor's next event continues its visit.
        let latest = s.assign(50_000, None, 50_000, PV);
        assert_eq!(s.assign(50_000, None, 50_010, PV), latest);

        // Long texts count against the byte budget.
        let s = Sessionizer::with_limits(VisitLimits {
            max_open_visits: 1_000_000,
            max_bytes: 64 * 100_000,
        });
        let long_path = format!("/{}", "a".repeat(1_900));
        for visitor in 1..=20_000u64 {
            let assigned = s.assign(visitor, None, visitor as u32, PV);
            s.record(&EventRecord {
                visitor_id: assigned.visitor_id,
                session_id: assigned.session_id,
                timestamp: visitor as u32,
                name: PV.into(),
                pathname: long_path.clone(),
                ..Default::default()
            });
        }
        assert!(s.open_bytes() <= 64 * 100_000, "{}", s.open_bytes());
        assert!(s.evicted() > 15_000, "{}", s.evicted());
    }

    #[test]
    fn session_open_at_salt_rotation_continues_under_previous_id() {
        let s = Sessionizer::default();
        let before = s.assign(100, None, 86_400 - 60, PV);
        let after = s.assign(200, Some(100), 86_400 + 60, PV);
        assert_eq!(after, before);
        // Once that session has expired, the new id takes over.
        let later = s.assign(200, Some(100), 86_400 + 3_600, PV);
        assert_eq!(later.visitor_id, 200);
        assert_ne!(later.session_id, before.session_id);
    }

    #[test]
    fn seed_and_prune() {
        let s = Sessionizer::default();
        s.seed(SessionRecord {
            visitor_id: 5,
            session_id: 42,
            started_at: 9_000,
            ended_at: 10_000,
            ..Default::default()
        });
        assert_eq!(s.assign(5, None, 10_100, PV).session_id, 42);
        assert_eq!(s.prune(10_100 + SESSION_TIMEOUT_SECS), 1);
        assert_eq!(s.open_sessions(), 0);
    }

    fn event(
        s: &Sessionizer,
        ts: u32,
        name: &str,
        path: &str,
    ) -> (EventRecord, Vec<SessionRecord>) {
        let assigned = s.assign(9, None, ts, name);
        let event = EventRecord {
            site_id: "a.nl".into(),
            timestamp: ts,
            event_id: u64::from(ts),
            name: name.into(),
            visitor_id: assigned.visitor_id,
            session_id: assigned.session_id,
            pathname: path.into(),
            referrer_source: format!("source at {ts}"),
            interactive: 1,
            ..Default::default()
        };
        let rows = s.record(&event);
        (event, rows)
    }

    #[test]
    fn each_event_cancels_and_restates_its_visit() {
        let s = Sessionizer::default();
        let (_, first) = event(&s, 1_000, PV, "/a");
        assert_eq!(first.len(), 1);
        assert!(first[0].is_bounce());
        let (_, second) = event(&s, 1_060, PV, "/b");
        assert_eq!(second[0], first[0].cancelled());
        let visit = second[1].clone();
        assert_eq!(
            (visit.pageviews, visit.events, visit.duration()),
            (2, 2, 60)
        );
        assert_eq!(
            (visit.entry_page.as_str(), visit.exit_page.as_str()),
            ("/a", "/b")
        );
        assert_eq!(
            visit.referrer_source, "source at 1000",
            "visit properties come from the first event"
        );
        let (_, third) = event(&s, 1_090, "Aanvraag", "/b");
        assert_eq!(third[1].interactions, 1);
        // Engagement neither changes nor extends the visit.
        let (engagement, none) = event(&s, 1_100, "engagement", "/b");
        assert!(none.is_empty());
        assert_eq!(engagement.session_id, visit.session_id);
        // An imported event earlier than the start becomes the entry and gives the properties.
        let (_, earlier) = event(&s, 900, PV, "/start");
        let latest = &earlier[1];
        assert_eq!(
            (
                latest.started_at,
                latest.entry_page.as_str(),
                latest.exit_page.as_str()
            ),
            (900, "/start", "/b")
        );
        assert_eq!(latest.referrer_source, "source at 900");
        assert_eq!(latest.pageviews, 3);
        // The sum of signs is one visit, whatever was written.
        let rows: Vec<SessionRecord> = [first, second, third, earlier].concat();
        assert_eq!(rows.iter().map(|r| i32::from(r.sign)).sum::<i32>(), 1);
    }
}
