//! Issue 10 end to end, through the host on the built components: a stored credential never
//! leaves for another host (the capture server receives nothing), the dispatcher keeps each
//! store on its own cart's origins, signed webhooks cannot be replayed or reordered, a 200 MB
//! body is refused with bounded memory, secrets are sealed in the SQLite and key-value files, and
//! every field has a bound.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use chrono::Utc;
use mallsync_fake_carts::{bcart, cscart, futureshop, OrderSeed};
use mallsync_test_support::{TestApp, TestOptions};
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, order, sign_at, ADMIN_TOKEN};

/// An app started with the given variables, and a plain client for it.
struct Client {
    app: TestApp,
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    allow: Option<String>,
    body: Value,
}

impl Client {
    fn spawn(variables: &[(&str, &str)]) -> Client {
        let mut options = TestOptions::default().variable("admin_token", ADMIN_TOKEN);
        for (name, value) in variables {
            options = options.variable(name, *value);
        }
        let app = mallsync_test_support::spawn_app(options);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        Client { app, agent }
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let url = format!("{}{path}", self.app.url());
        let mut request = http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .agent
            .run(request.body(body.to_vec()).unwrap())
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let allow = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response.into_body().read_to_vec().unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            allow,
            body,
        }
    }

    fn json(&self, token: &str, method: &str, path: &str, body: &Value) -> Answer {
        let bearer = format!("Bearer {token}");
        self.call(
            method,
            path,
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    }

    /// A shop: (API token, webhook secret).
    fn shop(&self, cart: &str) -> (String, String) {
        let created = self.json(
            ADMIN_TOKEN,
            "POST",
            &format!("/{cart}/shops"),
            &json!({ "name": "テスト商店" }),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let field = |n: &str| created.body[n].as_str().unwrap().to_string();
        (field("api_token"), field("webhook_secret"))
    }

    fn store(&self, cart: &str, token: &str, settings: Value) -> String {
        let created = self.json(
            token,
            "POST",
            &format!("/{cart}/stores"),
            &json!({ "name": "1号店", "settings": settings }),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().unwrap().to_string()
    }

    fn webhook_at(&self, cart: &str, store: &str, secret: &str, t: i64, body: &Value) -> Answer {
        let bytes = body.to_string().into_bytes();
        let signature = sign_at(secret, t, &bytes);
        self.call(
            "POST",
            &format!("/{cart}/stores/{store}/orders"),
            &[
                ("x-mallsync-signature", &signature),
                ("content-type", "application/json"),
            ],
            &bytes,
        )
    }
}

#[test]
fn a_stored_cart_key_is_never_sent_to_a_new_store_url_the_capture_server_receives_nothing() {
    let cart = cscart::FakeCscart::start();
    let capture = cscart::FakeCscart::start();
    // Any loopback port is an allowed CS-Cart origin here (as the default "https://*" allows any
    // shop's host): only mallsync's own rule stands between the key and the capture server.
    let app = Client::spawn(&[("cscart_api_origin", "http://127.0.0.1:*")]);
    let (token, _) = app.shop("cscart");
    let settings = |url: &str, key: &str| json!({ "credentials": { "store_url": url, "admin_email": cscart::ADMIN_EMAIL, "api_key": key } });
    let store = app.store("cscart", &token, settings(cart.url(), cscart::API_KEY));

    let moved = app.json(
        &token,
        "PUT",
        &format!("/cscart/stores/{store}"),
        &json!({ "name": "1号店", "settings": settings(capture.url(), "********") }),
    );
    let test = app.json(
        &token,
        "POST",
        &format!("/cscart/stores/{store}/connection-test"),
        &json!({}),
    );

    assert_eq!(moved.status, 400, "{}", moved.body);
    assert_eq!(
        moved.body["problems"][0]["field"],
        "settings.credentials.api_key"
    );
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(capture.calls().is_empty(), "{:?}", capture.calls());
    assert!(!cart.calls().is_empty());
}

#[test]
fn the_dispatcher_refuses_a_store_whose_url_is_another_carts_origin_and_sends_it_nothing() {
    let cart = futureshop::FakeFutureshop::start();
    // The capture is an allowed origin of the dispatcher (it is Bカート's), not of futureshop.
    let capture = futureshop::FakeFutureshop::start();
    let app = Client::spawn(&[
        ("futureshop_api_origin", cart.url()),
        ("bcart_api_origin", capture.url()),
    ]);
    let (token, secret) = app.shop("futureshop");
    let store = app.store(
        "futureshop",
        &token,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": capture.url()
            },
            "export": { "auto_export": true }
        }),
    );
    let mut shipped = order("F1", "処理中", Some("123456789012"), Some(&jst_date(0)));
    shipped["shipments"] = json!([{ "shipment_id": "1" }]);
    let hook = app.webhook_at(
        "futureshop",
        &store,
        &secret,
        Utc::now().timestamp(),
        &json!({ "orders": [shipped] }),
    );
    let test = app.json(
        &token,
        "POST",
        &format!("/futureshop/stores/{store}/connection-test"),
        &json!({}),
    );
    // The webhook's own write-back was refused the same way (permanently); the order is tried
    // again after the wait for a refused update, now by the dispatcher.
    app.app
        .advance_clock(std::time::Duration::from_secs(7 * 3600));
    let tick = app.json(ADMIN_TOKEN, "POST", "/internal/dispatch", &json!({}));

    assert_eq!(hook.status, 200, "{}", hook.body);
    assert_eq!(test.status, 502, "{}", test.body);
    assert_eq!(
        test.body["cart_error"]["kind"], "invalid_request",
        "{}",
        test.body
    );
    assert_eq!(tick.status, 200, "{}", tick.body);
    let run_id = &tick.body["work"]["work"][0]["run_id"];
    let run = app.json(
        &token,
        "GET",
        &format!("/futureshop/stores/{store}/runs/{run_id}"),
        &json!({}),
    );
    assert!(
        run.body
            .to_string()
            .contains("not an allowed futureshop origin"),
        "{}",
        run.body
    );
    assert!(capture.calls().is_empty(), "{:?}", capture.calls());
}

