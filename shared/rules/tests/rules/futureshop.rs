//! futureshop (seed 004).

use chrono::Duration;
use mallsync_rules::futureshop::{
    plan_write_back, unit_price_with_options, FutureshopSettings, FutureshopShipment,
    FutureshopUpdate, PointTiming,
};
use mallsync_rules::{
    CartSettings, Ledger, OmsStatus, Order, Plan, Reason, StoreSettings, Trigger, WriteBack,
};

use crate::helpers::*;

fn plan_with(
    settings: &FutureshopSettings,
    trigger: Trigger,
    orders: &[Order],
) -> Plan<FutureshopUpdate> {
    plan_write_back(settings, orders, trigger, &Ledger::new(), now())
}

fn plan(orders: &[Order]) -> Plan<FutureshopUpdate> {
    plan_with(&FutureshopSettings::default(), Trigger::Webhook, orders)
}

#[test]
fn futureshop_excludes_new_and_cancelled_orders() {
    let p = plan(&[
        order("new").status(OmsStatus::New).build(),
        order("cancelled").status(OmsStatus::Cancelled).build(),
        order("on-hold").status(OmsStatus::OnHold).build(),
    ]);
    assert!(matches!(
        reason(&p, "new"),
        Some(Reason::StatusExcluded { .. })
    ));
    assert!(matches!(
        reason(&p, "cancelled"),
        Some(Reason::StatusExcluded { .. })
    ));
    assert_eq!(reason(&p, "on-hold"), None);
}

#[test]
fn futureshop_sends_orders_last_updated_in_the_oms_within_4_days() {
    let p = plan(&[
        order("edge").updated_ago(Duration::days(4)).build(),
        order("late")
            .updated_ago(Duration::days(4) + Duration::seconds(1))
            .build(),
        order("never-updated")
            .never_updated()
            .ordered_ago(Duration::days(5))
            .build(),
    ]);
    assert_eq!(reason(&p, "edge"), None);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::NotUpdatedInPeriod { period_days: 4 })
    );
    assert_eq!(
        reason(&p, "never-updated"),
        Some(Reason::NotUpdatedInPeriod { period_days: 4 })
    );
}

#[test]
fn futureshop_a_manual_period_longer_than_4_days_widens_the_window() {
    let o = [order("o").updated_ago(Duration::days(6)).build()];
    let settings = FutureshopSettings::default();
    assert_eq!(
        plan_with(&settings, Trigger::manual(7).unwrap(), &o)
            .updates
            .len(),
        1
    );
    let p = plan_with(&settings, Trigger::manual(5).unwrap(), &o);
    assert_eq!(
        reason(&p, "o"),
        Some(Reason::NotUpdatedInPeriod { period_days: 5 })
    );
}

#[test]
fn futureshop_a_manual_period_shorter_than_4_days_never_narrows_the_window() {
    let o = [order("o").updated_ago(Duration::days(3)).build()];
    let p = plan_with(
        &FutureshopSettings::default(),
        Trigger::manual(1).unwrap(),
        &o,
    );
    assert_eq!(reason(&p, "o"), None);
    assert_eq!(p.updates.len(), 1);
    let late = [order("late")
        .updated_ago(Duration::days(4) + Duration::seconds(1))
        .build()];
    let p = plan_with(
        &FutureshopSettings::default(),
        Trigger::manual(1).unwrap(),
        &late,
    );
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::NotUpdatedInPeriod { period_days: 4 })
    );
}

#[test]
fn futureshop_the_manual_period_proposed_is_4_days() {
    assert_eq!(FutureshopSettings::default().period_days(), Some(4));
}

#[test]
fn futureshop_sends_orders_ordered_within_170_days() {
    let p = plan(&[
        order("edge").ordered_ago(Duration::days(170)).build(),
        order("late")
            .ordered_ago(Duration::days(170) + Duration::seconds(1))
            .build(),
    ]);
    assert_eq!(reason(&p, "edge"), None);
    assert_eq!(
        reason(&p, "late"),
        Some(Reason::OrderedTooLongAgo { limit_days: 170 })
    );
}

