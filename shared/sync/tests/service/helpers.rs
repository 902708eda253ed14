//! One way to start the service for a test: `spawn_app(cart, fake_url)`.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use mallsync_rules::Cart;
use mallsync_sync::auth::{sign, HEADER_SIGNATURE};
use mallsync_sync::native::{loopback_sender, NativeIo};
use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// 2026-11-23 12:00 in Japan.
pub fn noon_jst() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

pub struct App {
    pub io: Arc<NativeIo>,
    pub cart: Cart,
}

/// A shop as the admin created it, with its one-time secrets.
pub struct TestShop {
    pub id: String,
    pub token: String,
    pub webhook_secret: String,
}

/// The service for `cart` with its cart calls going to `cart_url` (a fake cart's origin).
pub fn spawn_app(cart: Cart, cart_url: &str) -> App {
    spawn_app_with(cart, cart_url, |io| io)
}

/// The service with the fake cart's clock following the service's: waits (the request budget's
/// pacing, retries) and `advance` move both, so the cart sees the pacing the service did.
pub fn spawn_app_following(cart: Cart, cart_url: &str, clock: mallsync_fake_carts::Clock) -> App {
    spawn_app_with(cart, cart_url, move |io| {
        io.on_advance(move |by| clock.advance(by.to_std().unwrap_or_default()))
    })
}

/// The same, with the native platform adjusted first (e.g. a slow cart).
pub fn spawn_app_with(
    cart: Cart,
    cart_url: &str,
    adjust: impl FnOnce(NativeIo) -> NativeIo,
) -> App {
    let io = NativeIo::in_memory(noon_jst(), loopback_sender())
        .unwrap()
        .with_variable("admin_token", ADMIN_TOKEN)
        .with_variable(mallsync_sync::carts::API_ORIGIN_VARIABLE, cart_url);
    App {
        io: Arc::new(adjust(io)),
        cart,
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl App {
    pub fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://mallsync.test/{}{path}", self.cart.slug()));
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(request.body(bytes).unwrap())
    }

    pub fn send(&self, request: http::Request<Vec<u8>>) -> Reply {
        let response = mallsync_sync::handle(self.cart, self.io.as_ref(), request);
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        Reply { status, body }
    }

    pub fn create_shop(&self, name: &str) -> TestShop {
        let reply = self.call(
            "POST",
            "/shops",
            Some(ADMIN_TOKEN),
            Some(&json!({ "name": name })),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        TestShop {
            id: reply.body["id"].as_str().unwrap().to_string(),
            token: reply.body["api_token"].as_str().unwrap().to_string(),
            webhook_secret: reply.body["webhook_secret"].as_str().unwrap().to_string(),
        }
    }

    /// Creates a store and returns its id.
    pub fn create_store(&self, shop: &TestShop, settings: Value) -> String {
        let reply = self.call(
            "POST",
            "/stores",
            Some(&shop.token),
            Some(&json!({ "name": "1号店", "settings": settings })),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }

    /// Posts a webhook batch signed with `secret` at the app's current time.
    pub fn webhook(&self, store_id: &str, secret: &str, body: &Value) -> Reply {
        use mallsync_sync::Io;
        let bytes = body.to_string().into_bytes();
        let now = self.io.now().timestamp();
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("/{}/stores/{store_id}/orders", self.cart.slug()))
            .header(HEADER_SIGNATURE, sign(secret, now, &bytes))
            .body(bytes)
            .unwrap();
        self.send(request)
    }

    pub fn count(&self, sql: &str) -> i64 {
        use mallsync_sync::Io;
        self.io
            .sql(sql, &[])
            .unwrap()
            .first()
            .unwrap()
            .int("n")
            .unwrap()
    }
}

/// Bカート settings with the fake's token and auto-export as given.
pub fn bcart_settings(auto_export: bool) -> Value {
    json!({
        "credentials": { "access_token": mallsync_fake_carts::bcart::ACCESS_TOKEN },
        "export": { "auto_export": auto_export }
    })
}

/// A canonical order as the OMS posts it.
pub fn order(
    id: &str,
    status: &str,
    tracking: Option<&str>,
    ship_date: Option<&str>,
    shipment: &str,
) -> Value {
    let mut order = json!({
        "order_id": id,
        "status": status,
        "ordered_at": "2026-11-20T10:00:00+09:00",
        "updated_at": "2026-11-23T09:00:00+09:00",
        "shipments": [{ "shipment_id": shipment }],
    });
    if let Some(t) = tracking {
        order["tracking_numbers"] = json!([t]);
    }
    if let Some(d) = ship_date {
        order["ship_date"] = json!(d);
    }
    order
}
