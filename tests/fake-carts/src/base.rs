//! BASE: OAuth (authorization code, refresh with rotation), orders list and detail, delivery
//! companies, per-item dispatch that is one-way and e-mails the buyer, every error a 400.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::seed::{jst, OrderSeed};
use crate::server::{
    id_value, to_chrono, AccessTokens, Cart, FakeServer, Limited, RateLimit, RecordedCall, Reply,
    Violation, ViolationKind,
};

/// The fake BASE, serving `/1/...` on loopback.
pub type FakeBase = FakeServer<BaseCart>;

pub const CLIENT_ID: &str = "base-client-id";
pub const CLIENT_SECRET: &str = "base-client-secret";
/// The redirect URL the fake's app is registered with; change it with `with_cart` if needed.
pub const REDIRECT_URI: &str = "http://127.0.0.1/oauth/base/callback";
/// 1 hour, as BASE documents.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// About 30 days, as BASE documents.
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// BASE's documented 5,000 requests per clock hour and 100,000 per Japan day (counters reset at
/// :00 and at JST midnight); over either is a 400 `hour_api_limit` / `day_api_limit`.
pub const RATE_LIMIT: RateLimit = RateLimit::ClockAligned {
    per_hour: 5_000,
    per_day: 100_000,
};
const MAX_LIMIT: usize = 100;

/// BASE's state: the app's registration, tokens, orders and the e-mails dispatch sent.
#[derive(Debug)]
pub struct BaseCart {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// `GET /1/delivery_companies`: (delivery_company_id, name).
    pub delivery_companies: Vec<(u32, String)>,
    pub orders: Vec<BaseOrder>,
    /// One per successful `status=dispatched` call: BASE's 発送メール to the buyer.
    pub dispatch_emails: Vec<DispatchEmail>,
    codes: Vec<String>,
    access_tokens: AccessTokens,
    refresh_tokens: HashMap<String, RefreshToken>,
    violations: Vec<Violation>,
}

#[derive(Debug, Clone)]
struct RefreshToken {
    expires_at: DateTime<Utc>,
    /// Used once already: BASE rotates refresh tokens, so the old one is refused.
    rotated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseOrder {
    pub unique_key: String,
    pub ordered: DateTime<Utc>,
    /// `creditcard`, `cod`, `cvs`, `base_bt`, `atobarai`, …
    pub payment: String,
    /// `ordered`, `unpaid`, `shipping`, `dispatched`, `cancelled`, `unshippable`
    pub dispatch_status: String,
    pub first_name: String,
    pub last_name: String,
    pub delivery_date: Option<NaiveDate>,
    pub delivery_company_id: Option<u32>,
    pub tracking_number: Option<String>,
    pub dispatched: Option<DateTime<Utc>>,
    pub cancelled: Option<DateTime<Utc>>,
    pub modified: DateTime<Utc>,
    pub items: Vec<BaseOrderItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseOrderItem {
    pub order_item_id: String,
    pub title: String,
    pub price: u64,
    pub amount: u32,
    /// `ordered`, `dispatched`, `cancelled`
    pub status: String,
    pub modified: DateTime<Utc>,
}

/// A 発送メール BASE sent the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchEmail {
    pub unique_key: String,
    pub order_item_id: String,
    pub add_comment: Option<String>,
    pub delivery_company_id: Option<u32>,
    pub tracking_number: Option<String>,
}

/// An access token and the refresh token issued with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseTokens {
    pub access_token: String,
    pub refresh_token: String,
}

impl Default for BaseCart {
    fn default() -> BaseCart {
        BaseCart {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uri: REDIRECT_URI.into(),
            delivery_companies: vec![
                (1, "クロネコヤマト".into()),
                (2, "佐川急便".into()),
                (3, "日本郵便".into()),
                (4, "西濃運輸".into()),
                (5, "福山通運".into()),
                (6, "その他".into()),
            ],
            orders: Vec::new(),
            dispatch_emails: Vec::new(),
            codes: Vec::new(),
            access_tokens: AccessTokens::default(),
            refresh_tokens: HashMap::new(),
            violations: Vec::new(),
        }
    }
}

impl FakeServer<BaseCart> {
    /// A fake BASE with the documented hourly and daily limits.
    pub fn start() -> FakeBase {
        FakeServer::serve(BaseCart::default(), Some(RATE_LIMIT))
    }

