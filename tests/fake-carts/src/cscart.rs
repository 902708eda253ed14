//! CS-Cart (≥4.16): Basic `email:API key`, JSON bodies required, orders paged by
//! page/items_per_page with `period=C` + UNIX-second bounds, numbers as strings, shipments capped
//! at what is left to ship (a bare 400 when nothing is), and `PUT /orders/{id}` that recalculates
//! the whole order unless the body holds only status and notify keys.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::seed::{jst, OrderSeed};
use crate::server::{Cart, FakeServer, Limited, RecordedCall, Reply, Violation, ViolationKind};

/// The fake CS-Cart store, serving `/api/...` (and `/api/2/...`) on loopback.
pub type FakeCscart = FakeServer<CscartCart>;

pub const ADMIN_EMAIL: &str = "admin@example.jp";
pub const API_KEY: &str = "cscart-api-key";
/// Order status letters a default store knows.
pub const ORDER_STATUSES: [&str; 9] = ["O", "P", "C", "F", "D", "B", "I", "Y", "N"];
/// The keys of a status-only `PUT /orders/{id}` (the fast path without recalculation).
const STATUS_ONLY_KEYS: [&str; 4] = [
    "status",
    "notify_user",
    "notify_department",
    "notify_vendor",
];
/// What `PUT /shipments/{id}` accepts (≥4.16).
const SHIPMENT_UPDATABLE: [&str; 4] = ["tracking_number", "comments", "status", "timestamp"];
const DEFAULT_ITEMS_PER_PAGE: usize = 10;

