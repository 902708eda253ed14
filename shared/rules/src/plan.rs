//! What a planner returns: the updates to send and, for every other order, why not.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::OmsStatus;

/// The five carts. The slug names the component, routes and stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cart {
    Bcart,
    Base,
    Shopserve,
    Cscart,
    Futureshop,
}

impl Cart {
    pub const ALL: [Cart; 5] = [
        Cart::Bcart,
        Cart::Base,
        Cart::Shopserve,
        Cart::Cscart,
        Cart::Futureshop,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Cart::Bcart => "bcart",
            Cart::Base => "base",
            Cart::Shopserve => "shopserve",
            Cart::Cscart => "cscart",
            Cart::Futureshop => "futureshop",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Cart> {
        Cart::ALL.into_iter().find(|c| c.slug() == slug)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Cart::Bcart => "Bカート",
            Cart::Base => "BASE",
            Cart::Shopserve => "Eストアー ショップサーブ",
            Cart::Cscart => "CS-Cart",
            Cart::Futureshop => "futureshop",
        }
    }
}

/// What started a write-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// Auto-export on the store's schedule: uses the store's own period.
    Scheduled,
    /// "Update shipping info now" for the last `period_days` days.
    Manual { period_days: u32 },
    /// The OMS just posted these orders.
    Webhook,
}

/// Why an order is not sent. `code()` is stable and machine-readable; the messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The order's status is not one this cart (or this export mode) sends.
    StatusExcluded {
        status: OmsStatus,
    },
    /// Ordered longer ago than the cart's limit (170 days, 1 year).
    OrderedTooLongAgo {
        limit_days: u32,
    },
    /// Not updated within the period (or, never updated, not ordered within the fallback window).
    NotUpdatedInPeriod {
        period_days: u32,
    },
    NoTrackingNumber,
    NoShipDate,
    /// The ship date is after today; the order waits for that day.
    ShipDateInFuture {
        ship_date: NaiveDate,
    },
    /// The cart writes per shipment (or per item) and the order names none.
    NoShipment,
    /// The cart already accepted exactly this data.
    AlreadyAccepted,
    /// The cart accepted other data before and cannot change it (BASE dispatch is one-way).
    CartCannotChange,
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::StatusExcluded { .. } => "status_excluded",
            Reason::OrderedTooLongAgo { .. } => "ordered_too_long_ago",
            Reason::NotUpdatedInPeriod { .. } => "not_updated_in_period",
            Reason::NoTrackingNumber => "no_tracking_number",
            Reason::NoShipDate => "no_ship_date",
            Reason::ShipDateInFuture { .. } => "ship_date_in_future",
            Reason::NoShipment => "no_shipment",
            Reason::AlreadyAccepted => "already_accepted",
            Reason::CartCannotChange => "cart_cannot_change",
        }
    }

    pub fn message_ja(&self) -> String {
        match self {
            Reason::StatusExcluded { status } => {
                format!("ステータス「{status}」の受注は書き出し対象外です")
            }
            Reason::OrderedTooLongAgo { limit_days } => {
                format!("受注日が{limit_days}日より前のため対象外です")
            }
            Reason::NotUpdatedInPeriod { period_days } => {
                format!("直近{period_days}日以内に更新されていないため対象外です")
            }
            Reason::NoTrackingNumber => "伝票番号が未入力のため送信しません".into(),
            Reason::NoShipDate => "出荷日が未入力のため送信しません".into(),
            Reason::ShipDateInFuture { ship_date } => {
                format!("出荷日({ship_date})が未来のため、当日まで待ちます")
            }
            Reason::NoShipment => "出荷(配送先)の情報がないため送信できません".into(),
            Reason::AlreadyAccepted => "同じ内容を送信済みです".into(),
            Reason::CartCannotChange => "カート側で発送済みのため内容を変更できません".into(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Reason::StatusExcluded { status } => {
                format!("orders with status {status} are not written back")
            }
            Reason::OrderedTooLongAgo { limit_days } => {
                format!("ordered more than {limit_days} days ago")
            }
            Reason::NotUpdatedInPeriod { period_days } => {
                format!("not updated in the last {period_days} days")
            }
            Reason::NoTrackingNumber => "no tracking number yet: nothing is sent".into(),
            Reason::NoShipDate => "no ship date yet: nothing is sent".into(),
            Reason::ShipDateInFuture { ship_date } => {
                format!("ship date {ship_date} is in the future: waiting for that day")
            }
            Reason::NoShipment => "the order names no shipment (destination) to write to".into(),
            Reason::AlreadyAccepted => "the cart already accepted exactly this data".into(),
            Reason::CartCannotChange => {
                "the cart already dispatched this order and cannot change it".into()
            }
        }
    }
}

/// An order left out of a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub order_id: String,
    pub reason: Reason,
}

/// A planner's answer: the exact updates to send, and every other order with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan<U> {
    pub updates: Vec<U>,
    pub excluded: Vec<Exclusion>,
}

impl<U> Default for Plan<U> {
    fn default() -> Self {
        Plan {
            updates: Vec::new(),
            excluded: Vec::new(),
        }
    }
}

/// One update a cart accepts as a unit; the ledger remembers it by key and by what was sent.
pub trait WriteBack: Serialize {
    fn order_id(&self) -> &str;
    /// Unique per order and per unit the cart writes (shipment, item).
    fn ledger_key(&self) -> String;
    /// A stable hash of exactly what is sent: the same data always hashes the same, across builds.
    fn data_hash(&self) -> DataHash {
        DataHash::of(self)
    }
}

/// FNV-1a (64 bit) over the update's JSON: stable across builds and platforms, unlike `Hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataHash(pub u64);

impl DataHash {
    pub fn of<T: Serialize + ?Sized>(value: &T) -> DataHash {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        DataHash(h)
    }

    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// What the cart already accepted: ledger key → hash of the data sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    accepted: HashMap<String, DataHash>,
}

/// What the ledger says of one planned update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerCheck {
    New,
    Same,
    Changed,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    pub fn record(&mut self, key: impl Into<String>, hash: DataHash) {
        self.accepted.insert(key.into(), hash);
    }

    pub fn record_update<U: WriteBack>(&mut self, update: &U) {
        self.record(update.ledger_key(), update.data_hash());
    }

    pub fn check<U: WriteBack>(&self, update: &U) -> LedgerCheck {
        match self.accepted.get(&update.ledger_key()) {
            None => LedgerCheck::New,
            Some(h) if *h == update.data_hash() => LedgerCheck::Same,
            Some(_) => LedgerCheck::Changed,
        }
    }

    pub fn len(&self) -> usize {
        self.accepted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }
}
