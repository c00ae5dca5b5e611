//! Prints every schema statement and every query shape the SQL compiler produces, one JSON
//! object per line (`{"kind", "name", "sql"}`), for `tests/chdb/check_sql.py`, which runs
//! them on current ClickHouse (chDB). The integration tests run the same shapes on 18.16.
//!
//! `cargo run -q -p luister-query --example dump_sql > target/sql-shapes.jsonl`

use luister_query::sql::{engagement, funnel, goals, rollup, search, stats};
use luister_query::*;
use luister_store::Goal;

fn emit(kind: &str, name: &str, sql: &str) {
    let line = serde_json::json!({ "kind": kind, "name": name, "sql": sql });
    println!("{line}");
}

fn scope(filters: &str) -> Scope {
    let date = "2026-11-02".parse().expect("date");
    let now = "2026-11-03T12:00:00Z".parse().expect("now");
    let range = DateRange::ending(Period::Days7, date);
    let mut s = Scope::new(luister_model::Site::new("enschede.nl"), range, now).expect("scope");
    s.filters = filter::parse_filters("filters", filters).expect("filters");
    s
}

/// Filter sets covering every condition form: none, wildcard, negation, or, props, goals, visit.
const FILTERS: &[&str] = &[
    "",
    "event:page==/schulden/**;event:hostname!=x.nl|y.nl",
    "event:props:wijk==Noord|Zuid;event:name!=Scroll",
    "event:goal==Aanvraag|Visit /klaar/*",
    "visit:source==Google|Bing;visit:country!=NL;visit:entry_page==/a*;visit:exit_page==/b",
    "event:page==/exact;visit:city==Ens*;visit:utm_campaign!=dec",
    "event:goal==Visit /klaar/**;visit:source==Google|Bing;visit:exit_page!=/b",
];

fn goals() -> Vec<Goal> {
    let mut page = Goal::page("enschede.nl", "/klaar/**");
    page.display_name = "Klaar".into();
    vec![Goal::event("enschede.nl", "Aanvraag"), page]
}

fn groupings() -> Vec<stats::Grouping> {
    let mut all = vec![stats::Grouping::Total];
    for i in [
        Interval::Hour,
        Interval::Date,
        Interval::Week,
        Interval::Month,
    ] {
        all.push(stats::Grouping::Bucket(i));
    }
    for p in Property::allowed().split(", ") {
        let p = p.replace("<key>", "wijk");
        if p != "event:goal" {
            all.push(stats::Grouping::Property(
                Property::parse(&p).expect("property"),
            ));
        }
    }
    all
}

fn stats_shapes(goals: &[Goal]) {
    for (fi, filters) in FILTERS.iter().enumerate() {
        let scope = scope(filters);
        for (gi, grouping) in groupings().into_iter().enumerate() {
            let by_event = matches!(&grouping, stats::Grouping::Property(p) if !p.is_visit());
            let plan = stats::StatsPlan {
                scope: &scope,
                goals,
                grouping,
                order: [Metric::Visitors, Metric::BounceRate, Metric::ViewsPerVisit][gi % 3],
                page: Some(Pagination {
                    limit: 10,
                    page: 1 + u32::from(gi % 4 == 3),
                }),
                keys: (gi % 5 == 4)
                    .then(|| ["/", "Google", "NL", "/zoeken"].map(String::from).to_vec()),
                distinct: if gi % 2 == 0 {
                    stats::Distinct::ALL
                } else {
                    stats::Distinct::NONE
                },
            };
            emit(
                "query",
                &format!("event_stats f{fi} g{gi}"),
                &stats::event_stats(&plan).render(),
            );
            // Visits group by when they started or by a visit property, never by an event property.
            if !by_event {
                emit(
                    "query",
                    &format!("session_stats f{fi} g{gi}"),
                    &stats::session_stats(&plan).render(),
                );
            }
        }
        engagement_shapes(fi, &scope, goals);
        emit(
            "query",
            &format!("goal_counts f{fi}"),
            &goals::goal_counts(&scope, goals).render(),
        );
    }
    emit(
        "query",
        "realtime",
        &stats::realtime_visitors("enschede.nl", 1_793_700_000).render(),
    );
}

