//! futureshop 受注検索API (`GET /admin-api/v1/shipping`): the search, its `nextUrl` cursor, and the
//! mapping of each order to the canonical one.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use http::Method;
use mallsync_rules::futureshop::FutureshopCredentials;
use mallsync_rules::imported::{self, Address, Amounts, Buyer, CartState, CartStatus, Payment};
use mallsync_rules::time::jst;
use mallsync_rules::{
    ImportedItem, ImportedOrder, ImportedShipment, OmsStatus, Order, TrackingNumber,
};
use serde::Deserialize;

use super::auth::authorized;
use crate::{values, wire};
use crate::{Api, CartError, ImportQuery, Request, Response};

/// The order search (受注検索API(発送・入金ステータス)) [M].
pub const SHIPPING_SEARCH_PATH: &str = "/admin-api/v1/shipping";
/// Search times and order dates: Japan time without an offset, `yyyy-MM-ddTHH:mm:ss` [M].
pub const DATE_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The `shippingStatus` filter values (未発送 / 発送済み) [M].
pub const SHIPPING_STATUSES: [&str; 2] = ["notShipped", "shipped"];
/// The `paymentStatus` filter values (未入金 / 入金済み) [M].
pub const PAYMENT_STATUSES: [&str; 2] = ["notReceived", "received"];

/// How a store's import filters land on the search: futureshop filters shipping and payment
/// status itself; any other value names a 処理状況区分 (`AWAITING_PAYMENT`, `COMPLETED`, …) that
/// the search cannot filter, so the orders are filtered after each page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusFilters {
    /// `shippingStatus`, when exactly one of [`SHIPPING_STATUSES`] is asked for.
    pub shipping_status: Option<String>,
    /// `paymentStatus`, when exactly one of [`PAYMENT_STATUSES`] is asked for.
    pub payment_status: Option<String>,
    /// 処理状況区分 values to keep; empty keeps every order.
    pub order_statuses: Vec<String>,
}

impl StatusFilters {
    pub fn from_cart_statuses(cart_statuses: &[String]) -> StatusFilters {
        let pick = |known: [&str; 2]| {
            let asked: Vec<&str> = known
                .into_iter()
                .filter(|k| cart_statuses.iter().any(|s| s.trim() == *k))
                .collect();
            // Both values asked for is the same as no filter.
            match asked.as_slice() {
                [one] => Some((*one).to_string()),
                _ => None,
            }
        };
        StatusFilters {
            shipping_status: pick(SHIPPING_STATUSES),
            payment_status: pick(PAYMENT_STATUSES),
            order_statuses: cart_statuses
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| {
                    !s.is_empty()
                        && !SHIPPING_STATUSES.contains(&s.as_str())
                        && !PAYMENT_STATUSES.contains(&s.as_str())
                })
                .collect(),
        }
    }

    /// The search's query parameters for a window (times in Japan time, as futureshop reads them).
    pub fn params(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let japan = |t: DateTime<Utc>| t.with_timezone(&jst()).format(DATE_TIME_FORMAT).to_string();
        let mut params = vec![("orderDateStart", japan(from)), ("orderDateEnd", japan(to))];
        if let Some(s) = &self.shipping_status {
            params.push(("shippingStatus", s.clone()));
        }
        if let Some(s) = &self.payment_status {
            params.push(("paymentStatus", s.clone()));
        }
        params
    }

    fn keeps(&self, order: &OrderJson) -> bool {
        self.order_statuses.is_empty() || self.order_statuses.contains(&order.status)
    }
}

/// One page of the search: its orders, in futureshop's own shape, and the next page's URL.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippingPage {
    pub orders: Vec<OrderJson>,
    pub next_url: Option<String>,
}

impl ShippingPage {
    /// The page's orders that pass the filters, as canonical orders with the store's target status.
    pub fn into_orders(
        self,
        filters: &StatusFilters,
        target_status: &OmsStatus,
    ) -> Result<Vec<Order>, CartError> {
        self.orders
            .iter()
            .filter(|o| filters.keeps(o))
            .map(|o| o.to_order(target_status))
            .collect()
    }

    /// The page's orders that pass the filters, whole.
    pub fn imported_orders(
        &self,
        filters: &StatusFilters,
        query: &ImportQuery,
    ) -> Result<Vec<ImportedOrder>, CartError> {
        self.orders
            .iter()
            .filter(|o| filters.keeps(o))
            .map(|o| o.to_imported(&query.target_status, query.option_price))
            .collect()
    }
}

