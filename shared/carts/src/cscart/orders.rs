//! CS-Cart orders: `GET /api/orders` (a summary list, numbers as strings) and
//! `GET /api/orders/{id}` for products and shipping groups, mapped to the canonical order.

use chrono::{DateTime, FixedOffset, NaiveDate};
use http::Method;
use mallsync_rules::cscart::CscartCredentials;
use mallsync_rules::imported::{self, Address, Amounts, Buyer, CartState, CartStatus, Payment};
use mallsync_rules::{ImportedItem, ImportedOrder, ImportedShipment, OmsStatus, Order};
use serde::Deserialize;

use super::auth::authorization;
use crate::exchange::{self, Page, Pages};
use crate::values::{id, keyed, opt_count, opt_text, opt_unix_time, opt_yen};
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
    /// The status letter (`O`, `P`, `C`, `I` = cancelled, …).
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub subtotal: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub discount: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub subtotal_discount: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub shipping_cost: Option<i64>,
    /// The payment surcharge (手数料).
    #[serde(default, deserialize_with = "opt_yen")]
    pub payment_surcharge: Option<i64>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub tax_subtotal: Option<i64>,
    #[serde(default)]
    pub payment_method: Option<PaymentMethod>,
    /// The customer's note.
    #[serde(default, deserialize_with = "opt_text")]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub firstname: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub lastname: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub company: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub phone: Option<String>,
    #[serde(flatten)]
    pub addresses: std::collections::HashMap<String, serde_json::Value>,
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
pub struct PaymentMethod {
    #[serde(default, deserialize_with = "opt_text")]
    pub payment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    #[serde(default, deserialize_with = "opt_text")]
    pub item_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub product_code: Option<String>,
    /// The product name.
    #[serde(default, deserialize_with = "opt_text")]
    pub product: Option<String>,
    #[serde(default, deserialize_with = "opt_yen")]
    pub price: Option<i64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub amount: Option<u32>,
    /// `extra.product_options` / `product_options`: `[{"option_name","variant_name"}]` [M, source];
    /// `extra.group_key`: the product's shipping group.
    #[serde(default)]
    pub extra: Option<serde_json::Value>,
    #[serde(default)]
    pub product_options: Option<serde_json::Value>,
}

