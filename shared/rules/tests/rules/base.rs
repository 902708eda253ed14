//! BASE (seed 001).

use chrono::{Duration, TimeZone, Utc};
use mallsync_rules::base::{plan_write_back, BaseDispatch, BaseSettings};
use mallsync_rules::{Carrier, ExportMode, Ledger, OmsStatus, Order, Plan, Reason, Trigger};

use crate::helpers::*;

fn plan_in(mode: ExportMode, orders: &[Order]) -> Plan<BaseDispatch> {
    let settings = BaseSettings {
        export_mode: mode,
        ..BaseSettings::default()
    };
    plan_write_back(&settings, orders, Trigger::Scheduled, &Ledger::new(), now())
}

fn plan(orders: &[Order]) -> Plan<BaseDispatch> {
    plan_in(ExportMode::default(), orders)
}

fn every_status() -> Vec<Order> {
    OmsStatus::KNOWN
        .iter()
        .chain([&OmsStatus::Custom("ピック済".into())])
        .map(|s| order(s.name()).status(s.clone()).build())
        .collect()
}

fn sent_statuses(p: &Plan<BaseDispatch>) -> Vec<&str> {
    p.updates.iter().map(|u| u.order_id.as_str()).collect()
}

#[test]
fn base_default_mode_sends_every_status_except_new_and_on_hold() {
    assert_eq!(ExportMode::default(), ExportMode::ExceptUnprocessed);
    let p = plan(&every_status());
    assert_eq!(
        sent_statuses(&p),
        [
            "処理中",
            "発送待ち",
            "発送前入金待ち",
            "発送後入金待ち",
            "処理済み",
            "ピック済"
        ]
    );
    for s in ["新規受付", "保留", "キャンセル"] {
        assert!(
            matches!(reason(&p, s), Some(Reason::StatusExcluded { .. })),
            "{s}"
        );
    }
}

#[test]
fn base_only_processed_mode_sends_only_processed() {
    let p = plan_in(ExportMode::OnlyProcessed, &every_status());
    assert_eq!(sent_statuses(&p), ["処理済み"]);
}

#[test]
fn base_never_dispatches_a_cancelled_order_in_any_mode() {
    for mode in [ExportMode::ExceptUnprocessed, ExportMode::OnlyProcessed] {
        let p = plan_in(mode, &[order("o").status(OmsStatus::Cancelled).build()]);
        assert!(p.updates.is_empty(), "{mode:?}");
        assert_eq!(
            reason(&p, "o"),
            Some(Reason::StatusExcluded {
                status: OmsStatus::Cancelled
            })
        );
    }
}

#[test]
fn base_needs_a_tracking_number() {
    let p = plan(&[order("o").no_tracking().build()]);
    assert_eq!(reason(&p, "o"), Some(Reason::NoTrackingNumber));
}

#[test]
fn base_never_dispatches_a_future_ship_date() {
    let tomorrow = today() + Duration::days(1);
    let p = plan(&[order("o").ship_date(tomorrow).build()]);
    assert!(p.updates.is_empty());
    assert_eq!(
        reason(&p, "o"),
        Some(Reason::ShipDateInFuture {
            ship_date: tomorrow
        })
    );
}

#[test]
fn base_dispatches_a_ship_date_of_today_or_earlier() {
    let p = plan(&[
        order("today").ship_date(today()).build(),
        order("past").ship_date(today() - Duration::days(2)).build(),
    ]);
    assert_eq!(sent_statuses(&p), ["today", "past"]);
}

#[test]
fn base_waits_for_the_japan_date_not_the_utc_date() {
    let o = [order("o").ship_date(date(2026, 11, 24)).build()];
    let settings = BaseSettings::default();
    let at = |h, m, s| Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap();
    let before = plan_write_back(
        &settings,
        &o,
        Trigger::Scheduled,
        &Ledger::new(),
        at(14, 59, 59),
    );
    assert!(matches!(
        reason(&before, "o"),
        Some(Reason::ShipDateInFuture { .. })
    ));
    let after = plan_write_back(
        &settings,
        &o,
        Trigger::Scheduled,
        &Ledger::new(),
        at(15, 0, 0),
    );
    assert_eq!(after.updates.len(), 1);
}

#[test]
fn base_waits_while_there_is_no_ship_date() {
    let p = plan(&[order("o").no_ship_date().build()]);
    assert_eq!(reason(&p, "o"), Some(Reason::NoShipDate));
}

#[test]
fn base_dispatches_each_order_item_with_tracking_number_ship_date_and_carrier() {
    let p = plan(&[order("o")
        .carrier(Some(Carrier::Sagawa))
        .shipments(vec![shipment("1", &["A", "B"])])
        .build()]);
    assert_eq!(
        p.updates,
        ["A", "B"].map(|item| BaseDispatch {
            order_id: "o".into(),
            order_item_id: item.into(),
            tracking_number: tn("1234-5678-9012"),
            carrier: Some(Carrier::Sagawa),
            ship_date: today(),
        })
    );
}

#[test]
fn base_items_listed_only_on_the_order_are_dispatched_once_each() {
    let p = plan(&[order("o")
        .shipments(vec![shipment_tracked("1", "111", &["A"])])
        .items(&["A", "B"])
        .build()]);
    let items: Vec<(&str, &str)> = p
        .updates
        .iter()
        .map(|u| (u.order_item_id.as_str(), u.tracking_number.as_str()))
        .collect();
    assert_eq!(items, [("A", "111"), ("B", "1234-5678-9012")]);
}

