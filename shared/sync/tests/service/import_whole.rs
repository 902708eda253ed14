//! Import delivers whole orders, cart-side cancellations and changes, and always finishes: saved
//! progress per step, a 429 that keeps what was fetched, and a rate limit never broken.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use chrono::{DateTime, Duration, Utc};
use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::futureshop::{self, FakeFutureshop, ONE_PER_SECOND};
use mallsync_fake_carts::{Clock, Fault, Faults, OrderSeed};
use mallsync_rules::Cart;
use mallsync_sync::native::{loopback_sender, NativeIo};
use mallsync_sync::Io;
use serde_json::{json, Value};

use crate::helpers::{noon_jst, spawn_app, App, ADMIN_TOKEN};

/// What a paced test sees of the cart: every answer's status, and the 429s among them.
#[derive(Default)]
struct Traffic {
    requests: AtomicUsize,
    rate_limited: AtomicUsize,
    /// Requests to the faulted path, by number (1-based), that get the fault instead.
    search_faults: Mutex<Vec<usize>>,
    searches: AtomicUsize,
    /// The path and fault of `search_faults` (default: futureshop's search, the cart's own 429).
    fault: Mutex<Option<(String, Fault)>>,
    /// The service's clock at each request (for the peak rate over the cart's window).
    times: Mutex<Vec<DateTime<Utc>>>,
}

/// [`paced_app_with_latency`] for a cart whose URL is the store's own (futureshop, CS-Cart): the
/// fake's origin is the cart's one allowed origin.
fn paced_app_at(
    cart: Cart,
    fake_clock: Clock,
    faults: Faults,
    traffic: Arc<Traffic>,
    origin: &str,
) -> App {
    paced_app_with_latency(
        cart,
        fake_clock,
        faults,
        traffic,
        Duration::zero(),
        Some(origin),
    )
}

/// The service whose clock drives the fake's: each request moves the fake's clock by as much as
/// the service's clock moved since the last one (the service sleeps on its own clock), so the
/// fake counts the rate exactly as the cart would see it. Every 429 the fake answers on its own
/// is a rate-limit violation. Every request takes `latency` of the service's clock.
fn paced_app_with_latency(
    cart: Cart,
    fake_clock: Clock,
    faults: Faults,
    traffic: Arc<Traffic>,
    latency: Duration,
    origin: Option<&str>,
) -> App {
    let link: Arc<OnceLock<Weak<NativeIo>>> = Arc::new(OnceLock::new());
    let last: Mutex<Option<DateTime<Utc>>> = Mutex::new(None);
    let inner = loopback_sender();
    let sender_link = Arc::clone(&link);
    let sender = move |request: http::Request<Vec<u8>>| {
        if let Some(io) = sender_link.get().and_then(Weak::upgrade) {
            let now = io.now();
            let mut last = last.lock().unwrap();
            if let Some(previous) = *last {
                if let Ok(moved) = (now - previous).to_std() {
                    fake_clock.advance(moved);
                }
            }
            *last = Some(now);
            traffic.times.lock().unwrap().push(now);
        }
        traffic.requests.fetch_add(1, Ordering::SeqCst);
        let (path, fault) = traffic
            .fault
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| ("/admin-api/v1/shipping".into(), Fault::RateLimited));
        let injected = if request.uri().path().ends_with(&path) {
            let n = traffic.searches.fetch_add(1, Ordering::SeqCst) + 1;
            let inject = traffic.search_faults.lock().unwrap().contains(&n);
            if inject {
                faults.on_path(&path, 1, fault);
            }
            inject
        } else {
            false
        };
        let response = inner(request);
        if let Ok(r) = &response {
            // BASE answers its hourly limit with a 400 hour_api_limit, the others with a 429.
            let limited = r.status() == 429
                || (r.status() == 400 && String::from_utf8_lossy(r.body()).contains("_api_limit"));
            if limited && !injected {
                traffic.rate_limited.fetch_add(1, Ordering::SeqCst);
            }
        }
        response
    };
    let io = Arc::new(
        NativeIo::in_memory(noon_jst(), sender)
            .unwrap()
            .with_variable("admin_token", ADMIN_TOKEN)
            .with_variable(
                mallsync_sync::carts::API_ORIGIN_VARIABLE,
                origin.unwrap_or(""),
            )
            .with_send_latency(latency),
    );
    link.set(Arc::downgrade(&io)).ok();
    App { io, cart }
}

