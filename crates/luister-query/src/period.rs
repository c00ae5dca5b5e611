//! Periods and intervals: turning `period=30d&date=…` into dates in a site's time zone,
//! those dates into UTC instants, and an interval into the list of timeseries buckets.
//!
//! Pure calendar arithmetic (chrono-tz handles DST); no SQL, no I/O.

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A Plausible v1 `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Days7,
    Days30,
    Month,
    Months6,
    Months12,
    Custom,
}

impl Period {
    pub const ALLOWED: &'static str = "day, 7d, 30d, month, 6mo, 12mo, custom";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => Self::Day,
            "7d" => Self::Days7,
            "30d" => Self::Days30,
            "month" => Self::Month,
            "6mo" => Self::Months6,
            "12mo" => Self::Months12,
            "custom" => Self::Custom,
            _ => return None,
        })
    }
}

/// Whole days `first..=last` in the site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DateRange {
    /// The range of a non-custom `period` ending at (or, for `month`, containing) `date`.
    pub fn ending(period: Period, date: NaiveDate) -> Self {
        let back = |days: u64| date.checked_sub_days(Days::new(days)).unwrap_or(date);
        let month_start = date.with_day(1).unwrap_or(date);
        let months_back = |n: u32| {
            month_start
                .checked_sub_months(Months::new(n))
                .unwrap_or(month_start)
        };
        let (first, last) = match period {
            Period::Day | Period::Custom => (date, date),
            Period::Days7 => (back(6), date),
            Period::Days30 => (back(29), date),
            Period::Month => (month_start, last_of_month(date)),
            Period::Months6 => (months_back(5), last_of_month(date)),
            Period::Months12 => (months_back(11), last_of_month(date)),
        };
        Self { first, last }
    }

    /// Number of days in the range.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    /// The range of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Self {
        let last = self.first.pred_opt().unwrap_or(self.first);
        let first = last
            .checked_sub_days(Days::new((self.days() - 1).max(0) as u64))
            .unwrap_or(last);
        Self { first, last }
    }

    /// The same dates a year earlier (29 February becomes 28 February).
    pub fn year_before(&self) -> Self {
        let back = |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
        Self {
            first: back(self.first),
            last: back(self.last),
        }
    }

    /// `[start, end)` in UTC: local midnight of `first` to local midnight after `last`.
    pub fn utc_bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let after = self.last.succ_opt().unwrap_or(self.last);
        (local_midnight(self.first, tz), local_midnight(after, tz))
    }
}

fn last_of_month(date: NaiveDate) -> NaiveDate {
    let first = date.with_day(1).unwrap_or(date);
    first
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(date)
}

/// The first instant of `date` in `tz` (the first existing local time when midnight is skipped).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// The date `at` falls on in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Timeseries granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Date,
    Week,
    Month,
}

impl Interval {
    pub const ALLOWED: &'static str = "hour, date, week, month";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hour" => Self::Hour,
            "date" | "day" => Self::Date,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    /// Plausible's default: hours for a day, months for 6mo/12mo, otherwise dates.
    pub fn default_for(period: Period) -> Self {
        match period {
            Period::Day => Self::Hour,
            Period::Months6 | Period::Months12 => Self::Month,
            _ => Self::Date,
        }
    }
}

/// One timeseries bucket: `id` as ClickHouse returns it for the bucket expression
/// (days since 1970-01-01 for date/week/month, Unix seconds for hours) and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub id: u32,
    pub label: String,
}

/// Every bucket of `range`, so empty ones can be filled with zeros.
pub fn buckets(range: &DateRange, tz: Tz, interval: Interval) -> Vec<Bucket> {
    match interval {
        Interval::Hour => hour_buckets(range, tz),
        Interval::Date => date_buckets(range.first, range.last, |d| d.succ_opt()),
        Interval::Week => {
            let monday =
                range.first - Duration::days(range.first.weekday().num_days_from_monday().into());
            date_buckets(monday, range.last, |d| d.checked_add_days(Days::new(7)))
        }
        Interval::Month => {
            let start = range.first.with_day(1).unwrap_or(range.first);
            date_buckets(start, range.last, |d| d.checked_add_months(Months::new(1)))
        }
    }
}

fn hour_buckets(range: &DateRange, tz: Tz) -> Vec<Bucket> {
    let (start, end) = range.utc_bounds(tz);
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        out.push(Bucket {
            id: at.timestamp().clamp(0, u32::MAX.into()) as u32,
            label: at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:00:00")
                .to_string(),
        });
        at += Duration::hours(1);
    }
    out
}

fn date_buckets(
    start: NaiveDate,
    last: NaiveDate,
    next: impl Fn(NaiveDate) -> Option<NaiveDate>,
) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut day = Some(start);
    while let Some(d) = day.filter(|d| *d <= last) {
        out.push(Bucket {
            id: days_since_epoch(d),
            label: d.format("%Y-%m-%d").to_string(),
        });
        day = next(d);
    }
    out
}

/// ClickHouse's `toUInt32(Date)`: days since 1970-01-01.
pub fn days_since_epoch(date: NaiveDate) -> u32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days().clamp(0, u32::MAX.into()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn periods_end_at_date() {
        let date = d(2026, 11, 15);
        let r = |p| DateRange::ending(p, date);
        assert_eq!(
            r(Period::Day),
            DateRange {
                first: date,
                last: date
            }
        );
        assert_eq!(
            r(Period::Days7),
            DateRange {
                first: d(2026, 11, 9),
                last: date
            }
        );
        assert_eq!(
            r(Period::Days30),
            DateRange {
                first: d(2026, 10, 17),
                last: date
            }
        );
        assert_eq!(
            r(Period::Month),
            DateRange {
                first: d(2026, 11, 1),
                last: d(2026, 11, 30)
            }
        );
        assert_eq!(
            r(Period::Months6),
            DateRange {
                first: d(2026, 6, 1),
                last: d(2026, 11, 30)
            }
        );
        assert_eq!(
            r(Period::Months12),
            DateRange {
                first: d(2025, 12, 1),
                last: d(2026, 11, 30)
            }
        );
        assert_eq!(
            DateRange::ending(Period::Month, d(2028, 2, 10)).last,
            d(2028, 2, 29)
        );
    }

    #[test]
    fn year_before_keeps_the_dates() {
        let r = DateRange {
            first: d(2028, 2, 1),
            last: d(2028, 2, 29),
        };
        assert_eq!(
            r.year_before(),
            DateRange {
                first: d(2027, 2, 1),
                last: d(2027, 2, 28)
            }
        );
    }

    #[test]
    fn previous_period_has_the_same_length() {
        let r = DateRange {
            first: d(2026, 11, 9),
            last: d(2026, 11, 15),
        };
        assert_eq!(
            r.previous(),
            DateRange {
                first: d(2026, 11, 2),
                last: d(2026, 11, 8)
            }
        );
        let day = DateRange {
            first: d(2026, 3, 1),
            last: d(2026, 3, 1),
        };
        assert_eq!(
            day.previous(),
            DateRange {
                first: d(2026, 2, 28),
                last: d(2026, 2, 28)
            }
        );
    }

    #[test]
    fn amsterdam_days_in_utc_including_dst_switches() {
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        let winter = DateRange {
            first: d(2026, 1, 15),
            last: d(2026, 1, 15),
        };
        assert_eq!(
            winter.utc_bounds(tz),
            (utc("2026-01-14T23:00:00Z"), utc("2026-01-15T23:00:00Z"))
        );
        let spring = DateRange {
            first: d(2026, 3, 29),
            last: d(2026, 3, 29),
        };
        let (s, e) = spring.utc_bounds(tz);
        assert_eq!(
            (s, e),
            (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z"))
        );
        assert_eq!(hour_buckets(&spring, tz).len(), 23);
        let autumn = DateRange {
            first: d(2026, 10, 25),
            last: d(2026, 10, 25),
        };
        assert_eq!(
            autumn.utc_bounds(tz),
            (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"))
        );
        let hours = hour_buckets(&autumn, tz);
        assert_eq!(hours.len(), 25);
        // 02:00 happens twice; both hours are their own bucket.
        assert_eq!(
            hours
                .iter()
                .filter(|b| b.label == "2026-10-25 02:00:00")
                .count(),
            2
        );
        assert_eq!(hours[3].id, utc("2026-10-25T01:00:00Z").timestamp() as u32);
    }

    #[test]
    fn local_dates() {
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        assert_eq!(local_date(utc("2026-11-01T23:30:00Z"), tz), d(2026, 11, 2));
        assert_eq!(local_date(utc("2026-07-01T21:59:59Z"), tz), d(2026, 7, 1));
        assert_eq!(local_date(utc("2026-07-01T22:00:00Z"), tz), d(2026, 7, 2));
    }

    #[test]
    fn bucket_lists() {
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        let r = DateRange {
            first: d(2026, 11, 4),
            last: d(2026, 12, 2),
        };
        let weeks = buckets(&r, tz, Interval::Week);
        assert_eq!(weeks.first().unwrap().label, "2026-11-02");
        assert_eq!(weeks.last().unwrap().label, "2026-11-30");
        assert_eq!(weeks.len(), 5);
        let months = buckets(&r, tz, Interval::Month);
        let labels: Vec<_> = months.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["2026-11-01", "2026-12-01"]);
        assert_eq!(months[0].id, days_since_epoch(d(2026, 11, 1)));
        assert_eq!(buckets(&r, tz, Interval::Date).len(), 29);
        assert_eq!(days_since_epoch(d(2026, 3, 29)), 20541);
    }
}
