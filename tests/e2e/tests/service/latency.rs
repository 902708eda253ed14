//! Webhook to first cart call, through the host on the built wasm (a figure for the README, not a
//! timed assert): each webhook carries one new shipped order, and the write-back happens inside the
//! webhook request, so the request's round trip bounds the time to the cart call.

use std::time::Instant;

use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::json;

use crate::helpers::{jst_date, jst_days_ago, order, spawn_app};

#[test]
fn webhook_to_first_cart_call_latency_is_reported() {
    const WEBHOOKS: usize = 20;
    let fake = bcart::FakeBcart::start();
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    let mut millis = Vec::with_capacity(WEBHOOKS);
    for n in 0..WEBHOOKS {
        let id = format!("L{n}");
        fake.seed_order(&OrderSeed::new(&id, &jst_days_ago(3)).shipment(&format!("S{n}"), &[]));
        let mut shipped = order(&id, "発送待ち", Some("1111-2222"), Some(&jst_date(0)));
        shipped["shipments"] = json!([{ "shipment_id": format!("S{n}") }]);
        let calls_before = fake.calls().len();
        let started = Instant::now();
        let reply = app.webhook(
            &store,
            &shop.webhook_secret,
            &json!({ "orders": [shipped] }),
        );
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            fake.calls().len(),
            calls_before + 1,
            "one PATCH per webhook"
        );
    }
    millis.sort_by(f64::total_cmp);
    println!(
        "webhook to first cart call over {WEBHOOKS} webhooks: median {:.1} ms, max {:.1} ms",
        millis[WEBHOOKS / 2],
        millis[WEBHOOKS - 1]
    );
}