fn bcart_app() -> (bcart::FakeBcart, Client, String, String, String) {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(&OrderSeed::new("A1", &jst_days_ago(3)).shipment("L1", &[]));
    let app = Client::spawn(&[("bcart_api_origin", fake.url())]);
    let (token, secret) = app.shop("bcart");
    let store = app.store(
        "bcart",
        &token,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    (fake, app, token, secret, store)
}

fn shipped(tracking: &str, updated_hours_ago: i64) -> Value {
    let mut o = order("A1", "発送待ち", Some(tracking), Some(&jst_date(0)));
    o["shipments"] = json!([{ "shipment_id": "L1" }]);
    o["updated_at"] = json!(crate::helpers::jst_hours_ago(updated_hours_ago));
    json!({ "orders": [o] })
}

#[test]
fn replayed_and_stale_signatures_are_refused_and_v1_v2_v1_leaves_v2() {
    let (fake, app, _token, secret, store) = bcart_app();
    let now = Utc::now().timestamp();
    let v1 = shipped("1111", 3);
    let v2 = shipped("2222", 2);

    let stale = app.webhook_at("bcart", &store, &secret, now - 600, &v1);
    let first = app.webhook_at("bcart", &store, &secret, now, &v1);
    let replay = app.webhook_at("bcart", &store, &secret, now, &v1);
    let second = app.webhook_at("bcart", &store, &secret, now + 1, &v2);
    // The old version, signed anew: accepted as a delivery, but older than what is stored.
    let again = app.webhook_at("bcart", &store, &secret, now + 2, &v1);

    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(replay.status, 409, "{}", replay.body);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["stale"], json!(["A1"]), "{}", again.body);
    let sent: Vec<Value> = fake
        .logistics_patches()
        .into_iter()
        .map(|(_, body)| body["delivery_code"].clone())
        .collect();
    assert_eq!(sent, [json!("1111"), json!("2222")]);
}

