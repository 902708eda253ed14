//! Bカート orders: `GET /orders` with their products and 出荷 (logistics) records, mapped to the
//! canonical order.

use http::Method;
use mallsync_rules::bcart::BcartCredentials;
use mallsync_rules::imported::{self, Address, Amounts, Buyer, CartState, CartStatus, Payment};
use mallsync_rules::{
    ImportedItem, ImportedOrder, ImportedShipment, OmsStatus, Order, TrackingNumber,
};
use serde::Deserialize;

use super::auth::authorization;
use crate::values::{self, id, opt_count, opt_text, opt_yen};
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
    /// 受注番号.
    #[serde(default, deserialize_with = "opt_text")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub ordered_at: Option<String>,
    /// The shop's own order status label (`新規注文`, `完了`, `キャンセル`, custom labels).
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_comp_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_department: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_tel: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_mobile_phone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_zip: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_pref: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_address1: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_address2: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_address3: Option<String>,
    /// 決済方法 as the shop names it (`銀行振込`, `代金引換`, …).
    #[serde(default, deserialize_with = "opt_text")]
    pub payment: Option<String>,
    /// 入金日時; set once the shop records the payment.
    #[serde(default, deserialize_with = "opt_text")]
    pub payment_at: Option<String>,
    /// 商品合計.
    #[serde(default, deserialize_with = "opt_yen")]
    pub total_price: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub tax: Option<i64>,
    /// 代引手数料.
    #[serde(default, deserialize_with = "opt_yen")]
    pub cod_cost: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub shipping_cost: Option<i64>,
    /// 請求金額.
    #[serde(default, deserialize_with = "opt_yen")]
    pub final_price: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub use_point: Option<i64>,
    /// The buyer's message (備考).
    #[serde(default, deserialize_with = "opt_text")]
    pub customer_message: Option<String>,
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
    /// 品番.
    #[serde(default, deserialize_with = "opt_text")]
    pub product_no: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub product_name: Option<String>,
    /// The セット (pack) name, e.g. `10枚入`.
    #[serde(default, deserialize_with = "opt_text")]
    pub set_name: Option<String>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub unit_price: Option<i64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub order_pro_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_text")]
    pub item_type: Option<String>,
    /// Chosen options; their element shape is not public [?]: strings, or objects whose
    /// `name`/`value` (or any text) are read.
    #[serde(default)]
    pub options: Option<serde_json::Value>,
}

/// One 出荷 record: a destination with its own 送り状番号 and 発送日.
#[derive(Debug, Clone, Deserialize)]
pub struct Logistic {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// 出荷管理番号.
    #[serde(default, deserialize_with = "opt_text")]
    pub shipment_code: Option<String>,
    /// 配送グループ.
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping_group_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub comp_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub zip: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub pref: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address1: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address2: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address3: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tel: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub shipment_date: Option<String>,
    /// 配送希望日.
    #[serde(default, deserialize_with = "opt_text")]
    pub due_date: Option<String>,
    /// 配送希望時間.
    #[serde(default, deserialize_with = "opt_text")]
    pub due_time: Option<String>,
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

    /// The page's orders, whole.
    pub fn imported_orders(
        &self,
        target_status: &OmsStatus,
    ) -> Result<Vec<ImportedOrder>, CartError> {
        self.orders
            .iter()
            .map(|o| o.to_imported(target_status))
            .collect()
    }
}

/// Order status labels are the shop's own; one holding `キャンセル` (Bカート's cancel label, or a
/// renamed one such as `キャンセル済`) means the order is cancelled.
pub const CANCELLED_LABEL: &str = "キャンセル";

