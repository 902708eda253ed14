//! futureshop: client-credentials tokens, `X-SHOP-KEY` on every call, the order search paged by a
//! `nextUrl` cursor, the 発送API (≤100 orders; "" overwrites a field with blank) and 処理済.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::seed::{jst, OrderSeed};
use crate::server::{
    AccessTokens, Cart, FakeServer, Limited, RateLimit, RecordedCall, Reply, Violation,
    ViolationKind,
};

/// The fake futureshop, serving `/oauth/token` and `/admin-api/v1/...` on loopback.
pub type FakeFutureshop = FakeServer<FutureshopCart>;

pub const SHOP_KEY: &str = "fs-shop-key";
pub const CLIENT_ID: &str = "fs-client-id";
pub const CLIENT_SECRET: &str = "fs-client-secret";
/// The lifetime the fake gives tokens (futureshop's own is not published).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// One request a second per client, token requests included: two requests less than 1,000 ms
/// apart are one too many (429 `TooManyRequests`). On by default.
pub const ONE_PER_SECOND: RateLimit = RateLimit::MinInterval(Duration::from_secs(1));
/// Most orders one 発送API or 処理済 call takes.
pub const MAX_ORDERS: usize = 100;
/// `invoiceNo` is at most 100 bytes.
const MAX_INVOICE_BYTES: usize = 100;
const SEARCH_PATH: &str = "/admin-api/v1/shipping";
const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S";
const DATE: &str = "%Y-%m-%d";

#[derive(Debug)]
pub struct FutureshopCart {
    pub shop_key: String,
    pub client_id: String,
    pub client_secret: String,
    /// Orders per search page (not documented; the public fixture page had 20).
    pub page_size: usize,
    pub orders: Vec<FutureshopOrder>,
    /// Every field a 発送API call set to "" (so blanking is never silent in a test).
    pub blanked_fields: Vec<BlankedField>,
    tokens: AccessTokens,
    violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureshopOrder {
    pub order_no: String,
    pub date: DateTime<FixedOffset>,
    /// 処理状況区分: `AWAITING_PAYMENT` (通常処理), `COMPLETED` (処理済), …
    pub status: String,
    pub payment_received: bool,
    /// 店舗受取: the 発送API refuses these (`CannotUpdateStorePickup`).
    pub store_pickup: bool,
    pub buyer_last_name: String,
    pub buyer_first_name: String,
    pub shipments: Vec<FutureshopShipment>,
}

/// One お届け先. Unset fields are "", as futureshop sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureshopShipment {
    pub shipment_no: u32,
    pub invoice_no: String,
    pub expected_arrival: String,
    pub shipping_date: String,
    pub preferred_delivery_date: String,
    /// 発送済み: set once a 発送日 is written.
    pub shipped: bool,
    pub products: Vec<FutureshopProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureshopProduct {
    pub sku_no: String,
    pub name: String,
    pub price: u64,
    pub count: u32,
}

/// A shipment field a 発送API call overwrote with blank by sending "".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlankedField {
    pub order_no: String,
    pub shipment_no: u32,
    /// `invoiceNo`, `expectedArrival` or `shippingDate`.
    pub field: String,
}

impl Default for FutureshopCart {
    fn default() -> FutureshopCart {
        FutureshopCart {
            shop_key: SHOP_KEY.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            page_size: 20,
            orders: Vec::new(),
            blanked_fields: Vec::new(),
            tokens: AccessTokens::default(),
            violations: Vec::new(),
        }
    }
}

impl FakeServer<FutureshopCart> {
    /// A fake futureshop limited to one request a second ([`ONE_PER_SECOND`]).
    pub fn start() -> FakeFutureshop {
        FakeServer::serve(FutureshopCart::default(), Some(ONE_PER_SECOND))
    }

    /// Sets an order's 処理状況区分 (`CANCELLED`, `COMPLETED`, …) as if the shop had changed it.
    pub fn set_status(&self, order_no: &str, status: &str) {
        self.with_cart(|cart| {
            if let Some(order) = cart.order_mut(order_no) {
                order.status = status.to_string();
            }
        });
    }

    /// Puts an order in the shop. Seed shipment ids are the `shipmentNo`s (default `1`; an id
    /// that is not a number becomes its position); the seed's status is the 処理状況区分
    /// (default `AWAITING_PAYMENT`).
    pub fn seed_order(&self, seed: &OrderSeed) {
        self.with_cart(|cart| cart.orders.push(FutureshopOrder::from_seed(seed)));
    }