/// Scroll depth and time on page: totals (with a page filter), per bucket, per page (a chosen page of keys).
fn engagement_shapes(fi: usize, scope: &Scope, goals: &[Goal]) {
    let mut groupings = vec![stats::Grouping::Total];
    for i in [
        Interval::Hour,
        Interval::Date,
        Interval::Week,
        Interval::Month,
    ] {
        groupings.push(stats::Grouping::Bucket(i));
    }
    groupings.push(stats::Grouping::Property(Property::Page));
    for (gi, grouping) in groupings.into_iter().enumerate() {
        let by_page = matches!(grouping, stats::Grouping::Property(_));
        let plan = stats::StatsPlan {
            scope,
            goals,
            grouping,
            order: Metric::Visitors,
            page: None,
            keys: by_page.then(|| ["/", "/zoeken", "/klaar/x/y"].map(String::from).to_vec()),
            distinct: stats::Distinct::NONE,
        };
        emit(
            "query",
            &format!("engagement_stats f{fi} g{gi}"),
            &engagement::engagement_stats(&plan).render(),
        );
    }
}

fn funnel_shapes(goals: &[Goal]) {
    for (fi, filters) in FILTERS.iter().enumerate() {
        for breakdown in [None, Some(Property::Source), Some(Property::EntryPage)] {
            let q = FunnelQuery {
                scope: scope(filters),
                steps: vec![
                    FunnelStep::Page("/schulden/*".into()),
                    FunnelStep::Page("/exact".into()),
                    FunnelStep::Search("*".into()),
                    FunnelStep::Search("huur*".into()),
                    FunnelStep::Event("Aanvraag".into()),
                ],
                window_seconds: 3600,
                breakdown: breakdown.clone(),
                pagination: Pagination::default(),
            };
            emit(
                "query",
                &format!("funnel f{fi} {breakdown:?}"),
                &funnel::funnel(&q, goals).render(),
            );
            if fi == 0 && breakdown.is_none() {
                let day = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
                let (first, last) = (day("2026-10-28"), day("2026-10-31"));
                emit(
                    "query",
                    "funnel_except",
                    &funnel::funnel_except(&q, goals, Some((first, last))).render(),
                );
                emit(
                    "query",
                    "funnel_by_first_day",
                    &funnel::funnel_by_first_day(&q, goals).render(),
                );
                emit(
                    "query",
                    "funnel_days",
                    &funnel::funnel_days(&q, first, last).render(),
                );
                emit(
                    "query",
                    "stored_funnel_days",
                    &funnel::stored_funnel_days("enschede.nl", 42, first, last).render(),
                );
            }
        }
    }
}

fn search_shapes(goals: &[Goal]) {
    for (fi, filters) in FILTERS.iter().enumerate() {
        let scope = scope(filters);
        for report in [
            SearchReport::Terms,
            SearchReport::ZeroResults,
            SearchReport::New,
        ] {
            for only in [None, Some(vec!["huur".to_string()])] {
                let plan = search::TermsPlan {
                    scope: &scope,
                    goals,
                    report,
                    page: Some(Pagination::default()),
                    only,
                };
                emit(
                    "query",
                    &format!("terms f{fi} {report:?}"),
                    &search::terms(&plan).render(),
                );
            }
        }
        emit(
            "query",
            &format!("next_pages f{fi}"),
            &search::next_pages(&scope, goals, "huur", Pagination::default()).render(),
        );
        emit(
            "query",
            &format!("conversions_after f{fi}"),
            &search::conversions_after(&scope, goals, "huur").render(),
        );
        emit(
            "query",
            &format!("conversions_after no goals f{fi}"),
            &search::conversions_after(&scope, &[], "huur").render(),
        );
    }
}