#[test]
fn futureshop_expected_arrival_is_the_requested_delivery_date() {
    let p = plan(&[order("o").requested_delivery(date(2026, 11, 26)).build()]);
    assert_eq!(
        p.updates[0].shipments()[0].expected_arrival,
        Some(date(2026, 11, 26))
    );
}

#[test]
fn futureshop_expected_arrival_is_blank_without_a_requested_delivery_date() {
    let p = plan(&[order("o").build()]);
    assert_eq!(p.updates[0].shipments()[0].expected_arrival, None);
    // Blank means left out of the request, never sent as "" (which would erase the field).
    let json = serde_json::to_value(&p.updates[0].shipments()[0]).unwrap();
    assert_ne!(json["expected_arrival"], serde_json::json!(""));
}

#[test]
fn futureshop_writes_every_shipment_by_its_number_in_one_update() {
    let p = plan(&[order("o")
        .shipments(vec![
            shipment("1", &["A"]),
            shipment_tracked("2", "222", &["B"]),
        ])
        .build()]);
    assert_eq!(
        p.updates,
        [FutureshopUpdate::Ship {
            order_id: "o".into(),
            shipments: vec![
                FutureshopShipment {
                    shipment_no: 1,
                    ship_date: today(),
                    tracking_number: Some(tn("1234-5678-9012")),
                    expected_arrival: None,
                },
                FutureshopShipment {
                    shipment_no: 2,
                    ship_date: today(),
                    tracking_number: Some(tn("222")),
                    expected_arrival: None,
                },
            ],
        }]
    );
}

#[test]
fn futureshop_order_without_shipments_writes_shipment_1() {
    let p = plan(&[order("o").shipments(vec![]).build()]);
    assert_eq!(p.updates[0].shipments().len(), 1);
    assert_eq!(p.updates[0].shipments()[0].shipment_no, 1);
}

#[test]
fn futureshop_shipment_id_that_is_not_a_number_is_excluded() {
    let p = plan(&[
        order("word")
            .shipments(vec![shipment("first", &["A"])])
            .build(),
        order("zero").shipments(vec![shipment("0", &["A"])]).build(),
    ]);
    assert_eq!(
        reason(&p, "word"),
        Some(Reason::InvalidShipmentNo {
            shipment_id: "first".into()
        })
    );
    assert!(matches!(
        reason(&p, "zero"),
        Some(Reason::InvalidShipmentNo { .. })
    ));
}

#[test]
fn futureshop_needs_a_ship_date_but_not_a_tracking_number() {
    let p = plan(&[
        order("no-date").no_ship_date().build(),
        order("no-number").no_tracking().build(),
    ]);
    assert_eq!(reason(&p, "no-date"), Some(Reason::NoShipDate));
    assert_eq!(reason(&p, "no-number"), None);
    assert_eq!(p.updates[0].shipments()[0].tracking_number, None);
}

#[test]
fn futureshop_sets_processed_only_when_the_store_says_so() {
    let settings = FutureshopSettings {
        mark_processed: true,
        ..FutureshopSettings::default()
    };
    let with = plan_with(&settings, Trigger::Scheduled, &[order("o").build()]);
    assert!(with.updates[0].is_ship());
    assert_eq!(
        with.updates[1],
        FutureshopUpdate::Complete {
            order_id: "o".into()
        }
    );
    let without = plan(&[order("o").build()]);
    assert_eq!(without.updates.len(), 1);
    assert!(without.updates[0].is_ship());
}

#[test]
fn futureshop_processed_is_its_own_ledger_entry_planned_after_the_shipping_data() {
    let settings = FutureshopSettings {
        mark_processed: true,
        ..FutureshopSettings::default()
    };
    let p = plan_with(&settings, Trigger::Scheduled, &[order("o").build()]);
    let keys: Vec<String> = p.updates.iter().map(WriteBack::ledger_key).collect();
    assert_eq!(keys, ["o", "o#complete"]);
    assert_ne!(p.updates[0].data_hash(), p.updates[1].data_hash());
}

