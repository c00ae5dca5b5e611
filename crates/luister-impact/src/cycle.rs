//! Review cycles: a site's time cut into periods of a fixed number of weeks from an anchor
//! date, in the site's local days (a cycle over a daylight-saving switch still holds whole
//! local days: the query layer turns them into UTC instants).

use chrono::{Days, NaiveDate};
use luister_store::StoredCycle;
use serde::Serialize;

/// Length and anchor; the default is four weeks from Monday 1 January 2024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CycleSetting {
    pub weeks: u32,
    pub start: NaiveDate,
}

impl Default for CycleSetting {
    fn default() -> Self {
        Self {
            weeks: 4,
            start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("a valid date"),
        }
    }
}

impl CycleSetting {
    pub fn from_stored(stored: Option<StoredCycle>) -> Self {
        stored
            .and_then(|c| {
                Some(Self {
                    weeks: u32::from(c.weeks).max(1),
                    start: NaiveDate::parse_from_str(&c.start_date, "%Y-%m-%d").ok()?,
                })
            })
            .unwrap_or_default()
    }

    fn days(&self) -> i64 {
        7 * i64::from(self.weeks)
    }

    /// The cycle that holds `date`.
    pub fn containing(&self, date: NaiveDate) -> Cycle {
        let offset = (date - self.start).num_days().div_euclid(self.days());
        self.nth(offset)
    }

    /// Cycle number `n` (0 begins on the anchor; negative ones lie before it).
    pub fn nth(&self, n: i64) -> Cycle {
        let first = if n >= 0 {
            self.start
                .checked_add_days(Days::new((n * self.days()) as u64))
        } else {
            self.start
                .checked_sub_days(Days::new((-n * self.days()) as u64))
        }
        .unwrap_or(self.start);
        let last = first
            .checked_add_days(Days::new((self.days() - 1) as u64))
            .unwrap_or(first);
        Cycle {
            number: n,
            first,
            last,
        }
    }
}

/// One cycle: whole local days `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cycle {
    pub number: i64,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Cycle {
    pub fn previous(&self, setting: &CycleSetting) -> Cycle {
        setting.nth(self.number - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn cycles_follow_the_anchor_in_whole_weeks() {
        let s = CycleSetting {
            weeks: 4,
            start: d(2026, 1, 5),
        };
        let c = s.containing(d(2026, 11, 30));
        assert_eq!((c.first, c.last), (d(2026, 11, 9), d(2026, 12, 6)));
        let p = c.previous(&s);
        assert_eq!((p.first, p.last), (d(2026, 10, 12), d(2026, 11, 8)));
        // Before the anchor, too.
        let early = s.containing(d(2025, 12, 31));
        assert_eq!((early.first, early.last), (d(2025, 12, 8), d(2026, 1, 4)));
        // The cycle over the switch to winter time (25 October) is 28 local days all the same.
        assert_eq!((p.last - p.first).num_days() + 1, 28);
    }
}
