//! Import through the host on the built wasm: whole orders with cart-side cancellations, an
//! import larger than one run finishing over ticks at futureshop's 1 request/s, and a repeated
//! Bカート webhook event imported once.

use mallsync_fake_carts::futureshop::{self, FakeFutureshop, ONE_PER_SECOND};
use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{jst_days_ago, spawn_app, App, TestShop};

/// Every imported order from the start of the cursor.
fn read_all(app: &App, shop: &TestShop, store: &str) -> Vec<Value> {
    let mut after = json!(0);
    let mut all = Vec::new();
    loop {
        let reply = app.call_as(
            &shop.token,
            "GET",
            &format!("/stores/{store}/imported-orders?after={after}&limit=1000"),
            None,
        );
        assert_eq!(reply.status, 200, "read: {}", reply.body);
        let orders = reply.body["orders"].as_array().cloned().unwrap_or_default();
        if orders.is_empty() {
            return all;
        }
        after = reply.body["next_after"].clone();
        all.extend(orders);
    }
}

fn ids(entries: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = entries
        .iter()
        .filter_map(|e| e["order"]["order_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_whole_bcart_order_and_a_cancelled_one_reach_the_oms_through_the_host() {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(
        &OrderSeed::new("W1", &jst_days_ago(1))
            .buyer("佐藤", "花子")
            .item("P1", "業務用トレー", 3, 1200),
    );
    fake.seed_order(&OrderSeed::new("W2", &jst_days_ago(1)).status("キャンセル"));
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN },
                "import": { "target_status": "処理中" } }),
    );

    let import = app.call_as(
        &shop.token,
        "POST",
        &format!("/stores/{store}/import"),
        Some(&json!({})),
    );
    let entries = read_all(&app, &shop, &store);

    assert_eq!(import.status, 200, "{}", import.body);
    assert_eq!(import.body["complete"], true, "{}", import.body);
    let order = |id: &str| {
        entries
            .iter()
            .find(|e| e["order"]["order_id"] == id)
            .map(|e| e["order"].clone())
            .unwrap_or_else(|| panic!("{id} not delivered: {entries:?}"))
    };
    let w1 = order("W1");
    assert_eq!(w1["status"], "処理中");
    assert_eq!(w1["buyer"]["name"], "佐藤 花子");
    assert_eq!(w1["items"][0]["name"], "業務用トレー");
    assert_eq!(w1["items"][0]["unit_price"], 1200);
    assert_eq!(w1["shipments"][0]["address"]["prefecture"], "東京都");
    assert_eq!(order("W2")["status"], "キャンセル");
}

#[test]
fn futureshop_450_orders_finish_over_ticks_through_the_host_without_a_rate_limit_violation() {
    let fake = FakeFutureshop::start();
    fake.set_rate_limit(Some(ONE_PER_SECOND));
    for i in 0..450 {
        fake.seed_order(&OrderSeed::new(&format!("E{i:04}"), &jst_days_ago(2)));
    }
    let app = spawn_app("futureshop", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": fake.url()
            },
            "import": { "days_to_fetch": 7, "auto_fetch": true, "auto_fetch_interval_minutes": 10 }
        }),
    );

    let mut ticks = 0;
    let mut delivered = Vec::new();
    let mut calls_before_tick = Vec::new();
    while delivered.len() < 450 && ticks < 6 {
        if ticks > 0 {
            // Scheduled ticks are minutes apart; back-to-back runs sharing futureshop's one
            // request a second is the shared per-account budget's work, not this test's.
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
        calls_before_tick.push(fake.calls().len());
        app.dispatch();
        ticks += 1;
        delivered = read_all(&app, &shop, &store);
    }

    let calls = fake.calls();
    let limited = calls.iter().filter(|c| c.status == 429).count();
    let limited_at: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status == 429)
        .map(|(i, _)| i)
        .collect();
    // The seeded window's pages (by `cursor`, or the first page's own start); a later tick may
    // also look at the minutes since that window ended (a search with a later start).
    let searches: Vec<&mallsync_fake_carts::RecordedCall> = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path == "/admin-api/v1/shipping" && c.status == 200)
        .collect();
    let first_start = searches
        .first()
        .and_then(|c| c.query_param("orderDateStart"));
    let mut pages: Vec<String> = searches
        .iter()
        .filter(|c| {
            c.query_param("cursor").is_some() || c.query_param("orderDateStart") == first_start
        })
        .map(|c| c.query_param("cursor").unwrap_or("first").to_string())
        .collect();
    let window_pages = pages.len();
    pages.sort();
    pages.dedup();
    let mut distinct = ids(&delivered);
    distinct.dedup();
    assert_eq!(distinct.len(), 450, "every order once, after {ticks} ticks");
    assert_eq!(delivered.len(), 450);
    assert!(
        ticks >= 2,
        "23 pages at 1/s need more than one run: {ticks}"
    );
    assert_eq!(
        limited, 0,
        "no request over futureshop's 1 request/s: 429 at calls {limited_at:?}, ticks began at {calls_before_tick:?}"
    );
    assert_eq!(
        window_pages, 23,
        "each page once: the next tick went on where the last stopped"
    );
    assert_eq!(pages.len(), 23, "no page twice");
}

#[test]
fn a_repeated_bcart_webhook_event_is_imported_once_through_the_host() {
    let fake = bcart::FakeBcart::start();
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN } }),
    );
    let event = json!({
        "event_id": "evt-0001",
        "event_type": "order.created",
        "data": {
            "id": 3001, "code": "20261123-0009", "ordered_at": "2026-11-23 09:30:00",
            "status": "新規注文", "customer_name": "木村 翔",
            "order_products": [{"id": 9101, "logistics_id": 8101, "product_name": "ノート",
                                "unit_price": 1000, "order_pro_count": 2, "item_type": "product"}],
            "logistics": [{"id": 8101, "name": "木村 翔", "pref": "東京都"}]
        }
    });
    let deliver = |body: &Value, secret: &str| {
        let bytes = body.to_string().into_bytes();
        let signature = bcart_signature(secret, &bytes);
        app.call(
            "POST",
            &format!("/stores/{store}/cart-webhook"),
            &[("x-bcart-webhook-signature", &signature)],
            Some(&bytes),
        )
    };

    let first = deliver(&event, &shop.webhook_secret);
    let again = deliver(&event, &shop.webhook_secret);
    let forged = deliver(&event, "someone-else");
    let entries = read_all(&app, &shop, &store);

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["outcome"], "imported", "{}", first.body);
    assert_eq!(again.body["outcome"], "duplicate", "{}", again.body);
    assert_eq!(forged.status, 401, "{}", forged.body);
    assert_eq!(ids(&entries), ["3001"], "imported once");
    assert_eq!(entries[0]["order"]["items"][0]["quantity"], 2);
}

/// Bカート's assumed signature: `sha256=` + hex HMAC-SHA256 of the raw body (no timestamp, unlike
/// the OMS webhook's).
fn bcart_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| panic!("HMAC key: {e}"));
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}
