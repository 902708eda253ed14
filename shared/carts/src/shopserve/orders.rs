//! ショップサーブ order search: weekly windows (the API serves at most one week per request), each
//! paged by `from`/`size`, mapped to the canonical order. Every name on the wire is in [`wire`].

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use http::Method;
use mallsync_rules::shopserve::ShopserveCredentials;
use mallsync_rules::time::jst;
use mallsync_rules::{Item, OmsStatus, Order, Shipment, TrackingNumber};
use serde_json::{Map, Value};

use super::auth::authorized;
use super::{check_response, wire};
use crate::exchange::{next_offset, Page, Pages};
use crate::{values, Api, CartError, ImportQuery, Request, Response};

/// The longest window one search may cover [M: commerce robotics "at most 1 week per request"].
pub const MAX_WINDOW_DAYS: i64 = 7;

/// One search window, both ends included, at most [`MAX_WINDOW_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// `from..=to` cut into consecutive windows of at most a week. Times go to ショップサーブ in whole
/// seconds, so each window ends one second before the next begins and no order falls in two.
pub fn weekly_windows(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Window> {
    let week = Duration::days(MAX_WINDOW_DAYS);
    let mut windows = Vec::new();
    let mut start = from;
    while start <= to {
        let next = start + week;
        windows.push(Window {
            from: start,
            to: (next - Duration::seconds(1)).min(to),
        });
        start = next;
    }
    windows
}

/// One page of the search: `POST orders/_search` with the window, the store's status filter and
/// `from`/`size`.
pub fn build_order_search(
    api: &Api<ShopserveCredentials>,
    window: &Window,
    cart_statuses: &[String],
    from: u64,
) -> Result<Request, CartError> {
    let japan = |t: DateTime<Utc>| {
        Value::String(
            t.with_timezone(&jst())
                .format(wire::DATE_TIME_FORMAT)
                .to_string(),
        )
    };
    let mut body = Map::new();
    body.insert(wire::SEARCH_ORDERED_FROM.into(), japan(window.from));
    body.insert(wire::SEARCH_ORDERED_TO.into(), japan(window.to));
    if !cart_statuses.is_empty() {
        body.insert(
            wire::SEARCH_ORDER_STATUSES.into(),
            Value::from(cart_statuses.to_vec()),
        );
    }
    search(api, body, from, wire::SEARCH_PAGE_SIZE)
}

/// The smallest possible search (one order, no filter): the connection test.
pub fn build_probe_search(api: &Api<ShopserveCredentials>) -> Result<Request, CartError> {
    search(api, Map::new(), 0, 1)
}

fn search(
    api: &Api<ShopserveCredentials>,
    mut body: Map<String, Value>,
    from: u64,
    size: u32,
) -> Result<Request, CartError> {
    body.insert(wire::SEARCH_FROM.into(), Value::from(from));
    body.insert(wire::SEARCH_SIZE.into(), Value::from(size));
    let mut sort = Map::new();
    sort.insert(wire::SEARCH_SORT_ORDER.into(), wire::SORT_ASCENDING.into());
    body.insert(wire::SEARCH_SORT.into(), Value::Object(sort));
    crate::wire::json(
        authorized(
            api,
            Method::POST,
            &crate::wire::url(&api.base_url, wire::ORDER_SEARCH_PATH, &[]),
        ),
        &Value::Object(body),
    )
}

/// One page of the search, in ショップサーブ's own shape.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// `total_count`, when given.
    pub total: Option<u64>,
    pub orders: Vec<Value>,
}

/// Parses one page. A missing order list names the guessed key, so a wrong guess is found fast.
pub fn parse_order_search(response: &Response) -> Result<SearchPage, CartError> {
    check_response(response)?;
    let body: Value = crate::wire::json_body(response.body(), "ショップサーブ order search")?;
    let total = body
        .get(wire::RESPONSE_TOTAL_COUNT)
        .and_then(number)
        .map(u64::from);
    let orders = match body.get(wire::RESPONSE_ORDERS) {
        Some(Value::Array(orders)) => orders.clone(),
        // Some search APIs leave the list out when nothing matched.
        None if total == Some(0) => Vec::new(),
        _ => {
            return Err(CartError::malformed(format!(
                "ショップサーブ order search: no {:?} list in the answer (a guessed name, see shopserve/wire.rs)",
                wire::RESPONSE_ORDERS
            )))
        }
    };
    Ok(SearchPage { total, orders })
}

