//! The scheduled tick: only what is due, one tick at a time, resuming where the budget ran out.

use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::OrderSeed;
use mallsync_rules::Cart;
use mallsync_sync::lease;
use mallsync_sync::schedule::tick_within;
use serde_json::{json, Value};

use crate::helpers::{
    bcart_settings, order, spawn_app, spawn_app_with, App, TestShop, ADMIN_TOKEN,
};

/// A store holding `orders` (received while auto-export was off), then switched to auto-export.
fn auto_export_store(app: &App, shop: &TestShop, orders: Value) -> String {
    let store = app.create_store(shop, bcart_settings(false));
    assert_eq!(
        app.webhook(&store, &shop.webhook_secret, &orders).status,
        200
    );
    let reply = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "1号店", "settings": bcart_settings(true) })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    store
}

fn tick(app: &App) -> Value {
    let reply = app.call("POST", "/dispatch", Some(ADMIN_TOKEN), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[test]
fn a_tick_writes_back_the_stores_whose_interval_has_come_and_no_others() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("D1", "2026-11-20T10:00:00+09:00").shipment("N1", &[]));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = auto_export_store(
        &app,
        &shop,
        json!({ "orders": [order("D1", "発送待ち", Some("7000-0001"), Some("2026-11-22"), "N1")] }),
    );
    let idle = app.create_store(&shop, bcart_settings(false));

    let first = tick(&app);
    let second = tick(&app);
    app.io.advance(chrono::Duration::minutes(30));
    let third = tick(&app);

    assert_eq!(
        first["work"],
        json!([{ "store_id": store, "cart": "bcart", "kind": "write_back", "run_id": 1 }]),
        "{first}"
    );
    assert_eq!(first["stores_checked"], 2);
    assert_eq!(second["work"], json!([]), "not due again within 30 minutes");
    // The order was sent: nothing is pending, so the next interval starts no run at all.
    assert_eq!(third["work"], json!([]), "{third}");
    assert_eq!(fake.logistics_patches().len(), 1);
    let runs = app.call(
        "GET",
        &format!("/stores/{store}/runs"),
        Some(&shop.token),
        None,
    );
    let runs = runs.body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["trigger"], "scheduled");
    assert_eq!(runs[0]["sent"], 1);
    let idle_runs = app.call(
        "GET",
        &format!("/stores/{idle}/runs"),
        Some(&shop.token),
        None,
    );
    assert_eq!(idle_runs.body["runs"], json!([]));
}

#[test]
fn a_tick_imports_for_stores_with_auto_fetch() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("E1", "2026-11-22T10:00:00+09:00"));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let mut settings = bcart_settings(false);
    settings["import"] = json!({ "auto_fetch": true, "auto_fetch_interval_minutes": 10 });
    let store = app.create_store(&shop, settings);

    let report = tick(&app);

    assert_eq!(report["work"][0]["kind"], "import", "{report}");
    let page = app.call(
        "GET",
        &format!("/stores/{store}/imported-orders"),
        Some(&shop.token),
        None,
    );
    assert_eq!(page.body["orders"][0]["order"]["order_id"], "E1");
}

#[test]
fn a_tick_overlapping_a_running_one_does_nothing() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("テスト商店");
    auto_export_store(&app, &shop, json!({ "orders": [] }));
    let until = mallsync_sync::Io::now(app.io.as_ref()).timestamp() + 60;
    assert!(lease::take(app.io.as_ref(), "dispatch:all", "another-tick", until).unwrap());

    let report = mallsync_sync::tick(app.io.as_ref()).unwrap();

    assert!(report.skipped.is_some());
    assert!(report.work.is_empty());
}

