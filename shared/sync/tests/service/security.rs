//! Issue 10, natively through the routes: credentials go only where they were entered for,
//! signed webhooks cannot be replayed or reordered, nothing unbounded is read or stored, and
//! secrets are sealed at rest.

use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::{cscart, futureshop, OrderSeed};
use mallsync_rules::Cart;
use mallsync_sync::auth::{sign, HEADER_SIGNATURE};
use mallsync_sync::Io;
use serde_json::{json, Value};

use crate::helpers::{bcart_settings, order, spawn_app, App, Reply, TestShop};

fn cscart_settings(store_url: &str, api_key: &str) -> Value {
    json!({
        "credentials": { "store_url": store_url, "admin_email": cscart::ADMIN_EMAIL, "api_key": api_key },
    })
}

#[test]
fn a_changed_store_url_with_the_masked_key_is_refused_and_the_capture_server_gets_nothing() {
    let cart = cscart::FakeCscart::start();
    let capture = cscart::FakeCscart::start();
    let app = spawn_app(Cart::Cscart, cart.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, cscart_settings(cart.url(), cscart::API_KEY));

    // The attack of issue 10: a new store_url with the masked key, then a connection test.
    let moved = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "1号店", "settings": cscart_settings(capture.url(), "********") })),
    );
    let test = app.call(
        "POST",
        &format!("/stores/{store}/connection-test"),
        Some(&shop.token),
        None,
    );

    assert_eq!(moved.status, 400, "{}", moved.body);
    assert_eq!(
        moved.body["problems"][0]["field"], "settings.credentials.api_key",
        "{}",
        moved.body
    );
    assert!(moved.body["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("store_url"));
    // The store is unchanged: the test still goes to the URL the key was entered for.
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(capture.calls().is_empty(), "{:?}", capture.calls());
    assert!(!cart.calls().is_empty());
}

#[test]
fn a_store_url_outside_the_carts_allowed_origin_gets_no_request_even_with_its_key_entered() {
    let cart = cscart::FakeCscart::start();
    let capture = cscart::FakeCscart::start();
    let app = spawn_app(Cart::Cscart, cart.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, cscart_settings(cart.url(), cscart::API_KEY));

    let moved = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "1号店", "settings": cscart_settings(capture.url(), "a-new-key") })),
    );
    let test = app.call(
        "POST",
        &format!("/stores/{store}/connection-test"),
        Some(&shop.token),
        None,
    );

    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(test.status, 502, "{}", test.body);
    assert_eq!(
        test.body["cart_error"]["kind"], "invalid_request",
        "{}",
        test.body
    );
    assert!(
        test.body["error"]
            .as_str()
            .unwrap()
            .contains("not an allowed"),
        "{}",
        test.body
    );
    assert!(capture.calls().is_empty(), "{:?}", capture.calls());
}

#[test]
fn the_dispatcher_refuses_a_store_whose_url_is_outside_its_carts_origin_and_does_not_retry() {
    let cart = futureshop::FakeFutureshop::start();
    let capture = futureshop::FakeFutureshop::start();
    // The app's futureshop origin is the real fake; the store's API URL points at the capture.
    let app = spawn_app(Cart::Futureshop, cart.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(
        &shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": capture.url()
            },
            "export": { "auto_export": true }
        }),
    );
    let mut shipped = order(
        "F1",
        "処理中",
        Some("123456789012"),
        Some("2026-11-23"),
        "1",
    );
    shipped["items"] = json!([{ "item_id": "SKU1" }]);
    app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [shipped] }),
    );

    // The webhook's own run was refused the same way; the order is tried again after the wait
    // for a refused update, now by the dispatcher.
    app.io.advance(chrono::Duration::hours(
        mallsync_sync::pending::REFUSED_RETRY_HOURS + 1,
    ));
    let report = mallsync_sync::tick(app.io.as_ref()).unwrap();

    let work = serde_json::to_value(&report).unwrap();
    let run_id = work["work"][0]["run_id"].clone();
    let run = app.call(
        "GET",
        &format!("/stores/{store}/runs/{run_id}"),
        Some(&shop.token),
        None,
    );
    let text = run.body.to_string();
    assert_eq!(run.status, 200, "{text}");
    assert!(text.contains("not an allowed futureshop origin"), "{text}");
    assert!(capture.calls().is_empty(), "{:?}", capture.calls());
    assert!(cart.calls().is_empty(), "{:?}", cart.calls());
    // A refusal is permanent: the run log says so, no retry was attempted (the capture saw nothing).
    let failed = app.count(
        "SELECT COUNT(*) AS n FROM run_orders WHERE outcome = 'failed' AND message LIKE '%not an allowed%'",
    );
    assert!(failed >= 1, "{text}");
}