impl Product {
    /// `extra.group_key`: the shipping group (`shipping[].group_key`) the product ships in. Read
    /// leniently: `extra` holds whatever add-ons put there.
    fn group_key(&self) -> Option<String> {
        match self.extra.as_ref()?.get("group_key")? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn options(&self) -> Vec<String> {
        let list = self
            .product_options
            .as_ref()
            .or_else(|| self.extra.as_ref().and_then(|e| e.get("product_options")));
        let texts = |o: &serde_json::Value| {
            let text = |k: &str| {
                o.get(k)
                    .and_then(|v| v.as_str())
                    .and_then(|s| imported::non_blank(Some(s)))
            };
            match (
                text("option_name"),
                text("variant_name").or_else(|| text("value")),
            ) {
                (Some(n), Some(v)) => Some(format!("{n}: {v}")),
                (n, v) => n.or(v),
            }
        };
        match list {
            Some(serde_json::Value::Array(options)) => options.iter().filter_map(texts).collect(),
            Some(serde_json::Value::Object(options)) => {
                options.values().filter_map(texts).collect()
            }
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShippingGroup {
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub group_key: Option<String>,
    /// The shipping method's name.
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping: Option<String>,
    /// Japanese edition: the buyer's requested date, `指定なし` when none.
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_date: Option<String>,
    /// Japanese edition: the requested time slot, `指定なし` when none.
    #[serde(default, deserialize_with = "opt_text")]
    pub delivery_timing: Option<String>,
}

/// The status letter of a cancelled order.
pub const STATUS_CANCELLED: &str = "I";
/// What the Japanese edition writes for "no wish".
const NOT_SPECIFIED: &str = "指定なし";

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

    /// The canonical order with `target_status` (the write-back's view of the whole order).
    pub fn into_order(self, target_status: &OmsStatus) -> Result<Order, CartError> {
        Ok(self.to_imported(target_status)?.to_order())
    }

    /// A `b_`/`s_` address field (`s_city`), blank as `None`.
    fn address_field(&self, prefix: &str, key: &str) -> Option<String> {
        let value = self.addresses.get(&format!("{prefix}{key}"))?;
        match value {
            serde_json::Value::String(s) => imported::non_blank(Some(s)),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn address(&self, prefix: &str) -> Option<Address> {
        let f = |key: &str| self.address_field(prefix, key);
        Address {
            name: imported::full_name(f("lastname").as_deref(), f("firstname").as_deref()),
            postal_code: f("zipcode"),
            // The state's name where the cart gives it, else its code (`13`).
            prefecture: f("state_descr").or_else(|| f("state")),
            city: f("city"),
            lines: imported::lines([f("address").as_deref(), f("address_2").as_deref()]),
            phone: f("phone"),
            ..Address::default()
        }
        .non_empty()
    }

    /// The whole order (CS-Cart's letters are not OMS statuses; `I` enters as キャンセル). Each
    /// shipping group is a shipment; with one group it holds every item. CS-Cart keeps tracking
    /// on separate shipment records, so an imported order has none.
    pub fn to_imported(&self, target_status: &OmsStatus) -> Result<ImportedOrder, CartError> {
        let ordered_at = self.timestamp.ok_or_else(|| {
            CartError::malformed(format!(
                "CS-Cart order {}: no order time (timestamp)",
                self.order_id
            ))
        })?;
        let single_group = self.shipping.len() == 1;
        let group_id = || {
            self.shipping
                .first()
                .and_then(|(_, g)| g.shipping_id.clone())
        };
        let items: Vec<ImportedItem> = self
            .products
            .iter()
            .map(|(key, p)| ImportedItem {
                item_id: p.item_id.clone().unwrap_or_else(|| key.clone()),
                product_code: p.product_code.clone(),
                name: p.product.clone(),
                options: p.options(),
                quantity: p.amount.unwrap_or(1),
                unit_price: p.price,
                shipment_id: if single_group { group_id() } else { None },
            })
            .collect();
        let wish = |raw: &Option<String>| raw.clone().filter(|s| s != NOT_SPECIFIED);
        let shipping_address = self.address("s_");
        let shipments: Vec<ImportedShipment> = self
            .shipping
            .iter()
            .filter_map(|(_, g)| {
                let shipping_id = g.shipping_id.clone()?;
                Some(ImportedShipment {
                    shipment_id: shipping_id.clone(),
                    shipment_code: None,
                    shipping_group_id: None,
                    delivery_method: g.shipping.clone(),
                    address: shipping_address.clone(),
                    requested_delivery_date: g.delivery_date.as_deref().and_then(japanese_date),
                    requested_time_slot: wish(&g.delivery_timing),
                    tracking_number: None,
                    ship_date: None,
                    // What the group carries when CS-Cart says (one group: every item), so the
                    // write-back can name a shipment's products without reading the order again.
                    item_ids: self
                        .products_of_group(&shipping_id)
                        .map(|products| products.into_iter().map(|(id, _)| id).collect())
                        .unwrap_or_default(),
                })
            })
            .collect();
        let raw = self.status.clone().unwrap_or_default();
        let state = if raw == STATUS_CANCELLED {
            CartState::Cancelled
        } else {
            CartState::Open
        };
        let buyer = Buyer {
            name: imported::full_name(self.lastname.as_deref(), self.firstname.as_deref()),
            name_kana: None,
            company: self.company.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
        };
        let discount = match (self.discount, self.subtotal_discount) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        Ok(ImportedOrder {
            order_id: self.order_id.clone(),
            order_number: None,
            status: ImportedOrder::mapped(state, target_status),
            cart_status: CartStatus::new(raw, state),
            ordered_at,
            updated_at: self.updated_at,
            buyer: (buyer != Buyer::default()).then_some(buyer),
            billing_address: self.address("b_"),
            shipping_address: if shipments.is_empty() {
                shipping_address
            } else {
                None
            },
            amounts: Amounts {
                subtotal: self.subtotal,
                shipping: self.shipping_cost,
                fees: self.payment_surcharge.filter(|f| *f != 0),
                tax: self.tax_subtotal,
                discount: discount.filter(|d| *d != 0),
                points: None,
                total: self.total,
            },
            payment: self
                .payment_method
                .as_ref()
                .and_then(|p| p.payment.clone())
                .map(|method| Payment {
                    method: Some(method),
                    status: None,
                }),
            requested_delivery_date: shipments.iter().find_map(|s| s.requested_delivery_date),
            requested_time_slot: shipments.iter().find_map(|s| s.requested_time_slot.clone()),
            notes: self.notes.clone(),
            tracking_numbers: Vec::new(),
            ship_date: None,
            items,
            shipments,
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

/// One step of an import: a page of the list into the cursor, or one order's detail.
pub fn import_step(
    api: &Api<CscartCredentials>,
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
        1,
        cursor,
        move |id| build_order_detail(&reader, id),
        move |response| Ok(vec![parse_order_detail(&response)?.to_imported(&target)?]),
    )
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
