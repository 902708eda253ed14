//! Manual write-back, preview, and sending nothing twice whatever happens.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::helpers::{bcart_settings, order, spawn_app, App, TestShop};

/// A Bカート store holding three orders ready to write back (stored without auto-export).
fn store_with_three_orders() -> (FakeBcart, App, TestShop, String) {
    let fake = FakeBcart::start();
    for (id, logistics) in [("B1", "M1"), ("B2", "M2"), ("B3", "M3")] {
        fake.seed_order(&OrderSeed::new(id, "2026-11-20T10:00:00+09:00").shipment(logistics, &[]));
    }
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    let orders = json!({ "orders": [
        order("B1", "発送待ち", Some("1000-0001"), Some("2026-11-22"), "M1"),
        order("B2", "発送待ち", Some("1000-0002"), Some("2026-11-22"), "M2"),
        order("B3", "発送待ち", Some("1000-0003"), Some("2026-11-22"), "M3"),
    ]});
    assert_eq!(
        app.webhook(&store, &shop.webhook_secret, &orders).status,
        200
    );
    (fake, app, shop, store)
}

fn press(app: &App, shop: &TestShop, store: &str) -> Value {
    let reply = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        Some(&json!({ "period_days": 3 })),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn outcomes(run: &Value) -> Vec<(String, String)> {
    run["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["order_id"].as_str().unwrap().to_string(),
                l["reason_code"]
                    .as_str()
                    .unwrap_or(l["outcome"].as_str().unwrap())
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn preview_lists_the_exact_fields_and_the_exclusions_and_sends_nothing() {
    let (fake, app, shop, store) = store_with_three_orders();
    let late = json!({ "orders": [order("B4", "キャンセル", Some("1000-0004"), Some("2026-11-22"), "M4")] });
    app.webhook(&store, &shop.webhook_secret, &late);

    let reply = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        Some(&json!({ "period_days": 3 })),
    );

    assert_eq!(reply.status, 200, "{}", reply.body);
    let planned = reply.body["planned"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    let b1 = planned.iter().find(|p| p["order_id"] == "B1").unwrap();
    assert_eq!(b1["fields"]["tracking_number"], "1000-0001");
    assert_eq!(b1["fields"]["status"], "発送済");
    let excluded = &reply.body["excluded"][0];
    assert_eq!(excluded["order_id"], "B4");
    assert_eq!(excluded["reason_code"], "status_excluded");
    assert!(excluded["message_ja"]
        .as_str()
        .unwrap()
        .contains("キャンセル"));
    assert!(fake.calls().is_empty());
}

#[test]
fn a_second_manual_press_sends_nothing_again() {
    let (fake, app, shop, store) = store_with_three_orders();

    let first = press(&app, &shop, &store);
    let second = press(&app, &shop, &store);

    assert_eq!(first["sent"], 3);
    assert_eq!(second["sent"], 0);
    assert_eq!(second["excluded"], 3);
    assert_eq!(fake.logistics_patches().len(), 3);
}

#[test]
fn two_overlapping_runs_never_send_the_same_update_twice() {
    let (fake, app, shop, store) = store_with_three_orders();
    // The cart answers slowly, so the second run plans and claims while the first is sending.
    fake.faults()
        .next(3, Fault::Delay(Duration::from_millis(150)));
    let app = Arc::new(app);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (app, token, store) = (Arc::clone(&app), shop.token.clone(), store.clone());
            thread::spawn(move || {
                let reply = app.call(
                    "POST",
                    &format!("/stores/{store}/write-back"),
                    Some(&token),
                    None,
                );
                assert_eq!(reply.status, 200, "{}", reply.body);
                reply.body
            })
        })
        .collect();
    let reports: Vec<Value> = runs.into_iter().map(|r| r.join().unwrap()).collect();

    let patched: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut unique = patched.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(patched.len(), unique.len(), "sent twice: {patched:?}");
    assert_eq!(unique, ["M1", "M2", "M3"]);
    let sent: i64 = reports.iter().map(|r| r["sent"].as_i64().unwrap()).sum();
    assert_eq!(sent, 3);
}

#[test]
fn a_cart_outage_mid_run_leaves_failed_orders_in_the_log_and_the_next_run_finishes_them() {
    let (fake, app, shop, store) = store_with_three_orders();
    // B1 goes through; then every try of B2 gets a 503 (three tries), so the run stops.
    fake.faults()
        .on("PATCH", "/api/v1/logistics/M2", 3, Fault::Status(503));

    let first = press(&app, &shop, &store);

    assert_eq!(first["sent"], 1, "{first}");
    assert_eq!(first["failed"], 1);
    // Once the cart fails, the rest waits for the next run: deferred, not failed.
    assert_eq!(first["deferred"], 1);
    assert!(
        first["stopped"].as_str().unwrap().contains("unavailable"),
        "{first}"
    );
    let mut lines = outcomes(&first);
    lines.sort();
    assert_eq!(
        lines,
        [
            ("B1".into(), "sent".into()),
            ("B2".into(), "transient".into()),
            ("B3".into(), "cart_failing".into())
        ]
    );
    let log = app.call(
        "GET",
        &format!("/stores/{store}/runs/{}", first["run_id"]),
        Some(&shop.token),
        None,
    );
    assert_eq!(log.body["failed"], 1, "{}", log.body);
    assert_eq!(log.body["deferred"], 1, "{}", log.body);
    let failure = &log.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["order_id"] == "B2")
        .unwrap()["message_ja"];
    assert!(failure.as_str().unwrap().contains("カート"), "{failure}");

    let second = press(&app, &shop, &store);

    assert_eq!(second["sent"], 2, "{second}");
    let patched: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(patched, ["M1", "M2", "M3"]);
}

#[test]
fn a_rate_limit_stops_the_run_at_once_and_the_next_run_finishes() {
    let (fake, app, shop, store) = store_with_three_orders();
    fake.faults()
        .on("PATCH", "/api/v1/logistics/M2", 1, Fault::RateLimited);

    let first = press(&app, &shop, &store);

    assert_eq!(first["sent"], 1, "{first}");
    let mut lines = outcomes(&first);
    lines.sort();
    assert_eq!(lines[1], ("B2".into(), "rate_limited".into()));
    assert_eq!(lines[2], ("B3".into(), "request_budget".into()));
    assert_eq!(first["deferred"], 2, "{first}");
    // Bカート locks a client out: no retry within the run.
    assert_eq!(fake.calls_to("PATCH", "/api/v1/logistics/M2").len(), 1);
    // Nor by the next run while the lockout lasts: it calls nothing.
    let calls = fake.calls().len();
    let during = press(&app, &shop, &store);
    assert_eq!(during["sent"], 0, "{during}");
    assert_eq!(fake.calls().len(), calls);

    app.io.advance(chrono::Duration::seconds(300));
    let second = press(&app, &shop, &store);

    assert_eq!(second["sent"], 2, "{second}");
    assert_eq!(fake.logistics_patches().len(), 3);
}

#[test]
fn a_lost_response_is_retried_and_the_cart_holds_the_data_once() {
    let (fake, app, shop, store) = store_with_three_orders();
    fake.faults().on(
        "PATCH",
        "/api/v1/logistics/M1",
        1,
        Fault::StatusAfterApplying(503),
    );

    let run = press(&app, &shop, &store);

    assert_eq!(run["sent"], 3, "{run}");
    let m1 = fake.logistics("M1").unwrap();
    assert_eq!(m1.delivery_code.as_deref(), Some("1000-0001"));
    assert_eq!(m1.status, "発送済");
}