impl BcartOrder {
    /// The canonical order with `target_status` (the write-back's view of the whole order).
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        Ok(self.to_imported(target_status)?.to_order())
    }

    /// The whole order. Shipments are the 出荷 records (送り状番号 as tracking, the products
    /// pointing at them, each its own address); the order's ship date and requested date are its
    /// first 出荷 record's that has one. Shipping, fee and point lines are amounts, not items.
    pub fn to_imported(&self, target_status: &OmsStatus) -> Result<ImportedOrder, CartError> {
        let raw = self.ordered_at.as_deref().unwrap_or_default();
        let ordered_at = values::japan_date_time(raw).ok_or_else(|| {
            CartError::malformed(format!(
                "Bカート order {}: ordered_at {raw:?} is not yyyy-MM-dd HH:mm:ss",
                self.id
            ))
        })?;
        let items: Vec<ImportedItem> = self
            .order_products
            .iter()
            .filter(|p| {
                p.item_type
                    .as_deref()
                    .is_none_or(|t| t == ITEM_TYPE_PRODUCT)
            })
            .map(|p| ImportedItem {
                item_id: p.id.clone(),
                product_code: p.product_no.clone(),
                name: p.product_name.clone(),
                options: p
                    .set_name
                    .iter()
                    .cloned()
                    .chain(option_texts(p.options.as_ref()))
                    .collect(),
                quantity: p.order_pro_count.unwrap_or(1),
                unit_price: p.unit_price,
                shipment_id: p.logistics_id.clone(),
            })
            .collect();
        let shipments: Vec<ImportedShipment> = self
            .logistics
            .iter()
            .map(|l| ImportedShipment {
                shipment_id: l.id.clone(),
                shipment_code: l.shipment_code.clone(),
                shipping_group_id: l.shipping_group_id.clone(),
                delivery_method: None,
                address: Address {
                    name: l.name.clone(),
                    company: l.comp_name.clone(),
                    postal_code: l.zip.clone(),
                    prefecture: l.pref.clone(),
                    lines: imported::lines([
                        l.address1.as_deref(),
                        l.address2.as_deref(),
                        l.address3.as_deref(),
                    ]),
                    phone: l.tel.clone(),
                    ..Address::default()
                }
                .non_empty(),
                requested_delivery_date: l.due_date.as_deref().and_then(values::date),
                requested_time_slot: l.due_time.clone(),
                tracking_number: tracking(l),
                ship_date: l.shipment_date.as_deref().and_then(values::date),
                item_ids: items
                    .iter()
                    .filter(|i| i.shipment_id.as_deref() == Some(l.id.as_str()))
                    .map(|i| i.item_id.clone())
                    .collect(),
            })
            .collect();
        let status = self.status.clone().unwrap_or_default();
        let state = if status.contains(CANCELLED_LABEL) {
            CartState::Cancelled
        } else {
            CartState::Open
        };
        let buyer = Buyer {
            name: self.customer_name.clone(),
            name_kana: None,
            company: self.customer_comp_name.clone(),
            email: self.customer_email.clone(),
            phone: self
                .customer_tel
                .clone()
                .or_else(|| self.customer_mobile_phone.clone()),
        };
        Ok(ImportedOrder {
            order_id: self.id.clone(),
            order_number: self.code.clone(),
            status: ImportedOrder::mapped(state, target_status),
            cart_status: CartStatus::new(status, state),
            ordered_at,
            updated_at: None,
            buyer: (buyer != Buyer::default()).then_some(buyer),
            billing_address: Address {
                name: self.customer_name.clone(),
                company: self.customer_comp_name.clone(),
                postal_code: self.customer_zip.clone(),
                prefecture: self.customer_pref.clone(),
                lines: imported::lines([
                    self.customer_address1.as_deref(),
                    self.customer_address2.as_deref(),
                    self.customer_address3.as_deref(),
                ]),
                phone: self.customer_tel.clone(),
                ..Address::default()
            }
            .non_empty(),
            shipping_address: None,
            amounts: Amounts {
                subtotal: self.total_price,
                shipping: self.shipping_cost,
                fees: self.cod_cost,
                tax: self.tax,
                discount: None,
                points: self.use_point.filter(|p| *p != 0),
                total: self.final_price,
            },
            payment: self.payment.clone().map(|method| Payment {
                method: Some(method),
                status: self.payment_at.as_ref().map(|_| "入金済".to_string()),
            }),
            requested_delivery_date: shipments.iter().find_map(|s| s.requested_delivery_date),
            requested_time_slot: shipments.iter().find_map(|s| s.requested_time_slot.clone()),
            notes: self.customer_message.clone(),
            tracking_numbers: shipments
                .iter()
                .filter_map(|s| s.tracking_number.clone())
                .collect(),
            ship_date: shipments.iter().find_map(|s| s.ship_date),
            items,
            shipments,
        })
    }
}

/// Option texts from whatever shape Bカート sends (`["赤"]`, `[{"name":"色","value":"赤"}]`).
fn option_texts(options: Option<&serde_json::Value>) -> Vec<String> {
    let Some(serde_json::Value::Array(options)) = options else {
        return Vec::new();
    };
    options
        .iter()
        .filter_map(|o| match o {
            serde_json::Value::String(s) => imported::non_blank(Some(s)),
            serde_json::Value::Object(map) => {
                let text = |k: &str| {
                    map.get(k)
                        .and_then(|v| v.as_str())
                        .and_then(|s| imported::non_blank(Some(s)))
                };
                match (text("name"), text("value")) {
                    (Some(n), Some(v)) => Some(format!("{n}: {v}")),
                    (n, v) => n.or(v),
                }
            }
            _ => None,
        })
        .collect()
}

/// A 送り状番号 the canonical order can hold; one it cannot (spaces, symbols) is left out rather
/// than failing the whole import.
fn tracking(l: &Logistic) -> Option<TrackingNumber> {
    TrackingNumber::parse(l.delivery_code.as_deref()?).ok()
}
