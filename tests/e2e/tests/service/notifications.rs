//! Notifications through the host on the built wasm: a webhook's write-back with a failed order
//! raises one signed notification; the destination fails at first, the write-back goes on, and
//! the scheduled dispatch delivers it after its back-off, once.

use mallsync_fake_carts::bcart;
use mallsync_fake_carts::notifications::FakeDestination;
use mallsync_test_support::TestOptions;
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, order, spawn_app_with};

fn on_logistics(mut order: Value, logistics: &str) -> Value {
    order["shipments"] = json!([{ "shipment_id": logistics }]);
    order
}

#[test]
fn a_failed_order_is_notified_once_after_the_destination_recovers_and_the_cart_is_not_held_up() {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(
        &mallsync_fake_carts::OrderSeed::new("OK1", &jst_days_ago(3)).shipment("L1", &[]),
    );
    let dest = FakeDestination::start();
    let app = spawn_app_with(
        "bcart",
        fake.url(),
        TestOptions::default().variable("notification_origin", dest.url()),
    );
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    let created = app.call_as(
        &shop.token,
        "POST",
        "/notifications/destinations",
        Some(&json!({ "name": "運用", "kind": "webhook", "url": format!("{}/hook", dest.url()) })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    dest.set_secret(created.body["signing_secret"].as_str().unwrap());
    dest.fail_next(1);
    let today = jst_date(0);

    let reply = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [
            on_logistics(order("OK1", "発送待ち", Some("1000-0001"), Some(&today)), "L1"),
            on_logistics(order("F1", "発送待ち", Some("1000-0002"), Some(&today)), "NO_SUCH"),
        ]}),
    );

    assert_eq!(reply.body["write_back"]["sent"], 1, "{}", reply.body);
    assert_eq!(reply.body["write_back"]["failed"], 1, "{}", reply.body);
    assert_eq!(fake.logistics_patches().len(), 1);
    // The component tries the destination after the run, in the same invocation: wait for it.
    let started = std::time::Instant::now();
    let state = loop {
        let view = app.call_as(&shop.token, "GET", &format!("/stores/{store}"), None);
        if view.body["notifications"]["last_failed_at"].is_string() {
            break view.body["notifications"].clone();
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "no delivery attempt: {}",
            view.body
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(state["pending"], 1, "{state}");
    assert!(dest.deliveries().is_empty());

    app.advance_clock(std::time::Duration::from_secs(61));
    let tick = app.dispatch();

    assert_eq!(tick["work"]["notifications"]["sent"], 1, "{tick}");
    let deliveries = dest.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].event.as_deref(), Some("run_failed"));
    assert_eq!(deliveries[0].body["data"]["failures"][0]["order_id"], "F1");
    let again = app.dispatch();
    assert_eq!(again["work"]["notifications"]["sent"], 0, "{again}");
    assert_eq!(dest.deliveries().len(), 1);
    fake.assert_no_violations();
    dest.assert_no_violations();
}