/// The search answer `{"orderList": […], "nextUrl": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageJson {
    #[serde(default)]
    order_list: Option<Vec<OrderJson>>,
    #[serde(default)]
    next_url: Option<String>,
}

/// One order of the search [M, the Ruby client's fixture; b→dash field list]. futureshop sends ""
/// for every unset text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderJson {
    #[serde(deserialize_with = "values::id")]
    pub order_no: String,
    /// 注文日時, Japan time.
    pub date: String,
    /// 処理状況区分 (`AWAITING_PAYMENT`, `CANCELLED`, `REFUNDED`, `COMPLETED`, …).
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "values::opt_yen")]
    pub grand_total: Option<i64>,
    #[serde(default, deserialize_with = "values::opt_yen")]
    pub product_total: Option<i64>,
    #[serde(default, deserialize_with = "values::opt_yen")]
    pub tax_total: Option<i64>,
    #[serde(default, deserialize_with = "values::opt_yen")]
    pub discount_total: Option<i64>,
    /// 送料.
    #[serde(default, deserialize_with = "values::opt_yen")]
    pub postage: Option<i64>,
    /// 決済方法 (`COD`, `クレジットカード`, …).
    #[serde(default, deserialize_with = "values::opt_text")]
    pub payment_type: Option<String>,
    /// 入金日; set once the payment is received.
    #[serde(default, deserialize_with = "values::opt_text")]
    pub receipt_date: Option<String>,
    #[serde(default)]
    pub buyer_info: Option<PersonJson>,
    #[serde(default)]
    pub shipment_list: Vec<ShipmentJson>,
}

/// `buyerInfo` and `addressInfo`: the same person fields, with the postal code, prefecture and
/// phone under different names in each.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonJson {
    #[serde(default, deserialize_with = "values::opt_text")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub last_name_kana: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub first_name_kana: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub mail: Option<String>,
    /// `buyerInfo`.
    #[serde(default, deserialize_with = "values::opt_text")]
    pub zip_code: Option<String>,
    /// `addressInfo`.
    #[serde(default, deserialize_with = "values::opt_text")]
    pub postal_code: Option<String>,
    /// `TOKYO`, `AOMORI`, … (futureshop's codes, passed on as they are).
    #[serde(default, deserialize_with = "values::opt_text")]
    pub prefecture: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub address1: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub address2: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub address3: Option<String>,
    /// `buyerInfo`.
    #[serde(default, deserialize_with = "values::opt_text")]
    pub tel_no_main: Option<String>,
    /// `addressInfo`.
    #[serde(default, deserialize_with = "values::opt_text")]
    pub phone_no: Option<String>,
}

impl PersonJson {
    fn name(&self) -> Option<String> {
        imported::full_name(self.last_name.as_deref(), self.first_name.as_deref())
    }

    fn kana(&self) -> Option<String> {
        imported::full_name(
            self.last_name_kana.as_deref(),
            self.first_name_kana.as_deref(),
        )
    }

    fn phone(&self) -> Option<String> {
        self.tel_no_main.clone().or_else(|| self.phone_no.clone())
    }

