//! CS-Cart (seed 003).

use chrono::Duration;
use mallsync_rules::cscart::{plan_write_back, CscartSettings, CscartShipment};
use mallsync_rules::{Carrier, ExportMode, Ledger, OmsStatus, Order, Plan, Reason, Trigger};

use crate::helpers::*;

fn plan_with(mode: ExportMode, trigger: Trigger, orders: &[Order]) -> Plan<CscartShipment> {
    let settings = CscartSettings {
        export_mode: mode,
        ..CscartSettings::default()
    };
    plan_write_back(&settings, orders, trigger, &Ledger::new(), now())
}

fn plan(orders: &[Order]) -> Plan<CscartShipment> {
    plan_with(ExportMode::default(), Trigger::Webhook, orders)
}

fn every_status() -> Vec<Order> {
    OmsStatus::KNOWN
        .iter()
        .chain([&OmsStatus::Custom("ピック済".into())])
        .map(|s| order(s.name()).status(s.clone()).build())
        .collect()
}

fn sent(p: &Plan<CscartShipment>) -> Vec<&str> {
    p.updates.iter().map(|u| u.order_id.as_str()).collect()
}

#[test]
fn cscart_default_mode_sends_every_status_except_new_and_cancelled() {
    let p = plan(&every_status());
    assert_eq!(
        sent(&p),
        [
            "処理中",
            "発送待ち",
            "発送前入金待ち",
            "発送後入金待ち",
            "保留",
            "処理済み",
            "ピック済"
        ]
    );
    assert!(matches!(
        reason(&p, "新規受付"),
        Some(Reason::StatusExcluded { .. })
    ));
    assert!(matches!(
        reason(&p, "キャンセル"),
        Some(Reason::StatusExcluded { .. })
    ));
}

#[test]
fn cscart_only_processed_mode_sends_only_processed() {
    let p = plan_with(
        ExportMode::OnlyProcessed,
        Trigger::Scheduled,
        &every_status(),
    );
    assert_eq!(sent(&p), ["処理済み"]);
}

#[test]
fn cscart_needs_both_a_ship_date_and_a_tracking_number() {
    let p = plan(&[
        order("no-date").no_ship_date().build(),
        order("no-number").no_tracking().build(),
        order("both").build(),
    ]);
    assert_eq!(reason(&p, "no-date"), Some(Reason::NoShipDate));
    assert_eq!(reason(&p, "no-number"), Some(Reason::NoTrackingNumber));
    assert_eq!(sent(&p), ["both"]);
}

#[test]
fn cscart_sends_orders_updated_within_the_period_of_one_day() {
    assert_eq!(CscartSettings::default().period_days, 1);
    let p = plan(&[
        order("edge").updated_ago(Duration::days(1)).build(),
        order("late")
            .updated_ago(Duration::days(1) + Duration::seconds(1))
            .build(),
        order("never-updated-new")
            .never_updated()
            .ordered_ago(Duration::hours(5))
            .build(),
        order("never-updated-old")
            .never_updated()
            .ordered_ago(Duration::days(2))
            .build(),
    ]);
    assert_eq!(sent(&p), ["edge", "never-updated-new"]);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::NotUpdatedInPeriod { period_days: 1 })
    );
    assert_eq!(
        reason(&p, "never-updated-old"),
        Some(Reason::NotUpdatedInPeriod { period_days: 1 })
    );
}

#[test]
fn cscart_manual_run_uses_its_own_period() {
    let o = [order("o").updated_ago(Duration::days(3)).build()];
    assert!(plan(&o).updates.is_empty());
    let p = plan_with(ExportMode::default(), Trigger::manual(3).unwrap(), &o);
    assert_eq!(sent(&p), ["o"]);
}

#[test]
fn cscart_writes_one_shipment_per_shipping_group() {
    let p = plan(&[order("o")
        .carrier(Some(Carrier::Sagawa))
        .shipments(vec![
            shipment("1", &["A"]),
            shipment_tracked("2", "222", &["B", "C"]),
        ])
        .build()]);
    assert_eq!(
        p.updates,
        [
            CscartShipment {
                order_id: "o".into(),
                shipping_id: Some("1".into()),
                tracking_number: tn("1234-5678-9012"),
                carrier: Some(Carrier::Sagawa),
                ship_date: today(),
                items: vec![item("A")],
                notify: Default::default(),
            },
            CscartShipment {
                order_id: "o".into(),
                shipping_id: Some("2".into()),
                tracking_number: tn("222"),
                carrier: Some(Carrier::Sagawa),
                ship_date: today(),
                items: vec![item("B"), item("C")],
                notify: Default::default(),
            },
        ]
    );
}

#[test]
fn cscart_order_without_shipping_groups_is_one_shipment_for_the_whole_order() {
    let p = plan(&[order("o").shipments(vec![]).build()]);
    assert_eq!(p.updates.len(), 1);
    assert_eq!(p.updates[0].shipping_id, None);
    assert!(p.updates[0].items.is_empty());
}
