//! Notifications per shop: a failed run, a store that needs reconnection, credentials about to
//! lapse, a cart limit; each sent once, signed, after the work, retried when the destination
//! fails. The fake destination verifies every signature and counts an event acknowledged twice
//! as a violation (checked when it is dropped).

use chrono::Duration;
use mallsync_fake_carts::base::FakeBase;
use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::notifications::FakeDestination;
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::base::{base_settings, connect};
use crate::helpers::{bcart_settings, order, spawn_app_with, App, TestShop, ADMIN_TOKEN};

/// The service for `cart` with notifications allowed to the fake destination, the cart's clock
/// following the service's.
fn app_for(cart: Cart, cart_url: &str, clock: mallsync_fake_carts::Clock, dest: &str) -> App {
    let dest = dest.to_string();
    spawn_app_with(cart, cart_url, move |io| {
        io.with_variable(mallsync_sync::notify::ORIGIN_VARIABLE, &dest)
            .on_advance(move |by| clock.advance(by.to_std().unwrap_or_default()))
    })
}

fn tick(app: &App) -> Value {
    let reply = app.call("POST", "/dispatch", Some(ADMIN_TOKEN), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Adds a signed webhook destination and tells the fake its secret.
fn add_webhook(app: &App, shop: &TestShop, dest: &FakeDestination, extra: Value) -> String {
    let mut body = json!({ "name": "運用チーム", "kind": "webhook", "url": dest.hook_url() });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let reply = app.call(
        "POST",
        "/notifications/destinations",
        Some(&shop.token),
        Some(&body),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    dest.set_secret(reply.body["signing_secret"].as_str().unwrap());
    reply.body["id"].as_str().unwrap().to_string()
}

/// A Bカート store with auto-export, whose order F1 names a 出荷 the cart does not have (the
/// cart refuses it: a failure) and OK1 one it has.
fn bcart_store(dest: &FakeDestination) -> (FakeBcart, App, TestShop, String) {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("OK1", "2026-11-20T10:00:00+09:00").shipment("L1", &[]));
    let app = app_for(Cart::Bcart, fake.url(), fake.clock().clone(), dest.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    (fake, app, shop, store)
}

fn batch() -> Value {
    json!({ "orders": [
        order("OK1", "発送待ち", Some("1000-0001"), Some("2026-11-22"), "L1"),
        order("F1", "発送待ち", Some("1000-0002"), Some("2026-11-22"), "NO_SUCH"),
    ]})
}

#[test]
fn a_failed_run_produces_exactly_one_signed_notification_with_its_failures() {
    let dest = FakeDestination::start();
    let (fake, app, shop, store) = bcart_store(&dest);
    add_webhook(&app, &shop, &dest, json!({}));

    let reply = app.webhook(&store, &shop.webhook_secret, &batch());

    let run = &reply.body["write_back"];
    assert_eq!(run["sent"], 1, "{}", reply.body);
    assert_eq!(run["failed"], 1, "{}", reply.body);
    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let note = &deliveries[0];
    assert_eq!(note.event.as_deref(), Some("run_failed"));
    assert_eq!(note.body["store"]["id"], store.as_str());
    assert_eq!(note.body["data"]["counts"]["failed"], 1);
    assert_eq!(note.body["data"]["counts"]["sent"], 1);
    let failure = &note.body["data"]["failures"][0];
    assert_eq!(failure["order_id"], "F1", "{}", note.body);
    assert!(failure["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(
        note.body["data"]["run_path"],
        format!("/bcart/stores/{store}/runs/{}", run["run_id"])
    );
    assert!(note.body["message_ja"].as_str().unwrap().contains("失敗"));
    assert_eq!(fake.logistics_patches().len(), 1);
}

#[test]
fn a_redelivered_event_is_not_sent_twice() {
    let dest = FakeDestination::start();
    let (_fake, app, shop, store) = bcart_store(&dest);
    add_webhook(&app, &shop, &dest, json!({}));
    let first = app.webhook(&store, &shop.webhook_secret, &batch());
    let run_id = first.body["write_back"]["run_id"].as_i64().unwrap();
    assert_eq!(dest.deliveries().len(), 1);

    // The same run's notices raised again (a retried follow-up), the same failure again in a
    // manual run the same day, and the OMS redelivering the batch: nothing new goes out.
    let again = {
        let store = mallsync_sync::shops::store(app.io.as_ref(), Cart::Bcart, &store).unwrap();
        mallsync_sync::notify::after_run(app.io.as_ref(), &store, run_id).unwrap()
    };
    let press = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        Some(&json!({ "period_days": 3 })),
    );
    app.io.advance(Duration::seconds(10));
    app.webhook(&store, &shop.webhook_secret, &batch());
    tick(&app);

    assert_eq!(again, 0);
    assert_eq!(press.body["failed"], 1, "{}", press.body);
    assert_eq!(dest.deliveries().len(), 1, "{:?}", dest.deliveries());
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM notification_outbox"),
        1
    );
}

#[test]
fn a_destination_that_fails_is_retried_with_back_off_and_never_blocks_the_write_back() {
    let dest = FakeDestination::start();
    let (fake, app, shop, store) = bcart_store(&dest);
    add_webhook(&app, &shop, &dest, json!({}));
    dest.fail_next(2);

    let reply = app.webhook(&store, &shop.webhook_secret, &batch());

    // The cart got its update whatever the destination did.
    assert_eq!(reply.body["write_back"]["sent"], 1, "{}", reply.body);
    assert_eq!(fake.logistics_patches().len(), 1);
    assert!(dest.deliveries().is_empty());
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let state = &view.body["notifications"];
    assert_eq!(state["pending"], 1, "{}", view.body);
    assert!(
        state["last_error"].as_str().unwrap().contains("503"),
        "{state}"
    );

    // Not before its back-off (a minute): a tick right away sends nothing.
    tick(&app);
    assert!(dest.deliveries().is_empty());
    app.io.advance(Duration::seconds(61));
    let second = tick(&app);
    assert_eq!(
        second["notifications"],
        json!({ "sent": 0, "failed": 1 }),
        "{second}"
    );
    app.io.advance(Duration::seconds(121));
    let third = tick(&app);
    assert_eq!(
        third["notifications"],
        json!({ "sent": 1, "failed": 0 }),
        "{third}"
    );

    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event.as_deref(), Some("run_failed"));
    // Every attempt is the same delivery (one outbox row).
    assert!(deliveries[0].delivery_id.is_some());
    assert_eq!(
        app.count("SELECT attempts AS n FROM notification_outbox"),
        3
    );
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(view.body["notifications"]["pending"], 0, "{}", view.body);
    assert!(view.body["notifications"]["last_sent_at"].is_string());
}

#[test]
fn a_chat_destination_gets_one_text_in_japanese_and_english_and_its_url_stays_hidden() {
    let dest = FakeDestination::start();
    let (_fake, app, shop, store) = bcart_store(&dest);
    let created = app.call(
        "POST",
        "/notifications/destinations",
        Some(&shop.token),
        Some(&json!({ "name": "Slack #ec", "kind": "chat", "url": dest.chat_url(), "events": ["run_failed"] })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.get("signing_secret").is_none());

    app.webhook(&store, &shop.webhook_secret, &batch());

    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let text = deliveries[0].body["text"].as_str().unwrap();
    assert!(text.contains("失敗") && text.contains("failed"), "{text}");
    let list = app.call(
        "GET",
        "/notifications/destinations",
        Some(&shop.token),
        None,
    );
    let shown = list.body["destinations"][0]["url"].as_str().unwrap();
    assert!(!shown.contains("XXXXSECRET"), "{shown}");
    assert!(list.body["destinations"][0]["delivery"]["last_sent_at"].is_string());
}

#[test]
fn the_test_route_says_whether_the_destination_answered() {
    let dest = FakeDestination::start();
    let (_fake, app, shop, _store) = bcart_store(&dest);
    let id = add_webhook(&app, &shop, &dest, json!({}));
    let path = format!("/notifications/destinations/{id}/test");

    let sent = app.call("POST", &path, Some(&shop.token), None);
    dest.fail_next(1);
    let refused = app.call("POST", &path, Some(&shop.token), None);
    let other_shop = app.create_shop("他の店");
    let foreign = app.call("POST", &path, Some(&other_shop.token), None);

    assert_eq!(sent.body, json!({ "delivered": true, "status": 200 }));
    assert_eq!(refused.body["delivered"], false);
    assert!(refused.body["error"].as_str().unwrap().contains("503"));
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event.as_deref(), Some("test"));
    let deleted = app.call(
        "DELETE",
        &format!("/notifications/destinations/{id}"),
        Some(&shop.token),
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
}

#[test]
fn a_destination_outside_the_allowed_host_or_with_bad_fields_is_refused_with_every_problem() {
    let dest = FakeDestination::start();
    let (_fake, app, shop, _store) = bcart_store(&dest);

    let reply = app.call(
        "POST",
        "/notifications/destinations",
        Some(&shop.token),
        Some(&json!({
            "name": "", "kind": "webhook", "url": "https://evil.example/hook",
            "events": [], "lapse_warning_days": 40
        })),
    );

    assert_eq!(reply.status, 400, "{}", reply.body);
    let fields: Vec<&str> = reply.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "url", "events", "lapse_warning_days"]);
    assert!(reply.body.to_string().contains("notification_origin"));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM notification_destinations"),
        0
    );
}

