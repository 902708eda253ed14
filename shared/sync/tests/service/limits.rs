//! Never over a cart's limit, at volume: one request budget per cart account, shared by every
//! run, against the strict fakes (which count every request a real cart would punish). Time is
//! the service's clock, and the fake's follows it, so hours pass without waiting.

use chrono::Duration;
use mallsync_fake_carts::base::FakeBase;
use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::Cart;
use mallsync_sync::Io;
use serde_json::{json, Value};

use crate::base::{base_settings, connect};
use crate::helpers::{bcart_settings, order, spawn_app_following, App, ADMIN_TOKEN};

fn tick(app: &App) -> Value {
    let reply = app.call("POST", "/dispatch", Some(ADMIN_TOKEN), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[test]
fn three_hundred_fifty_bcart_updates_go_out_over_several_ticks_without_a_lockout() {
    let fake = FakeBcart::start();
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    let orders: Vec<Value> = (0..350)
        .map(|n| {
            let id = format!("B{n}");
            fake.seed_order(
                &OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").shipment(&format!("BL{n}"), &[]),
            );
            order(
                &id,
                "発送待ち",
                Some(&format!("7000-{n:04}")),
                Some("2026-11-23"),
                &format!("BL{n}"),
            )
        })
        .collect();

    let webhook = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": orders }));
    let first = &webhook.body["write_back"];
    assert!(
        first["deferred"].as_i64().unwrap() > 0,
        "one run cannot send 350 at Bカート's pace: {first}"
    );
    assert_eq!(first["failed"], 0, "deferred, not failed: {first}");
    // Ticks every minute (each run spends its 20 s budget pacing) until nothing is pending.
    let mut ticks = 0;
    while app.count("SELECT COUNT(*) AS n FROM pending") > 0 {
        ticks += 1;
        assert!(ticks < 100, "still pending after {ticks} ticks");
        app.io.advance(Duration::minutes(1));
        tick(&app);
    }

    assert_eq!(fake.violations(), vec![], "over Bカート's 300 per 300 s");
    let mut patched: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(patched.len(), 350);
    patched.sort();
    patched.dedup();
    assert_eq!(patched.len(), 350, "each 出荷 record once");
}

#[test]
fn after_bases_hour_api_limit_nothing_is_sent_to_the_account_until_the_next_hour() {
    let fake = FakeBase::start();
    let app = spawn_app_following(Cart::Base, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    // BASE's answer says when its hour ends by its own clock: start both five minutes into an
    // hour, so the test does not depend on the minute it runs at.
    let wall = fake.clock().now();
    let into_hour = chrono::Timelike::minute(&wall) * 60 + chrono::Timelike::second(&wall);
    fake.clock()
        .advance(std::time::Duration::from_secs(u64::from(
            3_600 - into_hour + 300,
        )));
    app.io.set_now(fake.clock().now());
    let store = app.create_store(&shop, base_settings(true));
    connect(&app, &fake, &shop, &store);
    let mut orders = Vec::new();
    for n in 0..3 {
        let id = format!("H{n}");
        fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").item(
            &format!("1{n}1"),
            "Tシャツ",
            1,
            1500,
        ));
        orders.push(json!({
            "order_id": id, "status": "発送待ち",
            "ordered_at": "2026-11-20T10:00:00+09:00", "updated_at": "2026-11-23T09:00:00+09:00",
            "ship_date": "2026-11-23", "tracking_numbers": ["444455556666"], "carrier": "yamato",
            "items": [{ "item_id": format!("1{n}1") }]
        }));
    }
    // Other tools of the shop used up this hour's calls: BASE answers hour_api_limit.
    fake.faults()
        .on("POST", "/1/orders/edit_status", 1, Fault::RateLimited);

    let webhook = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": orders }));
    let run = &webhook.body["write_back"];
    assert_eq!(run["deferred"], 3, "{run}");
    assert_eq!(run["failed"], 0, "{run}");
    let calls_after_limit = fake.calls().len();
    // Ticks until the hour ends call BASE not once.
    let now = app.io.now();
    let to_next_hour = Duration::seconds(
        3_600 - i64::from(chrono::Timelike::minute(&now) * 60 + chrono::Timelike::second(&now)),
    );
    for _ in 0..4 {
        app.io.advance(to_next_hour / 5);
        tick(&app);
    }
    assert_eq!(
        fake.calls().len(),
        calls_after_limit,
        "called BASE again within the hour"
    );
    app.io.advance(to_next_hour / 5 + Duration::seconds(30)); // a new hour
    tick(&app);

    assert_eq!(fake.dispatch_emails_sent(), 3);
    assert_eq!(fake.violations(), vec![]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM pending"), 0);
}

#[test]
fn a_bcart_lockout_is_kept_by_every_run_until_it_ends() {
    let fake = FakeBcart::start();
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    fake.seed_order(&OrderSeed::new("L1", "2026-11-20T10:00:00+09:00").shipment("LL1", &[]));
    fake.faults()
        .on("PATCH", "/api/v1/logistics/LL1", 1, Fault::RateLimited);

    let body = json!({ "orders": [order("L1", "発送待ち", Some("7000-0001"), Some("2026-11-23"), "LL1")] });
    app.webhook(&store, &shop.webhook_secret, &body);
    let calls = fake.calls().len();
    // A manual press and a tick during the 300 s lockout send nothing.
    app.io.advance(Duration::seconds(100));
    app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );
    tick(&app);
    assert_eq!(
        fake.calls().len(),
        calls,
        "called Bカート during its lockout"
    );
    app.io.advance(Duration::seconds(201));
    tick(&app);

    assert_eq!(fake.logistics("LL1").unwrap().status, "発送済");
    assert_eq!(fake.violations(), vec![]);
}

/// Figures for the README (not asserts of speed): `cargo test --release -p mallsync-sync --test
/// service -- --ignored --nocapture write_back_benchmark`. Each cart writes back 1,000 orders
/// from one webhook and then scheduled ticks run back to back (as a scheduler calling the
/// dispatch route continuously would) until nothing is pending; the fake's clock follows the
/// service's, so the cart sees real pacing. Reports requests per order, the busiest window
/// against the cart's ceiling, and violations (the fake fails the test if there are any).
mod benchmark {
    use super::*;
    use mallsync_fake_carts::cscart::{self, FakeCscart};
    use mallsync_fake_carts::futureshop::{self, FakeFutureshop};
    use mallsync_fake_carts::shopserve::{self, FakeShopserve};
    use std::time::Duration as StdDuration;

    const ORDERS: usize = 1_000;

    fn drain(app: &App) -> (usize, Duration) {
        let start = app.io.now();
        let mut ticks = 0;
        while app.count("SELECT COUNT(*) AS n FROM pending") > 0 {
            ticks += 1;
            assert!(ticks < 2_000, "still pending after {ticks} ticks");
            tick(app);
            app.io.advance(Duration::seconds(1));
        }
        (ticks, app.io.now() - start)
    }

    fn report(
        cart: &str,
        calls: usize,
        elapsed: Duration,
        ticks: usize,
        peak: usize,
        ceiling: &str,
    ) {
        println!(
            "{cart}: {ORDERS} orders, {calls} requests ({:.3} per order), {ticks} ticks, {:.0} s of cart time; busiest window {peak} of {ceiling}",
            calls as f64 / ORDERS as f64,
            elapsed.num_milliseconds() as f64 / 1000.0,
        );
    }

    fn webhook_all(app: &App, store: &str, secret: &str, orders: Vec<Value>) {
        for chunk in orders.chunks(1_000) {
            let reply = app.webhook(store, secret, &json!({ "orders": chunk }));
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }

    fn oms_order(id: &str, extra: Value) -> Value {
        let mut o = json!({
            "order_id": id, "status": "発送待ち",
            "ordered_at": "2026-11-20T10:00:00+09:00", "updated_at": "2026-11-23T09:00:00+09:00",
            "ship_date": "2026-11-23", "tracking_numbers": ["444455556666"], "carrier": "yamato",
        });
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    }

    #[test]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    fn write_back_benchmark_bcart() {
        let fake = FakeBcart::start();
        let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
        let shop = app.create_shop("bench");
        let store = app.create_store(&shop, bcart_settings(true));
        let orders = (0..ORDERS)
            .map(|n| {
                let id = format!("B{n}");
                fake.seed_order(
                    &OrderSeed::new(&id, "2026-11-20T10:00:00+09:00")
                        .shipment(&format!("BL{n}"), &[]),
                );
                order(
                    &id,
                    "発送待ち",
                    Some("7000-0001"),
                    Some("2026-11-23"),
                    &format!("BL{n}"),
                )
            })
            .collect();
        let start = app.io.now();
        webhook_all(&app, &store, &shop.webhook_secret, orders);
        let (ticks, _) = drain(&app);
        let peak = fake.peak_requests_within(StdDuration::from_secs(300));
        report(
            "Bカート",
            fake.calls().len(),
            app.io.now() - start,
            ticks,
            peak,
            "300 per 300 s",
        );
    }

    #[test]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    fn write_back_benchmark_base() {
        let fake = FakeBase::start();
        let app = spawn_app_following(Cart::Base, fake.url(), fake.clock().clone());
        let shop = app.create_shop("bench");
        app.io.set_now(fake.clock().now());
        let store = app.create_store(&shop, base_settings(true));
        connect(&app, &fake, &shop, &store);
        fake.clear_calls();
        let orders = (0..ORDERS)
            .map(|n| {
                let id = format!("K{n}");
                fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").item(
                    &format!("1{n}"),
                    "Tシャツ",
                    1,
                    1500,
                ));
                oms_order(&id, json!({ "items": [{ "item_id": format!("1{n}") }] }))
            })
            .collect();
        let start = app.io.now();
        webhook_all(&app, &store, &shop.webhook_secret, orders);
        let (ticks, _) = drain(&app);
        let peak = fake.peak_requests_within(StdDuration::from_secs(3_600));
        report(
            "BASE",
            fake.calls().len(),
            app.io.now() - start,
            ticks,
            peak,
            "5,000 per hour",
        );
    }

    #[test]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    fn write_back_benchmark_futureshop() {
        let fake = FakeFutureshop::start();
        let app = spawn_app_following(Cart::Futureshop, fake.url(), fake.clock().clone());
        let shop = app.create_shop("bench");
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
        let orders = (0..ORDERS)
            .map(|n| {
                let id = format!("F{n}");
                fake.seed_order(
                    &OrderSeed::new(&id, "2026-11-20T10:00:00+09:00")
                        .item(&format!("S{n}"), "靴下", 1, 800)
                        .shipment("1", &[&format!("S{n}")]),
                );
                oms_order(&id, json!({ "shipments": [{ "shipment_id": "1" }] }))
            })
            .collect();
        let start = app.io.now();
        webhook_all(&app, &store, &shop.webhook_secret, orders);
        let (ticks, _) = drain(&app);
        let peak = fake.peak_requests_within(StdDuration::from_secs(1));
        report(
            "futureshop",
            fake.calls().len(),
            app.io.now() - start,
            ticks,
            peak,
            "1 per second",
        );
    }

    #[test]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    fn write_back_benchmark_shopserve() {
        let fake = FakeShopserve::start();
        let app = spawn_app_following(Cart::Shopserve, fake.url(), fake.clock().clone());
        let shop = app.create_shop("bench");
        let store = app.create_store(&shop, json!({
            "credentials": { "shop_id": shopserve::SHOP_ID, "manager_key": shopserve::MANAGER_KEY },
            "export": { "auto_export": true }
        }));
        let orders = (0..ORDERS)
            .map(|n| {
                let id = format!("P{n}");
                fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").item(
                    &format!("S{n}"),
                    "茶碗",
                    1,
                    800,
                ));
                oms_order(&id, json!({}))
            })
            .collect();
        let start = app.io.now();
        webhook_all(&app, &store, &shop.webhook_secret, orders);
        let (ticks, _) = drain(&app);
        let peak = fake.peak_requests_within(StdDuration::from_secs(1));
        report(
            "ショップサーブ",
            fake.calls().len(),
            app.io.now() - start,
            ticks,
            peak,
            "1 per second (assumed)",
        );
    }

    #[test]
    #[ignore = "benchmark: run with --ignored --nocapture"]
    fn write_back_benchmark_cscart() {
        let fake = FakeCscart::start();
        let app = spawn_app_following(Cart::Cscart, "http://127.0.0.1:9", fake.clock().clone());
        let shop = app.create_shop("bench");
        let store = app.create_store(&shop, json!({
            "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
            "export": { "auto_export": true }
        }));
        let orders = (0..ORDERS)
            .map(|n| {
                let id = format!("{}", 10_000 + n);
                fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").item(
                    &format!("{}", 50_000 + n),
                    "皿",
                    1,
                    900,
                ));
                oms_order(
                    &id,
                    json!({ "items": [{ "item_id": format!("{}", 50_000 + n) }] }),
                )
            })
            .collect();
        let start = app.io.now();
        webhook_all(&app, &store, &shop.webhook_secret, orders);
        let (ticks, _) = drain(&app);
        let peak = fake.peak_requests_within(StdDuration::from_secs(1));
        report(
            "CS-Cart",
            fake.calls().len(),
            app.io.now() - start,
            ticks,
            peak,
            "no limit",
        );
    }
}