#[test]
fn when_the_budget_runs_out_the_next_tick_resumes_after_the_last_store_done() {
    let fake = FakeBcart::start();
    for (id, logistics) in [("F1", "P1"), ("F2", "P2")] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-20T10:00:00+09:00").shipment(logistics, &[]));
    }
    // Each cart call takes 3 s, longer than the tick's 2 s budget.
    let app = spawn_app_with(Cart::Bcart, fake.url(), |io| {
        io.with_send_latency(chrono::Duration::seconds(3))
    });
    let shop = app.create_shop("テスト商店");
    let a = auto_export_store(
        &app,
        &shop,
        json!({ "orders": [order("F1", "発送待ち", Some("7100-0001"), Some("2026-11-22"), "P1")] }),
    );
    let b = auto_export_store(
        &app,
        &shop,
        json!({ "orders": [order("F2", "発送待ち", Some("7100-0002"), Some("2026-11-22"), "P2")] }),
    );
    let (first_store, second_store) = if a < b { (a, b) } else { (b, a) };

    let first = tick_within(app.io.as_ref(), None, chrono::Duration::seconds(2)).unwrap();
    let second = tick_within(app.io.as_ref(), None, chrono::Duration::seconds(2)).unwrap();

    assert_eq!(first.stores_checked, 1, "{first:?}");
    assert_eq!(first.resume_after.as_deref(), Some(first_store.as_str()));
    assert_eq!(second.stores_checked, 1, "{second:?}");
    assert_eq!(second.work[0].store_id, second_store);
    assert!(second.resume_after.is_none());
    assert_eq!(fake.logistics_patches().len(), 2);
}

#[test]
fn a_store_whose_stored_row_no_longer_parses_is_skipped_and_the_others_still_run() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("G1", "2026-11-20T10:00:00+09:00").shipment("Q1", &[]));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = auto_export_store(
        &app,
        &shop,
        json!({ "orders": [order("G1", "発送待ち", Some("7200-0001"), Some("2026-11-22"), "Q1")] }),
    );
    mallsync_sync::Io::sql(
        app.io.as_ref(),
        "INSERT INTO stores (id, shop_id, cart, name, settings, created_at, updated_at) VALUES ('st_0', ?, 'bcart', 'broken', '{', 0, 0)",
        &[shop.id.clone().into()],
    )
    .unwrap();

    let report = tick(&app);

    assert_eq!(report["skipped_stores"], json!(["st_0"]), "{report}");
    assert_eq!(report["work"][0]["store_id"], store.as_str());
    assert_eq!(fake.logistics_patches().len(), 1);
}

#[test]
fn a_store_cut_short_by_the_budget_is_due_again_on_the_next_tick() {
    let fake = FakeBcart::start();
    for (id, logistics) in [("H1", "R1"), ("H2", "R2")] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-20T10:00:00+09:00").shipment(logistics, &[]));
    }
    let app = spawn_app_with(Cart::Bcart, fake.url(), |io| {
        io.with_send_latency(chrono::Duration::seconds(3))
    });
    let shop = app.create_shop("テスト商店");
    let store = auto_export_store(
        &app,
        &shop,
        json!({ "orders": [
            order("H1", "発送待ち", Some("7300-0001"), Some("2026-11-22"), "R1"),
            order("H2", "発送待ち", Some("7300-0002"), Some("2026-11-22"), "R2"),
        ]}),
    );

    let first = tick_within(app.io.as_ref(), None, chrono::Duration::seconds(2)).unwrap();
    let second = tick_within(app.io.as_ref(), None, chrono::Duration::seconds(2)).unwrap();

    assert_eq!(first.work[0].store_id, store);
    assert_eq!(second.work.len(), 1, "{second:?}");
    assert_eq!(second.work[0].store_id, store);
    assert_eq!(fake.logistics_patches().len(), 2);
}

#[test]
fn the_dispatcher_finds_each_cart_under_its_own_origin_variable() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("J1", "2026-11-20T10:00:00+09:00").shipment("S1", &[]));
    // One component for every cart: `bcart_api_origin` wins over the plain `api_origin`.
    let app = spawn_app_with(Cart::Bcart, "http://127.0.0.1:9", |io| {
        io.with_variable("bcart_api_origin", fake.url())
    });
    let shop = app.create_shop("テスト商店");
    auto_export_store(
        &app,
        &shop,
        json!({ "orders": [order("J1", "発送待ち", Some("7400-0001"), Some("2026-11-22"), "S1")] }),
    );

    let report = mallsync_sync::tick(app.io.as_ref()).unwrap();

    assert!(report.work[0].error.is_none(), "{report:?}");
    assert_eq!(fake.logistics_patches().len(), 1);
}