#[derive(Debug)]
pub struct CscartCart {
    pub admin_email: String,
    pub api_key: String,
    pub orders: Vec<CscartOrder>,
    pub shipments: Vec<CscartShipment>,
    /// Orders a `PUT /orders/{id}` with keys other than status/notify_* re-formed and recalculated.
    pub recalculated_orders: Vec<String>,
    /// E-mails the customer was sent: (order id, `status` or `shipment`).
    pub customer_emails: Vec<(String, String)>,
    /// Status e-mails to the shop's order department (`notify_department`) and to the vendor
    /// (`notify_vendor`), by order id.
    pub department_emails: Vec<String>,
    pub vendor_emails: Vec<String>,
    /// What each e-mail told the customer: (order id, `status:<letter>` or
    /// `shipment:<tracking number>:<items>`); telling the same thing twice is a violation.
    told: Vec<(String, String)>,
    violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CscartOrder {
    pub order_id: String,
    pub timestamp: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A status letter (`O`, `P`, `C`, …).
    pub status: String,
    pub firstname: String,
    pub lastname: String,
    pub products: Vec<CscartProduct>,
    pub shipping_groups: Vec<CscartShippingGroup>,
    /// The JP edition's お届け希望日 of every group, when the buyer chose one.
    pub delivery_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CscartProduct {
    /// The cart key shipments refer to.
    pub item_id: String,
    pub product: String,
    pub amount: u32,
    pub price: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CscartShippingGroup {
    pub shipping_id: String,
    pub item_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CscartShipment {
    pub shipment_id: u64,
    pub order_id: String,
    pub shipping_id: String,
    pub tracking_number: String,
    pub carrier: String,
    pub comments: String,
    /// The ship date as sent (`timestamp`), or the creation time in UNIX seconds.
    pub timestamp: String,
    /// `A` packed, `P` picked up, `S` shipped.
    pub status: String,
    /// item id → amount shipped.
    pub products: BTreeMap<String, u32>,
}

impl Default for CscartCart {
    fn default() -> CscartCart {
        CscartCart {
            admin_email: ADMIN_EMAIL.into(),
            api_key: API_KEY.into(),
            orders: Vec::new(),
            shipments: Vec::new(),
            recalculated_orders: Vec::new(),
            customer_emails: Vec::new(),
            department_emails: Vec::new(),
            vendor_emails: Vec::new(),
            told: Vec::new(),
            violations: Vec::new(),
        }
    }
}

impl FakeServer<CscartCart> {
    /// A fake CS-Cart store (no rate limit: core has none).
    pub fn start() -> FakeCscart {
        FakeServer::serve(CscartCart::default(), None)
    }

    /// Puts an order in the store. Seed shipments are shipping groups (`shipping_id`, default
    /// `1`); the seed's status is the order's letter (default `O`).
    pub fn seed_order(&self, seed: &OrderSeed) {
        self.with_cart(|cart| cart.orders.push(CscartOrder::from_seed(seed)));
    }

    /// What a client's `Api::base_url` is set to for this fake (in place of the store URL).
    pub fn api_base_url(&self) -> String {
        self.url().to_string()
    }

    pub fn order(&self, order_id: &str) -> Option<CscartOrder> {
        self.with_cart(|cart| cart.order(order_id).cloned())
    }

    pub fn order_status(&self, order_id: &str) -> Option<String> {
        self.order(order_id).map(|o| o.status)
    }

    pub fn shipments(&self, order_id: &str) -> Vec<CscartShipment> {
        self.with_cart(|cart| {
            cart.shipments
                .iter()
                .filter(|s| s.order_id == order_id)
                .cloned()
                .collect()
        })
    }

    /// Orders a non-status-only `PUT /orders/{id}` recalculated: a test asserts this stays empty.
    pub fn recalculated_orders(&self) -> Vec<String> {
        self.with_cart(|cart| cart.recalculated_orders.clone())
    }

    pub fn customer_emails(&self) -> Vec<(String, String)> {
        self.with_cart(|cart| cart.customer_emails.clone())
    }
}

impl CscartOrder {
    fn from_seed(seed: &OrderSeed) -> CscartOrder {
        let timestamp = seed.ordered_at.with_timezone(&Utc);
        CscartOrder {
            order_id: seed.order_id.clone(),
            timestamp,
            updated_at: timestamp,
            status: seed.status.clone().unwrap_or_else(|| "O".into()),
            firstname: seed.buyer_first_name.clone(),
            lastname: seed.buyer_last_name.clone(),
            products: seed
                .items()
                .into_iter()
                .map(|i| CscartProduct {
                    item_id: i.item_id,
                    product: i.name,
                    amount: i.quantity,
                    price: i.unit_price,
                })
                .collect(),
            shipping_groups: seed
                .shipments("1")
                .into_iter()
                .map(|s| CscartShippingGroup {
                    shipping_id: s.shipment_id,
                    item_ids: s.item_ids,
                })
                .collect(),
            delivery_date: seed.requested_delivery_date,
        }
    }

    fn total(&self) -> u64 {
        self.products
            .iter()
            .map(|p| p.price * u64::from(p.amount))
            .sum()
    }

    fn summary_json(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "issuer_id": null,
            "user_id": "0",
            "is_parent_order": "N",
            "parent_order_id": "0",
            "company_id": "1",
            "timestamp": self.timestamp.timestamp().to_string(),
            "updated_at": self.updated_at.timestamp().to_string(),
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": "buyer@example.jp",
            "phone": "0300000000",
            "status": self.status,
            "total": format!("{}.00", self.total()),
        })
    }

    fn detail_json(&self, shipments: &[&CscartShipment]) -> Value {
        let mut order = self.summary_json();
        let products: Map<String, Value> = self
            .products
            .iter()
            .map(|p| {
                (
                    p.item_id.clone(),
                    json!({
                        "item_id": p.item_id, "product_id": p.item_id,
                        "product_code": format!("SKU-{}", p.item_id), "product": p.product,
                        "amount": p.amount.to_string(), "price": format!("{}.00", p.price),
                        "extra": {},
                    }),
                )
            })
            .collect();
        let delivery_date = self
            .delivery_date
            .map(|d| d.format("%Y/%m/%d").to_string())
            .unwrap_or_else(|| "指定なし".into());
        let extra = json!({
            "subtotal": format!("{}.00", self.total()),
            "discount": "0.00",
            "shipping_cost": "0.00",
            "notes": "",
            "details": "",
            "products": products,
            "shipping": self.shipping_groups.iter().enumerate().map(|(i, g)| json!({
                "shipping_id": g.shipping_id, "shipping": "ヤマト運輸 宅急便",
                "group_key": i, "delivery_date": delivery_date, "delivery_timing": "指定なし",
            })).collect::<Vec<_>>(),
            // What each group carries, as CS-Cart's order_info keeps it.
            "product_groups": self.shipping_groups.iter().enumerate().map(|(i, g)| json!({
                "group_key": i,
                "products": self.products.iter()
                    .filter(|p| g.item_ids.contains(&p.item_id))
                    .map(|p| (p.item_id.clone(), json!({"item_id": p.item_id, "amount": p.amount.to_string()})))
                    .collect::<Map<String, Value>>(),
                "chosen_shippings": [{"shipping_id": g.shipping_id, "shipping": "ヤマト運輸 宅急便"}],
            })).collect::<Vec<_>>(),
            "shipping_ids": self.shipping_groups.iter().map(|g| g.shipping_id.as_str()).collect::<Vec<_>>().join(","),
            "shipment_ids": shipments.iter().map(|s| s.shipment_id.to_string()).collect::<Vec<_>>(),
            "need_shipment": self.products.iter().any(|p| shipped_amount(shipments, &p.item_id) < p.amount),
            "s_firstname": self.firstname, "s_lastname": self.lastname,
            "s_address": "神宮前1-1-1", "s_address_2": "", "s_city": "渋谷区",
            "s_state": "13", "s_state_descr": "東京都", "s_country": "JP",
            "s_zipcode": "150-0001", "s_phone": "0300000000",
            "b_firstname": self.firstname, "b_lastname": self.lastname,
            "b_address": "神宮前1-1-1", "b_city": "渋谷区", "b_state": "13", "b_country": "JP",
            "b_zipcode": "150-0001", "b_phone": "0300000000",
        });
        if let (Some(order), Value::Object(extra)) = (order.as_object_mut(), extra) {
            order.extend(extra);
        }
        order
    }
}

impl CscartShipment {
    fn json(&self) -> Value {
        json!({
            "shipment_id": self.shipment_id.to_string(),
            "order_id": self.order_id,
            "shipping_id": self.shipping_id,
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "comments": self.comments,
            "timestamp": self.timestamp,
            "status": self.status,
            "products": self.products.iter()
                .map(|(item, amount)| (item.clone(), Value::from(amount.to_string())))
                .collect::<Map<_, _>>(),
        })
    }
}

fn shipped_amount(shipments: &[&CscartShipment], item_id: &str) -> u32 {
    shipments
        .iter()
        .filter_map(|s| s.products.get(item_id))
        .sum()
}

impl CscartCart {
    fn order(&self, order_id: &str) -> Option<&CscartOrder> {
        self.orders.iter().find(|o| o.order_id == order_id)
    }

    fn shipments_of(&self, order_id: &str) -> Vec<&CscartShipment> {
        self.shipments
            .iter()
            .filter(|s| s.order_id == order_id)
            .collect()
    }

    // GET /api/orders
    fn list_orders(&self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let (page, per_page) = match paging(call) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let mut statuses: Vec<&str> = call.query_params("status[]");
        statuses.extend(call.query_params("status"));
        // Only period=C reads time_from/time_to; anything but UNIX seconds or d/m/Y reads as now.
        let (from, to) = if call.query_param("period") == Some("C") {
            (
                Some(cscart_time(call.query_param("time_from"), false, now)),
                Some(cscart_time(call.query_param("time_to"), true, now)),
            )
        } else {
            (None, None)
        };
        let unix = |name: &str| {
            call.query_param(name)
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|s| Utc.timestamp_opt(s, 0).single())
        };
        let (updated_from, updated_to) = (unix("updated_at_from"), unix("updated_at_to"));
        let incomplete = call
            .query_param("include_incompleted")
            .is_some_and(|v| v != "0" && v != "N");
        let mut orders: Vec<&CscartOrder> = self
            .orders
            .iter()
            .filter(|o| incomplete || o.status != "N" || statuses.contains(&"N"))
            .filter(|o| statuses.is_empty() || statuses.contains(&o.status.as_str()))
            .filter(|o| {
                from.is_none_or(|f| o.timestamp >= f) && to.is_none_or(|t| o.timestamp <= t)
            })
            .filter(|o| updated_from.is_none_or(|f| o.updated_at >= f))
            .filter(|o| updated_to.is_none_or(|t| o.updated_at <= t))
            .collect();
        orders.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then(a.order_id.cmp(&b.order_id))
        });
        if call.query_param("sort_order") != Some("asc") {
            orders.reverse();
        }
        let full = call
            .query_param("get_orders_data")
            .is_some_and(|v| v == "1" || v == "Y");
        let listed: Vec<Value> = orders
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|o| {
                if full {
                    o.detail_json(&self.shipments_of(&o.order_id))
                } else {
                    o.summary_json()
                }
            })
            .collect();
        Reply::json(
            200,
            &json!({
                "orders": listed,
                "params": {
                    "page": page,
                    "items_per_page": per_page.to_string(),
                    "total_items": orders.len().to_string(),
                },
            }),
        )
    }

    // GET /api/shipments
    fn list_shipments(&self, call: &RecordedCall) -> Reply {
        let (page, per_page) = match paging(call) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let shipments: Vec<&CscartShipment> = self
            .shipments
            .iter()
            .filter(|s| {
                call.query_param("order_id")
                    .is_none_or(|id| s.order_id == id)
            })
            .collect();
        // ≥4.16 clamps a page past the end to the last page (db_get_valid_page).
        let last_page = shipments.len().div_ceil(per_page).max(1);
        let page = page.min(last_page);
        let listed: Vec<Value> = shipments
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|s| s.json())
            .collect();
        Reply::json(
            200,
            &json!({
                "shipments": listed,
                "params": { "page": page, "items_per_page": per_page.to_string(), "total_items": shipments.len().to_string() },
            }),
        )
    }

    // POST /api/shipments
    fn create_shipment(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let body = match json_object(call) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let text = |key: &str| body.get(key).and_then(value_text);
        let (Some(order_id), Some(shipping_id)) = (text("order_id"), text("shipping_id")) else {
            return error(400, "Bad Request: order_id and shipping_id are required");
        };
        let tracking_number = text("tracking_number").unwrap_or_default();
        let carrier = text("carrier").unwrap_or_default();
        if tracking_number.is_empty() && carrier.is_empty() {
            return error(400, "Bad Request: carrier or tracking_number is required");
        }
        if body.get("products").is_none() {
            // The cart cannot tell what the shipment carries: a bare 400, and the tracking number
            // lands on no shipment.
            self.violations.push(Violation::new(
                ViolationKind::ShipmentWithoutProducts,
                call,
                format!(
                    "order {order_id} shipping_id {shipping_id}: no products, tracking number {tracking_number:?} lost"
                ),
            ));
            return Reply::empty(400);
        }
        let order_status = text("order_status");
        if order_status
            .as_deref()
            .is_some_and(|s| !ORDER_STATUSES.contains(&s))
        {
            return error(400, "Bad Request: unknown order_status");
        }
        let Some(order) = self.order(&order_id) else {
            return error(400, "Bad Request: the order does not exist");
        };
        if !order
            .shipping_groups
            .iter()
            .any(|g| g.shipping_id == shipping_id)
        {
            return error(400, "Bad Request: the order has no such shipping_id");
        }
        let shipped = self.shipments_of(&order_id);
        let left = |item_id: &str| {
            order
                .products
                .iter()
                .find(|p| p.item_id == item_id)
                .map(|p| p.amount.saturating_sub(shipped_amount(&shipped, item_id)))
        };
        // Asked amounts, capped at what is left.
        let mut products = BTreeMap::new();
        match body.get("products") {
            Some(Value::Object(asked)) => {
                for (item, amount) in asked {
                    let amount = value_text(amount).and_then(|a| a.parse::<u32>().ok());
                    let (Some(amount), Some(left)) = (amount, left(item)) else {
                        return error(
                            400,
                            "Bad Request: products must map order item ids to amounts",
                        );
                    };
                    products.insert(item.clone(), amount.min(left));
                }
            }
            _ => return error(400, "Bad Request: products must be an object"),
        }
        products.retain(|_, amount| *amount > 0);
        if products.is_empty() {
            // Everything asked for is shipped already: CS-Cart answers a bare 400.
            return Reply::empty(400);
        }
        let shipment_id = self
            .shipments
            .iter()
            .map(|s| s.shipment_id)
            .max()
            .unwrap_or(0)
            + 1;
        self.shipments.push(CscartShipment {
            shipment_id,
            order_id: order_id.clone(),
            shipping_id,
            tracking_number,
            carrier,
            comments: text("comments").unwrap_or_default(),
            timestamp: text("timestamp").unwrap_or_else(|| now.timestamp().to_string()),
            status: "A".into(),
            products,
        });
        // ≥4.16: order.shipment_updated e-mails the customer.
        // The same tracking number for the same items is the same news; one parcel for two
        // groups (the same number, other items) is not.
        let told = self
            .shipments
            .last()
            .map(|s| format!("shipment:{}:{:?}", s.tracking_number, s.products))
            .unwrap_or_default();
        self.email_customer(call, &order_id, "shipment", told);
        if let Some(status) = order_status {
            self.change_status(call, &order_id, &status, false, now);
        }
        Reply::json(201, &json!({ "shipment_id": shipment_id }))
    }

    // PUT /api/shipments/{id}
    fn update_shipment(&mut self, shipment_id: &str, call: &RecordedCall) -> Reply {
        let body = match json_object(call) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        if body
            .keys()
            .any(|k| !SHIPMENT_UPDATABLE.contains(&k.as_str()))
        {
            return error(400, "Bad Request: api_shipments_update_not_allowed");
        }
        let Some(shipment) = self
            .shipments
            .iter_mut()
            .find(|s| s.shipment_id.to_string() == shipment_id)
        else {
            return error(404, "Not Found: no such shipment");
        };
        for (key, value) in &body {
            let value = value_text(value).unwrap_or_default();
            match key.as_str() {
                "tracking_number" => shipment.tracking_number = value,
                "comments" => shipment.comments = value,
                "status" => shipment.status = value,
                _ => shipment.timestamp = value,
            }
        }
        Reply::json(200, &json!({ "shipment_id": shipment.shipment_id }))
    }

    // PUT /api/orders/{id}
    fn update_order(&mut self, order_id: &str, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let body = match json_object(call) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        if self.order(order_id).is_none() {
            return error(404, "Not Found: no such order");
        }
        let status = body.get("status").and_then(value_text);
        if status
            .as_deref()
            .is_some_and(|s| !ORDER_STATUSES.contains(&s))
        {
            return error(400, "Bad Request: unknown status");
        }
        if body.keys().any(|k| !STATUS_ONLY_KEYS.contains(&k.as_str())) {
            // Any other key re-forms the cart and recalculates and resaves the whole order.
            self.recalculated_orders.push(order_id.to_string());
        }
        // fn_get_notification_rules: any non-empty value, "N" included, means notify; a key
        // left out (or empty) means no e-mail in the admin area the API runs in.
        let notify = |key: &str| {
            body.get(key)
                .and_then(value_text)
                .is_some_and(|v| !v.is_empty())
        };
        let (user, department, vendor) = (
            notify("notify_user"),
            notify("notify_department"),
            notify("notify_vendor"),
        );
        if let Some(status) = status {
            if self.change_status(call, order_id, &status, user, now) {
                if department {
                    self.department_emails.push(order_id.to_string());
                }
                if vendor {
                    self.vendor_emails.push(order_id.to_string());
                }
            }
        }
        Reply::json(200, &json!({ "order_id": order_id }))
    }

    /// fn_change_order_status: nothing happens (and nobody is mailed) when the status is
    /// already that. Returns whether the status changed.
    fn change_status(
        &mut self,
        call: &RecordedCall,
        order_id: &str,
        status: &str,
        notify: bool,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(order) = self.orders.iter_mut().find(|o| o.order_id == order_id) else {
            return false;
        };
        if order.status == status {
            return false;
        }
        order.status = status.to_string();
        order.updated_at = now;
        if notify {
            self.email_customer(call, order_id, "status", format!("status:{status}"));
        }
        true
    }

    /// Sends the customer an e-mail; one that tells the customer the same thing again (the same
    /// status, the same tracking number) is a violation.
    fn email_customer(&mut self, call: &RecordedCall, order_id: &str, kind: &str, told: String) {
        let told = (order_id.to_string(), told);
        if self.told.contains(&told) {
            self.violations.push(Violation::new(
                ViolationKind::DuplicateBuyerEmail,
                call,
                format!("order {order_id}: the customer was already told {}", told.1),
            ));
        }
        self.told.push(told);
        self.customer_emails
            .push((order_id.to_string(), kind.to_string()));
    }
}