    /// Puts an order in the shop. The seed's status is the order's `dispatch_status`
    /// (default `ordered`); items of a dispatched or cancelled order share that status.
    pub fn seed_order(&self, seed: &OrderSeed) {
        self.with_cart(|cart| cart.orders.push(BaseOrder::from_seed(seed)));
    }

    /// What a client's `Api::base_url` is set to for this fake (in place of `https://api.thebase.in/1`).
    pub fn api_base_url(&self) -> String {
        format!("{}/1", self.url())
    }

    /// Sets an order's payment method (`cod`, `cvs`, `atobarai`, …; the default is `creditcard`).
    pub fn set_payment(&self, unique_key: &str, payment: &str) {
        self.with_cart(|cart| {
            if let Some(order) = cart.order_mut(unique_key) {
                order.payment = payment.to_string();
            }
        });
    }

    /// A one-time authorization code, as if the shop owner had just consented.
    pub fn authorization_code(&self) -> String {
        self.with_cart(BaseCart::new_code)
    }

    /// Tokens as if an authorization code had just been exchanged.
    pub fn issue_tokens(&self) -> BaseTokens {
        let now = self.clock().now();
        self.with_cart(|cart| cart.issue_tokens(now))
    }

    /// Makes every access token issued so far expired (the next call gets `invalid_request`).
    pub fn expire_access_tokens(&self) {
        let now = self.clock().now();
        self.with_cart(|cart| cart.access_tokens.expire_all(now));
    }

    /// Makes every refresh token issued so far expired: the shop must consent again.
    pub fn expire_refresh_tokens(&self) {
        let past = self.clock().now() - chrono::Duration::seconds(1);
        self.with_cart(|cart| {
            cart.refresh_tokens
                .values_mut()
                .for_each(|t| t.expires_at = past)
        });
    }

    pub fn is_refresh_token_valid(&self, refresh_token: &str) -> bool {
        let now = self.clock().now();
        self.with_cart(|cart| cart.refresh_token_usable(refresh_token, now))
    }

    /// How many 発送メール the buyers have been sent.
    pub fn dispatch_emails_sent(&self) -> usize {
        self.with_cart(|cart| cart.dispatch_emails.len())
    }

    pub fn dispatch_emails(&self) -> Vec<DispatchEmail> {
        self.with_cart(|cart| cart.dispatch_emails.clone())
    }

    pub fn order(&self, unique_key: &str) -> Option<BaseOrder> {
        self.with_cart(|cart| cart.order_mut(unique_key).map(|o| o.clone()))
    }

    /// An item's status: `ordered`, `dispatched` or `cancelled`.
    pub fn item_status(&self, unique_key: &str, order_item_id: &str) -> Option<String> {
        self.order(unique_key)?
            .items
            .into_iter()
            .find(|i| i.order_item_id == order_item_id)
            .map(|i| i.status)
    }
}

impl BaseOrder {
    fn from_seed(seed: &OrderSeed) -> BaseOrder {
        let status = seed.status.clone().unwrap_or_else(|| "ordered".into());
        let item_status = match status.as_str() {
            "dispatched" | "cancelled" => status.clone(),
            _ => "ordered".to_string(),
        };
        let ordered = seed.ordered_at.with_timezone(&Utc);
        BaseOrder {
            unique_key: seed.order_id.clone(),
            ordered,
            payment: "creditcard".into(),
            dispatched: (status == "dispatched").then_some(ordered),
            cancelled: (status == "cancelled").then_some(ordered),
            dispatch_status: status,
            first_name: seed.buyer_first_name.clone(),
            last_name: seed.buyer_last_name.clone(),
            delivery_date: seed.requested_delivery_date,
            delivery_company_id: None,
            tracking_number: None,
            modified: ordered,
            items: seed
                .items()
                .into_iter()
                .map(|i| BaseOrderItem {
                    order_item_id: i.item_id,
                    title: i.name,
                    price: i.unit_price,
                    amount: i.quantity,
                    status: item_status.clone(),
                    modified: ordered,
                })
                .collect(),
        }
    }

    fn total(&self) -> u64 {
        self.items
            .iter()
            .map(|i| i.price * u64::from(i.amount))
            .sum()
    }

    fn summary_json(&self) -> Value {
        json!({
            "unique_key": self.unique_key,
            "ordered": self.ordered.timestamp(),
            "cancelled": self.cancelled.map(|t| t.timestamp()),
            "dispatched": self.dispatched.map(|t| t.timestamp()),
            "payment": self.payment,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "total": self.total(),
            "delivery_date": self.delivery_date.map(|d| d.format("%Y-%m-%d").to_string()),
            "delivery_time_zone": null,
            "terminated": false,
            "dispatch_status": self.dispatch_status,
            "modified": self.modified.timestamp(),
            "subscription": null,
        })
    }