fn futureshop_settings(fake: &FakeFutureshop) -> Value {
    json!({
        "credentials": {
            "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
            "client_secret": futureshop::CLIENT_SECRET, "api_base_url": fake.url()
        },
        "import": { "days_to_fetch": 7, "auto_fetch": true, "auto_fetch_interval_minutes": 10 }
    })
}

/// Seeds `n` futureshop orders over the two days before noon.
fn seed_futureshop(fake: &FakeFutureshop, n: usize) {
    let start = DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap();
    for i in 0..n {
        let at = start + Duration::minutes(i as i64);
        fake.seed_order(&OrderSeed::new(&format!("F{i:04}"), &at.to_rfc3339()));
    }
}

/// The futureshop search pages the fake answered, in order: `c<offset>` for the seeded window
/// (its first page is `c0`), `tail@<orderDateStart>` for a later window's first page.
fn pages_answered(fake: &FakeFutureshop) -> Vec<String> {
    let mut first_start = None;
    fake.calls_to("GET", "/admin-api/v1/shipping")
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| {
            let start = c.query_param("orderDateStart").unwrap_or("").to_string();
            let first = first_start.get_or_insert_with(|| start.clone()).clone();
            match c.query_param("cursor") {
                Some(cursor) => cursor.to_string(),
                None if start == first => "c0".to_string(),
                None => format!("tail@{start}"),
            }
        })
        .collect()
}

fn assert_no_page_twice(pages: &[String]) {
    let mut seen = std::collections::HashSet::new();
    for page in pages {
        assert!(seen.insert(page), "page {page} fetched twice: {pages:?}");
    }
}

/// Reads the whole cursor from the start.
fn read_all(app: &App, shop_token: &str, store: &str) -> Vec<Value> {
    let mut after = 0;
    let mut all = Vec::new();
    loop {
        let reply = app.call(
            "GET",
            &format!("/stores/{store}/imported-orders?after={after}&limit=500"),
            Some(shop_token),
            None,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let orders = reply.body["orders"].as_array().unwrap().clone();
        if orders.is_empty() {
            return all;
        }
        after = reply.body["next_after"].as_i64().unwrap();
        all.extend(orders);
    }
}

fn order_ids(entries: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = entries
        .iter()
        .map(|e| e["order"]["order_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// One scheduled tick, a minute after the last.
fn tick(app: &App) -> Value {
    app.io.advance(Duration::minutes(1));
    let report = mallsync_sync::tick(app.io.as_ref()).unwrap();
    serde_json::to_value(report).unwrap()
}

fn last_import_run(app: &App, shop_token: &str, store: &str) -> Value {
    let runs = app.call(
        "GET",
        &format!("/stores/{store}/runs"),
        Some(shop_token),
        None,
    );
    assert_eq!(runs.status, 200, "{}", runs.body);
    runs.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "import")
        .cloned()
        .unwrap()
}

#[test]
fn a_bcart_order_is_imported_whole_with_buyer_addresses_items_and_amounts() {
    let fake = FakeBcart::start();
    fake.seed_order(
        &OrderSeed::new("B1", "2026-11-21T10:00:00+09:00")
            .buyer("佐藤", "花子")
            .item("P1", "業務用トレー", 3, 1200)
            .item("P2", "紙コップ", 1, 500)
            .requested_delivery_date("2026-11-26"),
    );
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::helpers::bcart_settings(false));

    let import = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({})),
    );
    let entries = read_all(&app, &shop.token, &store);

    assert_eq!(import.status, 200, "{}", import.body);
    assert_eq!(entries.len(), 1);
    let order = &entries[0]["order"];
    assert_eq!(entries[0]["version"], 1);
    assert_eq!(order["order_id"], "B1");
    assert_eq!(order["status"], "新規受付");
    assert_eq!(
        order["cart_status"],
        json!({ "raw": "新規注文", "state": "open" })
    );
    assert_eq!(order["buyer"]["name"], "佐藤 花子");
    assert_eq!(order["buyer"]["email"], "buyer@example.jp");
    assert_eq!(order["billing_address"]["prefecture"], "東京都");
    assert_eq!(order["items"][0]["name"], "業務用トレー");
    assert_eq!(order["items"][0]["quantity"], 3);
    assert_eq!(order["items"][0]["unit_price"], 1200);
    assert_eq!(order["items"][1]["product_code"], "P-P2");
    let shipment = &order["shipments"][0];
    assert_eq!(shipment["shipment_id"], "B11");
    assert_eq!(shipment["item_ids"], json!(["P1", "P2"]));
    assert_eq!(shipment["address"]["postal_code"], "150-0001");
    assert_eq!(order["requested_delivery_date"], "2026-11-26");
    assert_eq!(order["amounts"]["total"], 4100);
    assert_eq!(order["payment"]["method"], "銀行振込");
}

