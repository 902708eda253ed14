//! Bカート (seed 000).

use chrono::{Duration, TimeZone, Utc};
use mallsync_rules::bcart::{plan_write_back, BcartSettings, BcartUpdate, LogisticsStatus};
use mallsync_rules::{Ledger, OmsStatus, Order, Plan, Reason, Trigger};

use crate::helpers::*;

fn plan(orders: &[Order]) -> Plan<BcartUpdate> {
    plan_at(orders, Trigger::Scheduled, now())
}

fn plan_at(orders: &[Order], trigger: Trigger, at: chrono::DateTime<Utc>) -> Plan<BcartUpdate> {
    plan_write_back(
        &BcartSettings::default(),
        orders,
        trigger,
        &Ledger::new(),
        at,
    )
}

#[test]
fn bcart_excludes_new_and_cancelled_orders() {
    let p = plan(&[
        order("new").status(OmsStatus::New).build(),
        order("cancelled").status(OmsStatus::Cancelled).build(),
    ]);
    assert!(p.updates.is_empty());
    assert_eq!(
        reason(&p, "new"),
        Some(Reason::StatusExcluded {
            status: OmsStatus::New
        })
    );
    assert_eq!(
        reason(&p, "cancelled"),
        Some(Reason::StatusExcluded {
            status: OmsStatus::Cancelled
        })
    );
}

#[test]
fn bcart_sends_every_other_status_including_custom_ones() {
    let statuses = [
        "処理中",
        "発送待ち",
        "発送前入金待ち",
        "発送後入金待ち",
        "保留",
        "処理済み",
        "ピック済",
    ];
    let orders: Vec<Order> = statuses
        .iter()
        .map(|s| order(s).status_named(s).build())
        .collect();
    let p = plan(&orders);
    assert!(p.excluded.is_empty(), "{:?}", p.excluded);
    assert_eq!(p.updates.len(), statuses.len());
}

#[test]
fn bcart_sends_orders_ordered_exactly_170_days_ago() {
    let p = plan(&[order("o").ordered_ago(Duration::days(170)).build()]);
    assert_eq!(p.updates.len(), 1);
}

#[test]
fn bcart_excludes_orders_ordered_170_days_and_one_second_ago() {
    let p = plan(&[order("o")
        .ordered_ago(Duration::days(170) + Duration::seconds(1))
        .build()]);
    assert_eq!(
        reason(&p, "o"),
        Some(Reason::OrderedTooLongAgo { limit_days: 170 })
    );
}

#[test]
fn bcart_tracking_number_present_means_ship_instructed() {
    let p = plan(&[order("o").ship_date(today() + Duration::days(1)).build()]);
    assert_eq!(p.updates[0].status, LogisticsStatus::ShipInstructed);
    assert_eq!(p.updates[0].tracking_number, tn("1234-5678-9012"));
    assert_eq!(p.updates[0].ship_date, Some(today() + Duration::days(1)));
}

#[test]
fn bcart_tracking_number_without_a_ship_date_is_ship_instructed() {
    let p = plan(&[order("o").no_ship_date().build()]);
    assert_eq!(p.updates[0].status, LogisticsStatus::ShipInstructed);
    assert_eq!(p.updates[0].ship_date, None);
}

#[test]
fn bcart_ship_date_today_counts_as_shipped() {
    let p = plan(&[order("o").ship_date(today()).build()]);
    assert_eq!(p.updates[0].status, LogisticsStatus::Shipped);
}

#[test]
fn bcart_ship_date_before_today_is_shipped() {
    let p = plan(&[order("o").ship_date(today() - Duration::days(3)).build()]);
    assert_eq!(p.updates[0].status, LogisticsStatus::Shipped);
}

#[test]
fn bcart_today_turns_at_midnight_in_japan_not_utc() {
    let tomorrow = date(2026, 11, 24);
    let o = [order("o").ship_date(tomorrow).build()];
    // 14:59:59 UTC is 23:59:59 on the 23rd in Japan: the 24th is still tomorrow.
    let before = plan_at(
        &o,
        Trigger::Scheduled,
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 59, 59).unwrap(),
    );
    assert_eq!(before.updates[0].status, LogisticsStatus::ShipInstructed);
    // 15:00:00 UTC is 00:00 on the 24th in Japan: the ship date is today.
    let after = plan_at(
        &o,
        Trigger::Scheduled,
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
    );
    assert_eq!(after.updates[0].status, LogisticsStatus::Shipped);
}

#[test]
fn bcart_without_a_tracking_number_sends_nothing() {
    let p = plan(&[order("o").no_tracking().build()]);
    assert!(p.updates.is_empty());
    assert_eq!(reason(&p, "o"), Some(Reason::NoTrackingNumber));
}

#[test]
fn bcart_writes_each_shipment_as_its_own_logistics_record() {
    let p = plan(&[order("o")
        .shipments(vec![
            shipment_tracked("L1", "111", &["A"]),
            shipment("L2", &["B"]),
        ])
        .build()]);
    let records: Vec<(&str, &str)> = p
        .updates
        .iter()
        .map(|u| (u.logistics_id.as_str(), u.tracking_number.as_str()))
        .collect();
    // L2 has no number of its own and takes the order's.
    assert_eq!(records, [("L1", "111"), ("L2", "1234-5678-9012")]);
}

#[test]
fn bcart_sends_only_the_shipments_that_have_a_tracking_number() {
    let p = plan(&[order("o")
        .no_tracking()
        .shipments(vec![
            shipment_tracked("L1", "111", &["A"]),
            shipment("L2", &["B"]),
        ])
        .build()]);
    assert_eq!(p.updates.len(), 1);
    assert_eq!(p.updates[0].logistics_id, "L1");
    assert_eq!(reason(&p, "o"), None);
}

#[test]
fn bcart_order_without_a_shipment_record_is_excluded() {
    let p = plan(&[order("o").shipments(vec![]).build()]);
    assert_eq!(reason(&p, "o"), Some(Reason::NoShipment));
}

#[test]
fn bcart_scheduled_runs_have_no_period_but_a_manual_run_keeps_to_its_own() {
    let o = [order("o").updated_ago(Duration::days(10)).build()];
    assert_eq!(plan_at(&o, Trigger::Scheduled, now()).updates.len(), 1);
    let manual = plan_at(&o, Trigger::manual(3).unwrap(), now());
    assert_eq!(
        reason(&manual, "o"),
        Some(Reason::NotUpdatedInPeriod { period_days: 3 })
    );
    assert_eq!(
        plan_at(&o, Trigger::manual(10).unwrap(), now())
            .updates
            .len(),
        1
    );
}

#[test]
fn bcart_record_instructed_before_its_ship_date_is_sent_again_as_shipped_on_that_day() {
    let o = [order("o").ship_date(date(2026, 11, 24)).build()];
    let settings = BcartSettings::default();
    let before = plan_write_back(&settings, &o, Trigger::Scheduled, &Ledger::new(), now());
    let mut ledger = Ledger::new();
    ledger.record_update(&before.updates[0]);
    let next_day = now() + Duration::days(1);
    let on_the_day = plan_write_back(&settings, &o, Trigger::Scheduled, &ledger, next_day);
    assert_eq!(on_the_day.updates[0].status, LogisticsStatus::Shipped);
}
