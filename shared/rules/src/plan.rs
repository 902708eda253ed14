//! What a planner returns: the updates to send and, for every other order, why not.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::order::{OmsStatus, Order};
use crate::time::within_days;
use crate::time::MAX_DAYS;

/// The carts are listed once, in `registry.rs`.
pub use crate::registry::Cart;

/// What started a write-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// Auto-export on the store's schedule, over the orders with work left (pending): no period
    /// rule, only the cart's own limits on order age (SPEC.md: the schedule forgets nothing).
    Scheduled,
    /// "Update shipping info now" for the last `period_days` days.
    Manual { period_days: u32 },
    /// The OMS just posted these orders.
    Webhook,
}

impl Trigger {
    /// A manual run for the last `days` days (1 to 365), as an operator typed it.
    pub fn manual(days: i64) -> Result<Trigger, Error> {
        match u32::try_from(days) {
            Ok(period_days) if (1..=MAX_DAYS).contains(&period_days) => {
                Ok(Trigger::Manual { period_days })
            }
            _ => Err(Error::ja_en(
                "period_days",
                format!("作成期間は1〜{MAX_DAYS}日で指定してください（{days}日は指定できません）"),
                format!("must be 1 to {MAX_DAYS} days, not {days}"),
            )),
        }
    }

    /// The period of the "updated within the period" rule: a manual run's own period, what the
    /// cart uses for a webhook (`webhook`), and none on the schedule (`None`: no period rule).
    pub fn period_days(self, webhook: Option<u32>) -> Option<u32> {
        match self {
            Trigger::Manual { period_days } => Some(period_days),
            Trigger::Webhook => webhook,
            Trigger::Scheduled => None,
        }
    }
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
    /// The cart writes per order item and the order lists none.
    NoItems,
    /// Never updated since it was taken in, and ordered before the fallback window.
    NotUpdatedSinceOrdered {
        window_days: u32,
    },
    /// Neither a tracking number nor a ship date: there is nothing to write.
    NoTrackingNumberOrShipDate,
    /// The cart numbers shipments (futureshop shipmentNo) and this id is not a number.
    InvalidShipmentNo {
        shipment_id: String,
    },
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
            Reason::NoItems => "no_items",
            Reason::NotUpdatedSinceOrdered { .. } => "not_updated_since_ordered",
            Reason::NoTrackingNumberOrShipDate => "no_tracking_number_or_ship_date",
            Reason::InvalidShipmentNo { .. } => "invalid_shipment_no",
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
            Reason::NoItems => "受注商品がないため送信できません".into(),
            Reason::NotUpdatedSinceOrdered { window_days } => {
                format!("受注後に更新がなく、受注日が{window_days}日より前のため対象外です")
            }
            Reason::NoTrackingNumberOrShipDate => {
                "伝票番号も出荷日も未入力のため送信しません".into()
            }
            Reason::InvalidShipmentNo { shipment_id } => {
                format!("配送先番号「{shipment_id}」が数値でないため送信できません")
            }
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
            Reason::NoItems => "the order lists no items to dispatch".into(),
            Reason::NotUpdatedSinceOrdered { window_days } => format!(
                "never updated since it was taken in, and ordered more than {window_days} days ago"
            ),
            Reason::NoTrackingNumberOrShipDate => {
                "neither a tracking number nor a ship date yet: nothing is sent".into()
            }
            Reason::InvalidShipmentNo { shipment_id } => {
                format!("shipment id {shipment_id:?} is not a shipment number")
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

/// Something about a planned (or left out) order the operator must know, though the plan goes
/// on: shown in the preview and written to the run log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanWarning {
    pub order_id: String,
    /// Stable and machine-readable (`base_tracking_numbers_differ`, …).
    pub code: String,
    pub message_ja: String,
    pub message_en: String,
}

/// A planner's answer: the exact updates to send, every other order with its reason, and what
/// the operator should know about either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan<U> {
    pub updates: Vec<U>,
    pub excluded: Vec<Exclusion>,
    #[serde(default)]
    pub warnings: Vec<PlanWarning>,
}

