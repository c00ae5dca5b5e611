//! Day boundaries in Europe/Amsterdam, including both DST switches of 2026.

use crate::query_fixture::*;
use serde_json::json;

#[tokio::test]
async fn spring_forward_day_has_23_hours() {
    let l = load(
        &[SITE],
        vec![
            visit(1, 1, "2026-03-28T22:59:59Z").page(0, "/"), // 23:59:59 CET on the 28th
            visit(2, 2, "2026-03-28T23:00:00Z").page(0, "/"), // 00:00 CET on the 29th
            visit(3, 3, "2026-03-29T01:00:00Z").page(0, "/"), // 03:00 CEST (02:00 never happened)
            visit(4, 4, "2026-03-29T21:59:59Z").page(0, "/"), // 23:59:59 CEST
            visit(5, 5, "2026-03-29T22:00:00Z").page(0, "/"), // 00:00 on the 30th
        ],
    )
    .await;
    let day = [("period", "day"), ("date", "2026-03-29")];
    assert_eq!(aggregate(&l, &day).await, json!({"visitors": {"value": 3}}));
    let hours = timeseries(&l, &day).await;
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 23);
    assert_eq!(
        hours[2],
        json!({"date": "2026-03-29 03:00:00", "visitors": 1})
    );
    assert!(hours.iter().all(|h| h["date"] != "2026-03-29 02:00:00"));
    assert_eq!(
        hours[22],
        json!({"date": "2026-03-29 23:00:00", "visitors": 1})
    );
    let days = timeseries(
        &l,
        &[("period", "custom"), ("date", "2026-03-28,2026-03-30")],
    )
    .await;
    assert_eq!(
        days,
        json!([{"date": "2026-03-28", "visitors": 1}, {"date": "2026-03-29", "visitors": 3}, {"date": "2026-03-30", "visitors": 1}])
    );
}

#[tokio::test]
async fn fall_back_day_has_25_hours_and_two_2am_buckets() {
    let l = load(
        &[SITE],
        vec![
            visit(1, 1, "2026-10-24T21:59:59Z").page(0, "/"), // 23:59:59 CEST on the 24th
            visit(2, 2, "2026-10-24T22:00:00Z").page(0, "/"), // 00:00 CEST on the 25th
            visit(3, 3, "2026-10-25T00:30:00Z").page(0, "/"), // 02:30 CEST
            visit(4, 4, "2026-10-25T01:30:00Z").page(0, "/"), // 02:30 CET, an hour later
            visit(5, 5, "2026-10-25T22:59:59Z").page(0, "/"), // 23:59:59 CET
            visit(6, 6, "2026-10-25T23:00:00Z").page(0, "/"), // 00:00 on the 26th
        ],
    )
    .await;
    let day = [("period", "day"), ("date", "2026-10-25")];
    assert_eq!(aggregate(&l, &day).await, json!({"visitors": {"value": 4}}));
    let hours = timeseries(&l, &day).await;
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 25);
    assert_eq!(
        hours[2],
        json!({"date": "2026-10-25 02:00:00", "visitors": 1})
    );
    assert_eq!(
        hours[3],
        json!({"date": "2026-10-25 02:00:00", "visitors": 1})
    );
    assert_eq!(
        hours[24],
        json!({"date": "2026-10-25 23:00:00", "visitors": 1})
    );
}
