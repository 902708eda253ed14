//! BASE orders: `GET /orders` (a summary list) and `GET /orders/detail/{unique_key}`, mapped to
//! the canonical order.

use chrono::{DateTime, FixedOffset};
use http::Method;
use mallsync_rules::base::BaseCredentials;
use mallsync_rules::{Item, OmsStatus, Order, TrackingNumber};
use serde::Deserialize;

use super::auth::authorization;
use super::check;
use crate::exchange::{self, Page, Pages};
use crate::values::{self, id, opt_count, opt_text, opt_unix_time};
use crate::{wire, Api, CartError, Exchange, ImportQuery, Request, Response};

pub const ORDERS_PATH: &str = "/orders";
pub const ORDER_DETAIL_PATH: &str = "/orders/detail";
/// BASE's largest page.
pub const PAGE_LIMIT: u64 = 100;
/// An order item's `status` once dispatched, and once cancelled.
pub const ITEM_DISPATCHED: &str = "dispatched";
pub const ITEM_CANCELLED: &str = "cancelled";

/// One page of `GET /orders?start_ordered&end_ordered&limit&offset`, in Japan time. The window is
/// `from ≤ ordered < to`; BASE's end is inclusive to the second, so it gets `to − 1 s`.
pub fn build_list_orders(
    api: &Api<BaseCredentials>,
    query: &ImportQuery,
    offset: u64,
) -> Result<Request, CartError> {
    let from = values::to_japan_date_time(query.from);
    let to = values::to_japan_date_time(query.last_second());
    let limit = PAGE_LIMIT.to_string();
    let offset = offset.to_string();
    get(
        api,
        ORDERS_PATH,
        &[
            ("start_ordered", &from),
            ("end_ordered", &to),
            ("limit", &limit),
            ("offset", &offset),
        ],
    )
}

/// `GET /orders?limit=1`, for the connection test.
pub fn build_probe(api: &Api<BaseCredentials>) -> Result<Request, CartError> {
    get(api, ORDERS_PATH, &[("limit", "1")])
}

/// `GET /orders/detail/{unique_key}`.
pub fn build_order_detail(
    api: &Api<BaseCredentials>,
    unique_key: &str,
) -> Result<Request, CartError> {
    let path = format!("{ORDER_DETAIL_PATH}/{}", wire::segment(unique_key)?);
    get(api, &path, &[])
}

fn get(
    api: &Api<BaseCredentials>,
    path: &str,
    params: &[(&str, &str)],
) -> Result<Request, CartError> {
    let url = wire::url(&api.base_url, path, params);
    wire::empty(wire::builder(Method::GET, &url, Some(&authorization(api)?)))
}

/// `{"orders":[{"unique_key":…},…]}`: the list holds summaries; only the keys are used.
#[derive(Debug, Clone, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<OrderSummary>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderSummary {
    #[serde(deserialize_with = "id")]
    pub unique_key: String,
}

pub fn parse_orders_page(response: &Response) -> Result<OrdersPage, CartError> {
    check(response)?;
    wire::json_body(response.body(), "BASE orders page")
}

/// `{"order":{…}}` from the detail call (and from `edit_status`).
#[derive(Debug, Clone, Deserialize)]
struct DetailResponse {
    order: OrderDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderDetail {
    #[serde(deserialize_with = "id")]
    pub unique_key: String,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub ordered: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub dispatched: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub modified: Option<DateTime<FixedOffset>>,
    /// `creditcard`, `cod`, `cvs`, `base_bt`, `atobarai`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub payment: Option<String>,
    /// `ordered`, `unpaid`, `shipping`, `dispatched`, `cancelled`, `unshippable`.
    #[serde(default, deserialize_with = "opt_text")]
    pub dispatch_status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tracking_number: Option<String>,
    /// お届け指定日 `yyyy-mm-dd`.
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_date: Option<String>,
    #[serde(default)]
    pub order_items: Vec<OrderItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    #[serde(deserialize_with = "id")]
    pub order_item_id: String,
    #[serde(default, deserialize_with = "opt_count")]
    pub amount: Option<u32>,
    /// `ordered`, `dispatched` or `cancelled`.
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
}

pub fn parse_order_detail(response: &Response) -> Result<OrderDetail, CartError> {
    check(response)?;
    let body: DetailResponse = wire::json_body(response.body(), "BASE order detail")?;
    Ok(body.order)
}

impl OrderDetail {
    pub fn item(&self, order_item_id: &str) -> Option<&OrderItem> {
        self.order_items
            .iter()
            .find(|i| i.order_item_id == order_item_id)
    }

    /// The canonical order with `target_status`. BASE keeps one tracking number per order and
    /// writes per item, so the order has items and no shipments; the ship date is the dispatch
    /// date in Japan. The carrier is left out: BASE gives only its own company id.
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        let ordered_at = self.ordered.ok_or_else(|| {
            CartError::malformed(format!(
                "BASE order {}: no order time (ordered)",
                self.unique_key
            ))
        })?;
        Ok(Order {
            order_id: self.unique_key,
            status: target_status.clone(),
            ordered_at,
            updated_at: self.modified,
            ship_date: self.dispatched.map(|t| t.date_naive()),
            tracking_numbers: self
                .tracking_number
                .as_deref()
                .and_then(|t| TrackingNumber::parse(t).ok())
                .into_iter()
                .collect(),
            carrier: None,
            requested_delivery_date: self.delivery_date.as_deref().and_then(values::date),
            shipments: Vec::new(),
            items: self
                .order_items
                .into_iter()
                .map(|i| Item {
                    item_id: i.order_item_id,
                    quantity: i.amount.unwrap_or(1),
                })
                .collect(),
        })
    }
}

struct ListPages {
    api: Api<BaseCredentials>,
    query: ImportQuery,
}

impl Pages for ListPages {
    type Item = String;
    type Cursor = u64;

    fn request(&self, offset: &u64) -> Result<Request, CartError> {
        build_list_orders(&self.api, &self.query, *offset)
    }

    /// BASE gives no total: a short or empty page is the last.
    fn parse(&self, offset: &u64, response: Response) -> Result<Page<String, u64>, CartError> {
        let page = parse_orders_page(&response)?;
        let next = exchange::next_offset(*offset, page.orders.len(), PAGE_LIMIT, None);
        Ok(Page {
            items: page.orders.into_iter().map(|o| o.unique_key).collect(),
            next,
        })
    }
}

/// The list pages, then one detail call per order.
pub fn list_then_details(
    api: Api<BaseCredentials>,
    query: ImportQuery,
) -> impl Exchange<Output = Vec<Order>> {
    let target = query.target_status.clone();
    let list = exchange::paged(
        ListPages {
            api: api.clone(),
            query,
        },
        0,
    );
    exchange::each_listed(
        list,
        move |key: &String| build_order_detail(&api, key),
        move |_, response: Response| parse_order_detail(&response)?.into_order(&target),
    )
}
