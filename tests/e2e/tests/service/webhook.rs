//! What the webhook refuses: a bad batch (every problem listed, nothing stored) and a wrong or
//! missing signature.

use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, order, sign, spawn_app, App, Reply, TestShop};

fn bcart_store() -> (bcart::FakeBcart, App, TestShop, String) {
    let fake = bcart::FakeBcart::start();
    for (id, logistics) in ORDERS {
        fake.seed_order(&OrderSeed::new(id, &jst_days_ago(3)).shipment(logistics, &[]));
    }
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    (fake, app, shop, store)
}

const ORDERS: [(&str, &str); 4] = [("W1", "WL1"), ("W2", "WL2"), ("W3", "WL3"), ("W4", "WL4")];

fn batch() -> Value {
    let today = jst_date(0);
    let orders: Vec<Value> = ORDERS
        .iter()
        .map(|(id, logistics)| {
            let mut o = order(id, "発送待ち", Some("1234-5678"), Some(&today));
            o["shipments"] = json!([{ "shipment_id": logistics }]);
            o
        })
        .collect();
    json!({ "orders": orders })
}

/// The order ids a preview over the last week mentions, planned or excluded.
fn stored_order_ids(app: &App, shop: &TestShop, store: &str) -> Vec<String> {
    let preview = app.preview(shop, store, 7);
    ["planned", "excluded"]
        .iter()
        .flat_map(|k| preview[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["order_id"].as_str().map(str::to_string))
        .collect()
}

fn problem_fields(reply: &Reply) -> Vec<String> {
    reply.body["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems in {}", reply.body))
        .iter()
        .filter_map(|p| p["field"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_bad_batch_is_refused_with_every_problem_listed_and_nothing_is_stored_or_sent() {
    let (fake, app, shop, store) = bcart_store();
    let mut body = batch();
    body["orders"][0]["ship_date"] = json!("2026-13-45");
    body["orders"][2]["tracking_numbers"] = json!(["12 34"]);
    body["orders"][3]
        .as_object_mut()
        .map(|o| o.remove("ordered_at"));

    let reply = app.webhook(&store, &shop.webhook_secret, &body);

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        problem_fields(&reply),
        [
            "orders[0].ship_date",
            "orders[2].tracking_numbers[0]",
            "orders[3].ordered_at"
        ],
        "{}",
        reply.body
    );
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    assert_eq!(stored_order_ids(&app, &shop, &store), Vec::<String>::new());
}

#[test]
fn two_problems_in_one_order_are_both_listed() {
    let (_fake, app, shop, store) = bcart_store();
    let mut body = batch();
    body["orders"][0]["tracking_numbers"] = json!(["12 34"]);
    body["orders"][0]
        .as_object_mut()
        .map(|o| o.remove("ordered_at"));

    let reply = app.webhook(&store, &shop.webhook_secret, &body);

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        problem_fields(&reply),
        ["orders[0].ordered_at", "orders[0].tracking_numbers[0]"],
        "{}",
        reply.body
    );
}

#[test]
fn a_webhook_with_a_wrong_or_missing_signature_gets_401_and_stores_nothing() {
    let (fake, app, shop, store) = bcart_store();
    let bytes = batch().to_string().into_bytes();
    let forged = sign("not-the-shops-secret", &bytes);

    let wrong = app.call(
        "POST",
        &format!("/stores/{store}/orders"),
        &[("x-mallsync-signature", &forged)],
        Some(&bytes),
    );
    let missing = app.call(
        "POST",
        &format!("/stores/{store}/orders"),
        &[],
        Some(&bytes),
    );
    // Signed for another body: the signature covers the exact bytes.
    let mut other = batch();
    other["orders"][0]["tracking_numbers"] = json!(["9999-9999"]);
    let right_for_other = sign(&shop.webhook_secret, other.to_string().as_bytes());
    let swapped = app.call(
        "POST",
        &format!("/stores/{store}/orders"),
        &[("x-mallsync-signature", &right_for_other)],
        Some(&bytes),
    );

    for reply in [&wrong, &missing, &swapped] {
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply.body["error"].is_string(), "{}", reply.body);
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    assert_eq!(stored_order_ids(&app, &shop, &store), Vec::<String>::new());
}