    fn address(&self) -> Option<Address> {
        Address {
            name: self.name(),
            name_kana: self.kana(),
            company: None,
            postal_code: self.postal_code.clone().or_else(|| self.zip_code.clone()),
            prefecture: self.prefecture.clone(),
            city: None,
            lines: imported::lines([
                self.address1.as_deref(),
                self.address2.as_deref(),
                self.address3.as_deref(),
            ]),
            phone: self.phone(),
        }
        .non_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentJson {
    pub shipment_no: u32,
    #[serde(default)]
    pub address_info: Option<PersonJson>,
    #[serde(default)]
    pub shipping_info: ShippingInfoJson,
    #[serde(default)]
    pub product_list: Vec<ProductJson>,
}

/// futureshop sends "" for every unset field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingInfoJson {
    /// 配送方法.
    #[serde(default)]
    pub delivery_service_name: Option<String>,
    /// 送り状番号.
    #[serde(default)]
    pub invoice_no: Option<String>,
    /// お届け指定日.
    #[serde(default)]
    pub preferred_delivery_date: Option<String>,
    /// お届け指定時間.
    #[serde(default)]
    pub preferred_delivery_time: Option<String>,
    /// 発送日.
    #[serde(default)]
    pub shipping_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductJson {
    #[serde(deserialize_with = "values::id")]
    pub sku_no: String,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub vertical_variation_name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub horizontal_variation_name: Option<String>,
    /// The unit price without options.
    #[serde(default)]
    pub price: i64,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub count: Option<u32>,
    /// The options chosen (`{"name":"ギフト包装","value":"あり"}`).
    #[serde(default)]
    pub option_list: Vec<OptionJson>,
    /// Prices of the options chosen for this line. The element's shape is not in the public
    /// fixtures (always empty there) [?]: an object with a `price`, or a bare number, is read.
    #[serde(default)]
    pub option_price_list: Vec<OptionPriceJson>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OptionJson {
    #[serde(default, deserialize_with = "values::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "values::opt_text")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OptionPriceJson {
    Priced { price: i64 },
    Bare(i64),
}

impl ProductJson {
    /// The line's unit price, with the option prices added when the store's オプション価格
    /// setting says 商品単価に加算する.
    pub fn unit_price(&self, add_option_prices: bool) -> i64 {
        if !add_option_prices {
            return self.price;
        }
        self.option_price_list
            .iter()
            .fold(self.price, |sum, option| {
                sum.saturating_add(match option {
                    OptionPriceJson::Priced { price } | OptionPriceJson::Bare(price) => *price,
                })
            })
    }
}

/// The first page of the search: `GET /admin-api/v1/shipping?orderDateStart=…&orderDateEnd=…`
/// plus `shippingStatus`/`paymentStatus` when the store filters on them.
pub fn build_shipping_search(
    api: &Api<FutureshopCredentials>,
    query: &ImportQuery,
) -> Result<Request, CartError> {
    let params =
        StatusFilters::from_cart_statuses(&query.cart_statuses).params(query.from, query.to);
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    wire::empty(authorized(
        api,
        Method::GET,
        &wire::url(&api.base_url, SHIPPING_SEARCH_PATH, &pairs),
    )?)
}

/// The first page of the search without any filter (the connection test).
pub fn build_unfiltered_search(api: &Api<FutureshopCredentials>) -> Result<Request, CartError> {
    wire::empty(authorized(
        api,
        Method::GET,
        &wire::url(&api.base_url, SHIPPING_SEARCH_PATH, &[]),
    )?)
}

/// The page `nextUrl` points to. futureshop gives the cursor; the filters of the first request are
/// added where `nextUrl` does not carry them (the manual: "keep the same filters"). A `nextUrl` on
/// another host is refused: the token and shop key go only to the store's API domain.
pub fn build_next_page(
    api: &Api<FutureshopCredentials>,
    next_url: &str,
    params: &[(&'static str, String)],
) -> Result<Request, CartError> {
    let next_url = next_url.trim();
    let base = api.base_url.trim_end_matches('/');
    let absolute = if next_url.starts_with('/') {
        format!("{}{next_url}", origin(base))
    } else if next_url.starts_with("https://") || next_url.starts_with("http://") {
        next_url.to_string()
    } else {
        return Err(CartError::malformed(format!(
            "order search: nextUrl {next_url:?} is neither a path nor a URL"
        )));
    };
    if origin(&absolute) != origin(base) {
        return Err(CartError::malformed(format!(
            "order search: nextUrl {next_url:?} leaves the store's API domain {}",
            origin(base)
        )));
    }
    let present: Vec<String> = absolute
        .split_once('?')
        .map(|(_, q)| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| !present.iter().any(|p| p == k))
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let url = if missing.is_empty() {
        absolute
    } else {
        let separator = if absolute.contains('?') { '&' } else { '?' };
        format!("{absolute}{separator}{}", wire::form_encode(&missing))
    };
    wire::empty(authorized(api, Method::GET, &url)?)
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

/// Parses one page of the search.
pub fn parse_shipping_page(response: &Response) -> Result<ShippingPage, CartError> {
    let page: PageJson = wire::parse_json(response, "futureshop order search")?;
    Ok(ShippingPage {
        orders: page.order_list.unwrap_or_default(),
        next_url: page.next_url.filter(|u| !u.trim().is_empty()),
    })
}

impl OrderJson {
    /// The canonical order (the write-back's view). Items are keyed by `skuNo`, the only line id
    /// futureshop gives; unit prices without options.
    pub fn to_order(&self, target_status: &OmsStatus) -> Result<Order, CartError> {
        Ok(self.to_imported(target_status, false)?.to_order())
    }

    /// The whole order. `add_option_prices` is the store's オプション価格 setting (商品単価に加算する):
    /// option prices are added to each unit price. `CANCELLED` (注文取消) and `REFUNDED` (返品)
    /// enter the OMS as キャンセル.
    pub fn to_imported(
        &self,
        target_status: &OmsStatus,
        add_option_prices: bool,
    ) -> Result<ImportedOrder, CartError> {
        let ordered_at = parse_japan_time(&self.date).ok_or_else(|| {
            CartError::malformed(format!(
                "order {}: date {:?} is not yyyy-MM-ddTHH:mm:ss",
                self.order_no, self.date
            ))
        })?;
        let shipment_id = |s: &ShipmentJson| s.shipment_no.to_string();
        let items: Vec<ImportedItem> = self
            .shipment_list
            .iter()
            .flat_map(|s| {
                s.product_list.iter().map(move |p| ImportedItem {
                    item_id: p.sku_no.clone(),
                    product_code: Some(p.sku_no.clone()),
                    name: p.name.clone(),
                    options: [
                        p.vertical_variation_name.clone(),
                        p.horizontal_variation_name.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .chain(p.option_list.iter().filter_map(|o| {
                        match (o.name.as_deref(), o.value.as_deref()) {
                            (Some(n), Some(v)) => Some(format!("{n}: {v}")),
                            (n, v) => n.or(v).map(str::to_string),
                        }
                    }))
                    .collect(),
                    quantity: p.count.unwrap_or(1),
                    unit_price: Some(p.unit_price(add_option_prices)),
                    shipment_id: Some(shipment_id(s)),
                })
            })
            .collect();
        let shipments: Vec<ImportedShipment> = self
            .shipment_list
            .iter()
            .map(|s| {
                let info = &s.shipping_info;
                ImportedShipment {
                    shipment_id: shipment_id(s),
                    shipment_code: None,
                    shipping_group_id: None,
                    delivery_method: imported::non_blank(info.delivery_service_name.as_deref()),
                    address: s.address_info.as_ref().and_then(PersonJson::address),
                    requested_delivery_date: parse_date(info.preferred_delivery_date.as_deref()),
                    requested_time_slot: imported::non_blank(
                        info.preferred_delivery_time.as_deref(),
                    ),
                    tracking_number: tracking_number(info),
                    ship_date: parse_date(info.shipping_date.as_deref()),
                    item_ids: s.product_list.iter().map(|p| p.sku_no.clone()).collect(),
                }
            })
            .collect();
        let state = match self.status.as_str() {
            "CANCELLED" => CartState::Cancelled,
            "REFUNDED" => CartState::Refunded,
            _ => CartState::Open,
        };
        let buyer = self.buyer_info.as_ref().map(|b| Buyer {
            name: b.name(),
            name_kana: b.kana(),
            company: None,
            email: b.mail.clone(),
            phone: b.phone(),
        });
        Ok(ImportedOrder {
            order_id: self.order_no.clone(),
            order_number: None,
            status: ImportedOrder::mapped(state, target_status),
            cart_status: CartStatus::new(self.status.clone(), state),
            ordered_at,
            updated_at: None,
            buyer,
            billing_address: self.buyer_info.as_ref().and_then(PersonJson::address),
            shipping_address: None,
            amounts: Amounts {
                subtotal: self.product_total,
                shipping: self.postage,
                fees: None,
                tax: self.tax_total,
                discount: self.discount_total.filter(|d| *d != 0),
                points: None,
                total: self.grand_total,
            },
            payment: self.payment_type.clone().map(|method| Payment {
                method: Some(method),
                status: self.receipt_date.as_ref().map(|_| "入金済".to_string()),
            }),
            requested_delivery_date: shipments.iter().find_map(|s| s.requested_delivery_date),
            requested_time_slot: shipments.iter().find_map(|s| s.requested_time_slot.clone()),
            notes: None,
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

/// A 送り状番号 the OMS can hold; futureshop allows any 100 bytes, so one the OMS cannot (full-width
/// characters) is left out rather than failing the whole import.
fn tracking_number(info: &ShippingInfoJson) -> Option<TrackingNumber> {
    info.invoice_no
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| TrackingNumber::parse(s).ok())
}

fn parse_date(raw: Option<&str>) -> Option<NaiveDate> {
    values::date(raw?)
}

fn parse_japan_time(raw: &str) -> Option<DateTime<FixedOffset>> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), DATE_TIME_FORMAT).ok()?;
    jst().from_local_datetime(&naive).single()
}