    /// What a client's `Api::base_url` is set to for this fake (in place of the contract's API domain).
    pub fn api_base_url(&self) -> String {
        self.url().to_string()
    }

    pub fn set_page_size(&self, page_size: usize) {
        self.with_cart(|cart| cart.page_size = page_size.max(1));
    }

    pub fn set_store_pickup(&self, order_no: &str) {
        self.with_cart(|cart| {
            if let Some(order) = cart.order_mut(order_no) {
                order.store_pickup = true;
            }
        });
    }

    /// A token as if `POST /oauth/token` had just been called.
    pub fn issue_token(&self) -> String {
        let now = self.clock().now();
        self.with_cart(|cart| cart.tokens.issue("fs-token", now, TOKEN_LIFETIME))
    }

    /// Every token issued so far is expired (the next call gets 401).
    pub fn expire_tokens(&self) {
        let now = self.clock().now();
        self.with_cart(|cart| cart.tokens.expire_all(now));
    }

    pub fn order(&self, order_no: &str) -> Option<FutureshopOrder> {
        self.with_cart(|cart| cart.order_mut(order_no).map(|o| o.clone()))
    }

    pub fn shipment(&self, order_no: &str, shipment_no: u32) -> Option<FutureshopShipment> {
        self.order(order_no)?
            .shipments
            .into_iter()
            .find(|s| s.shipment_no == shipment_no)
    }

    pub fn blanked_fields(&self) -> Vec<BlankedField> {
        self.with_cart(|cart| cart.blanked_fields.clone())
    }
}

impl FutureshopOrder {
    fn from_seed(seed: &OrderSeed) -> FutureshopOrder {
        let items = seed.items();
        let preferred = seed
            .requested_delivery_date
            .map(|d| d.format(DATE).to_string())
            .unwrap_or_default();
        let shipments = seed
            .shipments("1")
            .into_iter()
            .enumerate()
            .map(|(i, s)| FutureshopShipment {
                shipment_no: s
                    .shipment_id
                    .parse()
                    .unwrap_or_else(|_| u32::try_from(i + 1).unwrap_or(u32::MAX)),
                invoice_no: String::new(),
                expected_arrival: String::new(),
                shipping_date: String::new(),
                preferred_delivery_date: preferred.clone(),
                shipped: false,
                products: items
                    .iter()
                    .filter(|item| s.item_ids.contains(&item.item_id))
                    .map(|item| FutureshopProduct {
                        sku_no: item.item_id.clone(),
                        name: item.name.clone(),
                        price: item.unit_price,
                        count: item.quantity,
                    })
                    .collect(),
            })
            .collect();
        FutureshopOrder {
            order_no: seed.order_id.clone(),
            date: seed.ordered_at.with_timezone(&jst()),
            status: seed
                .status
                .clone()
                .unwrap_or_else(|| "AWAITING_PAYMENT".into()),
            payment_received: false,
            store_pickup: false,
            buyer_last_name: seed.buyer_last_name.clone(),
            buyer_first_name: seed.buyer_first_name.clone(),
            shipments,
        }
    }

    fn shipped(&self) -> bool {
        self.shipments.iter().all(|s| s.shipped)
    }

    fn total(&self) -> u64 {
        self.shipments
            .iter()
            .flat_map(|s| &s.products)
            .map(|p| p.price * u64::from(p.count))
            .sum()
    }

    fn products_json(shipment: &FutureshopShipment) -> Vec<Value> {
        shipment
            .products
            .iter()
            .map(|p| {
                json!({
                    "skuNo": p.sku_no, "name": p.name,
                    "verticalVariationName": "", "horizontalVariationName": "",
                    "janCode": "", "price": p.price, "count": p.count, "tax": 0,
                    "optionPriceList": [],
                })
            })
            .collect()
    }

    /// The search's shape: `shippingInfo` nested per shipment.
    fn search_json(&self) -> Value {
        let mut order = self.header_json();
        if let Some(map) = order.as_object_mut() {
            map.insert(
                "shipmentList".into(),
                self.shipments
                    .iter()
                    .map(|s| {
                        json!({
                            "shipmentNo": s.shipment_no,
                            "addressInfo": self.address_json(),
                            "shippingInfo": {
                                "deliveryServiceName": "宅配便", "isCoolDelivery": false,
                                "invoiceNo": s.invoice_no, "expectedArrival": s.expected_arrival,
                                "preferredDeliveryDate": s.preferred_delivery_date,
                                "preferredDeliveryTime": "", "shippingDate": s.shipping_date,
                            },
                            "productList": Self::products_json(s),
                        })
                    })
                    .collect(),
            );
        }
        order
    }

