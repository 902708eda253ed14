//! What the operator console needs from the API: each cart's settings schema, every problem of a
//! store's settings at once (next to its field, in Japanese and English), the store list's
//! summary, and BASE's OAuth started from a browser and ending back in the console.

use chrono::Duration;
use mallsync_fake_carts::base::{FakeBase, CLIENT_ID};
use mallsync_fake_carts::bcart::FakeBcart;
use mallsync_fake_carts::OrderSeed;
use mallsync_rules::Cart;
use mallsync_sync::carts::load_token;
use serde_json::{json, Value};

use crate::base::base_settings;
use crate::helpers::{bcart_settings, order, spawn_app, App, TestShop};

#[test]
fn each_carts_settings_schema_is_public_with_labels_defaults_and_masked_secrets() {
    let app = spawn_app(Cart::Base, "http://127.0.0.1:9");
    let reply = app.call("GET", "/settings/schema", None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let schema = &reply.body;
    assert_eq!(schema["x-cart"], "base");
    let secret = &schema["properties"]["credentials"]["properties"]["client_secret"];
    assert_eq!(secret["title"], "クライアントシークレット");
    assert_eq!(secret["x-title-en"], "Client secret");
    assert_eq!(secret["writeOnly"], true);
    assert_eq!(secret["format"], "password");
    let days = &schema["properties"]["import"]["properties"]["days_to_fetch"];
    assert_eq!(days["title"], "受注を取得する日数");
    assert_eq!(
        (days["default"].clone(), days["maximum"].clone()),
        (json!(7), json!(365))
    );
    assert_eq!(
        schema["properties"]["export_mode"]["x-enum-labels"]["only_processed"]["ja"],
        "【処理済み】だけ書き出す"
    );

    // Another cart, another default: futureshop fetches 10 days back.
    let futureshop = spawn_app(Cart::Futureshop, "http://127.0.0.1:9");
    let reply = futureshop.call("GET", "/settings/schema", None, None);
    assert_eq!(
        reply.body["properties"]["import"]["properties"]["days_to_fetch"]["default"],
        10
    );
    assert_eq!(
        reply.body["properties"]["option_price"]["title"],
        "オプション価格"
    );

    // The OpenAPI document a cart serves refers a store's settings to that schema.
    let document = app.call("GET", "/openapi.json", None, None).body;
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["StoreInput"]["properties"]["settings"]["allOf"][0]["$ref"],
        "#/components/schemas/BaseSettings"
    );
    assert_eq!(schemas["BaseSettings"], *schema);
    assert!(schemas["DispatchReport"]["properties"]["work"].is_object());
    assert!(document["paths"]["/internal/dispatch"]["post"].is_object());
}

fn problems_by_field(reply: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = reply["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ja = p["message_ja"].as_str().unwrap_or_default();
            assert!(!ja.is_empty(), "no Japanese message: {p}");
            assert!(p["message"].is_string(), "{p}");
            (p["field"].as_str().unwrap().to_string(), ja.to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_store_with_a_field_of_the_wrong_type_gets_every_problem_and_nothing_is_stored() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("テスト商店");
    let reply = app.call(
        "POST",
        "/stores",
        Some(&shop.token),
        Some(&json!({
            "name": 5,
            "settings": {
                "credentials": {},
                "import": { "days_to_fetch": "x", "auto_fetch_interval_minutes": 7 },
                "export": { "auto_export": "yes" },
                "period_days": 0,
                "colour": "red"
            }
        })),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let fields: Vec<String> = problems_by_field(&reply.body)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "settings.colour",
            "settings.credentials.access_token",
            "settings.export.auto_export",
            "settings.import.auto_fetch_interval_minutes",
            "settings.import.days_to_fetch",
            "settings.period_days",
        ]
    );
    let listed = app.call("GET", "/stores", Some(&shop.token), None);
    assert_eq!(listed.body["stores"], json!([]), "nothing half-stored");
}

#[test]
fn replacing_settings_with_a_type_error_lists_it_and_keeps_the_stored_settings() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    let reply = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "1号店", "settings": {
            "credentials": { "access_token": "********" },
            "import": { "days_to_fetch": 400 },
            "period_days": "3"
        }})),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let found = problems_by_field(&reply.body);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "settings.import.days_to_fetch");
    assert!(found[0].1.contains("365"), "{found:?}");
    assert_eq!(found[1].0, "settings.period_days");
    assert!(found[1].1.contains("整数"), "{found:?}");
    let stored = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(stored.body["settings"]["import"]["days_to_fetch"], 7);
    assert_eq!(stored.body["settings"]["period_days"], 3);
}

