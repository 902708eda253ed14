//! The webhook under load, through the host on the built wasm (figures for the README, not timed
//! asserts): 200 OMS webhooks at once for one store are each answered as soon as their batch is
//! stored, none with a 500 (`database is locked` is retried), and every order reaches the cart
//! exactly once. CS-Cart has no rate limit of its own, so the figures are mallsync's, not pacing.

use std::time::Instant;

use mallsync_fake_carts::{cscart, OrderSeed};
use serde_json::json;

use crate::helpers::{jst_date, jst_days_ago, order, spawn_app, App, TestShop};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
fn two_hundred_concurrent_webhooks_are_answered_at_once_and_each_order_is_sent_once() {
    const WEBHOOKS: usize = 200;
    const ONE_AT_A_TIME: usize = 50;
    let fake = cscart::FakeCscart::start();
    for n in 0..WEBHOOKS + ONE_AT_A_TIME {
        fake.seed_order(
            &OrderSeed::new(&format!("{}", 5000 + n), &jst_days_ago(3)).item(
                &format!("{}", 9000 + n),
                "マグカップ",
                1,
                1200,
            ),
        );
    }
    let app = spawn_app("cscart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
            "export": { "auto_export": true }
        }),
    );
    let started = Instant::now();
    let answers: Vec<(u16, f64, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WEBHOOKS)
            .map(|n| {
                let (app, shop, store) = (&app, &shop, &store);
                scope.spawn(move || {
                    let mut shipped = order(
                        &format!("{}", 5000 + n),
                        "発送待ち",
                        Some(&format!("5555{n:08}")),
                        Some(&jst_date(0)),
                    );
                    shipped["items"] = json!([{ "item_id": format!("{}", 9000 + n) }]);
                    let t = Instant::now();
                    let reply = app.webhook_answer(
                        store,
                        &shop.webhook_secret,
                        &json!({ "orders": [shipped] }),
                    );
                    (reply.status, t.elapsed().as_secs_f64() * 1000.0, reply.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let answered_in = started.elapsed();
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let mut millis: Vec<f64> = answers.iter().map(|(_, ms, _)| *ms).collect();
    millis.sort_by(f64::total_cmp);
    // Every write-back the webhooks started finishes, and each order reaches the cart once.
    let mut deferred = 0;
    for (_, _, body) in &answers {
        let run = app.finished_run(&store, &body["write_back"]["run_id"]);
        assert!(run["failed"] == 0, "{run}");
        deferred += run["deferred"].as_u64().unwrap_or(0);
    }
    // On a loaded machine a run can use up its time budget: what it did not reach is deferred,
    // stays pending and is finished by the schedule, as in production. Let the schedule drain it.
    let mut ticks = 0;
    while pending_orders(&app, &shop, &store) > 0 {
        assert!(
            ticks < 10,
            "orders still pending after {ticks} scheduled ticks"
        );
        // No clock moved: a store with deferred work is due at the very next tick (and the
        // webhooks below are signed with the real clock).
        app.dispatch();
        ticks += 1;
    }
    println!(
        "{deferred} orders deferred by the webhooks' runs, finished by {ticks} scheduled ticks"
    );
    for n in 0..WEBHOOKS {
        let shipments = fake.shipments(&format!("{}", 5000 + n));
        assert_eq!(
            shipments.len(),
            1,
            "order {} got {} shipments",
            5000 + n,
            shipments.len()
        );
    }
    // The same answer one webhook at a time, each waiting for the last one's write-back.
    let mut alone = Vec::with_capacity(ONE_AT_A_TIME);
    for n in WEBHOOKS..WEBHOOKS + ONE_AT_A_TIME {
        let mut shipped = order(
            &format!("{}", 5000 + n),
            "発送待ち",
            Some(&format!("5555{n:08}")),
            Some(&jst_date(0)),
        );
        shipped["items"] = json!([{ "item_id": format!("{}", 9000 + n) }]);
        let t = Instant::now();
        let reply = app.webhook_answer(
            &store,
            &shop.webhook_secret,
            &json!({ "orders": [shipped] }),
        );
        alone.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(reply.status, 200, "{}", reply.body);
        app.finished_run(&store, &reply.body["write_back"]["run_id"]);
    }
    alone.sort_by(f64::total_cmp);
    println!(
        "one webhook at a time ({ONE_AT_A_TIME}): acknowledged p50 {:.1} ms, p99 {:.1} ms",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99)
    );
    println!(
        "{WEBHOOKS} concurrent webhooks: acknowledged p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; all answered in {:.2} s, all written back in {:.2} s",
        percentile(&millis, 0.5),
        percentile(&millis, 0.99),
        percentile(&millis, 1.0),
        answered_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

fn pending_orders(app: &App, shop: &TestShop, store: &str) -> u64 {
    let reply = app.call_as(&shop.token, "GET", &format!("/stores/{store}"), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["pending_orders"]
        .as_u64()
        .unwrap_or_else(|| panic!("no pending_orders in {}", reply.body))
}