#[test]
fn an_order_cancelled_in_the_cart_enters_as_cancelled_not_the_target_status() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("B1", "2026-11-21T10:00:00+09:00"));
    fake.seed_order(&OrderSeed::new("B2", "2026-11-21T11:00:00+09:00").status("キャンセル"));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let mut settings = crate::helpers::bcart_settings(false);
    settings["import"] = json!({ "target_status": "処理中" });
    let store = app.create_store(&shop, settings);

    app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({})),
    );
    let entries = read_all(&app, &shop.token, &store);

    let status_of = |id: &str| {
        entries
            .iter()
            .find(|e| e["order"]["order_id"] == id)
            .map(|e| e["order"]["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of("B1"), "処理中");
    assert_eq!(status_of("B2"), "キャンセル");
}

#[test]
fn a_change_in_the_cart_after_import_is_delivered_once_as_a_new_version() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("B1", "2026-11-21T10:00:00+09:00"));
    fake.seed_order(&OrderSeed::new("B2", "2026-11-21T11:00:00+09:00"));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::helpers::bcart_settings(false));
    let import = || {
        let reply = app.call(
            "POST",
            &format!("/stores/{store}/import"),
            Some(&shop.token),
            Some(&json!({})),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    };
    let read_after = |after: i64| {
        let reply = app.call(
            "GET",
            &format!("/stores/{store}/imported-orders?after={after}&limit=100"),
            Some(&shop.token),
            None,
        );
        reply.body
    };

    import();
    let first = read_after(0);
    let cursor = first["next_after"].as_i64().unwrap();
    fake.with_cart(|cart| {
        let order = cart.orders.iter_mut().find(|o| o.id == "B2").unwrap();
        order.status = "キャンセル".into();
        order.products[0].order_pro_count = 5;
    });
    let changed = import();
    let second = read_after(cursor);
    let cursor = second["next_after"].as_i64().unwrap_or(cursor);
    let unchanged = import();
    let third = read_after(cursor);

    assert_eq!(first["orders"].as_array().unwrap().len(), 2);
    assert_eq!(changed["changed"], 1, "{changed}");
    assert_eq!(changed["imported"], 0, "{changed}");
    let again = second["orders"].as_array().unwrap();
    assert_eq!(again.len(), 1, "{second}");
    assert_eq!(again[0]["order"]["order_id"], "B2");
    assert_eq!(again[0]["version"], 2);
    assert_eq!(
        again[0]["changes"],
        json!(["cart_status", "items", "amounts"])
    );
    assert_eq!(again[0]["order"]["status"], "キャンセル");
    assert_eq!(again[0]["order"]["items"][0]["quantity"], 5);
    assert_eq!(unchanged["changed"], 0);
    assert_eq!(
        third["orders"],
        json!([]),
        "an unchanged order is never delivered twice"
    );
    // Read from the start, each order appears once, at its latest version.
    assert_eq!(
        order_ids(&read_all(&app, &shop.token, &store)),
        ["B1", "B2"]
    );
}

