//! Import rules: the date window, the target status.

use chrono::{Duration, TimeZone, Utc};
use mallsync_rules::{imported_order, ImportSettings, ImportWindow, OmsStatus};

use crate::helpers::*;

#[test]
fn import_looks_back_days_to_fetch_times_24_hours() {
    let w = ImportWindow::from_days(7, now()).unwrap();
    assert_eq!((w.from, w.to), (now() - Duration::days(7), now()));
    assert!(w.contains(now() - Duration::days(7)));
    assert!(!w.contains(now() - Duration::days(7) - Duration::seconds(1)));
}

#[test]
fn days_to_fetch_must_be_1_to_365() {
    for bad in [0, 366] {
        let e = ImportWindow::from_days(bad, now()).unwrap_err();
        assert_eq!(e.field(), Some("days_to_fetch"));
    }
    assert!(ImportWindow::from_days(365, now()).is_ok());
}

#[test]
fn a_manual_import_range_covers_whole_japan_days() {
    let w = ImportWindow::between(date(2026, 11, 20), date(2026, 11, 22), now()).unwrap();
    assert_eq!(
        w.from,
        Utc.with_ymd_and_hms(2026, 11, 19, 15, 0, 0).unwrap()
    );
    assert_eq!(w.to, Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap());
}

#[test]
fn a_manual_import_range_ending_today_ends_now() {
    let w = ImportWindow::between(today(), today(), now()).unwrap();
    assert_eq!(
        w.from,
        Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap()
    );
    assert_eq!(w.to, now());
}

#[test]
fn a_manual_import_range_may_not_end_in_the_future_in_japan() {
    let tomorrow = date(2026, 11, 24);
    let at_2359 = Utc.with_ymd_and_hms(2026, 11, 23, 14, 59, 59).unwrap();
    let e = ImportWindow::between(today(), tomorrow, at_2359).unwrap_err();
    assert_eq!(e.field(), Some("to"));
    let at_midnight = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    assert!(ImportWindow::between(today(), tomorrow, at_midnight).is_ok());
}

#[test]
fn a_manual_import_range_runs_forward_and_spans_at_most_365_days() {
    let e = ImportWindow::between(date(2026, 11, 22), date(2026, 11, 21), now()).unwrap_err();
    assert_eq!(e.field(), Some("from"));
    assert!(ImportWindow::between(today() - Duration::days(364), today(), now()).is_ok());
    let e = ImportWindow::between(today() - Duration::days(365), today(), now()).unwrap_err();
    assert_eq!(e.field(), Some("from"));
    // Both ends wrong: both named at once.
    let e = ImportWindow::between(date(2026, 12, 5), date(2026, 12, 1), now()).unwrap_err();
    let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["to", "from"]);
}

#[test]
fn an_import_window_splits_into_consecutive_parts() {
    let w = ImportWindow::from_days(10, now()).unwrap();
    let parts = w.split(7);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].from, w.from);
    assert_eq!(parts[0].to, parts[1].from);
    assert_eq!(parts[1].to, w.to);
    assert_eq!(parts[0].to - parts[0].from, Duration::days(7));
}

#[test]
fn an_imported_order_gets_the_target_status() {
    let settings = ImportSettings {
        target_status: OmsStatus::AwaitingShipment,
        ..ImportSettings::defaults(7, 10)
    };
    let imported = imported_order(order("o").status_named("ピック済").build(), &settings);
    assert_eq!(imported.status, OmsStatus::AwaitingShipment);
    assert_eq!(imported.order_id, "o");
}