#[test]
fn base_order_without_items_is_excluded() {
    let p = plan(&[order("o").shipments(vec![]).build()]);
    assert_eq!(reason(&p, "o"), Some(Reason::NoItems));
}

#[test]
fn base_never_changes_an_item_it_already_dispatched() {
    let mut ledger = Ledger::new();
    let first = plan(&[order("o").build()]);
    ledger.record_update(&first.updates[0]);
    let corrected = [order("o").tracking("9999").build()];
    let p = plan_write_back(
        &BaseSettings::default(),
        &corrected,
        Trigger::Scheduled,
        &ledger,
        now(),
    );
    assert!(p.updates.is_empty());
    assert_eq!(reason(&p, "o"), Some(Reason::CartCannotChange));
}

#[test]
fn base_manual_run_keeps_to_orders_updated_within_its_period() {
    let o = [
        order("recent").updated_ago(Duration::days(2)).build(),
        order("older")
            .updated_ago(Duration::days(2) + Duration::seconds(1))
            .build(),
        order("never-updated")
            .never_updated()
            .ordered_ago(Duration::days(2))
            .build(),
    ];
    let settings = BaseSettings::default();
    let scheduled = plan_write_back(&settings, &o, Trigger::Scheduled, &Ledger::new(), now());
    assert_eq!(scheduled.updates.len(), 3);
    let manual = plan_write_back(
        &settings,
        &o,
        Trigger::manual(2).unwrap(),
        &Ledger::new(),
        now(),
    );
    assert_eq!(sent_statuses(&manual), ["recent", "never-updated"]);
    assert_eq!(
        reason(&manual, "older"),
        Some(Reason::NotUpdatedInPeriod { period_days: 2 })
    );
}

#[test]
fn base_warns_when_an_orders_shipments_carry_different_tracking_numbers() {
    let p = plan(&[order("o")
        .shipments(vec![
            shipment_tracked("1", "111", &["A"]),
            shipment_tracked("2", "222", &["B"]),
        ])
        .build()]);
    assert_eq!(p.updates.len(), 2);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert_eq!(
        (w.order_id.as_str(), w.code.as_str()),
        ("o", "base_tracking_numbers_differ")
    );
    for text in [&w.message_ja, &w.message_en] {
        assert!(text.contains("111") && text.contains("222"), "{text}");
    }
}

#[test]
fn base_does_not_warn_when_every_item_shares_one_tracking_number() {
    let p = plan(&[order("o")
        .shipments(vec![shipment("1", &["A"]), shipment("2", &["B"])])
        .build()]);
    assert_eq!(p.updates.len(), 2);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn base_a_correction_after_dispatch_warns_naming_the_number_the_buyer_received_and_the_new_one() {
    let mut ledger = Ledger::new();
    let first = plan(&[order("o").tracking("1111").build()]);
    ledger.record_update(&first.updates[0]);
    let p = plan_write_back(
        &BaseSettings::default(),
        &[order("o").tracking("9999").build()],
        Trigger::Scheduled,
        &ledger,
        now(),
    );
    assert_eq!(reason(&p, "o"), Some(Reason::CartCannotChange));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert_eq!(w.code, "base_changed_after_dispatch");
    for text in [&w.message_ja, &w.message_en] {
        assert!(text.contains("1111") && text.contains("9999"), "{text}");
    }
}

#[test]
fn base_a_correction_after_dispatch_is_warned_for_every_item_also_when_other_items_are_planned() {
    let mut ledger = Ledger::new();
    let first = plan(&[order("o")
        .tracking("1111")
        .shipments(vec![shipment("1", &["A", "B"])])
        .build()]);
    ledger.record_update(&first.updates[0]);
    ledger.record_update(&first.updates[1]);
    // A and B went out with 1111; the OMS now says 9999 and adds item C.
    let p = plan_write_back(
        &BaseSettings::default(),
        &[order("o")
            .tracking("9999")
            .shipments(vec![shipment("1", &["A", "B", "C"])])
            .build()],
        Trigger::Scheduled,
        &ledger,
        now(),
    );
    let planned: Vec<&str> = p.updates.iter().map(|u| u.order_item_id.as_str()).collect();
    assert_eq!(planned, ["C"]);
    let warned: Vec<&str> = p
        .warnings
        .iter()
        .filter(|w| w.code == "base_changed_after_dispatch")
        .map(|w| w.message_en.as_str())
        .collect();
    assert_eq!(warned.len(), 2, "{:?}", p.warnings);
    assert!(
        warned[0].contains("item A") && warned[1].contains("item B"),
        "{warned:?}"
    );
    assert!(warned
        .iter()
        .all(|m| m.contains("1111") && m.contains("9999")));
}

#[test]
fn base_a_correction_whose_sent_number_was_not_recorded_says_so() {
    let mut ledger = Ledger::new();
    let first = plan(&[order("o").tracking("1111").build()]);
    // A ledger row from before the number was kept: the hash only.
    ledger.record(
        mallsync_rules::WriteBack::ledger_key(&first.updates[0]),
        mallsync_rules::WriteBack::data_hash(&first.updates[0]),
    );
    let p = plan_write_back(
        &BaseSettings::default(),
        &[order("o").tracking("9999").build()],
        Trigger::Scheduled,
        &ledger,
        now(),
    );
    assert!(
        p.warnings[0].message_en.contains("not recorded"),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings[0].message_ja.contains("記録なし"),
        "{:?}",
        p.warnings
    );
}