#[test]
fn a_429_on_page_3_of_5_keeps_pages_1_and_2_and_the_next_tick_finishes() {
    let fake = FakeFutureshop::start();
    fake.set_rate_limit(Some(ONE_PER_SECOND));
    seed_futureshop(&fake, 100); // 5 pages of 20
    let traffic = Arc::new(Traffic::default());
    traffic.search_faults.lock().unwrap().push(3);
    let app = paced_app_at(
        Cart::Futureshop,
        fake.clock().clone(),
        fake.faults().clone(),
        Arc::clone(&traffic),
        fake.url(),
    );
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, futureshop_settings(&fake));

    let first_tick = tick(&app);
    let after_first = read_all(&app, &shop.token, &store);
    let first_run = last_import_run(&app, &shop.token, &store);
    tick(&app);
    let after_second = read_all(&app, &shop.token, &store);
    let third_tick = tick(&app);

    assert_eq!(
        after_first.len(),
        40,
        "pages 1 and 2 are kept: {first_run} {first_tick}"
    );
    let note = first_run["note"].as_str().unwrap();
    assert!(note.contains("the next run goes on from step 3"), "{note}");
    assert_eq!(after_second.len(), 100);
    assert_eq!(order_ids(&after_second).len(), 100);
    let mut distinct = order_ids(&after_second);
    distinct.dedup();
    assert_eq!(distinct.len(), 100, "each order once");
    // The second tick went on from page 3 (then looked at the minutes since the window ended).
    let pages = pages_answered(&fake);
    assert_eq!(pages[..5], ["c0", "c20", "c40", "c60", "c80"], "{pages:?}");
    assert_no_page_twice(&pages);
    assert_eq!(traffic.rate_limited.load(Ordering::SeqCst), 0);
    assert!(
        third_tick["work"].as_array().unwrap().is_empty(),
        "finished: not due again at once"
    );
}

#[test]
fn futureshop_450_orders_finish_over_several_ticks_without_a_rate_limit_violation() {
    let fake = FakeFutureshop::start();
    fake.set_rate_limit(Some(ONE_PER_SECOND));
    seed_futureshop(&fake, 450); // 23 pages of 20: more than one run's budget at 1 request/s
    let traffic = Arc::new(Traffic::default());
    let app = paced_app_at(
        Cart::Futureshop,
        fake.clock().clone(),
        fake.faults().clone(),
        Arc::clone(&traffic),
        fake.url(),
    );
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, futureshop_settings(&fake));

    let mut ticks = 0;
    let mut delivered = Vec::new();
    while delivered.len() < 450 && ticks < 10 {
        tick(&app);
        ticks += 1;
        delivered = read_all(&app, &shop.token, &store);
    }

    assert_eq!(order_ids(&delivered).len(), 450);
    let mut distinct = order_ids(&delivered);
    distinct.dedup();
    assert_eq!(distinct.len(), 450, "each order once");
    assert!(ticks >= 2, "more than one run's budget: {ticks} ticks");
    assert_eq!(
        traffic.rate_limited.load(Ordering::SeqCst),
        0,
        "no rate-limit violation"
    );
    let pages = pages_answered(&fake);
    assert_no_page_twice(&pages);
    assert_eq!(
        pages.iter().filter(|p| p.starts_with('c')).count(),
        23,
        "{pages:?}"
    );
    let run = last_import_run(&app, &shop.token, &store);
    assert!(
        run["note"]
            .as_str()
            .unwrap_or("")
            .contains("finished the window over several runs"),
        "{run}"
    );
}

