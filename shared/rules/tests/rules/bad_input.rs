//! Bad input from the OMS or an operator: named, never a panic, never silently dropped.

use mallsync_rules::bcart::{plan_write_back, BcartSettings};
use mallsync_rules::{parse_json, Ledger, OmsStatus, Order, Trigger};

use crate::helpers::*;

const ORDER: &str = r#"{"order_id":"o","status":"STATUS","ordered_at":"2026-11-22T10:00:00+09:00",
  "ship_date":"SHIP_DATE","tracking_numbers":["1234"],"carrier":"CARRIER",
  "shipments":[{"shipment_id":"1"}]}"#;

fn order_json(status: &str, ship_date: &str, carrier: &str) -> String {
    ORDER
        .replace("STATUS", status)
        .replace("SHIP_DATE", ship_date)
        .replace("CARRIER", carrier)
}

#[test]
fn unknown_status_names_are_kept_as_custom_statuses_and_treated_as_other() {
    let order: Order =
        parse_json(order_json("ピック済", "2026-11-23", "yamato").as_bytes()).unwrap();
    assert_eq!(order.status, OmsStatus::Custom("ピック済".into()));
    let p = plan_write_back(
        &BcartSettings::default(),
        &[order],
        Trigger::Scheduled,
        &Ledger::new(),
        now(),
    );
    assert_eq!(p.updates.len(), 1);
}

#[test]
fn a_malformed_date_is_an_error_naming_the_field() {
    for bad in ["2026-13-01", "23/11/2026", ""] {
        let e = parse_json::<Order>(order_json("処理中", bad, "yamato").as_bytes()).unwrap_err();
        assert_eq!(e.field(), Some("ship_date"), "{bad}: {e}");
    }
    let e = parse_json::<Vec<Order>>(
        format!("[{}]", order_json("処理中", "2026-11-31", "yamato")).as_bytes(),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("[0].ship_date"), "{e}");
}

#[test]
fn an_unknown_carrier_code_is_an_error_naming_the_field() {
    let e =
        parse_json::<Order>(order_json("処理中", "2026-11-23", "kuroneko").as_bytes()).unwrap_err();
    assert_eq!(e.field(), Some("carrier"), "{e}");
    assert!(e.to_string().contains("yamato"), "{e}");
}

#[test]
fn a_negative_manual_period_is_an_error_naming_the_field() {
    assert_eq!(
        Trigger::manual(-1).unwrap_err().field(),
        Some("period_days")
    );
}

#[test]
fn a_bad_tracking_number_is_an_error_naming_the_field() {
    let json = order_json("処理中", "2026-11-23", "yamato").replace("\"1234\"", "\"12 34\"");
    let e = parse_json::<Order>(json.as_bytes()).unwrap_err();
    assert_eq!(e.field(), Some("tracking_numbers[0]"), "{e}");
}
