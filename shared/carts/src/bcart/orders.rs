//! Bカート orders: `GET /orders` with their products and 出荷 (logistics) records, mapped to the
//! canonical order.

use http::Method;
use mallsync_rules::bcart::BcartCredentials;
use mallsync_rules::{Item, OmsStatus, Order, Shipment, TrackingNumber};
use serde::Deserialize;

use super::auth::authorization;
use crate::values::{self, id, opt_count, opt_text};
use crate::{wire, Api, CartError, ImportQuery, Request, Response};

pub const ORDERS_PATH: &str = "/orders";
/// Bカート's largest page.
pub const PAGE_LIMIT: u64 = 100;
/// `order_products[].item_type` of a product line (the others are shipping, fees and points).
const ITEM_TYPE_PRODUCT: &str = "product";

/// One page of `GET /orders?…&ordered_at__gte&ordered_at__lte&complete=1`, in Japan time. The
/// window is `from ≤ ordered_at < to`; Bカート's bound is inclusive to the second, so it gets
/// `to − 1 s`. `status` is one Bカート order status label (`新規注文`), or none for all.
pub fn build_list_orders(
    api: &Api<BcartCredentials>,
    query: &ImportQuery,
    status: Option<&str>,
    offset: u64,
) -> Result<Request, CartError> {
    let from = values::to_japan_date_time(query.from);
    let to = values::to_japan_date_time(query.last_second());
    let limit = PAGE_LIMIT.to_string();
    let offset = offset.to_string();
    let mut params = vec![
        ("ordered_at__gte", from.as_str()),
        ("ordered_at__lte", to.as_str()),
        ("limit", limit.as_str()),
        ("offset", offset.as_str()),
        // Embeds order_products[] and logistics[] (up to 300 each) in every order.
        ("complete", "1"),
    ];
    if let Some(status) = status {
        params.push(("status", status));
    }
    get(api, &params)
}

/// `GET /orders?limit=1`, for the connection test.
pub fn build_probe(api: &Api<BcartCredentials>) -> Result<Request, CartError> {
    get(api, &[("limit", "1")])
}

fn get(api: &Api<BcartCredentials>, params: &[(&str, &str)]) -> Result<Request, CartError> {
    let url = wire::url(&api.base_url, ORDERS_PATH, params);
    wire::empty(wire::builder(Method::GET, &url, Some(&authorization(api))))
}

pub fn parse_orders_page(response: &Response) -> Result<OrdersPage, CartError> {
    wire::parse_json(response, "Bカート orders page")
}

/// `{"orders":[…],"meta":{"total":N}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<BcartOrder>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Debug, Clone, Deserialize)]
struct Meta {
    #[serde(default, deserialize_with = "opt_count")]
    total: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BcartOrder {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub ordered_at: Option<String>,
    #[serde(default)]
    pub order_products: Vec<OrderProduct>,
    #[serde(default)]
    pub logistics: Vec<Logistic>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderProduct {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub logistics_id: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub order_pro_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_text")]
    pub item_type: Option<String>,
}

/// One 出荷 record: a destination with its own 送り状番号 and 発送日.
#[derive(Debug, Clone, Deserialize)]
pub struct Logistic {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub shipment_date: Option<String>,
    /// 配送希望日.
    #[serde(default, deserialize_with = "opt_text")]
    pub due_date: Option<String>,
}

impl OrdersPage {
    /// The cart's total across all pages, when it says.
    pub fn total(&self) -> Option<u64> {
        self.meta.as_ref()?.total.map(u64::from)
    }

    /// The page's orders in the canonical form, each with `target_status` (Bカート's order status
    /// labels are shop-defined, not OMS statuses).
    pub fn into_orders(self, target_status: &OmsStatus) -> Result<Vec<Order>, CartError> {
        self.orders
            .into_iter()
            .map(|o| o.into_order(target_status))
            .collect()
    }
}

impl BcartOrder {
    /// Shipments are the 出荷 records (送り状番号 as tracking, the products pointing at them);
    /// the order's ship date and requested date are its first 出荷 record's that has one.
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        let raw = self.ordered_at.as_deref().unwrap_or_default();
        let ordered_at = values::japan_date_time(raw).ok_or_else(|| {
            CartError::malformed(format!(
                "Bカート order {}: ordered_at {raw:?} is not yyyy-MM-dd HH:mm:ss",
                self.id
            ))
        })?;
        let products: Vec<&OrderProduct> = self
            .order_products
            .iter()
            .filter(|p| {
                p.item_type
                    .as_deref()
                    .is_none_or(|t| t == ITEM_TYPE_PRODUCT)
            })
            .collect();
        let shipments: Vec<Shipment> = self
            .logistics
            .iter()
            .map(|l| Shipment {
                shipment_id: l.id.clone(),
                tracking_number: tracking(l),
                items: products
                    .iter()
                    .filter(|p| p.logistics_id.as_deref() == Some(l.id.as_str()))
                    .map(|p| item(p))
                    .collect(),
            })
            .collect();
        Ok(Order {
            order_id: self.id,
            status: target_status.clone(),
            ordered_at,
            updated_at: None,
            ship_date: self
                .logistics
                .iter()
                .find_map(|l| l.shipment_date.as_deref().and_then(values::date)),
            tracking_numbers: self.logistics.iter().filter_map(tracking).collect(),
            carrier: None,
            requested_delivery_date: self
                .logistics
                .iter()
                .find_map(|l| l.due_date.as_deref().and_then(values::date)),
            shipments,
            items: products.into_iter().map(item).collect(),
        })
    }
}

/// A 送り状番号 the canonical order can hold; one it cannot (spaces, symbols) is left out rather
/// than failing the whole import.
fn tracking(l: &Logistic) -> Option<TrackingNumber> {
    TrackingNumber::parse(l.delivery_code.as_deref()?).ok()
}

fn item(p: &OrderProduct) -> Item {
    Item {
        item_id: p.id.clone(),
        quantity: p.order_pro_count.unwrap_or(1),
    }
}