impl Cart for CscartCart {
    fn handle(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        if call.basic_auth() != Some((self.admin_email.clone(), self.api_key.clone())) {
            return self.token_expired();
        }
        if matches!(call.method.as_str(), "POST" | "PUT") && !call.has_json_content_type() {
            return error(400, "Bad Request: send Content-Type: application/json");
        }
        let segments = call.segments();
        let mut path: Vec<&str> = segments.iter().map(String::as_str).collect();
        // API 2.0 (`/api/2/…`) serves the same entities here.
        if path.get(1) == Some(&"2") {
            path.remove(1);
        }
        match (call.method.as_str(), path.as_slice()) {
            // GET /api/orders
            ("GET", ["api", "orders"]) => self.list_orders(call, now),
            // GET /api/orders/{id}
            ("GET", ["api", "orders", id]) => match self.order(id) {
                Some(order) => Reply::json(200, &order.detail_json(&self.shipments_of(id))),
                None => error(404, "Not Found: no such order"),
            },
            // PUT /api/orders/{id}
            ("PUT", ["api", "orders", id]) => self.update_order(id, call, now),
            // GET /api/shipments
            ("GET", ["api", "shipments"]) => self.list_shipments(call),
            // POST /api/shipments
            ("POST", ["api", "shipments"]) => self.create_shipment(call, now),
            // PUT /api/shipments/{id}
            ("PUT", ["api", "shipments", id]) => self.update_shipment(id, call),
            _ => error(404, "Not Found: no such entity"),
        }
    }