/// A BASE store connected through OAuth, with nothing to sync.
fn idle_base_store(dest: &FakeDestination) -> (FakeBase, App, TestShop, String) {
    let fake = FakeBase::start();
    let app = app_for(Cart::Base, fake.url(), fake.clock().clone(), dest.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(false));
    connect(&app, &fake, &shop, &store);
    (fake, app, shop, store)
}

#[test]
fn the_schedule_renews_a_base_refresh_token_near_its_lapse_with_no_work_pending() {
    let dest = FakeDestination::start();
    let (fake, app, shop, store) = idle_base_store(&dest);
    add_webhook(&app, &shop, &dest, json!({}));
    let before = mallsync_sync::carts::load_token(app.io.as_ref(), &store)
        .unwrap()
        .unwrap();
    fake.clear_calls();

    app.io.advance(Duration::days(24));
    let report = tick(&app);

    assert_eq!(app.count("SELECT COUNT(*) AS n FROM pending"), 0);
    assert_eq!(report["work"][0]["kind"], "token_renewal", "{report}");
    assert!(report["work"][0]["error"].is_null(), "{report}");
    assert_eq!(fake.calls_to("POST", "/1/oauth/token").len(), 1);
    let after = mallsync_sync::carts::load_token(app.io.as_ref(), &store)
        .unwrap()
        .unwrap();
    let refresh = after.refresh_token.unwrap();
    assert_ne!(
        Some(refresh.expose()),
        before.refresh_token.as_ref().map(|r| r.expose())
    );
    assert!(fake.is_refresh_token_valid(refresh.expose()));
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let credentials = &view.body["credentials"];
    assert_eq!(credentials["days_left"], 30, "{}", view.body);
    assert_eq!(credentials["needs_reconnection"], false);
    // A renewal that worked is no news.
    assert!(dest.deliveries().is_empty(), "{:?}", dest.deliveries());
    // A second tick the same day renews nothing: the fake would count a reused token.
    let again = tick(&app);
    assert!(again["work"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn a_renewal_that_keeps_failing_warns_once_with_the_lapse_date_and_the_store_shows_it() {
    let dest = FakeDestination::start();
    let (fake, app, shop, store) = idle_base_store(&dest);
    add_webhook(
        &app,
        &shop,
        &dest,
        json!({ "events": ["credentials_lapsing"] }),
    );
    // BASE's token endpoint is down for the next two renewals.
    fake.faults()
        .on("POST", "/1/oauth/token", 2, Fault::Status(503));

    app.io.advance(Duration::days(24));
    tick(&app);
    app.io.advance(Duration::hours(1));
    tick(&app);

    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event.as_deref(), Some("credentials_lapsing"));
    assert_eq!(deliveries[0].body["data"]["days_left"], 6);
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let credentials = &view.body["credentials"];
    assert_eq!(credentials["days_left"], 6, "{}", view.body);
    assert!(credentials["renewal_error"].is_string(), "{}", view.body);

    // The endpoint is back: the next tick renews, and the store's warning is gone.
    app.io.advance(Duration::hours(1));
    tick(&app);
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(view.body["credentials"]["days_left"], 30, "{}", view.body);
    assert!(view.body["credentials"].get("renewal_error").is_none());
    assert_eq!(dest.deliveries().len(), 1);
}

#[test]
fn a_store_that_needs_reconnection_is_notified_once() {
    let dest = FakeDestination::start();
    let (fake, app, shop, store) = idle_base_store(&dest);
    add_webhook(&app, &shop, &dest, json!({}));
    fake.expire_refresh_tokens();

    app.io.advance(Duration::days(24));
    tick(&app);
    app.io.advance(Duration::hours(1));
    tick(&app);

    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event.as_deref(), Some("needs_reconnection"));
    assert!(deliveries[0].body["message_ja"]
        .as_str()
        .unwrap()
        .contains("再接続"));
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(view.body["credentials"]["needs_reconnection"], true);
}

#[test]
fn a_cart_limit_that_deferred_work_is_notified_once() {
    let dest = FakeDestination::start();
    let fake = FakeBcart::start();
    for (id, logistics) in [("B1", "M1"), ("B2", "M2")] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-20T10:00:00+09:00").shipment(logistics, &[]));
    }
    let app = app_for(Cart::Bcart, fake.url(), fake.clock().clone(), dest.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    add_webhook(&app, &shop, &dest, json!({ "events": ["cart_limit"] }));
    fake.faults()
        .on("PATCH", "/api/v1/logistics/M1", 1, Fault::RateLimited);

    let reply = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [
            order("B1", "発送待ち", Some("1000-0001"), Some("2026-11-22"), "M1"),
            order("B2", "発送待ち", Some("1000-0002"), Some("2026-11-22"), "M2"),
        ]}),
    );

    assert_eq!(reply.body["write_back"]["deferred"], 2, "{}", reply.body);
    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event.as_deref(), Some("cart_limit"));
    assert_eq!(deliveries[0].body["data"]["deferred"], 1);
    // The lockout ends; the schedule sends the rest and tells nobody again.
    app.io.advance(Duration::seconds(300));
    tick(&app);
    assert_eq!(fake.logistics_patches().len(), 2);
    assert_eq!(dest.deliveries().len(), 1);
}

