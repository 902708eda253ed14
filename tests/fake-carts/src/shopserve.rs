//! Eストアー ショップサーブ: Basic `shop_id:manager_key`, an order search of at most one week per
//! request paged by `from`/`size`, and a per-order shipping update. The order API is not public:
//! every path and JSON name here mirrors `shared/carts/src/shopserve/wire.rs` (carts-b's guesses);
//! change both together.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::seed::{jst, OrderSeed};
use crate::server::{Cart, FakeServer, Limited, RateLimit, RecordedCall, Reply};

/// The fake ショップサーブ, serving `/v2/...` on loopback.
pub type FakeShopserve = FakeServer<ShopserveCart>;

pub const SHOP_ID: &str = "shopserve-shop";
pub const MANAGER_KEY: &str = "shopserve-manager-key";
/// The longest window one search may cover (integrators: at most one week per request).
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// The largest page the search serves.
pub const MAX_PAGE_SIZE: u64 = 100;
/// What the API answers while ショップサーブ is under maintenance.
pub const MAINTENANCE_MESSAGE: &str = "メンテナンス期間中のためAPIは使用できません";
const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";
const DATE: &str = "%Y-%m-%d";
/// The keys the shipping update accepts (wire.rs `UPDATE_*`).
const UPDATE_KEYS: [&str; 4] = [
    "shipping_status",
    "delivery_company",
    "slip_number",
    "scheduled_shipping_date",
];
/// ショップサーブ's limit is not public (cart-apis.md: [?]); the fake ASSUMES one request a second,
/// the common limit among Japanese cart APIs, so a client that paces to it is safe either way.
pub const RATE_LIMIT: RateLimit = RateLimit::MinInterval(Duration::from_secs(1));
const SHIPPED: &str = "発送済み";
const NOT_SHIPPED: &str = "未発送";