#[test]
fn the_store_list_shows_auto_switches_pending_orders_and_the_last_runs() {
    let fake = FakeBcart::start();
    fake.seed_order(&OrderSeed::new("P1", "2026-11-20T10:00:00+09:00").shipment("PL1", &[]));
    fake.seed_order(&OrderSeed::new("P2", "2026-11-20T11:00:00+09:00").shipment("PL2", &[]));
    let app = spawn_app(Cart::Bcart, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));

    let summary = |app: &App, shop: &TestShop| {
        let list = app.call("GET", "/stores", Some(&shop.token), None);
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["stores"][0]["summary"].clone()
    };
    let before = summary(&app, &shop);
    assert_eq!(before["auto_export"], false);
    assert_eq!(before["auto_fetch"], false);
    assert_eq!(before["pending_orders"], 0);
    assert!(before["last_write_back"].is_null() && before["last_import"].is_null());

    // Auto-export off: the orders wait for the operator.
    let body = json!({ "orders": [
        order("P1", "発送待ち", Some("7000-0001"), Some("2026-11-23"), "PL1"),
        order("P2", "発送待ち", Some("7000-0002"), Some("2026-11-23"), "PL2"),
    ]});
    assert_eq!(app.webhook(&store, &shop.webhook_secret, &body).status, 200);
    assert_eq!(summary(&app, &shop)["pending_orders"], 2);

    app.io.advance(Duration::minutes(1));
    let run = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );
    assert_eq!(run.status, 200, "{}", run.body);
    let imported = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        None,
    );
    assert_eq!(imported.status, 200, "{}", imported.body);

    let after = summary(&app, &shop);
    assert_eq!(after["pending_orders"], 0, "{after}");
    let last = &after["last_write_back"];
    assert_eq!(
        (last["trigger"].as_str(), last["sent"].as_i64()),
        (Some("manual"), Some(2))
    );
    assert_eq!(
        (last["failed"].as_i64(), last["deferred"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(last["ended_at"].is_string(), "{last}");
    assert_eq!(after["last_import"]["kind"], "import");
    assert_eq!(after["last_import"]["imported"], 2, "{after}");
    // One store read carries the same summary.
    let one = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(one.body["summary"], after);
}

/// A BASE store, and the console's start of its OAuth flow.
fn console_start(return_to: &str) -> (FakeBase, App, TestShop, String, Value) {
    let fake = FakeBase::start();
    let app = spawn_app(Cart::Base, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(false));
    let query: String = form_urlencoded_pair("return_to", return_to);
    let start = app.call(
        "GET",
        &format!("/stores/{store}/oauth/start?{query}"),
        Some(&shop.token),
        None,
    );
    (fake, app, shop, store, start.body)
}

fn form_urlencoded_pair(name: &str, value: &str) -> String {
    let encoded: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{name}={encoded}")
}

fn state_of(authorize_url: &str) -> String {
    let query = authorize_url.split_once('?').unwrap().1;
    let raw = query
        .split('&')
        .find_map(|p| p.strip_prefix("state="))
        .unwrap();
    // The state is hex and a dot: nothing to decode.
    raw.to_string()
}

/// The callback as the browser calls it; returns the status and the Location header.
fn callback(app: &App, query: &str) -> (u16, Option<String>) {
    let request = http::Request::builder()
        .uri(format!("http://mallsync.test/base/oauth/callback?{query}"))
        .body(Vec::new())
        .unwrap();
    let response = mallsync_sync::handle(Cart::Base, app.io.as_ref(), request);
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status().as_u16(), location)
}

#[test]
fn base_oauth_started_from_the_console_returns_to_it_connected() {
    let (fake, app, _shop, store, start) = console_start("/console/?page=stores");
    let url = start["authorize_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{start}"));
    assert!(url.contains(&format!("client_id={CLIENT_ID}")), "{url}");
    assert_eq!(start["return_to"], "/console/?page=stores");

    let state = state_of(url);
    let code = fake.authorization_code();
    let (status, location) = callback(&app, &format!("code={code}&state={state}"));
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/console/?page=stores&oauth=connected&store={store}").as_str())
    );
    assert!(
        load_token(app.io.as_ref(), &store).unwrap().is_some(),
        "tokens stored"
    );

    // The state is used up: a second callback is refused and goes nowhere.
    let (again, location) = callback(&app, &format!("code={code}&state={state}"));
    assert_eq!((again, location), (401, None));
}