#[test]
fn a_destinations_url_and_secret_are_sealed_at_rest_and_resealed_after_a_key_rotation() {
    use mallsync_sync::Io;
    let dest = FakeDestination::start();
    let (_fake, app, shop, _store) = bcart_store(&dest);
    let id = add_webhook(&app, &shop, &dest, json!({}));
    let secret = dest.with_cart(|r| r.secret.clone()).unwrap();
    let stored = format!(
        "{:?}",
        app.io
            .sql("SELECT * FROM notification_destinations", &[])
            .unwrap()
            .rows
    );
    assert!(
        !stored.contains(&secret) && !stored.contains("/hook"),
        "{stored}"
    );

    let io = std::sync::Arc::try_unwrap(app.io)
        .ok()
        .expect("the only handle")
        .with_variable(mallsync_sync::crypto::KEY_VARIABLE, &"22".repeat(32))
        .with_variable(
            mallsync_sync::crypto::PREVIOUS_KEY_VARIABLE,
            mallsync_sync::native::TEST_ENCRYPTION_KEY,
        );
    let app = App {
        io: std::sync::Arc::new(io),
        cart: Cart::Bcart,
    };
    let resealed = app.call("POST", "/secrets/reseal", Some(ADMIN_TOKEN), None);
    assert_eq!(
        resealed.body["notification_destinations"], 1,
        "{}",
        resealed.body
    );
    let io = std::sync::Arc::try_unwrap(app.io)
        .ok()
        .expect("the only handle")
        .with_variable(mallsync_sync::crypto::PREVIOUS_KEY_VARIABLE, "");
    let app = App {
        io: std::sync::Arc::new(io),
        cart: Cart::Bcart,
    };
    // Still signed with the same secret: the fake verifies it.
    let sent = app.call(
        "POST",
        &format!("/notifications/destinations/{id}/test"),
        Some(&shop.token),
        None,
    );
    assert_eq!(sent.body["delivered"], true, "{}", sent.body);
}