/// What a planner does with an update the cart accepted before with other data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// Send it again (e.g. a corrected tracking number).
    SendAgain,
    /// Leave it: the cart cannot change what it accepted (BASE dispatch).
    CannotChange,
}

impl<U: WriteBack> Plan<U> {
    /// An empty plan with room for every order in either list, so neither is copied as it
    /// grows (memory is only touched as it is used).
    pub fn for_orders(orders: usize) -> Plan<U> {
        Plan {
            updates: Vec::with_capacity(orders),
            excluded: Vec::with_capacity(orders),
            warnings: Vec::new(),
        }
    }

    /// Adds one order: its candidate updates (never an empty `Ok`) less what the cart already
    /// accepted, or the reason it has none. Every order ends with ≥1 update or one exclusion.
    /// Returns the candidates the cart accepted other data for and cannot change
    /// ([`OnChange::CannotChange`]), so the cart's planner can warn about each of them.
    pub fn add_order(
        &mut self,
        order_id: &str,
        candidates: Result<impl IntoIterator<Item = U>, Reason>,
        ledger: &Ledger,
        on_change: OnChange,
    ) -> Vec<U> {
        let candidates = match candidates {
            Ok(candidates) => candidates,
            Err(reason) => {
                self.exclude(order_id, reason);
                return Vec::new();
            }
        };
        let planned_before = self.updates.len();
        let mut unchangeable = Vec::new();
        for update in candidates {
            match ledger.check(&update) {
                LedgerCheck::New => self.updates.push(update),
                LedgerCheck::Changed if on_change == OnChange::SendAgain => {
                    self.updates.push(update)
                }
                LedgerCheck::Changed => unchangeable.push(update),
                LedgerCheck::Same => {}
            }
        }
        if self.updates.len() == planned_before {
            let reason = if unchangeable.is_empty() {
                Reason::AlreadyAccepted
            } else {
                Reason::CartCannotChange
            };
            self.exclude(order_id, reason);
        }
        unchangeable
    }

    /// Adds a warning about one order.
    pub fn warn(&mut self, order_id: &str, code: &str, message_ja: String, message_en: String) {
        self.warnings.push(PlanWarning {
            order_id: order_id.to_string(),
            code: code.to_string(),
            message_ja,
            message_en,
        });
    }

    fn exclude(&mut self, order_id: &str, reason: Reason) {
        self.excluded.push(Exclusion {
            order_id: order_id.to_string(),
            reason,
        });
    }
}

/// `Ok(updates)` when there is at least one, otherwise `Err(reason)`.
pub(crate) fn at_least_one<U>(updates: Vec<U>, reason: Reason) -> Result<Vec<U>, Reason> {
    if updates.is_empty() {
        Err(reason)
    } else {
        Ok(updates)
    }
}

/// "Order date within N days".
pub(crate) fn ordered_within(
    order: &Order,
    limit_days: u32,
    now: DateTime<Utc>,
) -> Result<(), Reason> {
    if within_days(order.ordered_at, limit_days, now) {
        Ok(())
    } else {
        Err(Reason::OrderedTooLongAgo { limit_days })
    }
}

