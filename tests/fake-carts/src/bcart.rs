//! Bカート: Bearer token, orders paged by limit (≤100) and offset with embedded 出荷 (logistics)
//! records, PATCH per logistics record and per order, 300 requests / 300 s then a 300 s lockout.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::seed::{jst, OrderSeed};
use crate::server::{id_value, Cart, FakeServer, Limited, RateLimit, RecordedCall, Reply};

/// The fake Bカート, serving `/api/v1/...` on loopback.
pub type FakeBcart = FakeServer<BcartCart>;

pub const ACCESS_TOKEN: &str = "bcart-personal-access-token";
/// 300 requests in any 300 s, then locked out for 300 s (Bカート's published limit); every
/// request during the lockout is refused with 429 + Retry-After and counted as a violation.
pub const RATE_LIMIT: RateLimit = RateLimit::Sliding {
    max_requests: 300,
    window: Duration::from_secs(300),
    lockout: Some(Duration::from_secs(300)),
};
const MAX_LIMIT: usize = 100;
const LOGISTICS_STATUSES: [&str; 3] = ["未発送", "発送指示", "発送済"];
/// Keys `PATCH /logistics/{id}` accepts; the rest are read-only or unknown.
const LOGISTICS_WRITABLE: [&str; 9] = [
    "shipment_code",
    "delivery_code",
    "shipping_group_id",
    "due_date",
    "due_time",
    "memo",
    "shipment_date",
    "arrival_date",
    "status",
];
const ORDER_WRITABLE: [&str; 3] = ["status", "admin_message", "memo"];

#[derive(Debug)]
pub struct BcartCart {
    pub access_token: String,
    /// The shop's order status labels (`GET /order_statuses`); PATCH /orders accepts only these.
    pub order_statuses: Vec<String>,
    pub orders: Vec<BcartOrder>,
    /// Every accepted `PATCH /logistics/{id}` body, in order: (logistics id, body).
    pub logistics_patches: Vec<(String, Value)>,
    /// Every accepted `PATCH /orders/{id}` body, in order: (order id, body).
    pub order_patches: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcartOrder {
    pub id: String,
    /// 受注番号
    pub code: String,
    pub ordered_at: DateTime<FixedOffset>,
    pub status: String,
    pub customer_name: String,
    pub admin_message: String,
    pub memo: String,
    pub products: Vec<BcartOrderProduct>,
    pub logistics: Vec<BcartLogistics>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcartOrderProduct {
    pub id: String,
    pub logistics_id: String,
    pub product_name: String,
    pub unit_price: u64,
    pub order_pro_count: u32,
}

/// One 出荷 record. Date fields hold what was last written (`yyyy-mm-dd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcartLogistics {
    pub id: String,
    pub delivery_code: Option<String>,
    pub shipment_date: Option<String>,
    pub arrival_date: Option<String>,
    pub due_date: Option<String>,
    pub memo: String,
    /// `未発送`, `発送指示` or `発送済`
    pub status: String,
}

impl Default for BcartCart {
    fn default() -> BcartCart {
        BcartCart {
            access_token: ACCESS_TOKEN.into(),
            order_statuses: ["新規注文", "処理中", "発送済", "完了", "カスタム1"]
                .map(String::from)
                .to_vec(),
            orders: Vec::new(),
            logistics_patches: Vec::new(),
            order_patches: Vec::new(),
        }
    }
}

impl FakeServer<BcartCart> {
    /// A fake Bカート with the published rate limit (change it with `set_rate_limit`).
    pub fn start() -> FakeBcart {
        FakeServer::serve(BcartCart::default(), Some(RATE_LIMIT))
    }

    /// Puts an order in the shop. Each seed shipment becomes a logistics record with that id
    /// (default id `<order_id>1`), status `未発送`; the seed's status is the order's label
    /// (default `新規注文`).
    pub fn seed_order(&self, seed: &OrderSeed) {
        self.with_cart(|cart| cart.orders.push(BcartOrder::from_seed(seed)));
    }

    /// What a client's `Api::base_url` is set to for this fake (in place of `https://api.bcart.jp/api/v1`).
    pub fn api_base_url(&self) -> String {
        format!("{}/api/v1", self.url())
    }