fn signed_webhook(app: &App, store: &str, header: &str, body: &[u8]) -> Reply {
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("/{}/stores/{store}/orders", app.cart.slug()))
        .header(HEADER_SIGNATURE, header)
        .body(body.to_vec())
        .unwrap();
    app.send(request)
}

fn bcart_shop() -> (FakeBcart, App, TestShop, String) {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("A1", "2026-11-20T10:00:00+09:00").shipment("L1", &[]));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(true));
    (fake, app, shop, store)
}

#[test]
fn stale_future_and_replayed_signatures_are_refused_and_store_nothing() {
    let (fake, app, shop, store) = bcart_shop();
    let body =
        json!({ "orders": [order("A1", "発送待ち", Some("1111"), Some("2026-11-23"), "L1")] })
            .to_string()
            .into_bytes();
    let now = app.io.now().timestamp();

    let stale = signed_webhook(
        &app,
        &store,
        &sign(&shop.webhook_secret, now - 301, &body),
        &body,
    );
    let future = signed_webhook(
        &app,
        &store,
        &sign(&shop.webhook_secret, now + 301, &body),
        &body,
    );
    let fresh_header = sign(&shop.webhook_secret, now - 10, &body);
    let first = signed_webhook(&app, &store, &fresh_header, &body);
    let replayed = signed_webhook(&app, &store, &fresh_header, &body);

    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(future.status, 401, "{}", future.body);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(replayed.status, 409, "{}", replayed.body);
    assert_eq!(fake.logistics_patches().len(), 1);
    // Once its time window has passed, the same signature is stale rather than remembered.
    app.io.advance(chrono::Duration::seconds(400));
    let late = signed_webhook(&app, &store, &fresh_header, &body);
    assert_eq!(late.status, 401, "{}", late.body);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE expires_at < 0"),
        0
    );
}

#[test]
fn the_signature_is_checked_before_the_body_is_read_and_hides_whether_the_store_exists() {
    let (_fake, app, shop, store) = bcart_shop();
    let garbage = b"{not json";
    let now = app.io.now().timestamp();
    let wrong = signed_webhook(&app, &store, &sign("whsec_wrong", now, garbage), garbage);
    let unknown = signed_webhook(
        &app,
        "st_0000000000000000",
        &sign(&shop.webhook_secret, now, garbage),
        garbage,
    );
    let right = signed_webhook(
        &app,
        &store,
        &sign(&shop.webhook_secret, now, garbage),
        garbage,
    );

    // An unsigned caller learns nothing from the body, nor whether the store exists.
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(unknown.status, 401, "{}", unknown.body);
    assert_eq!(wrong.body, unknown.body);
    // Only a correctly signed body is parsed (and this one is not JSON).
    assert_eq!(right.status, 400, "{}", right.body);
}

#[test]
fn v1_v2_then_v1_again_leaves_v2_and_the_cart_gets_each_tracking_number_once() {
    let (fake, app, shop, store) = bcart_shop();
    let version = |tracking: &str, updated_at: &str| {
        let mut o = order("A1", "発送待ち", Some(tracking), Some("2026-11-23"), "L1");
        o["updated_at"] = json!(updated_at);
        json!({ "orders": [o] })
    };
    let v1 = version("1111", "2026-11-23T09:00:00+09:00");
    let v2 = version("2222", "2026-11-23T10:00:00+09:00");

    let r1 = app.webhook(&store, &shop.webhook_secret, &v1);
    app.io.advance(chrono::Duration::seconds(1));
    let r2 = app.webhook(&store, &shop.webhook_secret, &v2);
    app.io.advance(chrono::Duration::seconds(1));
    let r3 = app.webhook(&store, &shop.webhook_secret, &v1);

    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r2.body["changed"], 1, "{}", r2.body);
    assert_eq!(r3.status, 200, "{}", r3.body);
    assert_eq!(r3.body["changed"], 0, "{}", r3.body);
    assert_eq!(r3.body["stale"], json!(["A1"]), "{}", r3.body);
    let sent: Vec<Value> = fake
        .logistics_patches()
        .into_iter()
        .map(|(_, body)| body["delivery_code"].clone())
        .collect();
    assert_eq!(sent, [json!("1111"), json!("2222")]);
    let stored = app.count("SELECT COUNT(*) AS n FROM orders WHERE body LIKE '%2222%'");
    assert_eq!(stored, 1);
}