    /// The detail's shape: shipment fields flattened, with `shipped`.
    fn detail_json(&self) -> Value {
        let mut order = self.header_json();
        if let Some(map) = order.as_object_mut() {
            map.insert(
                "paymentStatus".into(),
                if self.payment_received {
                    "RECEIVED"
                } else {
                    "NOTRECEIVED"
                }
                .into(),
            );
            map.insert(
                "shipmentList".into(),
                self.shipments
                    .iter()
                    .map(|s| {
                        json!({
                            "shipmentNo": s.shipment_no,
                            "invoiceNo": s.invoice_no, "expectedArrival": s.expected_arrival,
                            "preferredDeliveryDate": s.preferred_delivery_date,
                            "preferredDeliveryTime": "", "instructions": "",
                            "shipped": s.shipped, "shippingDate": s.shipping_date,
                            "deliveryServiceName": "宅配便",
                            "productList": Self::products_json(s),
                        })
                    })
                    .collect(),
            );
        }
        order
    }

    fn header_json(&self) -> Value {
        json!({
            "orderNo": self.order_no,
            "type": "REGULAR",
            "date": self.date.format(DATE_TIME).to_string(),
            "status": self.status,
            "grandTotal": self.total(),
            "productTotal": self.total(),
            "postage": 0,
            "paymentType": "クレジットカード",
            "isMember": false,
            "buyerInfo": {
                "lastName": self.buyer_last_name, "firstName": self.buyer_first_name,
                "mail": "buyer@example.jp", "zipCode": "1500001", "prefecture": "TOKYO",
                "address1": "渋谷区", "address2": "神宮前1-1-1", "telNoMain": "0300000000",
            },
        })
    }

    fn address_json(&self) -> Value {
        json!({
            "lastName": self.buyer_last_name, "firstName": self.buyer_first_name,
            "postalCode": "1500001", "prefecture": "TOKYO",
            "address1": "渋谷区", "address2": "神宮前1-1-1", "phoneNo": "0300000000",
        })
    }
}

impl FutureshopCart {
    fn order_mut(&mut self, order_no: &str) -> Option<&mut FutureshopOrder> {
        self.orders.iter_mut().find(|o| o.order_no == order_no)
    }