    /// Core CS-Cart has no rate limit; a host in front of it may answer 429.
    fn rate_limited(&self, limited: &Limited) -> Reply {
        let reply = error(429, "Too Many Requests");
        match limited.retry_after {
            Some(d) => reply.with_header("Retry-After", &d.as_secs().max(1).to_string()),
            None => reply,
        }
    }

    fn drain_violations(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }

    fn token_expired(&self) -> Reply {
        error(401, "Unauthorized")
            .with_header("WWW-Authenticate", "Basic realm=\"User email/API key\"")
    }

    fn server_error(&self, status: u16) -> Reply {
        error(status, "Internal Server Error")
    }
}

/// CS-Cart's error shape (≥4.16 `Response::send`).
fn error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": message, "messages": [], "errors": [], "status": status}),
    )
}

fn json_object(call: &RecordedCall) -> Result<Map<String, Value>, Reply> {
    match call.json() {
        Some(Value::Object(body)) => Ok(body),
        _ => Err(error(400, "Bad Request: the body is not a JSON object")),
    }
}

/// A string or number as text (CS-Cart takes both).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `page` (from 1) and `items_per_page`.
fn paging(call: &RecordedCall) -> Result<(usize, usize), Reply> {
    let number = |name: &str, default: usize| match call.query_param(name) {
        None => Some(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0),
    };
    match (
        number("page", 1),
        number("items_per_page", DEFAULT_ITEMS_PER_PAGE),
    ) {
        (Some(page), Some(per_page)) => Ok((page, per_page)),
        _ => Err(error(
            400,
            "Bad Request: page and items_per_page must be positive numbers",
        )),
    }
}

/// fn_parse_date: UNIX seconds, or the store's d/m/Y (a day's end for `time_to`), else now.
fn cscart_time(raw: Option<&str>, end_of_day: bool, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(raw) = raw else { return now };
    if let Some(t) = raw
        .parse::<i64>()
        .ok()
        .and_then(|s| Utc.timestamp_opt(s, 0).single())
    {
        return t;
    }
    NaiveDate::parse_from_str(raw, "%d/%m/%Y")
        .ok()
        .and_then(|d| {
            if end_of_day {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            }
        })
        .and_then(|t| jst().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}