#[test]
fn a_version_counter_decides_and_equal_times_with_other_data_are_a_conflict() {
    let (_fake, app, shop, store) = bcart_shop();
    let with = |tracking: &str, version: Option<u64>| {
        let mut o = order("A1", "処理中", Some(tracking), None, "L1");
        if let Some(v) = version {
            o["version"] = json!(v);
        }
        json!({ "orders": [o] })
    };
    let step = |body: &Value| {
        app.io.advance(chrono::Duration::seconds(1));
        app.webhook(&store, &shop.webhook_secret, body)
    };

    let v5 = step(&with("5555", Some(5)));
    // Same updated_at, higher version: newer.
    let v6 = step(&with("6666", Some(6)));
    // Same updated_at, lower version: stale.
    let v4 = step(&with("4444", Some(4)));
    // Same updated_at, no version, other data: a conflict, reported and not stored.
    let unversioned = step(&with("7777", None));

    assert_eq!(v5.body["changed"], 1, "{}", v5.body);
    assert_eq!(v6.body["changed"], 1, "{}", v6.body);
    assert_eq!(v4.body["stale"], json!(["A1"]), "{}", v4.body);
    assert_eq!(unversioned.status, 409, "{}", unversioned.body);
    assert_eq!(
        unversioned.body["conflicts"][0]["order_id"], "A1",
        "{}",
        unversioned.body
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE body LIKE '%6666%'"),
        1
    );
}

#[test]
fn a_known_path_with_another_method_gets_405_with_allow() {
    let (_fake, app, _shop, store) = bcart_shop();
    let request = |method: &str, path: &str| {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/bcart{path}"))
            .body(Vec::new())
            .unwrap();
        mallsync_sync::handle(Cart::Bcart, app.io.as_ref(), request)
    };

    let shops = request("DELETE", "/shops");
    let orders = request("GET", &format!("/stores/{store}/orders"));
    let nothing = request("GET", "/no/such/path");

    assert_eq!(shops.status(), 405);
    assert_eq!(shops.headers()["allow"], "POST, GET");
    assert_eq!(orders.status(), 405);
    assert_eq!(orders.headers()["allow"], "POST");
    assert_eq!(nothing.status(), 404);
}

#[test]
fn bodies_and_batches_over_their_limits_get_413() {
    let (_fake, app, shop, store) = bcart_shop();
    let big = vec![b' '; mallsync_sync::routes::MAX_BODY_BYTES + 1];
    let now = app.io.now().timestamp();
    let too_big = signed_webhook(&app, &store, &sign(&shop.webhook_secret, now, &big), &big);
    let orders: Vec<Value> = (0..=mallsync_sync::orders::MAX_BATCH)
        .map(|i| order(&format!("B{i}"), "処理中", None, None, "L1"))
        .collect();
    let too_many = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": orders }));

    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert_eq!(too_many.status, 413, "{}", too_many.body);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 0);
}

#[test]
fn names_and_order_fields_out_of_bounds_are_refused_and_nothing_is_stored() {
    let (_fake, app, shop, store) = bcart_shop();
    let long_shop = app.call(
        "POST",
        "/shops",
        Some(crate::helpers::ADMIN_TOKEN),
        Some(&json!({ "name": "店".repeat(101) })),
    );
    let long_store = app.call(
        "POST",
        "/stores",
        Some(&shop.token),
        Some(&json!({ "name": "店".repeat(101), "settings": bcart_settings(false) })),
    );
    let mut dots = order("..", "処理中", Some("1111"), Some("2026-11-23"), "L1");
    let mut long_id = order(&"9".repeat(10_000), "処理中", None, None, "L1");
    let mut old = order("A1", "", None, Some("0000-01-01"), "L1");
    old["ordered_at"] = json!("-262143-01-01T00:00:00+09:00");
    dots["shipments"][0]["shipment_id"] = json!("..");
    long_id["carrier"] = json!(format!("other:{}", "x".repeat(100)));
    let hook = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [dots, long_id, old] }),
    );

    assert_eq!(long_shop.status, 400, "{}", long_shop.body);
    assert_eq!(long_store.status, 400, "{}", long_store.body);
    assert_eq!(hook.status, 400, "{}", hook.body);
    let fields: Vec<&str> = hook.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for field in [
        "orders[0].order_id",
        "orders[0].shipments[0].shipment_id",
        "orders[1].order_id",
        "orders[1].carrier",
        "orders[2].ordered_at",
    ] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM shops"), 1);
}