/// The canonical order, with the store's target status.
pub fn to_order(order: &Value, target_status: &OmsStatus) -> Result<Order, CartError> {
    let order_no = field(order, wire::ORDER_NO)
        .and_then(text)
        .ok_or_else(|| missing("an order", wire::ORDER_NO))?;
    let ordered_at = field(order, wire::ORDER_DATE)
        .and_then(Value::as_str)
        .and_then(parse_time)
        .ok_or_else(|| {
            CartError::malformed(format!(
                "ショップサーブ order {order_no}: {:?} is missing or not a date and time",
                wire::ORDER_DATE
            ))
        })?;
    let deliveries: &[Value] = match field(order, wire::ORDER_DELIVERIES) {
        Some(Value::Array(d)) => d,
        _ => &[],
    };
    let mut shipments = Vec::with_capacity(deliveries.len());
    for (i, d) in deliveries.iter().enumerate() {
        shipments.push(Shipment {
            shipment_id: field(d, wire::DELIVERY_NO)
                .and_then(text)
                .unwrap_or_else(|| (i + 1).to_string()),
            tracking_number: field(d, wire::DELIVERY_SLIP_NUMBER)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| TrackingNumber::parse(s).ok()),
            items: items(d, &order_no)?,
        });
    }
    Ok(Order {
        order_id: order_no,
        status: target_status.clone(),
        ordered_at,
        updated_at: None,
        ship_date: None,
        tracking_numbers: shipments
            .iter()
            .filter_map(|s| s.tracking_number.clone())
            .collect(),
        carrier: None,
        requested_delivery_date: deliveries.iter().find_map(|d| {
            field(d, wire::DELIVERY_REQUESTED_DATE)
                .and_then(Value::as_str)
                .and_then(|s| NaiveDate::parse_from_str(s.trim(), wire::DATE_FORMAT).ok())
        }),
        items: shipments.iter().flat_map(|s| s.items.clone()).collect(),
        shipments,
    })
}

fn items(delivery: &Value, order_no: &str) -> Result<Vec<Item>, CartError> {
    let Some(Value::Array(lines)) = field(delivery, wire::DELIVERY_ITEMS) else {
        return Ok(Vec::new());
    };
    lines
        .iter()
        .map(|line| {
            Ok(Item {
                item_id: field(line, wire::ITEM_CODE).and_then(text).ok_or_else(|| {
                    missing(&format!("a line of order {order_no}"), wire::ITEM_CODE)
                })?,
                quantity: field(line, wire::ITEM_QUANTITY)
                    .and_then(number)
                    .unwrap_or(1),
            })
        })
        .collect()
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?.get(key)
}

/// Text sent as a string or a number (ids come either way); blank is `None`.
fn text(v: &Value) -> Option<String> {
    values::opt_text(v).ok().flatten()
}

/// A count sent as a number or a string of digits (`total_count` comes as both).
fn number(v: &Value) -> Option<u32> {
    values::opt_count(v).ok().flatten()
}

fn missing(what: &str, key: &str) -> CartError {
    CartError::malformed(format!(
        "ショップサーブ: {what} has no {key:?} (a guessed name, see shopserve/wire.rs)"
    ))
}

/// Japan time in [`wire::DATE_TIME_FORMAT`], or RFC 3339 with its own offset.
fn parse_time(raw: &str) -> Option<DateTime<FixedOffset>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw).ok().or_else(|| {
        let naive = NaiveDateTime::parse_from_str(raw, wire::DATE_TIME_FORMAT).ok()?;
        jst().from_local_datetime(&naive).single()
    })
}

/// Where the import is: which weekly window, and the offset within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub window: usize,
    pub from: u64,
}

/// Every window of an import, each paged to its end, for [`crate::exchange::paged`].
pub struct SearchPages {
    pub api: Api<ShopserveCredentials>,
    pub windows: Vec<Window>,
    pub query: ImportQuery,
}

impl Pages for SearchPages {
    type Item = Order;
    type Cursor = Cursor;

    fn request(&self, cursor: &Cursor) -> Result<Request, CartError> {
        let window = self
            .windows
            .get(cursor.window)
            .ok_or_else(|| CartError::InvalidRequest {
                what: format!("no search window {}", cursor.window),
            })?;
        build_order_search(&self.api, window, &self.query.cart_statuses, cursor.from)
    }

    fn parse(&self, cursor: &Cursor, response: Response) -> Result<Page<Order, Cursor>, CartError> {
        let page = parse_order_search(&response)?;
        let next = match next_offset(
            cursor.from,
            page.orders.len(),
            u64::from(wire::SEARCH_PAGE_SIZE),
            page.total,
        ) {
            Some(from) => Some(Cursor {
                window: cursor.window,
                from,
            }),
            None => (cursor.window + 1 < self.windows.len()).then_some(Cursor {
                window: cursor.window + 1,
                from: 0,
            }),
        };
        let items = page
            .orders
            .iter()
            .map(|o| to_order(o, &self.query.target_status))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

/// Orders in the order first seen, each once (an order edited while the import pages may move
/// between pages).
pub fn distinct(orders: Vec<Order>) -> Vec<Order> {
    let mut seen = HashSet::new();
    orders
        .into_iter()
        .filter(|o| seen.insert(o.order_id.clone()))
        .collect()
}