/// A Bカート webhook delivery signed with `secret`.
fn bcart_event(app: &App, store: &str, secret: &str, body: &Value) -> crate::helpers::Reply {
    let bytes = body.to_string().into_bytes();
    // Bカート's assumed form: hex HMAC-SHA256 of the raw body (no timestamp, unlike the OMS's).
    let signature = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&bytes);
        format!(
            "sha256={}",
            mallsync_sync::encoding::hex(&mac.finalize().into_bytes())
        )
    };
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("/bcart/stores/{store}/cart-webhook"))
        .header(mallsync_sync::bcart_webhook::HEADER_SIGNATURE, signature)
        .body(bytes)
        .unwrap();
    app.send(request)
}

fn bcart_order_event(event_id: &str, status: &str) -> Value {
    json!({
        "event_id": event_id,
        "event_type": "order.updated",
        "data": {
            "id": 2001, "code": "20261123-0001", "ordered_at": "2026-11-23 09:30:00",
            "status": status, "customer_name": "木村 翔", "customer_email": "sho@example.jp",
            "payment": "銀行振込", "total_price": 2000, "final_price": 2000,
            "order_products": [{"id": 9001, "logistics_id": 8001, "product_no": "X-1",
                                "product_name": "ノート", "unit_price": 1000, "order_pro_count": 2,
                                "item_type": "product"}],
            "logistics": [{"id": 8001, "name": "木村 翔", "zip": "100-0001", "pref": "東京都",
                           "address1": "千代田区千代田1-1", "status": "未発送"}]
        }
    })
}

#[test]
fn a_repeated_bcart_webhook_event_is_imported_once_and_a_new_event_brings_the_change() {
    let fake = FakeBcart::start();
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::helpers::bcart_settings(false));

    let first = bcart_event(
        &app,
        &store,
        &shop.webhook_secret,
        &bcart_order_event("ev-1", "新規注文"),
    );
    let repeated = bcart_event(
        &app,
        &store,
        &shop.webhook_secret,
        &bcart_order_event("ev-1", "新規注文"),
    );
    let after_repeat = read_all(&app, &shop.token, &store);
    let cancelled = bcart_event(
        &app,
        &store,
        &shop.webhook_secret,
        &bcart_order_event("ev-2", "キャンセル"),
    );
    let forged = bcart_event(
        &app,
        &store,
        "not-the-secret",
        &bcart_order_event("ev-3", "新規注文"),
    );
    let after_change = read_all(&app, &shop.token, &store);

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["outcome"], "imported");
    assert_eq!(repeated.body["outcome"], "duplicate");
    assert_eq!(after_repeat.len(), 1, "imported once");
    assert_eq!(after_repeat[0]["order"]["items"][0]["name"], "ノート");
    assert_eq!(
        fake.calls().len(),
        0,
        "the event carries the order: no cart call"
    );
    assert_eq!(cancelled.body["outcome"], "changed");
    assert_eq!(forged.status, 401, "{}", forged.body);
    assert_eq!(after_change.len(), 1);
    assert_eq!(after_change[0]["version"], 2);
    assert_eq!(after_change[0]["order"]["status"], "キャンセル");

    // An event whose order has no products or 出荷 records is not stored half: the scheduled
    // import brings the whole order.
    let mut partial = bcart_order_event("ev-4", "新規注文");
    partial["data"]
        .as_object_mut()
        .unwrap()
        .remove("order_products");
    let partial = bcart_event(&app, &store, &shop.webhook_secret, &partial);
    assert_eq!(
        partial.body["outcome"], "left_for_the_scheduled_import",
        "{}",
        partial.body
    );
    assert_eq!(read_all(&app, &shop.token, &store)[0]["version"], 2);
}