#[test]
fn secrets_are_sealed_at_rest_and_a_rotated_key_still_opens_them() {
    let (_fake, app, shop, store) = bcart_shop();
    let token = mallsync_fake_carts::bcart::ACCESS_TOKEN;
    let dump = |sql: &str| -> String {
        let rows = app.io.sql(sql, &[]).unwrap();
        format!("{:?}", rows.rows)
    };
    let shops = dump("SELECT * FROM shops");
    let stores = dump("SELECT * FROM stores");
    assert!(!shops.contains(&shop.webhook_secret), "{shops}");
    assert!(!stores.contains(token), "{stores}");
    assert!(stores.contains("enc:v1:"), "{stores}");

    // Rotation: the old key becomes the previous one; everything still opens, and reseal_all
    // moves every value to the new key.
    let old_key = mallsync_sync::native::TEST_ENCRYPTION_KEY;
    let new_key = "11".repeat(32);
    let io = std::sync::Arc::try_unwrap(app.io)
        .ok()
        .expect("the only handle")
        .with_variable(mallsync_sync::crypto::KEY_VARIABLE, &new_key)
        .with_variable(mallsync_sync::crypto::PREVIOUS_KEY_VARIABLE, old_key);
    let app = App {
        io: std::sync::Arc::new(io),
        cart: Cart::Bcart,
    };
    let read = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(read.status, 200, "{}", read.body);
    let reseal = || {
        app.call(
            "POST",
            "/secrets/reseal",
            Some(crate::helpers::ADMIN_TOKEN),
            None,
        )
    };
    let resealed = reseal();
    assert_eq!(resealed.status, 200, "{}", resealed.body);
    assert_eq!(
        (&resealed.body["shops"], &resealed.body["stores"]),
        (&json!(1), &json!(1))
    );
    let again = reseal();
    assert_eq!(
        (&again.body["shops"], &again.body["stores"]),
        (&json!(0), &json!(0))
    );
    // Without the previous key the resealed values still open.
    let io = std::sync::Arc::try_unwrap(app.io)
        .ok()
        .expect("the only handle")
        .with_variable(mallsync_sync::crypto::PREVIOUS_KEY_VARIABLE, "");
    let app = App {
        io: std::sync::Arc::new(io),
        cart: Cart::Bcart,
    };
    let read = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(read.status, 200, "{}", read.body);
    // And a missing key is a clear error (500 to the caller, the variable named in the log).
    let io = std::sync::Arc::try_unwrap(app.io)
        .ok()
        .expect("the only handle")
        .with_variable(mallsync_sync::crypto::KEY_VARIABLE, "");
    let app = App {
        io: std::sync::Arc::new(io),
        cart: Cart::Bcart,
    };
    let read = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(read.status, 500, "{}", read.body);
}

#[test]
fn access_tokens_are_sealed_in_key_value() {
    let cart = futureshop::FakeFutureshop::start();
    cart.seed_order(&OrderSeed::new("F1", "2026-11-20T10:00:00+09:00").shipment("1", &[]));
    let app =
        crate::helpers::spawn_app_following(Cart::Futureshop, cart.url(), cart.clock().clone());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(
        &shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": cart.url()
            }
        }),
    );
    let test = app.call(
        "POST",
        &format!("/stores/{store}/connection-test"),
        Some(&shop.token),
        None,
    );
    assert_eq!(test.status, 200, "{}", test.body);

    let stored = app
        .io
        .kv_get(&mallsync_sync::secret_places::token_key(&store))
        .unwrap()
        .expect("a token is kept");
    let text = String::from_utf8_lossy(&stored);
    assert!(text.starts_with("enc:v1:"), "{text}");
    assert!(!text.contains("fs-token"), "{text}");
    assert!(mallsync_sync::carts::load_token(app.io.as_ref(), &store)
        .unwrap()
        .is_some());
}

#[test]
fn a_host_refused_by_the_platform_is_a_permanent_error_not_a_retry() {
    use mallsync_carts::{CartError, TransportError};
    let refused = CartError::from(TransportError::refused("https://elsewhere.example/api"));
    assert!(
        matches!(refused, CartError::InvalidRequest { .. }),
        "{refused:?}"
    );
    assert!(!refused.is_retryable());
    // Any other transport failure stays worth a retry.
    assert!(CartError::from(TransportError("connection reset".into())).is_retryable());
}