#[test]
fn an_unknown_store_and_a_wrong_signature_get_the_same_answer() {
    let (_fake, app, _token, secret, store) = bcart_app();
    let now = Utc::now().timestamp();
    let body = json!({ "orders": [] });
    let wrong = app.webhook_at("bcart", &store, "whsec_not_it", now, &body);
    let unknown = app.webhook_at("bcart", "st_0123456789abcdef", &secret, now, &body);
    assert_eq!(wrong.status, 401);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
}

#[test]
fn a_known_path_with_another_method_gets_405_with_allow() {
    let client = Client::spawn(&[]);
    let shops = client.call("DELETE", "/bcart/shops", &[], b"");
    let health = client.call("POST", "/bcart/health", &[], b"");
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let dispatch = client.call(
        "PUT",
        "/internal/dispatch",
        &[("authorization", &bearer)],
        b"",
    );

    assert_eq!(
        (shops.status, shops.allow.as_deref()),
        (405, Some("POST, GET"))
    );
    assert_eq!((health.status, health.allow.as_deref()), (405, Some("GET")));
    assert_eq!(
        (dispatch.status, dispatch.allow.as_deref()),
        (405, Some("GET, POST"))
    );
}

/// The process's peak resident memory (VmHWM), in bytes; `reset` starts a new peak first.
fn peak_rss(reset: bool) -> u64 {
    if reset {
        std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak RSS");
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Sends only the head of a request declaring a `length`-byte body; returns the status answered
/// without any of the body sent.
fn declared_body(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
) -> u16 {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).unwrap();
    let mut status_line = String::new();
    BufReader::new(socket).read_line(&mut status_line).unwrap();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Streams `total` bytes as a chunked body (no Content-Length: the component cannot refuse it up
/// front), reading the answer while it writes. Returns the status and how much was written.
fn stream_body(addr: std::net::SocketAddr, path: &str, total: usize) -> (u16, usize) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    write!(
        socket,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let mut writer = socket.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 * 1024];
        let mut written = 0;
        while written < total {
            let head = format!("{:x}\r\n", chunk.len());
            let ok = writer.write_all(head.as_bytes()).is_ok()
                && writer.write_all(&chunk).is_ok()
                && writer.write_all(b"\r\n").is_ok();
            if !ok {
                break;
            }
            written += chunk.len();
        }
        let _ = writer.write_all(b"0\r\n\r\n");
        written
    });
    let mut reader = BufReader::new(socket.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Enough of the answer read: stop the sender.
    let _ = socket.shutdown(std::net::Shutdown::Both);
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    (status, sender.join().unwrap())
}

#[test]
fn a_200_mb_body_gets_413_with_bounded_memory() {
    // Measured in a process of its own, so the other tests' memory does not count.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "security::measure_a_200_mb_body",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    if let Some(figure) = text.lines().find(|l| l.starts_with("200 MB chunked body")) {
        eprintln!("{figure}");
    }
}

#[test]
#[ignore = "run by a_200_mb_body_gets_413_with_bounded_memory in a process of its own"]
fn measure_a_200_mb_body() {
    const TOTAL: usize = 200 * 1024 * 1024;
    let (_fake, app, _token, secret, store) = bcart_app();
    // Warm the component up first, so its start is not counted.
    let warm = app.webhook_at(
        "bcart",
        &store,
        &secret,
        Utc::now().timestamp(),
        &json!({ "orders": [] }),
    );
    assert_eq!(warm.status, 200, "{}", warm.body);

    // Declared too large: refused before a byte of the body is sent at all.
    let declared = declared_body(
        app.app.addr(),
        &format!("/bcart/stores/{store}/orders"),
        &[],
        TOTAL,
    );
    assert_eq!(declared, 413);

    let before = peak_rss(true);
    let (status, written) = stream_body(
        app.app.addr(),
        &format!("/bcart/stores/{store}/orders"),
        TOTAL,
    );
    let grew = peak_rss(false).saturating_sub(before);

    assert_eq!(status, 413);
    eprintln!(
        "200 MB chunked body: 413 after {} MB written; peak memory grew {} MB",
        written / (1024 * 1024),
        grew / (1024 * 1024)
    );
    // The issue measured +581 MB reading it whole; reading stops at the 10 MiB limit.
    assert!(grew < 64 * 1024 * 1024, "peak memory grew {grew} bytes");
}