/// The raw statements limited to visits from a moment on, the rollup reads and the
/// statements that build and invalidate rollups.
fn rollup_shapes(goals: &[Goal]) {
    let mut scope = scope("");
    scope.visits_from = Some(1_793_574_000);
    let day = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
    let selection = rollup::Selection {
        pairs: vec![
            rollup::pair_key(day("2026-10-30"), None, 7),
            rollup::pair_key(day("2026-10-31"), Some(day("2026-11-01")), 8),
        ],
        groups: vec!["20757".into(), "20758".into()],
        periods: Some((day("2026-10-30"), day("2026-10-31"))),
    };
    for (gi, grouping) in groupings().into_iter().enumerate() {
        let plan = stats::StatsPlan {
            scope: &scope,
            goals,
            grouping,
            order: Metric::Visitors,
            page: None,
            keys: None,
            distinct: stats::Distinct::ALL,
        };
        emit(
            "query",
            &format!("event_stats from g{gi}"),
            &stats::event_stats(&plan).render(),
        );
        for sessions in [false, true] {
            if let Some(dimension) = rollup::stats_dimension(&plan, sessions) {
                emit(
                    "query",
                    &format!("rollup_stats {dimension} g{gi}"),
                    &rollup::rollup_stats(&plan, dimension, &selection).render(),
                );
                if sessions {
                    emit(
                        "query",
                        &format!("session_stats from g{gi}"),
                        &stats::session_stats(&plan).render(),
                    );
                }
            }
        }
    }
    for report in [SearchReport::Terms, SearchReport::ZeroResults] {
        let plan = search::TermsPlan {
            scope: &scope,
            goals,
            report,
            page: None,
            only: None,
        };
        emit(
            "query",
            &format!("terms from {report:?}"),
            &search::terms(&plan).render(),
        );
    }
    emit(
        "query",
        "rollup_terms",
        &rollup::rollup_terms("enschede.nl", &selection).render(),
    );
    emit(
        "query",
        "builds",
        &rollup::builds("enschede.nl", day("2026-10-01"), day("2026-11-02")).render(),
    );
    emit(
        "query",
        "earliest_build",
        &rollup::earliest_build("enschede.nl").render(),
    );
    emit(
        "query",
        "period_visits",
        &rollup::period_visits("enschede.nl", 1_793_491_200, 1_793_700_000).render(),
    );
    let build = rollup::PeriodBuild {
        site_id: "enschede.nl",
        tz: "Europe/Amsterdam",
        period: day("2026-10-31"),
        start: 1_793_491_200,
        build: 9,
        last_event: 1_793_600_000,
    };
    emit(
        "query",
        "period_days",
        &rollup::period_days(&build).render(),
    );
    emit(
        "statement",
        "build_visits",
        &rollup::build_visits(&build).render(),
    );
    emit(
        "statement",
        "build_events",
        &rollup::build_events(&build).render(),
    );
    emit(
        "statement",
        "build_searches",
        &rollup::build_searches(&build).render(),
    );
    emit(
        "statement",
        "record_build",
        &rollup::record_build(&build, 12, (day("2026-10-31"), day("2026-11-01")), 10).render(),
    );
    emit(
        "statement",
        "invalidate",
        &rollup::invalidate("enschede.nl", day("2026-10-30"), day("2026-11-01"), 11).render(),
    );
}

fn main() {
    for m in luister_store::schema::MIGRATIONS {
        for (i, statement) in m.statements.iter().enumerate() {
            emit("migration", &format!("{} #{i}", m.version), statement);
        }
    }
    emit(
        "migration",
        "schema_migrations",
        luister_store::schema::MIGRATIONS_TABLE,
    );
    let goals = goals();
    stats_shapes(&goals);
    funnel_shapes(&goals);
    search_shapes(&goals);
    rollup_shapes(&goals);
}
