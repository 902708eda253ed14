//! The imported order (取込受注): one whole order as a cart holds it, in one shape for all five
//! carts, for the OMS to take in and ship. It lives here, beside the canonical [`Order`], because
//! both the cart clients (which build it) and the service (which versions and delivers it) depend
//! on this crate, and because what status it enters the OMS in is a rule ([`ImportedOrder::mapped`]).
//!
//! A field the cart does not give is absent (`None` or empty), never invented. Times are Japan
//! time with their offset; money is whole yen as the cart gives it.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::order::{Item, OmsStatus, Order, Shipment, TrackingNumber};

/// What the cart's own status means for the OMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartState {
    /// Anything else: the store's target status (受注格納先ステータス) applies.
    Open,
    /// Cancelled in the cart (Bカート キャンセル, BASE cancelled, CS-Cart I, futureshop CANCELLED).
    Cancelled,
    /// Refunded or returned in the cart (futureshop REFUNDED).
    Refunded,
}

/// The cart's status as the cart says it, and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartStatus {
    /// The cart's own value (`新規注文`, `cancelled`, `I`, `CANCELLED`, …).
    pub raw: String,
    pub state: CartState,
}

impl CartStatus {
    pub fn new(raw: impl Into<String>, state: CartState) -> CartStatus {
        CartStatus {
            raw: raw.into(),
            state,
        }
    }
}

/// A person as the cart names them (buyer, billing or shipping name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// フリガナ, where the cart has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A postal address. `prefecture` is as the cart writes it (`東京都`, or futureshop's `TOKYO`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// 郵便番号 as given (`150-0001` or `1500001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefecture: Option<String>,
    /// 市区町村, where the cart keeps it apart from the lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The remaining address lines, in order, blanks left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Address {
    /// `None` when the cart sent no part of an address at all.
    pub fn non_empty(self) -> Option<Address> {
        (self != Address::default()).then_some(self)
    }
}

/// One ordered line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedItem {
    /// The cart's id for the line (BASE order_item_id, Bカート order_products id, CS-Cart item id,
    /// futureshop skuNo): what the write-back names.
    pub item_id: String,
    /// 品番 / SKU / product code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Chosen options / variations, as the cart words them (`カラー: 赤`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub quantity: u32,
    /// Unit price in yen (futureshop: with option prices added when the store says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    /// The shipment this line goes out with, where the cart says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
}

/// One delivery: Bカート 出荷 record, CS-Cart shipping group, futureshop お届け先, ショップサーブ 配送先.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedShipment {
    /// The id the write-back needs (Bカート logistics id, CS-Cart shipping_id, futureshop shipmentNo).
    pub shipment_id: String,
    /// Bカート 出荷管理番号, where the cart has one beside the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_code: Option<String>,
    /// Bカート 配送グループ id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_group_id: Option<String>,
    /// 配送方法 as the cart names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery_date: Option<NaiveDate>,
    /// お届け希望時間帯 as the cart gives it (`午前中`, `14-16`, BASE `0812`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_time_slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<NaiveDate>,
    /// The cart item ids going out in this shipment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_ids: Vec<String>,
}

/// Money, whole yen, each as the cart states it (absent where the cart has no such figure).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<i64>,
    /// Fees (代引手数料 and the like).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<i64>,
    /// Discounts, as a positive amount taken off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<i64>,
    /// Points used, as a positive amount taken off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// How the buyer pays, as the cart names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A whole order as imported from a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedOrder {
    /// The cart's id for the order (BASE unique_key, Bカート id, CS-Cart order_id, futureshop orderNo).
    pub order_id: String,
    /// The order number shown to the shop and the buyer, where it differs from the id (Bカート code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// The OMS status the order enters as: the store's target status, or キャンセル when the cart
    /// says cancelled or refunded ([`ImportedOrder::mapped`]).
    pub status: OmsStatus,
    pub cart_status: CartStatus,
    pub ordered_at: DateTime<FixedOffset>,
    /// The cart's last change, where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// The delivery address of a cart that keeps one per order and no shipment records (BASE);
    /// carts with shipment records put each address on its shipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ImportedItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipments: Vec<ImportedShipment>,
    #[serde(default)]
    pub amounts: Amounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// The first requested delivery date of any shipment (or the order's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_time_slot: Option<String>,
    /// The buyer's note (備考 / 連絡事項).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Every tracking number the cart holds (per order for BASE, per shipment elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_numbers: Vec<TrackingNumber>,
    /// The first ship date the cart holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<NaiveDate>,
}

impl ImportedOrder {
    /// The OMS status for this order: a cancellation or refund in the cart wins (an OMS must not
    /// ship a cancelled order), everything else gets the store's target status.
    pub fn mapped(state: CartState, target_status: &OmsStatus) -> OmsStatus {
        match state {
            CartState::Cancelled | CartState::Refunded => OmsStatus::Cancelled,
            CartState::Open => target_status.clone(),
        }
    }