    fn detail_json(&self) -> Value {
        let mut order = self.summary_json();
        let extra = json!({
            "shipping_method": "宅急便",
            "shipping_fee": 0,
            "cod_fee": 0,
            "country": "Japan",
            "zip_code": "1500001",
            "prefecture": "東京都",
            "address": "渋谷区神宮前1-1-1",
            "address2": "",
            "mail_address": "buyer@example.jp",
            "tel": "0300000000",
            "remark": "",
            "add_comment": null,
            "delivery_company_id": self.delivery_company_id,
            "tracking_number": self.tracking_number,
            "order_receiver": {
                "first_name": self.first_name, "last_name": self.last_name,
                "zip_code": "1500001", "prefecture": "東京都",
                "address": "渋谷区神宮前1-1-1", "address2": "", "tel": "0300000000"
            },
            "order_items": self.items.iter().map(|i| json!({
                "order_item_id": id_value(&i.order_item_id),
                "item_id": id_value(&i.order_item_id),
                "variation_id": null,
                "title": i.title,
                "variation": null,
                "price": i.price,
                "amount": i.amount,
                "total": i.price * u64::from(i.amount),
                "shipping_method": "宅急便",
                "shipping_fee": 0,
                "status": i.status,
                "modified": i.modified.timestamp(),
            })).collect::<Vec<_>>(),
        });
        if let (Some(order), Value::Object(extra)) = (order.as_object_mut(), extra) {
            order.extend(extra);
        }
        order
    }
}

impl BaseCart {
    fn order_mut(&mut self, unique_key: &str) -> Option<&mut BaseOrder> {
        self.orders.iter_mut().find(|o| o.unique_key == unique_key)
    }

    fn new_code(&mut self) -> String {
        let code = self.access_tokens.next_name("code");
        self.codes.push(code.clone());
        code
    }

