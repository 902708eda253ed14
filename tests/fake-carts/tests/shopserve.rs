//! The fake ショップサーブ serves carts-b's guessed wire names: weekly search, per-order update,
//! a carrier refused without a tracking number, maintenance.

mod common;

use common::call;
use mallsync_fake_carts::shopserve::{FakeShopserve, MANAGER_KEY, SHOP_ID};
use mallsync_fake_carts::OrderSeed;
use serde_json::{json, Value};

fn seeded() -> FakeShopserve {
    let ss = FakeShopserve::start();
    for n in 1..=3 {
        ss.seed_order(
            &OrderSeed::new(
                &format!("2026110{n}001"),
                &format!("2026-11-0{n}T10:15:00+09:00"),
            )
            .item("A-28", "手袋", 2, 1800)
            .requested_delivery_date("2026-11-10"),
        );
    }
    common::pace(Some(ss.clock()));
    ss
}

fn send(ss: &FakeShopserve, method: &str, path: &str, body: &Value) -> common::Answer {
    call(method, &format!("{}{path}", ss.url()))
        .basic(SHOP_ID, MANAGER_KEY)
        .json(body)
        .send()
}

#[test]
fn the_search_pages_by_from_and_size_within_one_week() {
    let ss = seeded();
    let search =
        |from: u64| {
            send(&ss, "POST", "/v2/orders/_search", &json!({
            "order_date_from": "2026-11-02 00:00:00", "order_date_to": "2026-11-08 23:59:59",
            "from": from, "size": 1, "sort": {"order": "Asc"}
        }))
        .json()
        };
    let first = search(0);
    assert_eq!(first["total_count"], 2);
    assert_eq!(first["orders"][0]["order_no"], "20261102001");
    assert_eq!(
        first["orders"][0]["deliveries"][0]["items"][0],
        json!({"item_code": "A-28", "quantity": 2})
    );
    assert_eq!(
        first["orders"][0]["deliveries"][0]["delivery_date"],
        "2026-11-10"
    );
    assert_eq!(search(1)["orders"][0]["order_no"], "20261103001");
    assert_eq!(search(2)["orders"], json!([]));
    let too_long = send(
        &ss,
        "POST",
        "/v2/orders/_search",
        &json!({
            "order_date_from": "2026-11-01 00:00:00", "order_date_to": "2026-11-08 00:00:01"
        }),
    );
    assert_eq!(too_long.status(), 400);
}

#[test]
fn an_update_sets_the_shipping_fields_and_a_carrier_needs_a_tracking_number() {
    let ss = seeded();
    let path = "/v2/orders/20261101001/shipping";
    let refused = send(&ss, "PUT", path, &json!({"delivery_company": "ヤマト運輸"}));
    assert_eq!(refused.status(), 400);
    let date_only = send(
        &ss,
        "PUT",
        path,
        &json!({"scheduled_shipping_date": "2026-11-20"}),
    );
    assert_eq!(date_only.status(), 200);
    let shipped = send(
        &ss,
        "PUT",
        path,
        &json!({
            "shipping_status": "発送済み", "delivery_company": "ヤマト運輸", "slip_number": "123456789012"
        }),
    );
    assert_eq!(shipped.status(), 200);
    let order = ss.order("20261101001").unwrap();
    assert_eq!(order.shipping_status, "発送済み");
    assert_eq!(order.slip_number.as_deref(), Some("123456789012"));
    assert_eq!(order.scheduled_shipping_date.as_deref(), Some("2026-11-20"));
    assert_eq!(ss.updates().len(), 2);
}

#[test]
fn wrong_credentials_and_maintenance_are_refused() {
    let ss = seeded();
    let bad = call("POST", &format!("{}/v2/orders/_search", ss.url()))
        .basic(SHOP_ID, "x")
        .json(&json!({}))
        .send();
    assert_eq!(bad.status(), 401);
    ss.set_maintenance(true);
    let closed = send(&ss, "POST", "/v2/orders/_search", &json!({}));
    assert_eq!(closed.status(), 503);
    assert!(closed.json()["message"]
        .as_str()
        .unwrap()
        .contains("メンテナンス"));
}
