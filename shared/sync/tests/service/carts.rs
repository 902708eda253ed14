//! Every cart through the service: a webhook with auto-export puts the data in the cart once.

use mallsync_fake_carts::{cscart, futureshop, shopserve, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_following};

fn shipped(id: &str, shipment: &str, item: &str) -> Value {
    json!({ "orders": [{
        "order_id": id,
        "status": "発送待ち",
        "ordered_at": "2026-11-20T10:00:00+09:00",
        "updated_at": "2026-11-23T09:00:00+09:00",
        "ship_date": "2026-11-23",
        "tracking_numbers": ["123456789012"],
        "carrier": "yamato",
        "shipments": [{ "shipment_id": shipment, "items": [{ "item_id": item }] }],
        "items": [{ "item_id": item }]
    }]})
}

#[test]
fn a_shopserve_order_gets_its_tracking_number_and_shipped_status_once() {
    let fake = shopserve::FakeShopserve::start();
    fake.seed_order(&OrderSeed::new("P1", "2026-11-20T10:00:00+09:00").status("処理中"));
    let app = spawn_app(Cart::Shopserve, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "shop_id": shopserve::SHOP_ID, "manager_key": shopserve::MANAGER_KEY },
            "export": { "auto_export": true }
        }),
    );

    let first = app.webhook(&store, &shop.webhook_secret, &shipped("P1", "1", "P11"));
    let again = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );

    assert_eq!(first.body["write_back"]["sent"], 1, "{}", first.body);
    assert_eq!(again.body["sent"], 0, "{}", again.body);
    let order = fake.order("P1").unwrap();
    assert_eq!(order.slip_number.as_deref(), Some("123456789012"));
    assert_eq!(order.shipping_status, "発送済み");
    assert_eq!(fake.updates().len(), 1);
}

#[test]
fn a_cscart_order_gets_one_shipment_and_status_c_once() {
    let fake = cscart::FakeCscart::start();
    fake.seed_order(&OrderSeed::new("1001", "2026-11-20T10:00:00+09:00").item(
        "501",
        "マグカップ",
        1,
        1200,
    ));
    // The cart's allowed origin is the fake: the store's URL must lie within it.
    let app = spawn_app(Cart::Cscart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, json!({
        "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
        "export": { "auto_export": true }
    }));

    // One shipping group: the order names no shipment, CS-Cart's own group is used.
    let mut order = shipped("1001", "-", "501");
    order["orders"][0]
        .as_object_mut()
        .unwrap()
        .remove("shipments");
    let first = app.webhook(&store, &shop.webhook_secret, &order);
    let again = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );

    assert_eq!(first.body["write_back"]["sent"], 1, "{}", first.body);
    assert_eq!(again.body["sent"], 0, "{}", again.body);
    let shipments = fake.shipments("1001");
    assert_eq!(shipments.len(), 1, "{} {}", first.body, again.body);
    assert_eq!(shipments[0].tracking_number, "123456789012");
    assert_eq!(fake.order_status("1001").as_deref(), Some("C"));
}

#[test]
fn a_futureshop_shipment_gets_its_tracking_number_and_ship_date_once() {
    let fake = futureshop::FakeFutureshop::start();
    fake.seed_order(
        &OrderSeed::new("F1", "2026-11-20T10:00:00+09:00")
            .item("SKU1", "靴下", 1, 800)
            .shipment("1", &["SKU1"]),
    );
    let app = spawn_app_following(Cart::Futureshop, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(
        &shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": fake.url()
            },
            "export": { "auto_export": true }
        }),
    );

    let first = app.webhook(&store, &shop.webhook_secret, &shipped("F1", "1", "SKU1"));
    let again = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );

    assert_eq!(first.body["write_back"]["sent"], 1, "{}", first.body);
    assert_eq!(again.body["sent"], 0, "{}", again.body);
    let shipment = fake.shipment("F1", 1).unwrap();
    assert_eq!(shipment.invoice_no, "123456789012");
    assert_eq!(shipment.shipping_date, "2026-11-23");
    assert!(fake.blanked_fields().is_empty());
}
