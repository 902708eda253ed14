//! Never over a cart's limit, at volume: one request budget per cart account, shared by every
//! run, against the strict fakes (which count every request a real cart would punish). Time is
//! the service's clock, and the fake's follows it, so hours pass without waiting.

use chrono::Duration;
use mallsync_sync::Io;
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

#[test]
fn three_hundred_fifty_bcart_updates_go_out_over_several_ticks_without_a_lockout() {
    let fake = FakeBcart::start();
    let app = spawn_app_following(Cart::Bcart, fake.url(), fake.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    let orders: Vec<Value> = (0..350)
        .map(|n| {
            let id = format!("B{n}");
            fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").shipment(&format!("BL{n}"), &[]));
            order(&id, "発送待ち", Some(&format!("7000-{n:04}")), Some("2026-11-23"), &format!("BL{n}"))
        })
        .collect();

    let webhook = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": orders }));
    let first = &webhook.body["write_back"];
    assert!(first["deferred"].as_i64().unwrap() > 0, "one run cannot send 350 at Bカート's pace: {first}");
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
    let mut patched: Vec<String> = fake.logistics_patches().into_iter().map(|(id, _)| id).collect();
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
    // BASE's answer says when its hour ends by its own clock: start the service on it.
    app.io.set_now(fake.clock().now());
    let store = app.create_store(&shop, base_settings(true));
    connect(&app, &fake, &shop, &store);
    let mut orders = Vec::new();
    for n in 0..3 {
        let id = format!("H{n}");
        fake.seed_order(&OrderSeed::new(&id, "2026-11-20T10:00:00+09:00").item(&format!("1{n}1"), "Tシャツ", 1, 1500));
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
    let to_next_hour = Duration::seconds(3_600 - i64::from(chrono::Timelike::minute(&now) * 60 + chrono::Timelike::second(&now)));
    for _ in 0..4 {
        app.io.advance(to_next_hour / 5);
        tick(&app);
    }
    assert_eq!(fake.calls().len(), calls_after_limit, "called BASE again within the hour");
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
    fake.faults().on("PATCH", "/api/v1/logistics/LL1", 1, Fault::RateLimited);

    let body = json!({ "orders": [order("L1", "発送待ち", Some("7000-0001"), Some("2026-11-23"), "LL1")] });
    app.webhook(&store, &shop.webhook_secret, &body);
    let calls = fake.calls().len();
    // A manual press and a tick during the 300 s lockout send nothing.
    app.io.advance(Duration::seconds(100));
    app.call("POST", &format!("/stores/{store}/write-back"), Some(&shop.token), None);
    tick(&app);
    assert_eq!(fake.calls().len(), calls, "called Bカート during its lockout");
    app.io.advance(Duration::seconds(201));
    tick(&app);

    assert_eq!(fake.logistics("LL1").unwrap().status, "発送済");
    assert_eq!(fake.violations(), vec![]);
}
