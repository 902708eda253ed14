//! Import: orders fetched from the cart are kept once and read by the OMS through a cursor.

use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::OrderSeed;
use mallsync_rules::Cart;
use serde_json::json;

use crate::helpers::{bcart_settings, spawn_app};

#[test]
fn imported_orders_are_delivered_once_through_the_cursor() {
    let fake = FakeBcart::start();
    for id in ["C1", "C2", "C3"] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-21T10:00:00+09:00"));
    }
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    let import = |body| {
        app.call(
            "POST",
            &format!("/stores/{store}/import"),
            Some(&shop.token),
            Some(&body),
        )
    };
    let read = |after: i64| {
        let reply = app.call(
            "GET",
            &format!("/stores/{store}/imported-orders?after={after}&limit=2"),
            Some(&shop.token),
            None,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    };

    let first = import(json!({}));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["imported"], 3);
    let page1 = read(0);
    let page2 = read(page1["next_after"].as_i64().unwrap());
    fake.seed_order(&OrderSeed::new("C4", "2026-11-22T10:00:00+09:00"));
    let second = import(json!({ "from": "2026-11-20", "to": "2026-11-23" }));
    let page3 = read(page2["next_after"].as_i64().unwrap());
    let page4 = read(page3["next_after"].as_i64().unwrap());

    assert_eq!(second.body["imported"], 1, "{}", second.body);
    let ids: Vec<&str> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["order"]["order_id"].as_str().unwrap())
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ["C1", "C2", "C3", "C4"], "{ids:?}");
    assert_eq!(page4["orders"], json!([]));
    assert_eq!(page1["orders"][0]["order"]["status"], "新規受付");
}

#[test]
fn a_connection_test_says_whether_the_cart_accepts_the_stored_credentials() {
    let fake = FakeBcart::start();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let good = app.create_store(&shop, bcart_settings(false));
    let bad = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": "revoked" } }),
    );

    let ok = app.call(
        "POST",
        &format!("/stores/{good}/connection-test"),
        Some(&shop.token),
        None,
    );
    let refused = app.call(
        "POST",
        &format!("/stores/{bad}/connection-test"),
        Some(&shop.token),
        None,
    );

    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(refused.body["cart_error"]["kind"], "credentials_rejected");
    assert!(!refused.body.to_string().contains("revoked"));
}