    /// Sets [`ImportedOrder::status`] from the cart state and `target_status`.
    pub fn with_target(mut self, target_status: &OmsStatus) -> ImportedOrder {
        self.status = ImportedOrder::mapped(self.cart_status.state, target_status);
        self
    }

    /// The canonical order the write-back plans with (ids, dates, shipments, items, tracking).
    pub fn to_order(&self) -> Order {
        let item = |i: &ImportedItem| Item {
            item_id: i.item_id.clone(),
            quantity: i.quantity,
        };
        Order {
            order_id: self.order_id.clone(),
            status: self.status.clone(),
            ordered_at: self.ordered_at,
            updated_at: self.updated_at,
            ship_date: self.ship_date,
            tracking_numbers: self.tracking_numbers.clone(),
            carrier: None,
            requested_delivery_date: self.requested_delivery_date,
            shipments: self
                .shipments
                .iter()
                .map(|s| Shipment {
                    shipment_id: s.shipment_id.clone(),
                    tracking_number: s.tracking_number.clone(),
                    items: self
                        .items
                        .iter()
                        .filter(|i| s.item_ids.contains(&i.item_id))
                        .map(item)
                        .collect(),
                })
                .collect(),
            items: self.items.iter().map(item).collect(),
        }
    }

    /// The top-level fields that differ from `earlier` (the OMS status is left out: it follows
    /// the cart status and the store's setting, not the cart's data). Empty: nothing changed.
    pub fn changes_since(&self, earlier: &ImportedOrder) -> Vec<&'static str> {
        let mut changed = Vec::new();
        macro_rules! compare {
            ($($field:ident),*) => {
                $(if self.$field != earlier.$field { changed.push(stringify!($field)); })*
            };
        }
        compare!(
            order_number,
            cart_status,
            ordered_at,
            updated_at,
            buyer,
            billing_address,
            shipping_address,
            items,
            shipments,
            amounts,
            payment,
            requested_delivery_date,
            requested_time_slot,
            notes,
            tracking_numbers,
            ship_date
        );
        changed
    }
}

/// Text the cart sent, trimmed; blank is `None` (carts send "" for unset fields).
pub fn non_blank(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Address lines, blanks left out.
pub fn lines<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    parts.into_iter().filter_map(non_blank).collect()
}

/// `姓 名` from the two halves, either of which may be missing.
pub fn full_name(last: Option<&str>, first: Option<&str>) -> Option<String> {
    let parts: Vec<String> = [last, first].into_iter().filter_map(non_blank).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> ImportedOrder {
        ImportedOrder {
            order_id: "1".into(),
            order_number: None,
            status: OmsStatus::New,
            cart_status: CartStatus::new("新規注文", CartState::Open),
            ordered_at: DateTime::parse_from_rfc3339("2026-11-20T10:00:00+09:00").unwrap(),
            updated_at: None,
            buyer: None,
            billing_address: None,
            shipping_address: None,
            items: vec![ImportedItem {
                item_id: "i1".into(),
                product_code: None,
                name: None,
                options: vec![],
                quantity: 2,
                unit_price: Some(500),
                shipment_id: Some("s1".into()),
            }],
            shipments: vec![ImportedShipment {
                shipment_id: "s1".into(),
                shipment_code: None,
                shipping_group_id: None,
                delivery_method: None,
                address: None,
                requested_delivery_date: None,
                requested_time_slot: None,
                tracking_number: None,
                ship_date: None,
                item_ids: vec!["i1".into()],
            }],
            amounts: Amounts::default(),
            payment: None,
            requested_delivery_date: None,
            requested_time_slot: None,
            notes: None,
            tracking_numbers: vec![],
            ship_date: None,
        }
    }

    #[test]
    fn a_cancelled_or_refunded_order_enters_as_cancelled_whatever_the_target() {
        for state in [CartState::Cancelled, CartState::Refunded] {
            assert_eq!(
                ImportedOrder::mapped(state, &OmsStatus::Processing),
                OmsStatus::Cancelled
            );
        }
        assert_eq!(
            ImportedOrder::mapped(CartState::Open, &OmsStatus::Processing),
            OmsStatus::Processing
        );
    }

    #[test]
    fn changes_name_the_fields_that_differ_and_ignore_the_target_status() {
        let a = order();
        let mut b = a.clone().with_target(&OmsStatus::OnHold);
        assert!(b.changes_since(&a).is_empty());
        b.cart_status = CartStatus::new("キャンセル", CartState::Cancelled);
        b.items[0].quantity = 3;
        assert_eq!(b.changes_since(&a), ["cart_status", "items"]);
    }

    #[test]
    fn the_write_back_order_keeps_shipments_with_their_items() {
        let o = order().to_order();
        assert_eq!(o.shipments[0].items[0].item_id, "i1");
        assert_eq!(o.items[0].quantity, 2);
    }
}