    fn issue_tokens(&mut self, now: DateTime<Utc>) -> BaseTokens {
        let access_token = self
            .access_tokens
            .issue("access", now, ACCESS_TOKEN_LIFETIME);
        let refresh_token = self.access_tokens.next_name("refresh");
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshToken {
                expires_at: now + to_chrono(REFRESH_TOKEN_LIFETIME),
                rotated: false,
            },
        );
        BaseTokens {
            access_token,
            refresh_token,
        }
    }

    fn refresh_token_usable(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.refresh_tokens
            .get(token)
            .is_some_and(|t| !t.rotated && now < t.expires_at)
    }

    fn authorized(&self, call: &RecordedCall, now: DateTime<Utc>) -> bool {
        call.bearer_token()
            .is_some_and(|t| self.access_tokens.is_valid(t, now))
    }

    // GET /1/oauth/authorize: the shop owner consents at once; redirect back with a code.
    fn authorize(&mut self, call: &RecordedCall) -> Reply {
        if call.query_param("client_id") != Some(self.client_id.as_str()) {
            return error("invalid_client", "client_idが不正です。");
        }
        if call.query_param("redirect_uri") != Some(self.redirect_uri.as_str()) {
            return error("invalid_request", "redirect_uriが不正です。");
        }
        let code = self.new_code();
        let mut location = format!("{}?code={code}", self.redirect_uri);
        if let Some(state) = call.query_param("state") {
            location.push_str("&state=");
            location.extend(form_urlencoded::byte_serialize(state.as_bytes()));
        }
        Reply::empty(302).with_header("Location", &location)
    }

    // POST /1/oauth/token
    fn token(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let form = call.form();
        let param = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (client_id, client_secret) = match call.basic_auth() {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (
                param("client_id").map(str::to_string),
                param("client_secret").map(str::to_string),
            ),
        };
        if client_id.as_deref() != Some(self.client_id.as_str())
            || client_secret.as_deref() != Some(self.client_secret.as_str())
        {
            return error("invalid_client", "client_idまたはclient_secretが不正です。");
        }
        if param("redirect_uri") != Some(self.redirect_uri.as_str()) {
            return error("invalid_request", "redirect_uriが不正です。");
        }
        match param("grant_type") {
            Some("authorization_code") => {
                let code = param("code").unwrap_or_default();
                let Some(at) = self.codes.iter().position(|c| c == code) else {
                    return error("invalid_grant", "認可コードが無効です。");
                };
                self.codes.remove(at);
            }
            Some("refresh_token") => {
                let token = param("refresh_token").unwrap_or_default();
                if self.refresh_tokens.get(token).is_some_and(|t| t.rotated) {
                    // BASE rotates refresh tokens: using the old one again may revoke the grant.
                    self.violations.push(Violation::new(
                        ViolationKind::RefreshTokenReused,
                        call,
                        format!("refresh token {token} was already used once"),
                    ));
                }
                if !self.refresh_token_usable(token, now) {
                    return error("invalid_grant", "リフレッシュトークンが無効です。");
                }
                if let Some(old) = self.refresh_tokens.get_mut(token) {
                    old.rotated = true;
                }
            }
            _ => return error("unsupported_grant_type", "grant_typeが不正です。"),
        }
        let tokens = self.issue_tokens(now);
        Reply::json(
            200,
            &json!({
                "access_token": tokens.access_token,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
                "refresh_token": tokens.refresh_token,
            }),
        )
    }

    // GET /1/orders
    fn list_orders(&self, call: &RecordedCall) -> Reply {
        let limit = match number_param(call, "limit", 20) {
            Some(limit) if limit <= MAX_LIMIT => limit,
            _ => return error("bad_params", "limitは100以下で指定してください。"),
        };
        let Some(offset) = number_param(call, "offset", 0) else {
            return error("bad_params", "offsetが不正です。");
        };
        let (Some(from), Some(to)) = (
            time_param(call, "start_ordered", false),
            time_param(call, "end_ordered", true),
        ) else {
            return error("bad_params", "start_ordered/end_orderedの形式が不正です。");
        };
        let mut orders: Vec<&BaseOrder> = self
            .orders
            .iter()
            .filter(|o| from.is_none_or(|f| o.ordered >= f) && to.is_none_or(|t| o.ordered <= t))
            .collect();
        // Newest first, as BASE lists them.
        orders.sort_by_key(|o| std::cmp::Reverse(o.ordered));
        let page: Vec<Value> = orders
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(BaseOrder::summary_json)
            .collect();
        Reply::json(200, &json!({ "orders": page }))
    }

    // POST /1/orders/edit_status (form-encoded, one order item per call)
    fn edit_status(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let form = call.form();
        let param = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let (Some(item_id), Some(status)) = (param("order_item_id"), param("status")) else {
            return error("no_params", "order_item_idとstatusは必須です。");
        };
        let tracking_number = param("tracking_number");
        if tracking_number
            .as_deref()
            .is_some_and(|t| !t.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return error(
                "bad_params",
                "tracking_numberは半角英数字で指定してください。",
            );
        }
        let delivery_company_id = match param("delivery_company_id") {
            None => None,
            Some(id) => match id.parse::<u32>() {
                Ok(id) if self.delivery_companies.iter().any(|(c, _)| *c == id) => Some(id),
                _ => return error("bad_params", "delivery_company_idが不正です。"),
            },
        };
        let add_comment = param("add_comment");
        if add_comment
            .as_deref()
            .is_some_and(|c| c.chars().count() > 250)
        {
            return error("bad_params", "add_commentは250文字以内で指定してください。");
        }
        let Some((order, item_at)) = self.orders.iter_mut().find_map(|o| {
            let at = o.items.iter().position(|i| i.order_item_id == item_id)?;
            Some((o, at))
        }) else {
            return error("no_order", "注文が見つかりません。");
        };
        if order.items[item_at].status != "ordered" || order.dispatch_status == "unshippable" {
            return error("not_change_status", "ステータスを変更できません。");
        }
        match status.as_str() {
            "dispatched" => {
                if order.dispatch_status == "unpaid" {
                    return error(
                        &format!("not_change_status_{}", order.payment),
                        "入金前の注文は発送済みにできません。",
                    );
                }
                order.items[item_at].status = "dispatched".into();
                if self
                    .dispatch_emails
                    .iter()
                    .any(|e| e.unique_key == order.unique_key && e.order_item_id == item_id)
                {
                    self.violations.push(Violation::new(
                        ViolationKind::DuplicateBuyerEmail,
                        call,
                        format!(
                            "a second 発送メール for order {} item {item_id}",
                            order.unique_key
                        ),
                    ));
                }
                if tracking_number.is_some() {
                    order.tracking_number = tracking_number.clone();
                }
                if delivery_company_id.is_some() {
                    order.delivery_company_id = delivery_company_id;
                }
                self.dispatch_emails.push(DispatchEmail {
                    unique_key: order.unique_key.clone(),
                    order_item_id: item_id,
                    add_comment,
                    delivery_company_id,
                    tracking_number,
                });
            }
            "cancelled" => {
                if order.payment != "cod" {
                    return error(
                        &format!("not_cancel_{}", order.payment),
                        "この決済方法の注文はキャンセルできません。",
                    );
                }
                order.items[item_at].status = "cancelled".into();
            }
            _ => return error("bad_params", "statusが不正です。"),
        }
        order.items[item_at].modified = now;
        order.modified = now;
        // The order follows once every item has been updated.
        let open = order.items.iter().any(|i| i.status == "ordered");
        let all_cancelled = order.items.iter().all(|i| i.status == "cancelled");
        if all_cancelled {
            order.dispatch_status = "cancelled".into();
            order.cancelled = Some(now);
        } else if !open {
            order.dispatch_status = "dispatched".into();
            order.dispatched = Some(now);
        }
        Reply::json(200, &json!({ "order": order.detail_json() }))
    }
}

