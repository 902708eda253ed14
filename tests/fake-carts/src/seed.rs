//! Orders as a test puts them into a fake: one canonical-ish shape each fake maps to its cart's.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset};

/// An order to put into a fake cart. Build with [`OrderSeed::new`] and the chained setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSeed {
    /// The order's id in the cart (BASE unique_key, Bカート id, CS-Cart order_id, futureshop orderNo).
    pub order_id: String,
    pub ordered_at: DateTime<FixedOffset>,
    /// The cart's own status value; None: the cart's status for a new order.
    pub status: Option<String>,
    pub buyer_last_name: String,
    pub buyer_first_name: String,
    pub items: Vec<ItemSeed>,
    /// The deliveries; none given means one holding every item (see [`OrderSeed::shipments`]).
    pub shipments: Vec<ShipmentSeed>,
    pub requested_delivery_date: Option<NaiveDate>,
}

/// One ordered line, by the cart's id for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSeed {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: u64,
}

/// One delivery (Bカート 出荷, CS-Cart shipping group, futureshop shipmentNo) and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentSeed {
    pub shipment_id: String,
    pub item_ids: Vec<String>,
}

impl OrderSeed {
    /// `ordered_at` in RFC 3339, e.g. `2026-11-20T10:00:00+09:00`. Panics on a bad date: it is
    /// test input, and a test with a typo should stop at once.
    pub fn new(order_id: &str, ordered_at: &str) -> OrderSeed {
        let ordered_at = match DateTime::parse_from_rfc3339(ordered_at) {
            Ok(t) => t,
            Err(e) => panic!("OrderSeed ordered_at {ordered_at:?} is not RFC 3339: {e}"),
        };
        OrderSeed {
            order_id: order_id.to_string(),
            ordered_at,
            status: None,
            buyer_last_name: "山田".into(),
            buyer_first_name: "太郎".into(),
            items: Vec::new(),
            shipments: Vec::new(),
            requested_delivery_date: None,
        }
    }

    pub fn status(mut self, status: &str) -> OrderSeed {
        self.status = Some(status.to_string());
        self
    }

    pub fn buyer(mut self, last_name: &str, first_name: &str) -> OrderSeed {
        self.buyer_last_name = last_name.to_string();
        self.buyer_first_name = first_name.to_string();
        self
    }

    pub fn item(mut self, item_id: &str, name: &str, quantity: u32, unit_price: u64) -> OrderSeed {
        self.items.push(ItemSeed {
            item_id: item_id.to_string(),
            name: name.to_string(),
            quantity,
            unit_price,
        });
        self
    }

    pub fn shipment(mut self, shipment_id: &str, item_ids: &[&str]) -> OrderSeed {
        self.shipments.push(ShipmentSeed {
            shipment_id: shipment_id.to_string(),
            item_ids: item_ids.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    /// `yyyy-mm-dd`; panics on a bad date (test input).
    pub fn requested_delivery_date(mut self, date: &str) -> OrderSeed {
        self.requested_delivery_date = match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(e) => panic!("requested delivery date {date:?} is not yyyy-mm-dd: {e}"),
        };
        self
    }

    /// The items, or one line `<order_id>1` (商品, 1 × 1000) when none were given.
    pub fn items(&self) -> Vec<ItemSeed> {
        if !self.items.is_empty() {
            return self.items.clone();
        }
        vec![ItemSeed {
            item_id: format!("{}1", self.order_id),
            name: "商品".into(),
            quantity: 1,
            unit_price: 1000,
        }]
    }

    /// The shipments, or one with id `default_id` holding every item when none were given.
    pub fn shipments(&self, default_id: &str) -> Vec<ShipmentSeed> {
        if !self.shipments.is_empty() {
            return self.shipments.clone();
        }
        vec![ShipmentSeed {
            shipment_id: default_id.to_string(),
            item_ids: self.items().into_iter().map(|i| i.item_id).collect(),
        }]
    }

    pub fn total(&self) -> u64 {
        self.items()
            .iter()
            .map(|i| i.unit_price * u64::from(i.quantity))
            .sum()
    }
}

/// Japan time, which every cart uses for its local date strings.
pub(crate) fn jst() -> FixedOffset {
    // 9 h is within FixedOffset's ±24 h range, so the fallback is never taken.
    FixedOffset::east_opt(9 * 3600).unwrap_or(chrono::Utc.fix())
}
