//! BASE orders: `GET /orders` (a summary list) and `GET /orders/detail/{unique_key}`, mapped to
//! the canonical order.

use chrono::{DateTime, FixedOffset};
use http::Method;
use mallsync_rules::base::BaseCredentials;
use mallsync_rules::imported::{self, Address, Amounts, Buyer, CartState, CartStatus, Payment};
use mallsync_rules::{ImportedItem, ImportedOrder, OmsStatus, Order, TrackingNumber};
use serde::Deserialize;

use super::auth::authorization;
use super::check;
use crate::exchange::{self, Page, Pages};
use crate::values::{self, id, opt_count, opt_text, opt_unix_time, opt_yen};
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
    pub cancelled: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub dispatched: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub modified: Option<DateTime<FixedOffset>>,
    /// `creditcard`, `cod`, `cvs`, `base_bt`, `atobarai`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub payment: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping_method: Option<String>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub shipping_fee: Option<i64>,
    /// 代引手数料.
    #[serde(default, deserialize_with = "opt_yen")]
    pub cod_fee: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub total: Option<i64>,
    #[serde(flatten)]
    pub buyer: PersonDetail,
    #[serde(default, deserialize_with = "opt_text")]
    pub mail_address: Option<String>,
    /// 備考.
    #[serde(default, deserialize_with = "opt_text")]
    pub remark: Option<String>,
    /// `ordered`, `unpaid`, `shipping`, `dispatched`, `cancelled`, `unshippable`.
    #[serde(default, deserialize_with = "opt_text")]
    pub dispatch_status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tracking_number: Option<String>,
    /// お届け指定日 `yyyy-mm-dd`.
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_date: Option<String>,
    /// お届け時間帯, 4 digits (`0812` = 午前中, `1214` = 12–14時).
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_time_zone: Option<String>,
    /// The delivery address.
    #[serde(default)]
    pub order_receiver: Option<PersonDetail>,
    #[serde(default)]
    pub order_discount: Option<Discount>,
    #[serde(default)]
    pub c_c_payment_transaction: Option<Transaction>,
    #[serde(default)]
    pub order_items: Vec<OrderItem>,
}

/// The buyer's fields on the order, and the same fields in `order_receiver`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonDetail {
    #[serde(default, deserialize_with = "opt_text")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub zip_code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub prefecture: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address2: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tel: Option<String>,
}

impl PersonDetail {
    fn name(&self) -> Option<String> {
        imported::full_name(self.last_name.as_deref(), self.first_name.as_deref())
    }

    fn to_address(&self) -> Option<Address> {
        Address {
            name: self.name(),
            postal_code: self.zip_code.clone(),
            prefecture: self.prefecture.clone(),
            lines: imported::lines([self.address.as_deref(), self.address2.as_deref()]),
            phone: self.tel.clone(),
            ..Address::default()
        }
        .non_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Discount {
    #[serde(default, deserialize_with = "opt_yen")]
    pub discount: Option<i64>,
}

/// A card payment's state (`authorized`, `captured`, …).
#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    #[serde(deserialize_with = "id")]
    pub order_item_id: String,
    /// BASE's product id.
    #[serde(default, deserialize_with = "opt_text")]
    pub item_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub title: Option<String>,
    /// The variation chosen (`藍`).
    #[serde(default, deserialize_with = "opt_text")]
    pub variation: Option<String>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub price: Option<i64>,
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

    /// The canonical order with `target_status` (the write-back's view of the whole order).
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        Ok(self.to_imported(target_status)?.to_order())
    }

    /// The whole order. BASE keeps one tracking number and one delivery address per order and
    /// writes per item, so the order has items and no shipments; the ship date is the dispatch
    /// date in Japan. `dispatch_status` `cancelled` enters the OMS as キャンセル.
    pub fn to_imported(&self, target_status: &OmsStatus) -> Result<ImportedOrder, CartError> {
        let ordered_at = self.ordered.ok_or_else(|| {
            CartError::malformed(format!(
                "BASE order {}: no order time (ordered)",
                self.unique_key
            ))
        })?;
        let raw = self.dispatch_status.clone().unwrap_or_default();
        let state = if raw == "cancelled" || self.cancelled.is_some() {
            CartState::Cancelled
        } else {
            CartState::Open
        };
        let buyer = Buyer {
            name: self.buyer.name(),
            email: self.mail_address.clone(),
            phone: self.buyer.tel.clone(),
            ..Buyer::default()
        };
        Ok(ImportedOrder {
            order_id: self.unique_key.clone(),
            order_number: None,
            status: ImportedOrder::mapped(state, target_status),
            cart_status: CartStatus::new(raw, state),
            ordered_at,
            updated_at: self.modified,
            buyer: (buyer != Buyer::default()).then_some(buyer),
            billing_address: self.buyer.to_address(),
            shipping_address: self
                .order_receiver
                .as_ref()
                .and_then(PersonDetail::to_address),
            items: self
                .order_items
                .iter()
                .map(|i| ImportedItem {
                    item_id: i.order_item_id.clone(),
                    product_code: i.item_id.clone(),
                    name: i.title.clone(),
                    options: i.variation.iter().cloned().collect(),
                    quantity: i.amount.unwrap_or(1),
                    unit_price: i.price,
                    shipment_id: None,
                })
                .collect(),
            shipments: Vec::new(),
            amounts: Amounts {
                subtotal: None,
                shipping: self.shipping_fee,
                fees: self.cod_fee.filter(|f| *f != 0),
                tax: None,
                discount: self
                    .order_discount
                    .as_ref()
                    .and_then(|d| d.discount)
                    .filter(|d| *d != 0),
                points: None,
                total: self.total,
            },
            payment: self.payment.clone().map(|method| Payment {
                method: Some(method),
                status: self
                    .c_c_payment_transaction
                    .as_ref()
                    .and_then(|t| t.status.clone()),
            }),
            requested_delivery_date: self.delivery_date.as_deref().and_then(values::date),
            requested_time_slot: self.delivery_time_zone.clone(),
            notes: self.remark.clone(),
            tracking_numbers: self
                .tracking_number
                .as_deref()
                .and_then(|t| TrackingNumber::parse(t).ok())
                .into_iter()
                .collect(),
            ship_date: self.dispatched.map(|t| t.date_naive()),
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

/// One step of an import: a page of the list into the cursor, or one order's detail.
pub fn import_step(
    api: &Api<BaseCredentials>,
    query: &ImportQuery,
    cursor: &exchange::KeyedCursor,
) -> impl Exchange<Output = crate::ImportPage<exchange::KeyedCursor>> {
    let target = query.target_status.clone();
    let reader = api.clone();
    exchange::keyed_step(
        ListPages {
            api: api.clone(),
            query: query.clone(),
        },
        0,
        cursor,
        move |key| build_order_detail(&reader, key),
        move |response| Ok(vec![parse_order_detail(&response)?.to_imported(&target)?]),
    )
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
