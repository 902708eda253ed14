//! CS-Cart orders: `GET /api/orders` (a summary list, numbers as strings) and
//! `GET /api/orders/{id}` for products and shipping groups, mapped to the canonical order.

use chrono::{DateTime, FixedOffset, NaiveDate};
use http::Method;
use mallsync_rules::cscart::CscartCredentials;
use mallsync_rules::{Item, OmsStatus, Order, Shipment};
use serde::Deserialize;

use super::auth::authorization;
use crate::exchange::{self, Page, Pages};
use crate::values::{id, keyed, opt_count, opt_text, opt_unix_time};
use crate::{wire, Api, CartError, Exchange, ImportQuery, Request, Response};

pub const ORDERS_PATH: &str = "/api/orders";
/// Orders per page (CS-Cart sets no upper bound; 100 keeps responses small).
pub const PAGE_SIZE: u64 = 100;
/// `period=C`: without it CS-Cart ignores `time_from`/`time_to`.
const PERIOD_CUSTOM: &str = "C";

/// One page of `GET /api/orders?period=C&time_from&time_to&status[]…&page&items_per_page`. Times
/// are UNIX seconds (any other form CS-Cart may read as "now"); the window is `from ≤ t < to` and
/// CS-Cart's `time_to` is inclusive, so it gets `to − 1 s`. Every requested status goes in one
/// listing as `status[]`; none means every status.
pub fn build_list_orders(
    api: &Api<CscartCredentials>,
    query: &ImportQuery,
    page: u64,
) -> Result<Request, CartError> {
    let from = query.from.timestamp().to_string();
    let to = query.last_second().timestamp().to_string();
    let page = page.to_string();
    let size = PAGE_SIZE.to_string();
    let mut params = vec![
        ("period", PERIOD_CUSTOM),
        ("time_from", from.as_str()),
        ("time_to", to.as_str()),
    ];
    params.extend(query.cart_statuses.iter().map(|s| ("status[]", s.as_str())));
    params.push(("page", &page));
    params.push(("items_per_page", &size));
    get(api, ORDERS_PATH, &params)
}

/// `GET /api/orders?items_per_page=1`, for the connection test (needs `view_orders`).
pub fn build_probe(api: &Api<CscartCredentials>) -> Result<Request, CartError> {
    get(api, ORDERS_PATH, &[("items_per_page", "1")])
}

/// `GET /api/orders/{order_id}`.
pub fn build_order_detail(
    api: &Api<CscartCredentials>,
    order_id: &str,
) -> Result<Request, CartError> {
    let path = format!("{ORDERS_PATH}/{}", wire::segment(order_id)?);
    get(api, &path, &[])
}

fn get(
    api: &Api<CscartCredentials>,
    path: &str,
    params: &[(&str, &str)],
) -> Result<Request, CartError> {
    let url = wire::url(&api.base_url, path, params);
    wire::empty(wire::builder(Method::GET, &url, Some(&authorization(api))))
}