    pub fn order(&self, id: &str) -> Option<BcartOrder> {
        self.with_cart(|cart| cart.orders.iter().find(|o| o.id == id).cloned())
    }

    pub fn logistics(&self, id: &str) -> Option<BcartLogistics> {
        self.with_cart(|cart| cart.logistics_mut(id).map(|l| l.clone()))
    }

    pub fn logistics_patches(&self) -> Vec<(String, Value)> {
        self.with_cart(|cart| cart.logistics_patches.clone())
    }

    pub fn order_patches(&self) -> Vec<(String, Value)> {
        self.with_cart(|cart| cart.order_patches.clone())
    }
}

impl BcartOrder {
    fn from_seed(seed: &OrderSeed) -> BcartOrder {
        let shipments = seed.shipments(&format!("{}1", seed.order_id));
        let logistics_of = |item_id: &str| {
            shipments
                .iter()
                .find(|s| s.item_ids.iter().any(|i| i == item_id))
                .map(|s| s.shipment_id.clone())
                .unwrap_or_default()
        };
        BcartOrder {
            id: seed.order_id.clone(),
            code: seed.order_id.clone(),
            ordered_at: seed.ordered_at.with_timezone(&jst()),
            status: seed.status.clone().unwrap_or_else(|| "新規注文".into()),
            customer_name: format!("{} {}", seed.buyer_last_name, seed.buyer_first_name),
            admin_message: String::new(),
            memo: String::new(),
            products: seed
                .items()
                .into_iter()
                .map(|i| BcartOrderProduct {
                    logistics_id: logistics_of(&i.item_id),
                    id: i.item_id,
                    product_name: i.name,
                    unit_price: i.unit_price,
                    order_pro_count: i.quantity,
                })
                .collect(),
            logistics: shipments
                .iter()
                .map(|s| BcartLogistics {
                    id: s.shipment_id.clone(),
                    delivery_code: None,
                    shipment_date: None,
                    arrival_date: None,
                    due_date: seed
                        .requested_delivery_date
                        .map(|d| d.format("%Y-%m-%d").to_string()),
                    memo: String::new(),
                    status: "未発送".into(),
                })
                .collect(),
        }
    }

    fn json(&self, complete: bool) -> Value {
        let total: u64 = self
            .products
            .iter()
            .map(|p| p.unit_price * u64::from(p.order_pro_count))
            .sum();
        let mut order = json!({
            "id": id_value(&self.id),
            "code": self.code,
            "customer_id": 1,
            "customer_comp_name": "",
            "customer_name": self.customer_name,
            "customer_tel": "0300000000",
            "customer_email": "buyer@example.jp",
            "customer_zip": "150-0001",
            "customer_pref": "東京都",
            "customer_address1": "渋谷区神宮前1-1-1",
            "payment": "銀行振込",
            "total_price": total,
            "tax": 0,
            "shipping_cost": 0,
            "final_price": total,
            "customer_message": "",
            "admin_message": self.admin_message,
            "memo": self.memo,
            "ordered_at": self.ordered_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            "status": self.status,
        });
        if complete {
            if let Some(map) = order.as_object_mut() {
                map.insert(
                    "order_products".into(),
                    self.products.iter().map(|p| p.json(&self.id)).collect(),
                );
                map.insert(
                    "logistics".into(),
                    self.logistics.iter().map(BcartLogistics::json).collect(),
                );
            }
        }
        order
    }
}

impl BcartOrderProduct {
    fn json(&self, order_id: &str) -> Value {
        json!({
            "id": id_value(&self.id),
            "order_id": id_value(order_id),
            "logistics_id": id_value(&self.logistics_id),
            "product_id": id_value(&self.id),
            "product_no": format!("P-{}", self.id),
            "product_name": self.product_name,
            "set_name": "",
            "unit_price": self.unit_price,
            "set_quantity": 1,
            "order_pro_count": self.order_pro_count,
            "tax_rate": 0.1,
            "item_type": "product",
        })
    }
}

impl BcartLogistics {
    fn json(&self) -> Value {
        json!({
            "id": id_value(&self.id),
            "shipment_code": format!("S{}", self.id),
            "delivery_code": self.delivery_code.clone().unwrap_or_default(),
            "shipping_group_id": 1,
            "name": "山田 太郎",
            "zip": "150-0001",
            "pref": "東京都",
            "address1": "渋谷区神宮前1-1-1",
            "tel": "0300000000",
            "due_date": self.due_date,
            "due_time": null,
            "memo": self.memo,
            "shipment_date": self.shipment_date,
            "arrival_date": self.arrival_date,
            "status": self.status,
        })
    }
}

impl BcartCart {
    fn logistics_mut(&mut self, id: &str) -> Option<&mut BcartLogistics> {
        self.orders
            .iter_mut()
            .flat_map(|o| o.logistics.iter_mut())
            .find(|l| l.id == id)
    }

