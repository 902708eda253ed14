//! The schedule forgets nothing (SPEC.md): an order with shipping work left is finished by later
//! scheduled runs whatever its age in the period: a Bカート 発送指示 waiting for its ship day, a
//! BASE order whose ship date is a week out, an order the cart failed. The fake cart's clock
//! follows the service's, so days pass without waiting.

use chrono::Duration;
use mallsync_fake_carts::base::FakeBase;
use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::base::{base_settings, connect};
use crate::helpers::{bcart_settings, order, spawn_app_following, App, ADMIN_TOKEN};

fn tick(app: &App) -> Value {
    let reply = app.call("POST", "/dispatch", Some(ADMIN_TOKEN), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn pending_count(app: &App) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM pending")
}

#[test]
fn a_bcart_instruction_becomes_shipped_when_its_ship_day_comes_five_days_later() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("P1", "2026-11-20T10:00:00+09:00").shipment("PL1", &[]));
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));

    // Now is 2026-11-23 12:00 JST; the ship date is five days out.
    let body = json!({ "orders": [order("P1", "発送待ち", Some("7000-0001"), Some("2026-11-28"), "PL1")] });
    let webhook = app.webhook(&store, &shop.webhook_secret, &body);
    assert_eq!(webhook.body["write_back"]["sent"], 1, "{}", webhook.body);
    assert_eq!(fake.logistics("PL1").unwrap().status, "発送指示");

    // Days pass, well beyond Bカート's 3-day period, with the OMS saying nothing more.
    for _ in 0..4 {
        app.io.advance(Duration::days(1));
        tick(&app);
        assert_eq!(fake.logistics("PL1").unwrap().status, "発送指示");
    }
    app.io.advance(Duration::hours(13)); // 2026-11-28 01:00 JST
    let report = tick(&app);

    assert_eq!(report["work"][0]["kind"], "write_back", "{report}");
    assert_eq!(fake.logistics("PL1").unwrap().status, "発送済");
    assert_eq!(pending_count(&app), 0, "nothing left to do");
    assert_eq!(
        fake.logistics_patches().len(),
        2,
        "発送指示 once, 発送済 once"
    );
}

#[test]
fn a_base_order_shipping_eight_days_out_is_dispatched_on_that_day_and_once() {
    let fake = FakeBase::start();
    fake.seed_order(&OrderSeed::new("K8", "2026-11-20T10:00:00+09:00").item(
        "81",
        "Tシャツ",
        1,
        1500,
    ));
    let app = spawn_app_following(Cart::Base, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(true));
    connect(&app, &fake, &shop, &store);

    let body = json!({ "orders": [{
        "order_id": "K8", "status": "発送待ち",
        "ordered_at": "2026-11-20T10:00:00+09:00", "updated_at": "2026-11-23T09:00:00+09:00",
        "ship_date": "2026-12-01", "tracking_numbers": ["444455556666"], "carrier": "yamato",
        "items": [{ "item_id": "81" }]
    }]});
    let webhook = app.webhook(&store, &shop.webhook_secret, &body);
    assert_eq!(webhook.body["write_back"]["sent"], 0, "{}", webhook.body);

    for _ in 0..7 {
        app.io.advance(Duration::days(1));
        tick(&app);
    }
    assert_eq!(fake.dispatch_emails_sent(), 0, "not before its ship date");
    app.io.advance(Duration::hours(13)); // 2026-12-01 01:00 JST
    tick(&app);
    app.io.advance(Duration::hours(1));
    tick(&app);

    assert_eq!(fake.dispatch_emails_sent(), 1);
    assert_eq!(fake.item_status("K8", "81").as_deref(), Some("dispatched"));
    assert_eq!(pending_count(&app), 0);
}

#[test]
fn an_order_the_cart_failed_is_sent_by_a_later_scheduled_run_without_a_newer_update() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("F1", "2026-11-20T10:00:00+09:00").shipment("FL1", &[]));
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    fake.faults()
        .on("PATCH", "/api/v1/logistics/FL1", 3, Fault::Status(500));

    let body = json!({ "orders": [order("F1", "発送待ち", Some("7000-0009"), Some("2026-11-23"), "FL1")] });
    let webhook = app.webhook(&store, &shop.webhook_secret, &body);
    assert_eq!(webhook.body["write_back"]["failed"], 1, "{}", webhook.body);

    // Four days later: outside Bカート's 3-day period, and the OMS never sent it again.
    app.io.advance(Duration::days(4));
    let report = tick(&app);

    assert_eq!(report["work"][0]["kind"], "write_back", "{report}");
    assert_eq!(fake.logistics("FL1").unwrap().status, "発送済");
    assert_eq!(pending_count(&app), 0);
    // The manual button still means its period: pressed now, it finds nothing to send.
    let press = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );
    assert_eq!(press.body["sent"], 0, "{}", press.body);
}

#[test]
fn a_newer_version_stored_during_a_run_stays_due() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("V1", "2026-11-20T10:00:00+09:00").shipment("VL1", &[]));
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    let v1 = json!({ "orders": [order("V1", "発送待ち", Some("7000-0001"), Some("2026-11-23"), "VL1")] });
    app.webhook(&store, &shop.webhook_secret, &v1);
    // A run read generation 1; meanwhile the OMS sends version 2.
    let generation: i64 = app.count("SELECT generation AS n FROM pending WHERE order_id = 'V1'");
    let mut v2 = v1.clone();
    v2["orders"][0]["updated_at"] = json!("2026-11-23T10:00:00+09:00");
    v2["orders"][0]["tracking_numbers"] = json!(["7000-0002"]);
    app.webhook(&store, &shop.webhook_secret, &v2);
    mallsync_sync::pending::settle(
        app.io.as_ref(),
        &store,
        "V1",
        Some(generation),
        mallsync_sync::pending::Settlement::Done,
    )
    .unwrap();

    assert_eq!(pending_count(&app), 1, "version 2 is still to be sent");
}

#[test]
fn an_idle_base_store_stays_connected_past_its_refresh_tokens_thirty_days() {
    let fake = FakeBase::start();
    let app = spawn_app_following(Cart::Base, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(false));
    connect(&app, &fake, &shop, &store);
    fake.clear_calls();

    // Nothing to sync for 50 days: a tick a day.
    let mut renewals = 0;
    for _ in 0..50 {
        app.io.advance(Duration::days(1));
        let report = tick(&app);
        if report["work"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "token_renewal")
        {
            renewals += 1;
        }
    }

    assert!(renewals >= 2, "renewed {renewals} times in 50 days");
    let token = mallsync_sync::carts::load_token(app.io.as_ref(), &store)
        .unwrap()
        .unwrap();
    let refresh = token.refresh_token.unwrap();
    assert!(
        fake.is_refresh_token_valid(refresh.expose()),
        "still connected"
    );
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(view.body["alerts"], json!([]), "{}", view.body);
}

#[test]
fn a_refresh_token_base_refuses_marks_the_store_as_needing_reconnection() {
    let fake = FakeBase::start();
    let app = spawn_app_following(Cart::Base, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(false));
    connect(&app, &fake, &shop, &store);
    // Revoked on BASE's side (the shop uninstalled the app, say).
    fake.expire_refresh_tokens();

    app.io.advance(Duration::days(24));
    let report = tick(&app);

    assert!(report["work"][0]["error"].is_string(), "{report}");
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let alert = &view.body["alerts"][0];
    assert_eq!(alert["kind"], "needs_reconnection", "{}", view.body);
    assert!(
        alert["message_ja"].as_str().unwrap().contains("再接続"),
        "{alert}"
    );
}
