//! OMS webhooks: validated as a whole, stored by order id, written back at once with auto-export.

use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::OrderSeed;
use mallsync_rules::Cart;
use serde_json::json;

use crate::helpers::{bcart_settings, order, spawn_app};

fn seeded_bcart() -> FakeBcart {
    let fake = FakeBcart::start();
    for (id, logistics) in [("A1", "L1"), ("A2", "L2"), ("A3", "L3"), ("A4", "L4")] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-20T10:00:00+09:00").shipment(logistics, &[]));
    }
    fake
}

fn batch() -> serde_json::Value {
    json!({ "orders": [
        order("A1", "発送待ち", Some("1111-2222"), Some("2026-11-23"), "L1"),
        order("A2", "新規受付", Some("3333-4444"), Some("2026-11-23"), "L2"),
        order("A3", "処理中", None, Some("2026-11-23"), "L3"),
        order("A4", "処理中", Some("5555-6666"), Some("2026-11-25"), "L4"),
    ]})
}

#[test]
fn a_webhook_batch_leads_to_exactly_the_cart_calls_the_rules_require() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));

    let reply = app.webhook(&store, &shop.webhook_secret, &batch());

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["write_back"]["sent"], 2, "{}", reply.body);
    let patches = fake.logistics_patches();
    assert_eq!(
        patches,
        vec![
            (
                "L1".to_string(),
                json!({ "delivery_code": "1111-2222", "shipment_date": "2026-11-23", "status": "発送済" })
            ),
            (
                "L4".to_string(),
                json!({ "delivery_code": "5555-6666", "shipment_date": "2026-11-25", "status": "発送指示" })
            ),
        ]
    );
    let lines = reply.body["write_back"]["orders"].as_array().unwrap();
    let reason_of = |id: &str| {
        lines
            .iter()
            .find(|l| l["order_id"] == id)
            .map(|l| l["reason_code"].clone())
    };
    assert_eq!(reason_of("A2"), Some(json!("status_excluded")));
    assert_eq!(reason_of("A3"), Some(json!("no_tracking_number")));
}

#[test]
fn a_redelivered_webhook_sends_nothing_twice() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));

    app.webhook(&store, &shop.webhook_secret, &batch());
    // The OMS redelivers signing anew (the same signature twice is a replay, refused).
    app.io.advance(chrono::Duration::seconds(1));
    let again = app.webhook(&store, &shop.webhook_secret, &batch());

    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["changed"], 0);
    assert_eq!(fake.logistics_patches().len(), 2);
}

#[test]
fn a_changed_tracking_number_is_sent_again_once() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    app.webhook(&store, &shop.webhook_secret, &batch());

    let mut fixed = order(
        "A1",
        "発送待ち",
        Some("9999-0000"),
        Some("2026-11-23"),
        "L1",
    );
    fixed["updated_at"] = json!("2026-11-23T11:00:00+09:00");
    app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [fixed.clone()] }),
    );
    app.webhook(&store, &shop.webhook_secret, &json!({ "orders": [fixed] }));

    let patches = fake.logistics_patches();
    assert_eq!(patches.len(), 3);
    assert_eq!(patches[2].1["delivery_code"], "9999-0000");
}

#[test]
fn a_bad_batch_is_refused_with_every_problem_and_nothing_is_stored_or_sent() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    let mut body = batch();
    body["orders"][1]["ship_date"] = json!("2026-13-45");
    body["orders"][3]["tracking_numbers"] = json!(["12 34"]);

    let reply = app.webhook(&store, &shop.webhook_secret, &body);

    assert_eq!(reply.status, 400, "{}", reply.body);
    let fields: Vec<&str> = reply.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["orders[1].ship_date", "orders[3].tracking_numbers[0]"]
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 0);
    assert!(fake.calls().is_empty());
}

#[test]
fn a_webhook_with_a_wrong_or_missing_signature_is_refused_and_stores_nothing() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let other = app.create_shop("別の商店");
    let store = app.create_store(&shop, bcart_settings(true));

    let wrong = app.webhook(&store, &other.webhook_secret, &batch());
    let unsigned = app.call(
        "POST",
        &format!("/stores/{store}/orders"),
        Some(&shop.token),
        Some(&batch()),
    );

    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body["error"].as_str().unwrap().contains("signature"),
        "{}",
        wrong.body
    );
    assert_eq!(unsigned.status, 401);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 0);
    assert!(fake.calls().is_empty());
}

#[test]
fn without_auto_export_a_webhook_only_stores_the_orders() {
    let fake = seeded_bcart();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));

    let reply = app.webhook(&store, &shop.webhook_secret, &batch());

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["changed"], 4);
    assert!(reply.body["write_back"].is_null());
    assert!(fake.calls().is_empty());
}
