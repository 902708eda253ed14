//! Eストアー ショップサーブ (seed 002).

use chrono::Duration;
use mallsync_rules::shopserve::{plan_write_back, ShopserveSettings, ShopserveUpdate};
use mallsync_rules::{Carrier, Ledger, OmsStatus, Order, Plan, Reason, Trigger};

use crate::helpers::*;

fn plan_with(trigger: Trigger, orders: &[Order]) -> Plan<ShopserveUpdate> {
    plan_write_back(
        &ShopserveSettings::default(),
        orders,
        trigger,
        &Ledger::new(),
        now(),
    )
}

fn plan(orders: &[Order]) -> Plan<ShopserveUpdate> {
    plan_with(Trigger::Webhook, orders)
}

#[test]
fn shopserve_excludes_new_cancelled_and_on_hold_orders() {
    let p = plan(&[
        order("new").status(OmsStatus::New).build(),
        order("cancelled").status(OmsStatus::Cancelled).build(),
        order("on-hold").status(OmsStatus::OnHold).build(),
        order("processed").status(OmsStatus::Processed).build(),
        order("custom").status_named("ピック済").build(),
    ]);
    for id in ["new", "cancelled", "on-hold"] {
        assert!(
            matches!(reason(&p, id), Some(Reason::StatusExcluded { .. })),
            "{id}"
        );
    }
    let sent: Vec<&str> = p.updates.iter().map(|u| u.order_id.as_str()).collect();
    assert_eq!(sent, ["processed", "custom"]);
}

#[test]
fn shopserve_sends_orders_updated_within_the_period() {
    assert_eq!(ShopserveSettings::default().period_days, 3);
    let p = plan(&[
        order("edge").updated_ago(Duration::days(3)).build(),
        order("late")
            .updated_ago(Duration::days(3) + Duration::seconds(1))
            .build(),
    ]);
    assert_eq!(reason(&p, "edge"), None);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::NotUpdatedInPeriod { period_days: 3 })
    );
}

#[test]
fn shopserve_order_never_updated_counts_for_4_days_after_it_was_ordered() {
    let p = plan(&[
        order("edge")
            .never_updated()
            .ordered_ago(Duration::days(4))
            .build(),
        order("late")
            .never_updated()
            .ordered_ago(Duration::days(4) + Duration::seconds(1))
            .build(),
    ]);
    assert_eq!(reason(&p, "edge"), None);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::NotUpdatedSinceOrdered { window_days: 4 })
    );
}

#[test]
fn shopserve_sends_orders_ordered_within_one_year_of_365_days() {
    let p = plan(&[
        order("edge").ordered_ago(Duration::days(365)).build(),
        order("late")
            .ordered_ago(Duration::days(365) + Duration::seconds(1))
            .build(),
    ]);
    assert_eq!(reason(&p, "edge"), None);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::OrderedTooLongAgo { limit_days: 365 })
    );
}

#[test]
fn shopserve_with_tracking_marks_shipped_with_carrier_tracking_and_ship_date() {
    let p = plan(&[order("o").carrier(Some(Carrier::JapanPost)).build()]);
    assert_eq!(
        p.updates,
        [ShopserveUpdate {
            order_id: "o".into(),
            mark_shipped: true,
            carrier: Some(Carrier::JapanPost),
            tracking_number: Some(tn("1234-5678-9012")),
            scheduled_ship_date: Some(today()),
        }]
    );
}

#[test]
fn shopserve_without_tracking_sends_ship_date_only() {
    let p = plan(&[order("o")
        .no_tracking()
        .carrier(Some(Carrier::Yamato))
        .build()]);
    assert_eq!(
        p.updates,
        [ShopserveUpdate {
            order_id: "o".into(),
            mark_shipped: false,
            carrier: None,
            tracking_number: None,
            scheduled_ship_date: Some(today()),
        }]
    );
}

#[test]
fn shopserve_without_tracking_or_ship_date_sends_nothing() {
    let p = plan(&[order("o").no_tracking().no_ship_date().build()]);
    assert_eq!(reason(&p, "o"), Some(Reason::NoTrackingNumberOrShipDate));
}

#[test]
fn shopserve_manual_run_uses_its_own_period_instead_of_the_settings_period() {
    let o = [order("o").updated_ago(Duration::days(5)).build()];
    assert!(plan(&o).updates.is_empty());
    assert_eq!(plan_with(Trigger::manual(5).unwrap(), &o).updates.len(), 1);
    let short = plan_with(
        Trigger::manual(1).unwrap(),
        &[order("o").updated_ago(Duration::days(2)).build()],
    );
    assert_eq!(
        reason(&short, "o"),
        Some(Reason::NotUpdatedInPeriod { period_days: 1 })
    );
}

#[test]
fn shopserve_order_sent_with_a_ship_date_only_is_sent_again_once_it_has_a_tracking_number() {
    let settings = ShopserveSettings::default();
    let first = plan(&[order("o").no_tracking().build()]);
    let mut ledger = Ledger::new();
    ledger.record_update(&first.updates[0]);
    let tracked = [order("o").build()];
    let p = plan_write_back(&settings, &tracked, Trigger::Scheduled, &ledger, now());
    assert!(p.updates[0].mark_shipped);
}

#[test]
fn shopserve_schedule_finishes_an_order_with_work_left_whatever_its_age_within_a_year() {
    let o = [order("o").updated_ago(Duration::days(30)).build()];
    assert!(plan(&o).updates.is_empty());
    assert_eq!(plan_with(Trigger::Scheduled, &o).updates.len(), 1);
}