    // POST /oauth/token
    fn token(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let client = call.basic_auth();
        if client
            .as_ref()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            != Some((self.client_id.as_str(), self.client_secret.as_str()))
        {
            return oauth_error(401, "invalid_client");
        }
        if call.header("x-shop-key") != Some(self.shop_key.as_str()) {
            return oauth_error(401, "invalid_client");
        }
        if call.form_param("grant_type").as_deref() != Some("client_credentials") {
            return oauth_error(400, "unsupported_grant_type");
        }
        let token = self.tokens.issue("fs-token", now, TOKEN_LIFETIME);
        Reply::json(
            200,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME.as_secs()}),
        )
    }

    // GET /admin-api/v1/shipping
    fn search(&self, call: &RecordedCall) -> Reply {
        let mut bounds = [None, None];
        for (bound, name) in bounds.iter_mut().zip(["orderDateStart", "orderDateEnd"]) {
            if let Some(raw) = call.query_param(name) {
                let parsed = NaiveDateTime::parse_from_str(raw, DATE_TIME)
                    .ok()
                    .and_then(|t| jst().from_local_datetime(&t).single());
                match parsed {
                    Some(t) => *bound = Some(t),
                    None => return invalid(name, "yyyy-MM-ddTHH:mm:ss で指定してください"),
                }
            }
        }
        let [from, to] = bounds;
        let shipping = call.query_param("shippingStatus");
        if shipping.is_some_and(|s| s != "notShipped" && s != "shipped") {
            return invalid(
                "shippingStatus",
                "notShipped または shipped を指定してください",
            );
        }
        let payment = call.query_param("paymentStatus");
        if payment.is_some_and(|s| s != "notReceived" && s != "received") {
            return invalid(
                "paymentStatus",
                "notReceived または received を指定してください",
            );
        }
        let order_nos: Option<Vec<&str>> =
            call.query_param("orderNo").map(|s| s.split(',').collect());
        let offset = match call.query_param("cursor") {
            None => 0,
            Some(cursor) => match cursor.strip_prefix("c").and_then(|n| n.parse().ok()) {
                Some(offset) => offset,
                None => return invalid("cursor", "カーソルが不正です"),
            },
        };
        let mut orders: Vec<&FutureshopOrder> = self
            .orders
            .iter()
            .filter(|o| from.is_none_or(|f| o.date >= f) && to.is_none_or(|t| o.date <= t))
            .filter(|o| shipping.is_none_or(|s| (s == "shipped") == o.shipped()))
            .filter(|o| payment.is_none_or(|p| (p == "received") == o.payment_received))
            .filter(|o| {
                order_nos
                    .as_ref()
                    .is_none_or(|nos| nos.contains(&o.order_no.as_str()))
            })
            .collect();
        orders.sort_by(|a, b| a.date.cmp(&b.date).then(a.order_no.cmp(&b.order_no)));
        let next = offset + self.page_size;
        let page: Vec<Value> = orders
            .iter()
            .skip(offset)
            .take(self.page_size)
            .map(|o| o.search_json())
            .collect();
        // The cursor alone: the caller keeps its filters, as the manual asks.
        let next_url = (next < orders.len()).then(|| format!("{SEARCH_PATH}?cursor=c{next}"));
        Reply::json(200, &json!({ "orderList": page, "nextUrl": next_url }))
    }

    // POST /admin-api/v1/shipping/status
    fn shipping_status(&mut self, call: &RecordedCall) -> Reply {
        let orders = match order_list(call) {
            Ok(orders) => orders,
            Err(reply) => return reply,
        };
        let results: Vec<Value> = orders
            .iter()
            .map(|entry| {
                let order_no = entry["orderNo"].as_str().unwrap_or_default().to_string();
                match self.ship_one(&order_no, entry) {
                    Ok(()) => result(&order_no, None),
                    Err((code, message)) => result(&order_no, Some((code, &message))),
                }
            })
            .collect();
        batch_answer(results)
    }

    /// Validates every shipment of one order, then writes them all.
    fn ship_one(&mut self, order_no: &str, entry: &Value) -> Result<(), (&'static str, String)> {
        let order = self
            .orders
            .iter_mut()
            .find(|o| o.order_no == order_no)
            .ok_or(("NotFound", format!("受注番号 {order_no} が見つかりません")))?;
        if order.store_pickup {
            return Err((
                "CannotUpdateStorePickup",
                "店舗受取の受注は発送処理できません".into(),
            ));
        }
        let shipments = entry["shipmentList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut writes = Vec::new();
        for s in &shipments {
            let no = s["shipmentNo"].as_u64().and_then(|n| u32::try_from(n).ok());
            let Some(at) =
                no.and_then(|no| order.shipments.iter().position(|x| x.shipment_no == no))
            else {
                return Err((
                    "NotFound",
                    format!("お届け先番号 {} が見つかりません", s["shipmentNo"]),
                ));
            };
            let info = &s["shippingInfo"];
            let mut fields = Vec::new();
            for key in ["invoiceNo", "expectedArrival", "shippingDate"] {
                match info.get(key) {
                    None => {}
                    Some(Value::String(v)) => {
                        let valid = match key {
                            "invoiceNo" => v.len() <= MAX_INVOICE_BYTES,
                            _ => v.is_empty() || NaiveDate::parse_from_str(v, DATE).is_ok(),
                        };
                        if !valid {
                            return Err(("InvalidParameter", format!("{key} の値が不正です")));
                        }
                        fields.push((key, v.clone()));
                    }
                    Some(_) => {
                        return Err((
                            "InvalidParameter",
                            format!("{key} は文字列で指定してください"),
                        ))
                    }
                }
            }
            writes.push((at, fields));
        }
        for (at, fields) in writes {
            let shipment = &mut order.shipments[at];
            for (key, value) in fields {
                if value.is_empty() {
                    self.blanked_fields.push(BlankedField {
                        order_no: order_no.to_string(),
                        shipment_no: shipment.shipment_no,
                        field: key.to_string(),
                    });
                }
                match key {
                    "invoiceNo" => shipment.invoice_no = value,
                    "expectedArrival" => shipment.expected_arrival = value,
                    _ => {
                        // A 発送日 moves the お届け先 to 発送済み.
                        shipment.shipped = !value.is_empty();
                        shipment.shipping_date = value;
                    }
                }
            }
        }
        Ok(())
    }

    // POST /admin-api/v1/order/complete
    fn complete(&mut self, call: &RecordedCall) -> Reply {
        let orders = match order_list(call) {
            Ok(orders) => orders,
            Err(reply) => return reply,
        };
        let results: Vec<Value> = orders
            .iter()
            .map(|entry| {
                let order_no = entry["orderNo"].as_str().unwrap_or_default();
                let violations = &mut self.violations;
                match self.orders.iter_mut().find(|o| o.order_no == order_no) {
                    Some(order) => {
                        // The cart takes it (the API does not check), but the shop has lost a
                        // cancellation: the order now reads 処理済.
                        if order.status == "CANCELLED" {
                            violations.push(Violation::new(
                                ViolationKind::CompletedCancelledOrder,
                                call,
                                format!("注文取消 order {order_no} set to 処理済"),
                            ));
                        }
                        order.status = "COMPLETED".into();
                        result(order_no, None)
                    }
                    None => result(order_no, Some(("NotFound", "受注が見つかりません"))),
                }
            })
            .collect();
        batch_answer(results)
    }
}

