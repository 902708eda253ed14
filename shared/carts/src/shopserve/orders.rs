//! ショップサーブ order search: weekly windows (the API serves at most one week per request), each
//! paged by `from`/`size`, mapped to the canonical order. Every name on the wire is in [`wire`].

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use http::Method;
use mallsync_rules::imported::{Address, Amounts, Buyer, CartState, CartStatus, Payment};
use mallsync_rules::shopserve::ShopserveCredentials;
use mallsync_rules::time::jst;
use mallsync_rules::{
    ImportedItem, ImportedOrder, ImportedShipment, OmsStatus, Order, TrackingNumber,
};
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

/// The canonical order, with the store's target status (the write-back's view).
pub fn to_order(order: &Value, target_status: &OmsStatus) -> Result<Order, CartError> {
    Ok(to_imported(order, target_status)?.to_order())
}

/// The whole order. Every key is a guess named in [`wire`]; a key not there leaves its field
/// absent. 注文ステータス `キャンセル` enters the OMS as キャンセル.
pub fn to_imported(order: &Value, target_status: &OmsStatus) -> Result<ImportedOrder, CartError> {
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
    let mut all_items = Vec::new();
    for (i, d) in deliveries.iter().enumerate() {
        let shipment_id = field(d, wire::DELIVERY_NO)
            .and_then(text)
            .unwrap_or_else(|| (i + 1).to_string());
        let lines = items(d, &order_no, &shipment_id)?;
        shipments.push(ImportedShipment {
            shipment_id: shipment_id.clone(),
            shipment_code: None,
            shipping_group_id: None,
            delivery_method: field(d, wire::DELIVERY_METHOD).and_then(text),
            address: field(d, wire::DELIVERY_RECEIVER).and_then(address),
            requested_delivery_date: field(d, wire::DELIVERY_REQUESTED_DATE)
                .and_then(Value::as_str)
                .and_then(|s| NaiveDate::parse_from_str(s.trim(), wire::DATE_FORMAT).ok()),
            requested_time_slot: field(d, wire::DELIVERY_REQUESTED_TIME).and_then(text),
            tracking_number: field(d, wire::DELIVERY_SLIP_NUMBER)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| TrackingNumber::parse(s).ok()),
            ship_date: None,
            item_ids: lines.iter().map(|l| l.item_id.clone()).collect(),
        });
        all_items.extend(lines);
    }
    let raw = field(order, wire::ORDER_STATUS)
        .and_then(text)
        .unwrap_or_default();
    let state = if raw == wire::ORDER_STATUS_CANCELLED {
        CartState::Cancelled
    } else {
        CartState::Open
    };
    let buyer_json = field(order, wire::ORDER_BUYER);
    let buyer = buyer_json.map(|b| Buyer {
        name: field(b, wire::PERSON_NAME).and_then(text),
        name_kana: field(b, wire::PERSON_NAME_KANA).and_then(text),
        company: None,
        email: field(b, wire::PERSON_EMAIL).and_then(text),
        phone: field(b, wire::PERSON_PHONE).and_then(text),
    });
    let yen = |key: &str| field(order, key).and_then(yen);
    let payment_method = field(order, wire::ORDER_PAYMENT_METHOD).and_then(text);
    let payment_status = field(order, wire::ORDER_PAYMENT_STATUS).and_then(text);
    Ok(ImportedOrder {
        order_id: order_no,
        order_number: None,
        status: ImportedOrder::mapped(state, target_status),
        cart_status: CartStatus::new(raw, state),
        ordered_at,
        updated_at: None,
        buyer: buyer.filter(|b| *b != Buyer::default()),
        billing_address: buyer_json.and_then(address),
        shipping_address: None,
        amounts: Amounts {
            subtotal: yen(wire::ORDER_SUBTOTAL),
            shipping: yen(wire::ORDER_POSTAGE),
            fees: yen(wire::ORDER_FEE),
            tax: yen(wire::ORDER_TAX),
            discount: yen(wire::ORDER_DISCOUNT),
            points: yen(wire::ORDER_POINTS),
            total: yen(wire::ORDER_TOTAL),
        },
        payment: (payment_method.is_some() || payment_status.is_some()).then_some(Payment {
            method: payment_method,
            status: payment_status,
        }),
        requested_delivery_date: shipments.iter().find_map(|s| s.requested_delivery_date),
        requested_time_slot: shipments.iter().find_map(|s| s.requested_time_slot.clone()),
        notes: field(order, wire::ORDER_NOTE).and_then(text),
        tracking_numbers: shipments
            .iter()
            .filter_map(|s| s.tracking_number.clone())
            .collect(),
        ship_date: None,
        items: all_items,
        shipments,
    })
}

fn address(person: &Value) -> Option<Address> {
    let get = |key: &str| field(person, key).and_then(text);
    Address {
        name: get(wire::PERSON_NAME),
        name_kana: get(wire::PERSON_NAME_KANA),
        company: None,
        postal_code: get(wire::PERSON_ZIP),
        prefecture: get(wire::PERSON_PREFECTURE),
        city: get(wire::PERSON_CITY),
        lines: wire::PERSON_ADDRESS_LINES
            .iter()
            .filter_map(|k| get(k))
            .collect(),
        phone: get(wire::PERSON_PHONE),
    }
    .non_empty()
}

fn items(
    delivery: &Value,
    order_no: &str,
    shipment_id: &str,
) -> Result<Vec<ImportedItem>, CartError> {
    let Some(Value::Array(lines)) = field(delivery, wire::DELIVERY_ITEMS) else {
        return Ok(Vec::new());
    };
    lines
        .iter()
        .map(|line| {
            let code = field(line, wire::ITEM_CODE)
                .and_then(text)
                .ok_or_else(|| missing(&format!("a line of order {order_no}"), wire::ITEM_CODE))?;
            Ok(ImportedItem {
                item_id: code.clone(),
                product_code: Some(code),
                name: field(line, wire::ITEM_NAME).and_then(text),
                options: match field(line, wire::ITEM_OPTIONS) {
                    Some(Value::Array(options)) => options.iter().filter_map(text).collect(),
                    _ => Vec::new(),
                },
                quantity: field(line, wire::ITEM_QUANTITY)
                    .and_then(number)
                    .unwrap_or(1),
                unit_price: field(line, wire::ITEM_PRICE).and_then(yen),
                shipment_id: Some(shipment_id.to_string()),
            })
        })
        .collect()
}

/// Yen sent as a number or a numeric string.
fn yen(v: &Value) -> Option<i64> {
    values::opt_yen(v).ok().flatten()
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    type Item = ImportedOrder;
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

    fn parse(
        &self,
        cursor: &Cursor,
        response: Response,
    ) -> Result<Page<ImportedOrder, Cursor>, CartError> {
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
            .map(|o| to_imported(o, &self.query.target_status))
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
