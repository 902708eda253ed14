//! The sync service through the host, on the built wasm: `spawn_app(cart, fake_url)` starts the
//! whole app with that cart's API origin (and outbound allow-list) pointed at a loopback fake.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use mallsync_fake_carts::RecordedCall;
use mallsync_test_support::client::Client;
pub use mallsync_test_support::client::Reply;
use mallsync_test_support::{TestApp, TestOptions};
use serde_json::{json, Value};
use sha2::Sha256;

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

/// The app and the one cart a test drives through it.
pub struct App {
    app: TestApp,
    client: Client,
    /// The cart's slug, the first segment of its routes.
    pub cart: &'static str,
    /// Each store's shop token, to read the run a webhook started.
    shop_tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// A shop as the admin created it, with its one-time secrets.
pub struct TestShop {
    pub token: String,
    pub webhook_secret: String,
}

/// Starts the app with `<cart>_api_origin` = `fake_url`: for Bカート, BASE and ショップサーブ the
/// origin the component calls, for every cart the only host it may reach (CS-Cart and futureshop
/// call the URL in the store's credentials, which must be the same fake).
pub fn spawn_app(cart: &'static str, fake_url: &str) -> App {
    spawn_app_with(cart, fake_url, TestOptions::default())
}

/// [`spawn_app`] with more options (e.g. a runtime config file, a cron schedule).
pub fn spawn_app_with(cart: &'static str, fake_url: &str, options: TestOptions) -> App {
    let options = options
        .variable("admin_token", ADMIN_TOKEN)
        .variable(&format!("{cart}_api_origin"), fake_url);
    let app = mallsync_test_support::spawn_app(options);
    App {
        app,
        client: Client::default(),
        cart,
        shop_tokens: Default::default(),
    }
}

impl App {
    /// Where this app's default key-value and SQLite files would be.
    pub fn data_dir(&self) -> &std::path::Path {
        self.app.data_dir()
    }

    /// One request to `/<cart><path>` (or to `path` itself when it starts with `/internal`).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let url = if path.starts_with("/internal") {
            format!("{}{path}", self.app.url())
        } else {
            format!("{}/{}{path}", self.app.url(), self.cart)
        };
        self.client.call(method, &url, headers, body)
    }

    /// A JSON request with `Authorization: Bearer <token>`.
    pub fn call_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let bearer = format!("Bearer {token}");
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.call(
            method,
            path,
            &[("authorization", &bearer)],
            bytes.as_deref(),
        )
    }

    pub fn create_shop(&self) -> TestShop {
        let reply = self.call_as(
            ADMIN_TOKEN,
            "POST",
            "/shops",
            Some(&json!({ "name": "テスト商店" })),
        );
        assert_eq!(reply.status, 201, "creating a shop: {}", reply.body);
        let field = |name: &str| {
            reply.body[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {}", reply.body))
                .to_string()
        };
        TestShop {
            token: field("api_token"),
            webhook_secret: field("webhook_secret"),
        }
    }

    /// Creates a store and returns its id.
    pub fn create_store(&self, shop: &TestShop, settings: Value) -> String {
        let reply = self.call_as(
            &shop.token,
            "POST",
            "/stores",
            Some(&json!({ "name": "1号店", "settings": settings })),
        );
        assert_eq!(reply.status, 201, "creating a store: {}", reply.body);
        let id = reply.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no store id in {}", reply.body))
            .to_string();
        self.shop_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), shop.token.clone());
        id
    }

    /// Stops the app (a crash or a redeploy: work in flight is cut off) and starts it again on
    /// the same data, clock and options.
    pub fn restart(self) -> App {
        let App {
            app,
            client,
            cart,
            shop_tokens,
        } = self;
        let app = app
            .restart()
            .unwrap_or_else(|e| panic!("restarting the app: {e:?}"));
        App {
            app,
            client,
            cart,
            shop_tokens,
        }
    }

    /// Moves the components' clock forward (move the fake carts' clocks by as much).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.app.advance_clock(by);
    }

    /// Posts an OMS webhook body signed with `secret` and, when the answer says a write-back
    /// started (it runs after the answer), waits for that run to finish and puts its log in
    /// `write_back`.
    pub fn webhook(&self, store: &str, secret: &str, body: &Value) -> Reply {
        let mut reply = self.webhook_answer(store, secret, body);
        if reply.body["write_back"]["status"] == "started" {
            let run_id = reply.body["write_back"]["run_id"].clone();
            let mut run = self.finished_run(store, &run_id);
            run["run_id"] = run_id;
            reply.body["write_back"] = run;
        }
        reply
    }

    /// Posts an OMS webhook and returns its answer at once (the write-back goes on after it).
    pub fn webhook_answer(&self, store: &str, secret: &str, body: &Value) -> Reply {
        let bytes = body.to_string().into_bytes();
        let signature = sign(secret, &bytes);
        self.call(
            "POST",
            &format!("/stores/{store}/orders"),
            &[("x-mallsync-signature", &signature)],
            Some(&bytes),
        )
    }

    /// The store's run `run_id` once it has ended (polling its log for up to a minute).
    pub fn finished_run(&self, store: &str, run_id: &Value) -> Value {
        let token = self
            .shop_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(store)
            .cloned()
            .unwrap_or_else(|| panic!("store {store} was not created through this App"));
        let started = std::time::Instant::now();
        loop {
            let reply = self.call_as(
                &token,
                "GET",
                &format!("/stores/{store}/runs/{run_id}"),
                None,
            );
            assert_eq!(reply.status, 200, "run log: {}", reply.body);
            if !reply.body["ended_at"].is_null() {
                return reply.body;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "run {run_id} did not end: {}",
                reply.body
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// "Update shipping info now" for the last `period_days`; must answer 200.
    pub fn press(&self, shop: &TestShop, store: &str, period_days: u32) -> Value {
        let reply = self.call_as(
            &shop.token,
            "POST",
            &format!("/stores/{store}/write-back"),
            Some(&json!({ "period_days": period_days })),
        );
        assert_eq!(reply.status, 200, "write-back: {}", reply.body);
        reply.body
    }

    pub fn preview(&self, shop: &TestShop, store: &str, period_days: u32) -> Value {
        let reply = self.call_as(
            &shop.token,
            "POST",
            &format!("/stores/{store}/write-back/preview"),
            Some(&json!({ "period_days": period_days })),
        );
        assert_eq!(reply.status, 200, "preview: {}", reply.body);
        reply.body
    }

    /// The scheduled work now, as an external scheduler starts it (`POST /internal/dispatch`).
    pub fn dispatch(&self) -> Value {
        let reply = self.call_as(ADMIN_TOKEN, "POST", "/internal/dispatch", None);
        assert_eq!(reply.status, 200, "dispatch: {}", reply.body);
        reply.body
    }

    /// One run of the store's log, with every order's outcome.
    pub fn run_log(&self, shop: &TestShop, store: &str, run_id: &Value) -> Value {
        let reply = self.call_as(
            &shop.token,
            "GET",
            &format!("/stores/{store}/runs/{run_id}"),
            None,
        );
        assert_eq!(reply.status, 200, "run log: {}", reply.body);
        reply.body
    }
}

/// `t=<now>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as the OMS signs a webhook. Each call signs
/// with a later `t` than the one before (at most a few seconds ahead of the clock), so two
/// deliveries of the same body are two deliveries, not one replayed.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp();
    let t = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .map_or(now, |last| now.max(last + 1));
    sign_at(secret, t, body)
}

/// The signature header for `body` signed at `t` (Unix seconds).
pub fn sign_at(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| panic!("HMAC key: {e}"));
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// Japan time now: the service's "today" and periods are in it.
pub fn now_jst() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!()))
}