impl Cart for BaseCart {
    fn handle(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply {
        let segments = call.segments();
        let path: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (call.method.as_str(), path.as_slice()) {
            // GET /1/oauth/authorize
            ("GET", ["1", "oauth", "authorize"]) => return self.authorize(call),
            // POST /1/oauth/token
            ("POST", ["1", "oauth", "token"]) => return self.token(call, now),
            _ => {}
        }
        if !self.authorized(call, now) {
            return self.token_expired();
        }
        match (call.method.as_str(), path.as_slice()) {
            // GET /1/orders
            ("GET", ["1", "orders"]) => self.list_orders(call),
            // GET /1/orders/detail/{unique_key}
            ("GET", ["1", "orders", "detail", key]) => match self.order_mut(key) {
                Some(order) => Reply::json(200, &json!({ "order": order.detail_json() })),
                None => error("no_order", "注文が見つかりません。"),
            },
            // GET /1/delivery_companies
            ("GET", ["1", "delivery_companies"]) => Reply::json(
                200,
                &json!({ "delivery_companies": self.delivery_companies.iter()
                    .map(|(id, name)| json!({"delivery_company_id": id, "name": name}))
                    .collect::<Vec<_>>() }),
            ),
            // POST /1/orders/edit_status
            ("POST", ["1", "orders", "edit_status"]) => self.edit_status(call, now),
            _ => Reply::json(
                404,
                &json!({"error": "not_found", "error_description": "APIが見つかりません。"}),
            ),
        }
    }

    fn rate_limited(&self, limited: &Limited) -> Reply {
        // BASE answers its limits with 400, not 429, and no Retry-After.
        if limited.daily {
            error("day_api_limit", "1日あたりのAPI利用上限を超えました。")
        } else {
            error("hour_api_limit", "1時間あたりのAPI利用上限を超えました。")
        }
    }

    fn drain_violations(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }

    fn token_expired(&self) -> Reply {
        // BASE's documented error example: every error, this one included, is a 400.
        error("invalid_request", "アクセストークンが無効です。")
    }

    fn server_error(&self, status: u16) -> Reply {
        Reply::json(
            status,
            &json!({"error": "server_error", "error_description": "サーバーエラーが発生しました。"}),
        )
    }
}

/// BASE's error shape: 400 with `error` and `error_description`.
fn error(code: &str, description: &str) -> Reply {
    Reply::json(
        400,
        &json!({"error": code, "error_description": description}),
    )
}

/// A numeric query parameter; `default` when absent, None when not a number.
fn number_param(call: &RecordedCall, name: &str, default: usize) -> Option<usize> {
    match call.query_param(name) {
        None => Some(default),
        Some(v) => v.parse().ok(),
    }
}

/// `yyyy-mm-dd` or `yyyy-mm-dd hh:mm:ss` in Japan time; a bare date ends at 23:59:59 when `end`.
/// `Some(None)` when absent, None when malformed.
fn time_param(call: &RecordedCall, name: &str, end: bool) -> Option<Option<DateTime<Utc>>> {
    let Some(raw) = call.query_param(name) else {
        return Some(None);
    };
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| {
            let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
            let time = if end {
                NaiveTime::from_hms_opt(23, 59, 59)?
            } else {
                NaiveTime::MIN
            };
            Some(date.and_time(time))
        })?;
    let t = jst().from_local_datetime(&local).single()?;
    Some(Some(t.with_timezone(&Utc)))
}