/// The most requests within any `window` of the service's clock.
fn peak(times: &[DateTime<Utc>], window: Duration) -> usize {
    let mut start = 0;
    let mut best = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// One cart's benchmark: import `n` orders through scheduled ticks 5 minutes apart, every request
/// taking 50 ms, and print requests per order, the peak and average share of the cart's ceiling,
/// and violations.
fn bench(
    label: &str,
    app: &App,
    traffic: &Traffic,
    n: usize,
    ceiling: Option<(usize, i64)>,
) -> usize {
    let started = std::time::Instant::now();
    let clock_start = app.io.now();
    let mut ticks = 0;
    let count = |app: &App| app.count("SELECT COUNT(*) AS n FROM imported_orders") as usize;
    while count(app) < n && ticks < 3_000 {
        app.io.advance(Duration::minutes(5));
        mallsync_sync::tick(app.io.as_ref()).unwrap();
        ticks += 1;
    }
    let requests = traffic.requests.load(Ordering::SeqCst);
    let violations = traffic.rate_limited.load(Ordering::SeqCst);
    let elapsed = app.io.now() - clock_start;
    let times = traffic.times.lock().unwrap().clone();
    let share = match ceiling {
        Some((max, secs)) => {
            let peak = peak(&times, Duration::seconds(secs));
            let average =
                requests as f64 / (max as f64 * elapsed.num_seconds() as f64 / secs as f64);
            format!(
                "peak {peak}/{max} per {secs} s ({:.0}%), average {:.1}% of the ceiling",
                100.0 * peak as f64 / max as f64,
                100.0 * average
            )
        }
        None => "no published ceiling".to_string(),
    };
    println!(
        "{label}: {} of {n} orders in {ticks} ticks ({} min on the service clock, {:.1} s wall); {requests} requests, {:.3} per order; {share}; violations {violations}",
        count(app),
        elapsed.num_minutes(),
        started.elapsed().as_secs_f64(),
        requests as f64 / n as f64,
    );
    assert_eq!(count(app), n);
    violations
}

fn seeds(n: usize) -> impl Iterator<Item = OrderSeed> {
    let start = DateTime::parse_from_rfc3339("2026-11-21T00:00:00+09:00").unwrap();
    (0..n).map(move |i| {
        let at = start + Duration::seconds(10 * i as i64);
        OrderSeed::new(&format!("{}", 100_000 + i), &at.to_rfc3339())
    })
}

fn import_settings() -> Value {
    json!({ "days_to_fetch": 7, "auto_fetch": true, "auto_fetch_interval_minutes": 10 })
}

/// The benchmark's size: `MALLSYNC_BENCH_ORDERS` or 10,000.
fn bench_orders() -> usize {
    std::env::var("MALLSYNC_BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

const BENCH_LATENCY_MS: i64 = 50;

fn bench_app(
    cart: Cart,
    clock: &Clock,
    faults: &Faults,
    traffic: &Arc<Traffic>,
    origin: &str,
) -> App {
    paced_app_with_latency(
        cart,
        clock.clone(),
        faults.clone(),
        Arc::clone(traffic),
        Duration::milliseconds(BENCH_LATENCY_MS),
        Some(origin),
    )
}

// The benchmarks: `cargo test -p mallsync-sync --test service import_benchmark -- --ignored
// --nocapture --test-threads 1` (one cart: `import_benchmark_base`). Each imports
// `bench_orders()` orders from the cart's fake at its ceiling, through scheduled ticks.

#[test]
#[ignore = "benchmark"]
fn import_benchmark_bcart() {
    use mallsync_fake_carts::bcart;
    let n = bench_orders();
    let fake = FakeBcart::start();
    fake.set_rate_limit(Some(bcart::RATE_LIMIT));
    seeds(n).for_each(|s| fake.seed_order(&s));
    let traffic = Arc::new(Traffic::default());
    let app = bench_app(
        Cart::Bcart,
        fake.clock(),
        fake.faults(),
        &traffic,
        fake.url(),
    );
    let shop = app.create_shop("ベンチ");
    let mut settings = crate::helpers::bcart_settings(false);
    settings["import"] = import_settings();
    app.create_store(&shop, settings);
    assert_eq!(bench("Bカート", &app, &traffic, n, Some((300, 300))), 0);
}

#[test]
#[ignore = "benchmark"]
fn import_benchmark_base() {
    use mallsync_fake_carts::base::{
        FakeBase, CLIENT_ID, CLIENT_SECRET, RATE_LIMIT as HOURLY_LIMIT, REDIRECT_URI,
    };
    let n = bench_orders();
    let fake = FakeBase::start();
    seeds(n).for_each(|s| fake.seed_order(&s));
    let traffic = Arc::new(Traffic::default());
    let app = bench_app(
        Cart::Base,
        fake.clock(),
        fake.faults(),
        &traffic,
        fake.url(),
    );
    let shop = app.create_shop("ベンチ");
    let store = app.create_store(&shop, json!({
        "credentials": { "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI },
        "import": import_settings(),
    }));
    connect_base(&app, &fake, &shop.token, &store);
    fake.set_rate_limit(Some(HOURLY_LIMIT));
    assert_eq!(bench("BASE", &app, &traffic, n, Some((5_000, 3_600))), 0);
}

#[test]
#[ignore = "benchmark"]
fn import_benchmark_cscart() {
    use mallsync_fake_carts::cscart::{FakeCscart, ADMIN_EMAIL, API_KEY};
    let n = bench_orders();
    let fake = FakeCscart::start();
    seeds(n).for_each(|s| fake.seed_order(&s));
    let traffic = Arc::new(Traffic::default());
    let app = bench_app(
        Cart::Cscart,
        fake.clock(),
        fake.faults(),
        &traffic,
        fake.url(),
    );
    let shop = app.create_shop("ベンチ");
    app.create_store(&shop, json!({
        "credentials": { "store_url": fake.url(), "admin_email": ADMIN_EMAIL, "api_key": API_KEY },
        "import": import_settings(),
    }));
    assert_eq!(bench("CS-Cart", &app, &traffic, n, None), 0);
}

#[test]
#[ignore = "benchmark"]
fn import_benchmark_futureshop() {
    let n = bench_orders();
    let fake = FakeFutureshop::start();
    fake.set_rate_limit(Some(ONE_PER_SECOND));
    seeds(n).for_each(|s| fake.seed_order(&s));
    let traffic = Arc::new(Traffic::default());
    let app = bench_app(
        Cart::Futureshop,
        fake.clock(),
        fake.faults(),
        &traffic,
        fake.url(),
    );
    let shop = app.create_shop("ベンチ");
    app.create_store(&shop, futureshop_settings(&fake));
    assert_eq!(bench("futureshop", &app, &traffic, n, Some((1, 1))), 0);
}

#[test]
#[ignore = "benchmark"]
fn import_benchmark_shopserve() {
    use mallsync_fake_carts::shopserve::{FakeShopserve, MANAGER_KEY, SHOP_ID};
    let n = bench_orders();
    let fake = FakeShopserve::start();
    fake.set_rate_limit(Some(ONE_PER_SECOND));
    seeds(n).for_each(|s| fake.seed_order(&s));
    let traffic = Arc::new(Traffic::default());
    let app = bench_app(
        Cart::Shopserve,
        fake.clock(),
        fake.faults(),
        &traffic,
        fake.url(),
    );
    let shop = app.create_shop("ベンチ");
    app.create_store(
        &shop,
        json!({
            "credentials": { "shop_id": SHOP_ID, "manager_key": MANAGER_KEY },
            "import": import_settings(),
        }),
    );
    // ショップサーブ publishes no limit: mallsync assumes 1 request/s, and so does this fake.
    assert_eq!(bench("ショップサーブ", &app, &traffic, n, Some((1, 1))), 0);
}

/// BASE's OAuth round trip for a store (the operator's "connect" press).
fn connect_base(app: &App, fake: &mallsync_fake_carts::base::FakeBase, token: &str, store: &str) {
    let start = app.call(
        "GET",
        &format!("/stores/{store}/oauth/start"),
        Some(token),
        None,
    );
    let url = start.body["authorize_url"].as_str().unwrap().to_string();
    let state = url
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_string();
    let code = fake.authorization_code();
    let back = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state={state}"),
        None,
        None,
    );
    assert_eq!(back.status, 200, "{}", back.body);
}

#[test]
fn a_second_import_of_the_same_store_while_one_runs_is_refused_and_logged() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("B1", "2026-11-21T10:00:00+09:00"));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::helpers::bcart_settings(false));
    let until = (app.io.now() + Duration::minutes(1)).timestamp();
    let lease = mallsync_sync::import::lease_name(&store);
    assert!(
        mallsync_sync::lease::take(app.io.as_ref(), &lease, "a-running-import", until).unwrap()
    );

    let refused = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({})),
    );
    let run = last_import_run(&app, &shop.token, &store);
    app.io.advance(Duration::minutes(2));
    let later = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({})),
    );

    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        run["note"].as_str().unwrap().contains("another import"),
        "{run}"
    );
    assert_eq!(
        fake.calls().len(),
        1,
        "only the later import called the cart"
    );
    assert_eq!(
        later.status, 200,
        "a lapsed lease does not block: {}",
        later.body
    );
    assert_eq!(later.body["imported"], 1);
}