#[test]
fn no_secret_is_readable_in_the_sqlite_or_key_value_files() {
    let cart = futureshop::FakeFutureshop::start();
    cart.seed_order(&OrderSeed::new("F1", &jst_days_ago(3)).shipment("1", &[]));
    let app = Client::spawn(&[("futureshop_api_origin", cart.url())]);
    let (token, secret) = app.shop("futureshop");
    let store = app.store(
        "futureshop",
        &token,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": cart.url()
            }
        }),
    );
    let test = app.json(
        &token,
        "POST",
        &format!("/futureshop/stores/{store}/connection-test"),
        &json!({}),
    );
    assert_eq!(test.status, 200, "{}", test.body);
    let issued: Vec<String> = cart
        .calls()
        .iter()
        .filter_map(|c| {
            c.headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.clone())
        })
        .filter_map(|v| v.strip_prefix("Bearer ").map(str::to_string))
        .collect();
    assert!(
        !issued.is_empty(),
        "the connection test used an access token"
    );

    let mut files = Vec::new();
    for entry in std::fs::read_dir(app.app.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("sqlite_db")),
        "{files:?}",
        files = files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let secrets = [
        secret.as_str(),
        futureshop::CLIENT_SECRET,
        futureshop::SHOP_KEY,
        issued[0].as_str(),
    ];
    for (path, bytes) in &files {
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} readable in {}", path.display());
        }
    }
    // The store still works: the sealed values open.
    let read = app.json(
        &token,
        "GET",
        &format!("/futureshop/stores/{store}"),
        &json!({}),
    );
    assert_eq!(read.status, 200, "{}", read.body);
}

#[test]
fn every_field_out_of_bounds_is_refused_through_the_host() {
    let (_fake, app, token, secret, store) = bcart_app();
    // A 20 MB shop name: its body is refused by its declared length.
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let huge_name = declared_body(
        app.app.addr(),
        "/bcart/shops",
        &[("authorization", &bearer)],
        20 * 1024 * 1024,
    );
    let long_name = app.json(
        ADMIN_TOKEN,
        "POST",
        "/bcart/shops",
        &json!({ "name": "店".repeat(101) }),
    );
    let long_store = app.json(
        &token,
        "POST",
        "/bcart/stores",
        &json!({ "name": "1号店", "settings": { "credentials": { "access_token": "x".repeat(3000) } } }),
    );
    let mut bad = order("..", "", Some("1111"), Some("0000-01-01"));
    bad["ordered_at"] = json!("-262143-01-01T00:00:00+09:00");
    bad["updated_at"] = json!("+99999-01-01T00:00:00+09:00");
    bad["shipments"] = json!([{ "shipment_id": "x".repeat(10_000) }]);
    let mut long_id = order(&"9".repeat(10_000), "処理中", Some(&"1".repeat(65)), None);
    long_id["requested_delivery_date"] = json!("2101-01-01");
    let hook = app.webhook_at(
        "bcart",
        &store,
        &secret,
        Utc::now().timestamp(),
        &json!({ "orders": [bad, long_id] }),
    );

    assert_eq!(huge_name, 413);
    assert_eq!(long_name.status, 400, "{}", long_name.body);
    assert_eq!(long_store.status, 400, "{}", long_store.body);
    assert_eq!(hook.status, 400, "{}", hook.body);
    let fields: Vec<String> = hook.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_string())
        .collect();
    for field in [
        "orders[0].order_id",
        "orders[0].status",
        "orders[0].ordered_at",
        "orders[0].updated_at",
        "orders[0].ship_date",
        "orders[0].shipments[0].shipment_id",
        "orders[1].order_id",
        "orders[1].tracking_numbers[0]",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} not in {fields:?}"
        );
    }
    let shops = app.json(ADMIN_TOKEN, "GET", "/bcart/shops", &json!({}));
    assert_eq!(
        shops.body["shops"].as_array().unwrap().len(),
        1,
        "{}",
        shops.body
    );
}