impl Cart for FutureshopCart {
    fn handle(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        if call.is("POST", "/oauth/token") {
            // POST /oauth/token
            return self.token(call, now);
        }
        if call.header("x-shop-key") != Some(self.shop_key.as_str()) {
            return fs_error(401, "InvalidShopKey", "X-SHOP-KEY が不正です");
        }
        if !call
            .bearer_token()
            .is_some_and(|t| self.tokens.is_valid(t, now))
        {
            return self.token_expired();
        }
        let segments = call.segments();
        let path: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (call.method.as_str(), path.as_slice()) {
            // GET /admin-api/v1/shipping
            ("GET", ["admin-api", "v1", "shipping"]) => self.search(call),
            // GET /admin-api/v1/orders/{orderNo}
            ("GET", ["admin-api", "v1", "orders", order_no]) => match self.order_mut(order_no) {
                Some(order) => Reply::json(200, &order.detail_json()),
                None => fs_error(404, "NotFound", "受注が見つかりません"),
            },
            // POST /admin-api/v1/shipping/status
            ("POST", ["admin-api", "v1", "shipping", "status"]) => self.shipping_status(call),
            // POST /admin-api/v1/order/complete
            ("POST", ["admin-api", "v1", "order", "complete"]) => self.complete(call),
            _ => fs_error(404, "NotFound", "APIが見つかりません"),
        }
    }

    fn rate_limited(&self, _limited: &Limited) -> Reply {
        fs_error(429, "TooManyRequests", "リクエストが多すぎます")
    }

    fn drain_violations(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }

    fn token_expired(&self) -> Reply {
        oauth_error(401, "invalid_token")
    }

    fn server_error(&self, status: u16) -> Reply {
        fs_error(
            status,
            "InternalServerError",
            "サーバーエラーが発生しました",
        )
    }
}

/// The `orderList` of a write body, refusing more than [`MAX_ORDERS`] (`TooMany`).
fn order_list(call: &RecordedCall) -> Result<Vec<Value>, Reply> {
    let Some(Value::Array(orders)) = call.json().map(|b| b["orderList"].clone()) else {
        return Err(invalid("orderList", "orderList を指定してください"));
    };
    if orders.len() > MAX_ORDERS {
        return Err(fs_error(
            400,
            "TooMany",
            "一度に指定できる受注は100件までです",
        ));
    }
    Ok(orders)
}

fn result(order_no: &str, failure: Option<(&str, &str)>) -> Value {
    match failure {
        None => json!({"status": "success", "orderNo": order_no, "code": null, "message": null}),
        Some((code, message)) => {
            json!({"status": "failed", "orderNo": order_no, "code": code, "message": message})
        }
    }
}

/// 200 with per-order results; `status` is `failed` when any order failed.
fn batch_answer(results: Vec<Value>) -> Reply {
    let failed = results.iter().any(|r| r["status"] == "failed");
    Reply::json(
        200,
        &json!({
            "status": if failed { "failed" } else { "success" },
            "errors": [],
            "results": results,
        }),
    )
}

/// futureshop's error shape: `{"status":"failed","errors":[{"code","path","message"}]}`.
fn fs_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"status": "failed", "errors": [{"code": code, "path": "", "message": message}], "results": []}),
    )
}

fn invalid(path: &str, message: &str) -> Reply {
    Reply::json(
        400,
        &json!({"status": "failed", "errors": [{"code": "InvalidParameter", "path": path, "message": message}], "results": []}),
    )
}

fn oauth_error(status: u16, code: &str) -> Reply {
    Reply::json(status, &json!({ "error": code }))
}