    // GET /api/v1/orders
    fn list_orders(&self, call: &RecordedCall) -> Reply {
        let limit = match call.query_param("limit").map(str::parse::<usize>) {
            None => 20,
            Some(Ok(limit)) if limit <= MAX_LIMIT => limit,
            Some(_) => return error(400, "limit", "limitは100以下の数値で指定してください"),
        };
        let offset = match call.query_param("offset").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => return error(400, "offset", "offsetは数値で指定してください"),
        };
        let mut bounds = [None, None];
        for (bound, name) in bounds
            .iter_mut()
            .zip(["ordered_at__gte", "ordered_at__lte"])
        {
            if let Some(raw) = call.query_param(name) {
                match local_time(raw) {
                    Some(t) => *bound = Some(t),
                    None => return error(400, name, "日時の形式が不正です"),
                }
            }
        }
        let [from, to] = bounds;
        let complete = call.query_param("complete") == Some("1");
        let mut orders: Vec<&BcartOrder> = self
            .orders
            .iter()
            .filter(|o| from.is_none_or(|f| o.ordered_at >= f))
            .filter(|o| to.is_none_or(|t| o.ordered_at <= t))
            .filter(|o| call.query_param("status").is_none_or(|s| o.status == s))
            .filter(|o| call.query_param("code").is_none_or(|c| o.code == c))
            .collect();
        orders.sort_by(|a, b| a.ordered_at.cmp(&b.ordered_at).then(a.id.cmp(&b.id)));
        let total = orders.len();
        let page: Vec<Value> = orders
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|o| o.json(complete))
            .collect();
        Reply::json(200, &json!({ "orders": page, "meta": { "total": total } }))
    }

    // PATCH /api/v1/logistics/{id}
    fn patch_logistics(&mut self, id: &str, call: &RecordedCall) -> Reply {
        let fields = match patch_body(call, &LOGISTICS_WRITABLE) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        for key in ["shipment_date", "arrival_date", "due_date"] {
            if let Some(v) = fields.get(key) {
                if !v.as_str().is_some_and(is_date) {
                    return error(400, key, "日付はYYYY-MM-DDで指定してください");
                }
            }
        }
        if let Some(status) = fields.get("status") {
            if !status
                .as_str()
                .is_some_and(|s| LOGISTICS_STATUSES.contains(&s))
            {
                return error(
                    400,
                    "status",
                    "未発送・発送指示・発送済のいずれかを指定してください",
                );
            }
        }
        let Some(logistics) = self.logistics_mut(id) else {
            return error(404, "id", "出荷が見つかりません");
        };
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_string);
        if let Some(v) = text("delivery_code") {
            logistics.delivery_code = Some(v);
        }
        if let Some(v) = text("shipment_date") {
            logistics.shipment_date = Some(v);
        }
        if let Some(v) = text("arrival_date") {
            logistics.arrival_date = Some(v);
        }
        if let Some(v) = text("due_date") {
            logistics.due_date = Some(v);
        }
        if let Some(v) = text("memo") {
            logistics.memo = v;
        }
        if let Some(v) = text("status") {
            logistics.status = v;
        }
        let body = json!({ "logistic": logistics.json() });
        self.logistics_patches
            .push((id.to_string(), Value::Object(fields)));
        Reply::json(200, &body)
    }

    // PATCH /api/v1/orders/{id}
    fn patch_order(&mut self, id: &str, call: &RecordedCall) -> Reply {
        let fields = match patch_body(call, &ORDER_WRITABLE) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        let status = fields.get("status").map(|s| s.as_str().unwrap_or_default());
        if status.is_some_and(|s| !self.order_statuses.iter().any(|known| known == s)) {
            return error(400, "status", "対応状況が存在しません");
        }
        let Some(order) = self.orders.iter_mut().find(|o| o.id == id) else {
            return error(404, "id", "受注が見つかりません");
        };
        if let Some(status) = status {
            order.status = status.to_string();
        }
        if let Some(v) = fields.get("admin_message").and_then(Value::as_str) {
            order.admin_message = v.to_string();
        }
        if let Some(v) = fields.get("memo").and_then(Value::as_str) {
            order.memo = v.to_string();
        }
        let body = json!({ "order": order.json(true) });
        self.order_patches
            .push((id.to_string(), Value::Object(fields)));
        Reply::json(200, &body)
    }
}