#[test]
fn a_console_oauth_flow_that_fails_returns_to_the_console_with_the_reason() {
    // The operator refuses at BASE.
    let (_fake, app, _shop, store, start) = console_start("/console/");
    let state = state_of(start["authorize_url"].as_str().unwrap());
    let (status, location) = callback(&app, &format!("error=access_denied&state={state}"));
    assert_eq!(status, 303);
    assert_eq!(
        location.unwrap(),
        format!("/console/?oauth=error&reason=denied&store={store}")
    );
    assert!(load_token(app.io.as_ref(), &store).unwrap().is_none());

    // Too late: the state lived 10 minutes.
    let (fake, app, _shop, store, start) = console_start("/console/");
    let state = state_of(start["authorize_url"].as_str().unwrap());
    app.io.advance(Duration::minutes(11));
    let code = fake.authorization_code();
    let (status, location) = callback(&app, &format!("code={code}&state={state}"));
    assert_eq!(status, 303);
    assert_eq!(
        location.unwrap(),
        format!("/console/?oauth=error&reason=expired&store={store}")
    );

    // BASE refuses the code.
    let (_fake, app, _shop, store, start) = console_start("/console/");
    let state = state_of(start["authorize_url"].as_str().unwrap());
    let (status, location) = callback(&app, &format!("code=not-a-code&state={state}"));
    assert_eq!(status, 303);
    assert_eq!(
        location.unwrap(),
        format!("/console/?oauth=error&reason=exchange_failed&store={store}")
    );
    assert!(load_token(app.io.as_ref(), &store).unwrap().is_none());
}

#[test]
fn oauth_returns_only_to_a_console_path_on_this_site() {
    for bad in [
        "https://evil.example/console/",
        "//evil.example/console/",
        "/console/../shops",
        "/admin/",
        "/console/\\evil.example",
        "/console/#x",
        "/console//evil.example",
        "/console/%2e%2e/shops",
        "/console/%2F%2Fevil.example",
    ] {
        let (_fake, _app, _shop, _store, start) = console_start(bad);
        assert_eq!(start["problems"][0]["field"], "return_to", "{bad}: {start}");
    }

    // A state whose return_to was changed on the way is unknown: refused, no redirect.
    let (fake, app, _shop, _store, start) = console_start("/console/");
    let state = state_of(start["authorize_url"].as_str().unwrap());
    let (random, _) = state.split_once('.').unwrap();
    let evil: String = "/console/x".bytes().map(|b| format!("{b:02x}")).collect();
    let code = fake.authorization_code();
    let (status, location) = callback(&app, &format!("code={code}&state={random}.{evil}"));
    assert_eq!((status, location), (401, None));
}

#[test]
fn the_import_range_and_the_manual_period_are_refused_in_japanese_and_english() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, bcart_settings(false));
    let import = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({ "from": "2026-11-20", "to": "2026-11-30" })),
    );
    assert_eq!(import.status, 400, "{}", import.body);
    assert_eq!(
        problems_by_field(&import.body),
        [(
            "to".to_string(),
            "2026-11-30 は未来の日付です（今日は 2026-11-23）".to_string()
        )]
    );
    let reversed = app.call(
        "POST",
        &format!("/stores/{store}/import"),
        Some(&shop.token),
        Some(&json!({ "from": "2026-11-22", "to": "2026-11-21" })),
    );
    assert_eq!(problems_by_field(&reversed.body)[0].0, "from");
    let period = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        Some(&json!({ "period_days": 0 })),
    );
    assert_eq!(period.status, 400, "{}", period.body);
    let found = problems_by_field(&period.body);
    assert_eq!(found[0].0, "period_days");
    assert!(found[0].1.contains("作成期間"), "{found:?}");
}
