//! Issue 10: every field of an order the OMS sends has a bound, so nothing unbounded is stored or
//! sent to a cart.

use mallsync_rules::order::{MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TRACKING_NUMBERS};
use mallsync_rules::Order;
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "order_id": "A-1",
        "status": "処理中",
        "ordered_at": "2026-11-20T10:00:00+09:00",
        "updated_at": "2026-11-21T10:00:00+09:00",
        "ship_date": "2026-11-22",
        "requested_delivery_date": "2026-11-24",
        "tracking_numbers": ["1234-5678"],
        "carrier": "other:地域便",
        "shipments": [{"shipment_id": "S1", "items": [{"item_id": "I1", "quantity": 2}]}],
        "items": [{"item_id": "I1", "quantity": 2}]
    })
}

/// The fields named by the problems of `order` with `field` set to `value`.
fn problems_with(path: &[&str], value: Value) -> Vec<String> {
    let mut order = base();
    let mut slot = &mut order;
    for key in path {
        slot = match key.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[*key],
        };
    }
    *slot = value;
    match Order::from_json(&order) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.into_iter().map(|p| p.field).collect(),
    }
}

#[test]
fn an_order_within_every_bound_is_accepted() {
    assert!(Order::from_json(&base()).is_ok());
}

#[test]
fn every_field_out_of_its_bound_is_refused_by_name() {
    let long_id = "9".repeat(MAX_ID_CHARS + 1);
    let long_name = "保".repeat(MAX_NAME_CHARS + 1);
    let cases: Vec<(&[&str], Value, &str)> = vec![
        (&["order_id"], json!(long_id), "order_id"),
        (&["order_id"], json!(".."), "order_id"),
        (&["order_id"], json!("."), "order_id"),
        (&["order_id"], json!("a/b"), "order_id"),
        (&["order_id"], json!("a%2F"), "order_id"),
        (&["order_id"], json!(""), "order_id"),
        (&["status"], json!(""), "status"),
        (&["status"], json!(long_name), "status"),
        (&["status"], json!("処理\n中"), "status"),
        (&["carrier"], json!(format!("other:{long_name}")), "carrier"),
        (
            &["ordered_at"],
            json!("0000-01-01T00:00:00+09:00"),
            "ordered_at",
        ),
        (
            &["updated_at"],
            json!("2101-01-01T00:00:00+09:00"),
            "updated_at",
        ),
        (&["ship_date"], json!("0000-01-01"), "ship_date"),
        (&["ship_date"], json!("-262143-01-01"), "ship_date"),
        (&["ship_date"], json!("+99999-01-01"), "ship_date"),
        (&["ship_date"], json!("1999-12-31"), "ship_date"),
        (
            &["requested_delivery_date"],
            json!("2101-01-01"),
            "requested_delivery_date",
        ),
        (
            &["tracking_numbers"],
            json!(vec!["1"; MAX_TRACKING_NUMBERS + 1]),
            "tracking_numbers",
        ),
        (
            &["tracking_numbers", "0"],
            json!("1".repeat(65)),
            "tracking_numbers[0]",
        ),
        (
            &["shipments", "0", "shipment_id"],
            json!(".."),
            "shipments[0].shipment_id",
        ),
        (
            &["shipments", "0", "items", "0", "item_id"],
            json!("x".repeat(MAX_ID_CHARS + 1)),
            "shipments[0].items[0].item_id",
        ),
        (&["items", "0", "quantity"], json!(0), "items[0].quantity"),
        (
            &["items", "0", "quantity"],
            json!(100_001),
            "items[0].quantity",
        ),
        (
            &["items", "0", "item_id"],
            json!("../x"),
            "items[0].item_id",
        ),
    ];
    for (path, value, field) in cases {
        let problems = problems_with(path, value.clone());
        assert!(
            problems.iter().any(|p| p == field),
            "{path:?} = {value}: expected a problem at {field}, got {problems:?}"
        );
    }
}

#[test]
fn the_edges_of_each_bound_are_accepted() {
    assert!(problems_with(&["order_id"], json!("9".repeat(MAX_ID_CHARS))).is_empty());
    assert!(problems_with(&["order_id"], json!("a.b:c_d-e")).is_empty());
    assert!(problems_with(&["ship_date"], json!("2000-01-01")).is_empty());
    assert!(problems_with(&["ship_date"], json!("2100-12-31")).is_empty());
    assert!(problems_with(&["status"], json!("保".repeat(MAX_NAME_CHARS))).is_empty());
}