#[derive(Debug)]
pub struct ShopserveCart {
    pub shop_id: String,
    pub manager_key: String,
    /// While true every call gets the maintenance answer (503).
    pub under_maintenance: bool,
    pub orders: Vec<ShopserveOrder>,
    /// Every accepted update body, in order: (order_no, body).
    pub updates: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopserveOrder {
    pub order_no: String,
    pub order_date: DateTime<FixedOffset>,
    /// 注文ステータス: `新規受付`, `処理中`, `キャンセル`, `保留`, …
    pub order_status: String,
    /// 発送ステータス: `未発送` or `発送済み`.
    pub shipping_status: String,
    /// 配送会社 as last written.
    pub delivery_company: Option<String>,
    /// 伝票番号 (お問合せ番号) as last written.
    pub slip_number: Option<String>,
    /// 発送予定日 as last written (`yyyy-mm-dd`).
    pub scheduled_shipping_date: Option<String>,
    pub deliveries: Vec<ShopserveDelivery>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopserveDelivery {
    pub delivery_no: String,
    pub delivery_date: Option<NaiveDate>,
    /// (item_code, quantity)
    pub items: Vec<(String, u32)>,
}

impl Default for ShopserveCart {
    fn default() -> ShopserveCart {
        ShopserveCart {
            shop_id: SHOP_ID.into(),
            manager_key: MANAGER_KEY.into(),
            under_maintenance: false,
            orders: Vec::new(),
            updates: Vec::new(),
        }
    }
}

impl FakeServer<ShopserveCart> {
    /// A fake ショップサーブ (no published rate limit, so none by default).
    pub fn start() -> FakeShopserve {
        FakeServer::serve(ShopserveCart::default(), Some(RATE_LIMIT))
    }

    /// Puts an order in the shop. Seed shipments are 配送先 (`delivery_no`, default `1`); the
    /// seed's status is the 注文ステータス (default `新規受付`).
    pub fn seed_order(&self, seed: &OrderSeed) {
        self.with_cart(|cart| cart.orders.push(ShopserveOrder::from_seed(seed)));
    }

    /// What a client's `Api::base_url` is set to for this fake (in place of `https://management.api.shopserve.jp/v2`).
    pub fn api_base_url(&self) -> String {
        format!("{}/v2", self.url())
    }

    /// Closes (or reopens) the API as during ショップサーブ's maintenance.
    pub fn set_maintenance(&self, on: bool) {
        self.with_cart(|cart| cart.under_maintenance = on);
    }

    pub fn order(&self, order_no: &str) -> Option<ShopserveOrder> {
        self.with_cart(|cart| cart.orders.iter().find(|o| o.order_no == order_no).cloned())
    }

    pub fn updates(&self) -> Vec<(String, Value)> {
        self.with_cart(|cart| cart.updates.clone())
    }
}

impl ShopserveOrder {
    fn from_seed(seed: &OrderSeed) -> ShopserveOrder {
        let items = seed.items();
        ShopserveOrder {
            order_no: seed.order_id.clone(),
            order_date: seed.ordered_at.with_timezone(&jst()),
            order_status: seed.status.clone().unwrap_or_else(|| "新規受付".into()),
            shipping_status: NOT_SHIPPED.into(),
            delivery_company: None,
            slip_number: None,
            scheduled_shipping_date: None,
            deliveries: seed
                .shipments("1")
                .into_iter()
                .map(|s| ShopserveDelivery {
                    delivery_no: s.shipment_id,
                    delivery_date: seed.requested_delivery_date,
                    items: items
                        .iter()
                        .filter(|i| s.item_ids.contains(&i.item_id))
                        .map(|i| (i.item_id.clone(), i.quantity))
                        .collect(),
                })
                .collect(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "order_no": self.order_no,
            "order_date": self.order_date.format(DATE_TIME).to_string(),
            "order_status": self.order_status,
            "shipping_status": self.shipping_status,
            "delivery_company": self.delivery_company.clone().unwrap_or_default(),
            "scheduled_shipping_date": self.scheduled_shipping_date.clone().unwrap_or_default(),
            "deliveries": self.deliveries.iter().map(|d| json!({
                "delivery_no": d.delivery_no,
                "delivery_date": d.delivery_date.map(|t| t.format(DATE).to_string()).unwrap_or_default(),
                // The order-level 伝票番号 is every delivery's until per-delivery updates are known.
                "slip_number": self.slip_number.clone().unwrap_or_default(),
                "items": d.items.iter().map(|(code, quantity)| json!({"item_code": code, "quantity": quantity})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

impl ShopserveCart {
    // POST /v2/orders/_search
    fn search(&self, call: &RecordedCall) -> Reply {
        let Some(Value::Object(body)) = call.json() else {
            return error(400, "InvalidParameter", "JSONで指定してください");
        };
        let time = |key: &str| -> Result<Option<DateTime<FixedOffset>>, Reply> {
            match body.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(|s| NaiveDateTime::parse_from_str(s, DATE_TIME).ok())
                    .and_then(|t| jst().from_local_datetime(&t).single())
                    .map(Some)
                    .ok_or_else(|| {
                        error(400, "InvalidParameter", &format!("{key} の形式が不正です"))
                    }),
            }
        };
        let (from, to) = match (time("order_date_from"), time("order_date_to")) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(reply), _) | (_, Err(reply)) => return reply,
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t.signed_duration_since(f).to_std().unwrap_or_default() > MAX_WINDOW {
                return error(
                    400,
                    "InvalidParameter",
                    "検索期間は1週間以内で指定してください",
                );
            }
        }
        let number = |key: &str, default: u64| match body.get(key) {
            None => Some(default),
            Some(v) => v.as_u64(),
        };
        let (Some(start), Some(size)) = (number("from", 0), number("size", 10)) else {
            return error(
                400,
                "InvalidParameter",
                "from と size は数値で指定してください",
            );
        };
        if size > MAX_PAGE_SIZE {
            return error(400, "InvalidParameter", "size は100以下で指定してください");
        }
        let statuses: Vec<&str> = match body.get("order_statuses") {
            None => Vec::new(),
            Some(Value::Array(s)) => s.iter().filter_map(Value::as_str).collect(),
            Some(_) => {
                return error(
                    400,
                    "InvalidParameter",
                    "order_statuses は配列で指定してください",
                )
            }
        };
        let mut orders: Vec<&ShopserveOrder> = self
            .orders
            .iter()
            .filter(|o| {
                from.is_none_or(|f| o.order_date >= f) && to.is_none_or(|t| o.order_date <= t)
            })
            .filter(|o| statuses.is_empty() || statuses.contains(&o.order_status.as_str()))
            .collect();
        orders.sort_by(|a, b| {
            a.order_date
                .cmp(&b.order_date)
                .then(a.order_no.cmp(&b.order_no))
        });
        let page: Vec<Value> = orders
            .iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .map(|o| o.json())
            .collect();
        Reply::json(200, &json!({ "total_count": orders.len(), "orders": page }))
    }

    // PUT /v2/orders/{order_no}/shipping
    fn update(&mut self, order_no: &str, call: &RecordedCall) -> Reply {
        let Some(Value::Object(body)) = call.json() else {
            return error(400, "InvalidParameter", "JSONで指定してください");
        };
        if let Some(key) = body.keys().find(|k| !UPDATE_KEYS.contains(&k.as_str())) {
            return error(400, "InvalidParameter", &format!("{key} は更新できません"));
        }
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let status = body.get("shipping_status").map(Value::as_str);
        if status.is_some_and(|s| !matches!(s, Some(SHIPPED | NOT_SHIPPED))) {
            return error(400, "InvalidParameter", "発送ステータスが不正です");
        }
        if text("scheduled_shipping_date")
            .is_some_and(|d| NaiveDate::parse_from_str(&d, DATE).is_err())
        {
            return error(400, "InvalidParameter", "発送予定日の形式が不正です");
        }
        let Some(order) = self.orders.iter_mut().find(|o| o.order_no == order_no) else {
            return error(404, "NotFound", "受注が見つかりません");
        };
        let slip = text("slip_number")
            .filter(|s| !s.is_empty())
            .or(order.slip_number.clone());
        if text("delivery_company").is_some() && slip.is_none() {
            return error(
                400,
                "InvalidParameter",
                "配送会社を指定する場合はお問合せ番号が必要です",
            );
        }
        if let Some(v) = text("shipping_status") {
            order.shipping_status = v;
        }
        if let Some(v) = text("delivery_company") {
            order.delivery_company = Some(v);
        }
        if let Some(v) = text("slip_number") {
            order.slip_number = Some(v);
        }
        if let Some(v) = text("scheduled_shipping_date") {
            order.scheduled_shipping_date = Some(v);
        }
        self.updates
            .push((order_no.to_string(), Value::Object(body.clone())));
        Reply::json(200, &Value::Object(Map::new()))
    }
}

impl Cart for ShopserveCart {
    fn handle(&mut self, call: &RecordedCall, _now: DateTime<Utc>) -> Reply {
        if self.under_maintenance {
            return Reply::json(503, &json!({ "message": MAINTENANCE_MESSAGE }));
        }
        if call.basic_auth() != Some((self.shop_id.clone(), self.manager_key.clone())) {
            return self.token_expired();
        }
        let segments = call.segments();
        let path: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (call.method.as_str(), path.as_slice()) {
            // POST /v2/orders/_search
            ("POST", ["v2", "orders", "_search"]) => self.search(call),
            // PUT /v2/orders/{order_no}/shipping
            ("PUT", ["v2", "orders", order_no, "shipping"]) => self.update(order_no, call),
            _ => error(404, "NotFound", "APIが見つかりません"),
        }
    }

    fn rate_limited(&self, _limited: &Limited) -> Reply {
        error(429, "TooManyRequests", "リクエストが多すぎます")
    }

    fn token_expired(&self) -> Reply {
        error(401, "Unauthorized", "認証に失敗しました")
    }

    fn server_error(&self, status: u16) -> Reply {
        error(
            status,
            "InternalServerError",
            "サーバーエラーが発生しました",
        )
    }
}

/// The guessed error shape (wire.rs `ERROR_CODE`, `ERROR_MESSAGE`).
fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "code": code, "message": message }))
}