#[test]
fn a_manual_run_with_a_failure_is_notified_right_after_its_answer() {
    let dest = FakeDestination::start();
    let fake = FakeBcart::start();
    let app = app_for(Cart::Bcart, fake.url(), fake.clock().clone(), dest.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    add_webhook(&app, &shop, &dest, json!({ "events": ["run_failed"] }));
    app.webhook(&store, &shop.webhook_secret, &batch());
    assert!(dest.deliveries().is_empty(), "no run yet");

    let press = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        Some(&json!({ "period_days": 3 })),
    );

    assert_eq!(press.body["failed"], 2, "{}", press.body);
    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].body["data"]["trigger"], "manual");
    assert_eq!(
        deliveries[0].body["data"]["failures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_shop_has_at_most_ten_destinations() {
    let dest = FakeDestination::start();
    let (_fake, app, shop, _store) = bcart_store(&dest);
    let add = || {
        app.call(
            "POST",
            "/notifications/destinations",
            Some(&shop.token),
            Some(&json!({ "name": "通知", "kind": "chat", "url": dest.chat_url() })),
        )
    };
    for _ in 0..mallsync_sync::notify::MAX_DESTINATIONS {
        assert_eq!(add().status, 201);
    }

    let eleventh = add();

    assert_eq!(eleventh.status, 400, "{}", eleventh.body);
    assert!(eleventh.body.to_string().contains("at most 10"));
}