impl Cart for BcartCart {
    fn handle(&mut self, call: &RecordedCall, _now: DateTime<Utc>) -> Reply {
        if call.bearer_token() != Some(self.access_token.as_str()) {
            return self.token_expired();
        }
        let segments = call.segments();
        let path: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (call.method.as_str(), path.as_slice()) {
            // GET /api/v1/orders
            ("GET", ["api", "v1", "orders"]) => self.list_orders(call),
            // GET /api/v1/orders/{id}
            ("GET", ["api", "v1", "orders", id]) => {
                match self.orders.iter().find(|o| o.id == *id) {
                    Some(order) => Reply::json(200, &json!({ "order": order.json(true) })),
                    None => error(404, "id", "受注が見つかりません"),
                }
            }
            // PATCH /api/v1/orders/{id}
            ("PATCH", ["api", "v1", "orders", id]) => self.patch_order(id, call),
            // GET /api/v1/order_statuses
            ("GET", ["api", "v1", "order_statuses"]) => Reply::json(
                200,
                &json!({ "order_statuses": self.order_statuses.iter().enumerate()
                    .map(|(i, name)| json!({"id": i + 1, "name": name}))
                    .collect::<Vec<_>>() }),
            ),
            // GET /api/v1/logistics/{id}
            ("GET", ["api", "v1", "logistics", id]) => match self.logistics_mut(id) {
                Some(l) => Reply::json(200, &json!({ "logistic": l.json() })),
                None => error(404, "id", "出荷が見つかりません"),
            },
            // PATCH /api/v1/logistics/{id}
            ("PATCH", ["api", "v1", "logistics", id]) => self.patch_logistics(id, call),
            _ => error(404, "path", "APIが見つかりません"),
        }
    }

    fn rate_limited(&self, limited: &Limited) -> Reply {
        let secs = limited
            .retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(300);
        error(429, "rate_limit", "リクエスト数が上限を超えました")
            .with_header("Retry-After", &secs.to_string())
    }

    fn token_expired(&self) -> Reply {
        error(401, "token", "アクセストークンが無効です")
    }

    fn server_error(&self, status: u16) -> Reply {
        error(status, "server", "サーバーエラーが発生しました")
    }
}

/// Bカート's error shape: `{"errors":[{field: message}]}`.
fn error(status: u16, field: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "errors": [ { field: message } ] }))
}

/// The JSON object of a PATCH, refusing keys outside `writable`.
fn patch_body(call: &RecordedCall, writable: &[&str]) -> Result<Map<String, Value>, Reply> {
    let Some(Value::Object(fields)) = call.json() else {
        return Err(error(400, "body", "JSONオブジェクトを送信してください"));
    };
    if let Some(key) = fields.keys().find(|k| !writable.contains(&k.as_str())) {
        return Err(error(400, key, "更新できない項目です"));
    }
    Ok(fields)
}

/// `YYYY-MM-DD HH:MM:SS` (or a bare date, from midnight) in Japan time.
fn local_time(raw: &str) -> Option<DateTime<FixedOffset>> {
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    jst().from_local_datetime(&local).single()
}

fn is_date(s: &str) -> bool {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}