/// `{"orders":[{"order_id":"101",…}],"params":{"page":"1","items_per_page":"100","total_items":"3"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<OrderSummary>,
    #[serde(default)]
    params: Option<PageParams>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderSummary {
    #[serde(deserialize_with = "id")]
    pub order_id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct PageParams {
    #[serde(default, deserialize_with = "opt_count")]
    total_items: Option<u32>,
}

impl OrdersPage {
    pub fn total_items(&self) -> Option<u64> {
        self.params.as_ref()?.total_items.map(u64::from)
    }
}

pub fn parse_orders_page(response: &Response) -> Result<OrdersPage, CartError> {
    wire::parse_json(response, "CS-Cart orders page")
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderDetail {
    #[serde(deserialize_with = "id")]
    pub order_id: String,
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// CS-Cart ≥ 4.16.
    #[serde(default, deserialize_with = "opt_unix_time")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// `{"<item_id>": {…}}`; the item id is what shipments reference.
    #[serde(default, deserialize_with = "keyed")]
    pub products: Vec<(String, Product)>,
    #[serde(default, deserialize_with = "keyed")]
    pub shipping: Vec<(String, ShippingGroup)>,
    /// The products each shipping group carries (`product_groups[n].products`, the group's
    /// `chosen_shippings[].shipping_id`) [M: CS-Cart's order_info; not in the API docs].
    #[serde(default, deserialize_with = "keyed")]
    pub product_groups: Vec<(String, ProductGroup)>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProductGroup {
    #[serde(default, deserialize_with = "keyed")]
    pub products: Vec<(String, Product)>,
    #[serde(default, deserialize_with = "keyed")]
    pub chosen_shippings: Vec<(String, ShippingGroup)>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    #[serde(default, deserialize_with = "opt_text")]
    pub item_id: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub amount: Option<u32>,
    /// `extra.group_key`: the shipping group (`shipping[].group_key`) the product ships in. Read
    /// leniently: `extra` holds whatever add-ons put there.
    #[serde(default)]
    pub extra: Option<serde_json::Value>,
}

impl Product {
    fn group_key(&self) -> Option<String> {
        match self.extra.as_ref()?.get("group_key")? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShippingGroup {
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub group_key: Option<String>,
    /// Japanese edition: the buyer's requested date, `指定なし` when none.
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_date: Option<String>,
}

pub fn parse_order_detail(response: &Response) -> Result<OrderDetail, CartError> {
    wire::parse_json(response, "CS-Cart order detail")
}

impl OrderDetail {
    /// The products (item id, amount) a shipment of `shipping_id` carries, from the cart's own
    /// order: the group's products when CS-Cart says which group holds what (`product_groups`, or
    /// each product's `extra.group_key` against `shipping[].group_key`), every product when the
    /// order has only this one group; `None` when the cart cannot tell.
    pub fn products_of_group(&self, shipping_id: &str) -> Option<Vec<(String, u32)>> {
        let listed = |products: &[(String, Product)]| -> Vec<(String, u32)> {
            products
                .iter()
                .map(|(key, p)| {
                    (
                        p.item_id.clone().unwrap_or_else(|| key.clone()),
                        p.amount.unwrap_or(1),
                    )
                })
                .collect()
        };
        let group = self.product_groups.iter().find(|(_, g)| {
            g.chosen_shippings
                .iter()
                .any(|(_, s)| s.shipping_id.as_deref() == Some(shipping_id))
        });
        if let Some((_, g)) = group.filter(|(_, g)| !g.products.is_empty()) {
            return Some(listed(&g.products));
        }
        let group_key = self
            .shipping
            .iter()
            .find(|(_, g)| g.shipping_id.as_deref() == Some(shipping_id))
            .and_then(|(_, g)| g.group_key.clone());
        if let Some(key) = group_key {
            let keyed: Vec<(String, Product)> = self
                .products
                .iter()
                .filter(|(_, p)| p.group_key().as_deref() == Some(key.as_str()))
                .cloned()
                .collect();
            if !keyed.is_empty() {
                return Some(listed(&keyed));
            }
        }
        (self.shipping_ids() == [shipping_id] && !self.products.is_empty())
            .then(|| listed(&self.products))
    }

    /// The shipping ids of the order's shipping groups, in order.
    pub fn shipping_ids(&self) -> Vec<&str> {
        self.shipping
            .iter()
            .filter_map(|(_, g)| g.shipping_id.as_deref())
            .collect()
    }

    /// The canonical order with `target_status` (CS-Cart's letters are not OMS statuses). Each
    /// shipping group is a shipment holding the group's items ([`OrderDetail::products_of_group`];
    /// none when CS-Cart does not say). CS-Cart keeps tracking on separate shipment records, so
    /// an imported order has none.
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        let ordered_at = self.timestamp.ok_or_else(|| {
            CartError::malformed(format!(
                "CS-Cart order {}: no order time (timestamp)",
                self.order_id
            ))
        })?;
        let items: Vec<Item> = self
            .products
            .iter()
            .map(|(key, p)| Item {
                item_id: p.item_id.clone().unwrap_or_else(|| key.clone()),
                quantity: p.amount.unwrap_or(1),
            })
            .collect();
        // Each group lists what it carries when CS-Cart says (one group: every item), so the
        // write-back can name a shipment's products without reading the order again.
        let shipments = self
            .shipping
            .iter()
            .filter_map(|(_, g)| g.shipping_id.clone())
            .map(|shipping_id| Shipment {
                items: self
                    .products_of_group(&shipping_id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(item_id, quantity)| Item { item_id, quantity })
                    .collect(),
                shipment_id: shipping_id,
                tracking_number: None,
            })
            .collect();
        Ok(Order {
            order_id: self.order_id,
            status: target_status.clone(),
            ordered_at,
            updated_at: self.updated_at,
            ship_date: None,
            tracking_numbers: Vec::new(),
            carrier: None,
            requested_delivery_date: self
                .shipping
                .iter()
                .find_map(|(_, g)| g.delivery_date.as_deref().and_then(japanese_date)),
            shipments,
            items,
        })
    }
}

/// `2026/11/25` (the Japanese edition) or `2026-11-25`; `指定なし` and anything else are none.
fn japanese_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y/%m/%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%Y-%m-%d"))
        .ok()
}

struct ListPages {
    api: Api<CscartCredentials>,
    query: ImportQuery,
}

impl Pages for ListPages {
    type Item = String;
    type Cursor = u64;

    fn request(&self, page: &u64) -> Result<Request, CartError> {
        build_list_orders(&self.api, &self.query, *page)
    }

    /// The last page is the one reaching `total_items` (CS-Cart ≥ 4.16 clamps pages past the end
    /// to the last page for some objects, so "until empty" alone could loop), or an empty or
    /// short one.
    fn parse(&self, page: &u64, response: Response) -> Result<Page<String, u64>, CartError> {
        let listed = parse_orders_page(&response)?;
        let got = listed.orders.len() as u64;
        let seen = page.saturating_mul(PAGE_SIZE);
        let more = got > 0
            && match listed.total_items() {
                Some(total) => seen < total,
                None => got == PAGE_SIZE,
            };
        Ok(Page {
            items: listed.orders.into_iter().map(|o| o.order_id).collect(),
            next: more.then(|| page + 1),
        })
    }
}

/// The list pages, then one detail call per order (the list has no products or shipping).
pub fn list_then_details(
    api: Api<CscartCredentials>,
    query: ImportQuery,
) -> impl Exchange<Output = Vec<Order>> {
    let target = query.target_status.clone();
    let list = exchange::paged(
        ListPages {
            api: api.clone(),
            query,
        },
        1,
    );
    exchange::each_listed(
        list,
        move |id: &String| build_order_detail(&api, id),
        move |_, response: Response| parse_order_detail(&response)?.into_order(&target),
    )
}
