use super::*;
use crate::filter::Filter;

fn now() -> DateTime<Utc> {
    // 00:30 on 2 November in Amsterdam, still 1 November in UTC.
    "2026-11-01T23:30:00Z".parse().unwrap()
}

fn p(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn site() -> Site {
    Site::new("enschede.nl")
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn err(r: Result<impl std::fmt::Debug, QueryError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn defaults_are_30_days_to_today_in_the_site_time_zone() {
    let q = aggregate(site(), &p(&[]), now()).unwrap();
    assert_eq!(
        q.scope.range,
        DateRange {
            first: d("2026-10-04"),
            last: d("2026-11-02")
        }
    );
    assert_eq!(q.metrics, vec![Metric::Visitors]);
    assert!(q.compare.is_none() && q.scope.filters.is_empty());
}

#[test]
fn periods_dates_and_custom_ranges() {
    let q = aggregate(
        site(),
        &p(&[("period", "day"), ("date", "2026-03-29")]),
        now(),
    )
    .unwrap();
    assert_eq!(
        q.scope.range,
        DateRange {
            first: d("2026-03-29"),
            last: d("2026-03-29")
        }
    );
    let q = aggregate(
        site(),
        &p(&[("period", "custom"), ("date", "2026-01-01,2026-01-31")]),
        now(),
    )
    .unwrap();
    assert_eq!(q.scope.range.days(), 31);
    assert!(err(aggregate(site(), &p(&[("period", "week")]), now()))
        .contains("invalid parameter period: \"week\" is not one of day, 7d"));
    assert!(err(aggregate(site(), &p(&[("period", "custom")]), now()))
        .starts_with("invalid parameter date:"));
    assert!(err(aggregate(
        site(),
        &p(&[("period", "custom"), ("date", "2026-02-01,2026-01-01")]),
        now()
    ))
    .contains("after"));
    assert!(err(aggregate(site(), &p(&[("date", "1-1-2026")]), now())).contains("not a date like"));
    assert!(err(aggregate(
        site(),
        &p(&[("period", "custom"), ("date", "2000-01-01,2026-01-01")]),
        now()
    ))
    .contains("at most"));
}

#[test]
fn far_away_dates_are_refused_with_the_window() {
    for (period, date) in [
        ("custom", "-262143-01-01,-262143-01-07"),
        ("custom", "1999-12-31,2000-01-02"),
        ("custom", "2027-11-01,2027-11-30"),
        ("day", "+262142-12-31"),
        ("month", "9999-12-31"),
    ] {
        let message = err(timeseries(
            site(),
            &p(&[("period", period), ("date", date), ("interval", "week")]),
            now(),
        ));
        assert!(
            message.contains("dates must lie between 2000-01-01 and 2027-11-03"),
            "{period} {date}: {message}"
        );
    }
    assert!(aggregate(
        site(),
        &p(&[("period", "custom"), ("date", "2000-01-01,2000-01-31")]),
        now()
    )
    .is_ok());
    // A period that reaches back before the window starts at its first day.
    let q = aggregate(
        site(),
        &p(&[("period", "12mo"), ("date", "2000-06-01")]),
        now(),
    )
    .unwrap();
    assert_eq!(q.scope.range.first, d("2000-01-01"));
    assert_eq!(q.scope.range.last, d("2000-06-30"));
}

#[test]
fn metrics_and_compare() {
    let q = aggregate(
        site(),
        &p(&[
            ("metrics", "visitors, bounce_rate,visit_duration"),
            ("compare", "previous_period"),
        ]),
        now(),
    )
    .unwrap();
    assert_eq!(
        q.metrics,
        vec![Metric::Visitors, Metric::BounceRate, Metric::VisitDuration]
    );
    assert_eq!(q.compare, Some(Comparison::PreviousPeriod));
    let e = err(aggregate(
        site(),
        &p(&[("metrics", "visitors,time")]),
        now(),
    ));
    assert!(
        e.starts_with(
            "invalid parameter metrics: unknown metric \"time\"; allowed: visitors, visits"
        ),
        "{e}"
    );
    assert!(err(aggregate(
        site(),
        &p(&[("metrics", "visitors,visitors")]),
        now()
    ))
    .contains("twice"));
    assert!(err(aggregate(site(), &p(&[("compare", "yes")]), now())).contains("previous_period"));
    assert!(err(aggregate(
        site(),
        &p(&[("metrics", "conversion_rate")]),
        now()
    ))
    .contains("event:goal"));
    assert!(aggregate(
        site(),
        &p(&[
            ("metrics", "conversion_rate"),
            ("filters", "event:goal==Aanvraag")
        ]),
        now()
    )
    .is_ok());
}

#[test]
fn timeseries_intervals() {
    assert_eq!(
        timeseries(site(), &p(&[("period", "day")]), now())
            .unwrap()
            .interval,
        Interval::Hour
    );
    assert_eq!(
        timeseries(site(), &p(&[("period", "12mo")]), now())
            .unwrap()
            .interval,
        Interval::Month
    );
    assert_eq!(
        timeseries(site(), &p(&[("period", "7d"), ("interval", "week")]), now())
            .unwrap()
            .interval,
        Interval::Week
    );
    assert!(
        err(timeseries(site(), &p(&[("interval", "minute")]), now()))
            .contains("hour, date, week, month")
    );
    assert!(err(timeseries(
        site(),
        &p(&[("period", "6mo"), ("interval", "hour")]),
        now()
    ))
    .contains("at most 31 days"));
}

#[test]
fn breakdowns() {
    let q = breakdown(
        site(),
        &p(&[
            ("property", "visit:source"),
            ("limit", "5"),
            ("page", "3"),
            ("filters", "event:page==/a"),
        ]),
        now(),
    )
    .unwrap();
    assert_eq!(q.dimension, Some(Property::Source));
    assert_eq!(q.pagination, Pagination { limit: 5, page: 3 });
    assert_eq!(q.scope.filters, vec![Filter::is(Property::Page, &["/a"])]);
    assert!(err(breakdown(site(), &p(&[]), now()))
        .starts_with("invalid parameter property: missing; allowed: event:page"));
    assert!(
        err(breakdown(site(), &p(&[("property", "visit:land")]), now()))
            .contains("unknown property")
    );
    assert!(err(breakdown(
        site(),
        &p(&[("property", "event:page"), ("limit", "5000")]),
        now()
    ))
    .contains("1 to 1000"));
    assert!(err(breakdown(
        site(),
        &p(&[("property", "event:page"), ("page", "0")]),
        now()
    ))
    .starts_with("invalid parameter page"));
    let e = err(breakdown(
        site(),
        &p(&[("property", "event:goal"), ("metrics", "bounce_rate")]),
        now(),
    ));
    assert!(
        e.contains("bounce_rate is not available")
            && e.contains("visitors, events, conversion_rate"),
        "{e}"
    );
    assert!(breakdown(
        site(),
        &p(&[
            ("property", "event:goal"),
            ("metrics", "visitors,conversion_rate")
        ]),
        now()
    )
    .is_ok());
    assert!(err(breakdown(
        site(),
        &p(&[
            ("property", "event:props:wijk"),
            ("metrics", "visit_duration")
        ]),
        now()
    ))
    .contains("not available"));
    assert!(breakdown(
        site(),
        &p(&[
            ("property", "visit:city"),
            ("metrics", "views_per_visit,bounce_rate")
        ]),
        now()
    )
    .is_ok());
}

#[test]
fn engagement_metrics_are_page_level() {
    // Listed among the allowed metrics.
    let e = err(aggregate(site(), &p(&[("metrics", "scroll")]), now()));
    assert!(e.contains("scroll_depth, time_on_page"), "{e}");
    // Per page: a breakdown by event:page, or an event:page filter.
    let q = breakdown(
        site(),
        &p(&[
            ("property", "event:page"),
            ("metrics", "visitors,scroll_depth,time_on_page"),
        ]),
        now(),
    )
    .unwrap();
    assert_eq!(
        q.metrics,
        vec![Metric::Visitors, Metric::ScrollDepth, Metric::TimeOnPage]
    );
    let page = ("filters", "event:page==/contact");
    for metrics in ["scroll_depth", "time_on_page,visitors"] {
        assert!(aggregate(site(), &p(&[("metrics", metrics), page]), now()).is_ok());
        assert!(timeseries(site(), &p(&[("metrics", metrics), page]), now()).is_ok());
    }
    let e = err(aggregate(
        site(),
        &p(&[("metrics", "visitors,scroll_depth")]),
        now(),
    ));
    assert_eq!(
        e,
        "invalid parameter metrics: scroll_depth is a page-level metric: it needs an event:page \
         filter (e.g. filters=event:page==/contact), or a breakdown by property=event:page"
    );
    let e = err(timeseries(
        site(),
        &p(&[
            ("metrics", "time_on_page"),
            ("filters", "visit:source==Google"),
        ]),
        now(),
    ));
    assert!(e.contains("time_on_page is a page-level metric"), "{e}");
    // Other breakdowns: rejected, naming the metric, also with a page filter.
    for property in [
        "visit:source",
        "visit:country",
        "event:goal",
        "event:props:wijk",
    ] {
        let e = err(breakdown(
            site(),
            &p(&[
                ("property", property),
                ("metrics", "visitors,time_on_page"),
                page,
            ]),
            now(),
        ));
        assert_eq!(
            e,
            "invalid parameter metrics: time_on_page is a page-level metric: break down by \
             property=event:page only",
            "{property}"
        );
    }
}

#[test]
fn funnels() {
    let body = r#"{"site_id": "enschede.nl", "period": "7d", "date": "2026-11-01",
        "steps": [{"page": "/schulden/**"}, {"search": "*"}, {"event": "Aanvraag verstuurd"}],
        "window_seconds": 600, "filters": "visit:device==Mobile", "breakdown": "visit:source"}"#;
    let req: FunnelRequest = serde_json::from_str(body).unwrap();
    let q = funnel_request(site(), &req, now()).unwrap();
    assert_eq!(q.steps[1], FunnelStep::Search("*".into()));
    assert_eq!(
        (q.window_seconds, q.breakdown.clone()),
        (600, Some(Property::Source))
    );
    assert_eq!(q.scope.range.first, d("2026-10-26"));
    assert_eq!(q.scope.filters.len(), 1);
    let bad = |json: &str| {
        let req: FunnelRequest = serde_json::from_str(json).unwrap();
        err(funnel_request(site(), &req, now()))
    };
    assert!(bad(r#"{"site_id": "a", "steps": [{"page": "/"}]}"#).contains("2 to 8 steps"));
    assert!(
        bad(r#"{"site_id": "a", "steps": [{"page": "/"}, {"page": "x"}]}"#)
            .starts_with("invalid parameter steps[1].page")
    );
    assert!(bad(
        r#"{"site_id": "a", "steps": [{"page": "/"}, {"event": "x"}], "window_seconds": 0}"#
    )
    .contains("window_seconds"));
    assert!(bad(
        r#"{"site_id": "a", "steps": [{"page": "/"}, {"event": "x"}], "breakdown": "event:page"}"#
    )
    .contains("visit property"));
    assert!(serde_json::from_str::<FunnelRequest>(
        r#"{"site_id": "a", "steps": [], "windows": 1}"#
    )
    .is_err());
    assert!(
        serde_json::from_str::<FunnelRequest>(r#"{"site_id": "a", "steps": [{"url": "/"}]}"#)
            .is_err()
    );
}

#[test]
fn search_params() {
    let q = search_after(site(), &p(&[("term", "  Huur  Toeslag ")]), now()).unwrap();
    assert_eq!(q.term, "huur toeslag");
    assert!(err(search_after(site(), &p(&[]), now())).starts_with("invalid parameter term"));
    let q = search_terms(
        site(),
        &p(&[("compare", "previous_period")]),
        now(),
        SearchReport::New,
    )
    .unwrap();
    assert_eq!(q.compare, Some(Comparison::PreviousPeriod));
}