/// "Updated within the period": the last change in the OMS, which for an order never updated is
/// when it was ordered. No period, no rule.
pub(crate) fn updated_within(
    order: &Order,
    period_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<(), Reason> {
    match period_days {
        Some(period_days)
            if !within_days(
                order.updated_at.unwrap_or(order.ordered_at),
                period_days,
                now,
            ) =>
        {
            Err(Reason::NotUpdatedInPeriod { period_days })
        }
        _ => Ok(()),
    }
}

/// The statuses no cart is ever sent: 新規受付 (not yet handled) and キャンセル.
pub(crate) fn not_new_or_cancelled(status: &OmsStatus) -> Result<(), Reason> {
    match status {
        OmsStatus::New | OmsStatus::Cancelled => Err(Reason::StatusExcluded {
            status: status.clone(),
        }),
        _ => Ok(()),
    }
}

impl<U> Default for Plan<U> {
    fn default() -> Self {
        Plan {
            updates: Vec::new(),
            excluded: Vec::new(),
            warnings: Vec::new(),
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
    /// What the operator may need to know later of what was sent, kept in the ledger with the
    /// hash (BASE: the tracking number the buyer was e-mailed, to name it when it changes).
    /// Nothing by default.
    fn ledger_note(&self) -> Option<String> {
        None
    }
}

/// FNV-1a (64 bit) over the update's JSON: stable across builds and platforms, unlike `Hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataHash(pub u64);

impl DataHash {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

    pub fn of<T: Serialize + ?Sized>(value: &T) -> DataHash {
        // Hashes the JSON as it is written: no buffer per update (planners hash every update
        // the ledger knows). Serializing these plain structs cannot fail; if it did, the hash is
        // that of no bytes, as before.
        let mut fnv = Fnv(Self::OFFSET);
        match serde_json::to_writer(&mut fnv, value) {
            Ok(()) => DataHash(fnv.0),
            Err(_) => DataHash(Self::OFFSET),
        }
    }

    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_hash_is_fnv1a_of_the_json_and_never_changes_between_builds() {
        // FNV-1a of `{"a":1}`, computed independently: stored ledgers depend on this value.
        assert_eq!(
            DataHash::of(&serde_json::json!({"a": 1})).to_hex(),
            "9c3e82dd6fcae8b1"
        );
        assert_ne!(DataHash::of(&1), DataHash::of(&2));
    }

    #[test]
    fn every_reason_has_its_own_code_and_a_message_in_both_languages() {
        let reasons = [
            Reason::StatusExcluded {
                status: OmsStatus::OnHold,
            },
            Reason::OrderedTooLongAgo { limit_days: 170 },
            Reason::NotUpdatedInPeriod { period_days: 3 },
            Reason::NoTrackingNumber,
            Reason::NoShipDate,
            Reason::ShipDateInFuture {
                ship_date: NaiveDate::MIN,
            },
            Reason::NoShipment,
            Reason::AlreadyAccepted,
            Reason::CartCannotChange,
            Reason::NoItems,
            Reason::NotUpdatedSinceOrdered { window_days: 4 },
            Reason::NoTrackingNumberOrShipDate,
            Reason::InvalidShipmentNo {
                shipment_id: "x".into(),
            },
        ];
        let mut codes: Vec<&str> = reasons.iter().map(Reason::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), reasons.len());
        for r in &reasons {
            // The serialized tag is the same code the operator's log shows.
            assert_eq!(serde_json::to_value(r).unwrap()["code"], r.code());
            assert!(!r.message_ja().is_empty() && !r.message_en().is_empty());
        }
    }
}

/// FNV-1a as an `io::Write`, so JSON can be hashed as serde writes it.
struct Fnv(u64);

impl std::io::Write for Fnv {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the cart already accepted: ledger key → hash of the data sent, and the update's
/// [`WriteBack::ledger_note`] where it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    accepted: HashMap<String, DataHash>,
    notes: HashMap<String, String>,
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
        let key = update.ledger_key();
        if let Some(note) = update.ledger_note() {
            self.record_note(key.clone(), note);
        }
        self.record(key, update.data_hash());
    }

    /// Keeps the [`WriteBack::ledger_note`] stored with an accepted update's key.
    pub fn record_note(&mut self, key: impl Into<String>, note: impl Into<String>) {
        self.notes.insert(key.into(), note.into());
    }

    /// The note kept with what the cart accepted under `key`, if any.
    pub fn note(&self, key: &str) -> Option<&str> {
        self.notes.get(key).map(String::as_str)
    }

    pub fn check<U: WriteBack>(&self, update: &U) -> LedgerCheck {
        // Most runs meet an empty ledger for most carts' first sync: skip building the key.
        if self.accepted.is_empty() {
            return LedgerCheck::New;
        }
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