#[test]
fn futureshop_a_failed_processed_step_is_planned_again_alone_without_the_shipping_data() {
    let settings = FutureshopSettings {
        mark_processed: true,
        ..FutureshopSettings::default()
    };
    let o = [order("o").build()];
    let first = plan_with(&settings, Trigger::Scheduled, &o);
    // The 発送API accepted the shipping data; 処理済 failed, so only the Ship is in the ledger.
    let mut ledger = Ledger::new();
    ledger.record_update(&first.updates[0]);
    let retry = plan_write_back(&settings, &o, Trigger::Scheduled, &ledger, now());
    assert_eq!(
        retry.updates,
        [FutureshopUpdate::Complete {
            order_id: "o".into()
        }]
    );
    ledger.record_update(&retry.updates[0]);
    let done = plan_write_back(&settings, &o, Trigger::Scheduled, &ledger, now());
    assert_eq!(reason(&done, "o"), Some(Reason::AlreadyAccepted));
}

#[test]
fn futureshop_shipping_data_keeps_the_ledger_key_and_hash_it_had_before_processed_was_split() {
    let p = plan(&[order("o").build()]);
    let FutureshopUpdate::Ship {
        order_id,
        shipments,
    } = &p.updates[0]
    else {
        panic!("expected the shipping data first: {:?}", p.updates);
    };
    assert_eq!(p.updates[0].ledger_key(), "o");
    assert_eq!(
        p.updates[0].data_hash(),
        mallsync_rules::DataHash::of(&(order_id, shipments))
    );
}

#[test]
fn futureshop_warns_that_the_api_does_not_activate_points_on_shipped_or_processed() {
    for (timing, warned) in [
        (PointTiming::OnOrderCompleted, false),
        (PointTiming::AfterDays, false),
        (PointTiming::ByAdmin, false),
        (PointTiming::OnShipped, true),
        (PointTiming::OnProcessed, true),
    ] {
        let settings = FutureshopSettings {
            point_timing: timing,
            ..FutureshopSettings::default()
        };
        let warnings = settings.warnings();
        assert_eq!(!warnings.is_empty(), warned, "{timing:?}");
        assert_eq!(StoreSettings::from(settings).warnings(), warnings);
        for w in warnings {
            assert!(w.message_ja.contains("ポイント"), "{}", w.message_ja);
            assert!(w.message_en.contains("points"), "{}", w.message_en);
        }
    }
}

#[test]
fn futureshop_option_prices_are_added_to_the_unit_price_only_when_the_store_says_so() {
    assert!(FutureshopSettings::default().option_price);
    assert_eq!(unit_price_with_options(1000, &[200, 50], true), 1250);
    assert_eq!(unit_price_with_options(1000, &[200, 50], false), 1000);
    assert_eq!(unit_price_with_options(1000, &[], true), 1000);
    assert_eq!(unit_price_with_options(i64::MAX, &[1], true), i64::MAX);
}

#[test]
fn futureshop_turning_processed_on_plans_only_the_processed_step_for_accepted_shipments() {
    let o = [order("o").build()];
    let mut ledger = Ledger::new();
    ledger.record_update(&plan(&o).updates[0]);
    assert_eq!(
        reason(
            &plan_write_back(
                &FutureshopSettings::default(),
                &o,
                Trigger::Scheduled,
                &ledger,
                now()
            ),
            "o"
        ),
        Some(Reason::AlreadyAccepted)
    );
    let settings = FutureshopSettings {
        mark_processed: true,
        ..FutureshopSettings::default()
    };
    let p = plan_write_back(&settings, &o, Trigger::Scheduled, &ledger, now());
    assert_eq!(
        p.updates,
        [FutureshopUpdate::Complete {
            order_id: "o".into()
        }]
    );
}