/// `yyyy-mm-dd` in Japan, `days` from today.
pub fn jst_date(days: i64) -> String {
    (now_jst() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// RFC 3339 in Japan, `days` before now.
pub fn jst_days_ago(days: i64) -> String {
    (now_jst() - Duration::days(days)).to_rfc3339()
}

pub fn jst_hours_ago(hours: i64) -> String {
    (now_jst() - Duration::hours(hours)).to_rfc3339()
}

/// A canonical order as the OMS posts it: ordered 3 days ago, updated an hour ago.
pub fn order(id: &str, status: &str, tracking: Option<&str>, ship_date: Option<&str>) -> Value {
    let mut order = json!({
        "order_id": id,
        "status": status,
        "ordered_at": jst_days_ago(3),
        "updated_at": jst_hours_ago(1),
        "carrier": "yamato",
    });
    if let Some(t) = tracking {
        order["tracking_numbers"] = json!([t]);
    }
    if let Some(d) = ship_date {
        order["ship_date"] = json!(d);
    }
    order
}

/// What the fake received, as `METHOD /path`, in order.
pub fn call_lines(calls: &[RecordedCall]) -> Vec<String> {
    calls
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

/// Whether any recorded call could change the cart (anything but GET and token requests).
pub fn writes(calls: &[RecordedCall]) -> Vec<String> {
    call_lines(
        &calls
            .iter()
            .filter(|c| c.method != "GET" && !c.path.ends_with("/oauth/token"))
            .cloned()
            .collect::<Vec<_>>(),
    )
}

/// `(order_id, reason_code or outcome)` for each line of a run, sorted.
pub fn outcomes(run: &Value) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = run["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("no order lines in {run}"))
        .iter()
        .map(|l| {
            let code = l["reason_code"].as_str().or(l["outcome"].as_str());
            (
                l["order_id"].as_str().unwrap_or_default().to_string(),
                code.unwrap_or_default().to_string(),
            )
        })
        .collect();
    lines.sort();
    lines
}