#[test]
fn a_503_on_page_2_keeps_page_1_and_the_next_import_of_the_same_window_goes_on_from_page_2() {
    let fake = FakeBcart::start();
    let start = DateTime::parse_from_rfc3339("2026-11-21T09:00:00+09:00").unwrap();
    for i in 0..250 {
        let at = start + Duration::minutes(i);
        fake.seed_order(&OrderSeed::new(&format!("B{i:03}"), &at.to_rfc3339()));
    }
    let traffic = Arc::new(Traffic::default());
    *traffic.fault.lock().unwrap() = Some(("/api/v1/orders".into(), Fault::Status(503)));
    traffic.search_faults.lock().unwrap().push(2);
    let app = paced_app_with_latency(
        Cart::Bcart,
        fake.clock().clone(),
        fake.faults().clone(),
        Arc::clone(&traffic),
        Duration::zero(),
        Some(fake.url()),
    );
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::helpers::bcart_settings(false));
    let window = json!({ "from": "2026-11-20", "to": "2026-11-23" });
    let import = || {
        let reply = app.call(
            "POST",
            &format!("/stores/{store}/import"),
            Some(&shop.token),
            Some(&window),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    };

    let first = import();
    let after_first = read_all(&app, &shop.token, &store);
    let second = import();
    let after_second = read_all(&app, &shop.token, &store);

    assert_eq!(first["complete"], false, "{first}");
    assert!(
        first["stopped"].as_str().unwrap().contains("503"),
        "{first}"
    );
    assert_eq!(after_first.len(), 100, "page 1 is kept");
    assert_eq!(second["complete"], true, "{second}");
    assert_eq!(second["imported"], 150, "{second}");
    assert_eq!(order_ids(&after_second).len(), 250);
    let offsets: Vec<String> = fake
        .calls_to("GET", "/api/v1/orders")
        .iter()
        .map(|c| format!("{}:{}", c.query_param("offset").unwrap_or("-"), c.status))
        .collect();
    assert_eq!(
        offsets,
        ["0:200", "100:503", "100:200", "200:200"],
        "page 1 was not fetched again"
    );
}
