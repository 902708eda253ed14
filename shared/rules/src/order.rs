//! The canonical order, as the OMS sends it and as imports hand it back.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Error, Problems};

/// An order's status in the OMS. The eight known ones, plus any custom status kept by its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OmsStatus {
    /// 新規受付 (a seed's 新規 means this too)
    New,
    /// 処理中
    Processing,
    /// 発送待ち
    AwaitingShipment,
    /// 発送前入金待ち
    AwaitingPaymentBeforeShipment,
    /// 発送後入金待ち
    AwaitingPaymentAfterShipment,
    /// 保留
    OnHold,
    /// キャンセル
    Cancelled,
    /// 処理済み
    Processed,
    /// A status the OMS defines itself; treated as "other" by every rule.
    Custom(String),
}

impl OmsStatus {
    pub const KNOWN: [OmsStatus; 8] = [
        OmsStatus::New,
        OmsStatus::Processing,
        OmsStatus::AwaitingShipment,
        OmsStatus::AwaitingPaymentBeforeShipment,
        OmsStatus::AwaitingPaymentAfterShipment,
        OmsStatus::OnHold,
        OmsStatus::Cancelled,
        OmsStatus::Processed,
    ];

    /// Never fails: an unknown name is a custom status.
    pub fn from_name(name: &str) -> OmsStatus {
        match name.trim() {
            "新規受付" | "新規" => OmsStatus::New,
            "処理中" => OmsStatus::Processing,
            "発送待ち" => OmsStatus::AwaitingShipment,
            "発送前入金待ち" => OmsStatus::AwaitingPaymentBeforeShipment,
            "発送後入金待ち" => OmsStatus::AwaitingPaymentAfterShipment,
            "保留" => OmsStatus::OnHold,
            "キャンセル" => OmsStatus::Cancelled,
            "処理済み" => OmsStatus::Processed,
            other => OmsStatus::Custom(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            OmsStatus::New => "新規受付",
            OmsStatus::Processing => "処理中",
            OmsStatus::AwaitingShipment => "発送待ち",
            OmsStatus::AwaitingPaymentBeforeShipment => "発送前入金待ち",
            OmsStatus::AwaitingPaymentAfterShipment => "発送後入金待ち",
            OmsStatus::OnHold => "保留",
            OmsStatus::Cancelled => "キャンセル",
            OmsStatus::Processed => "処理済み",
            OmsStatus::Custom(name) => name,
        }
    }
}

impl fmt::Display for OmsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for OmsStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for OmsStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OmsStatus::from_name(&String::deserialize(d)?))
    }
}

/// A carrier by its canonical code; each cart client maps it to the cart's own id or name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// ヤマト運輸
    Yamato,
    /// 佐川急便
    Sagawa,
    /// 日本郵便
    JapanPost,
    /// 西濃運輸
    Seino,
    /// 福山通運
    Fukuyama,
    /// Any other carrier, by the name the shop uses (wire form `other:<name>`).
    Other(String),
}

impl Carrier {
    pub fn parse(code: &str) -> Result<Carrier, Error> {
        let code = code.trim();
        match code {
            "yamato" => Ok(Carrier::Yamato),
            "sagawa" => Ok(Carrier::Sagawa),
            "japanpost" => Ok(Carrier::JapanPost),
            "seino" => Ok(Carrier::Seino),
            "fukuyama" => Ok(Carrier::Fukuyama),
            _ => match code.strip_prefix("other:").map(str::trim) {
                Some(name) if !name.is_empty() => Ok(Carrier::Other(name.to_string())),
                _ => Err(Error::invalid(
                    "carrier",
                    format!(
                        "unknown carrier code {code:?}: use yamato, sagawa, japanpost, seino, fukuyama or other:<name>"
                    ),
                )),
            },
        }
    }

    pub fn code(&self) -> String {
        match self {
            Carrier::Other(name) => format!("other:{name}"),
            known => known.known_code().unwrap_or_default().to_string(),
        }
    }

    /// The code of one of the named carriers (no allocation: updates are hashed by their JSON).
    fn known_code(&self) -> Option<&'static str> {
        match self {
            Carrier::Yamato => Some("yamato"),
            Carrier::Sagawa => Some("sagawa"),
            Carrier::JapanPost => Some("japanpost"),
            Carrier::Seino => Some("seino"),
            Carrier::Fukuyama => Some("fukuyama"),
            Carrier::Other(_) => None,
        }
    }

    /// The carrier's name as Japanese shops and carts write it.
    pub fn japanese_name(&self) -> &str {
        match self {
            Carrier::Yamato => "ヤマト運輸",
            Carrier::Sagawa => "佐川急便",
            Carrier::JapanPost => "日本郵便",
            Carrier::Seino => "西濃運輸",
            Carrier::Fukuyama => "福山通運",
            Carrier::Other(name) => name,
        }
    }
}

impl Serialize for Carrier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.known_code() {
            Some(code) => s.serialize_str(code),
            None => s.serialize_str(&self.code()),
        }
    }
}

impl<'de> Deserialize<'de> for Carrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Carrier::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A tracking number (伝票番号): trimmed, not empty, at most 64 characters of letters, digits and '-'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<TrackingNumber, Error> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Error::invalid("tracking_number", "is empty"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(Error::invalid(
                "tracking_number",
                format!("is longer than {} characters", Self::MAX_LEN),
            ));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Error::invalid(
                "tracking_number",
                format!("{s:?} may hold only letters, digits and '-'"),
            ));
        }
        Ok(TrackingNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TrackingNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TrackingNumber::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One ordered line, by the cart's own id for it (BASE order_item_id, CS-Cart item id, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub item_id: String,
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// One delivery of an order: Bカート 出荷 record, CS-Cart shipping group, futureshop shipmentNo.
/// A shipment's own tracking number wins over the order's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub shipment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// The canonical order. Times carry their offset; dates are Japan dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's id in the cart (BASE unique_key, Bカート id, CS-Cart order_id, …).
    pub order_id: String,
    pub status: OmsStatus,
    pub ordered_at: DateTime<FixedOffset>,
    /// Last change in the OMS; `None` for an order never updated since it was taken in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_numbers: Vec<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_delivery_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipments: Vec<Shipment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

impl Order {
    /// Parses one order as the OMS sends it, naming every bad or missing field (not just the first
    /// serde stops at), so an operator fixes a rejected batch in one go.
    pub fn from_json(value: &Value) -> Result<Order, Error> {
        let Some(fields) = value.as_object() else {
            return Err(Error::invalid("$", "must be a JSON object (one order)"));
        };
        let mut p = Problems::new();
        let order_id = required(fields, "order_id", &mut p);
        let status = required(fields, "status", &mut p);
        let ordered_at = required(fields, "ordered_at", &mut p);
        let order = Order {
            updated_at: optional(fields, "updated_at", &mut p),
            ship_date: optional(fields, "ship_date", &mut p),
            tracking_numbers: optional(fields, "tracking_numbers", &mut p).unwrap_or_default(),
            carrier: optional(fields, "carrier", &mut p),
            requested_delivery_date: optional(fields, "requested_delivery_date", &mut p),
            shipments: optional(fields, "shipments", &mut p).unwrap_or_default(),
            items: optional(fields, "items", &mut p).unwrap_or_default(),
            order_id: order_id.unwrap_or_default(),
            status: status.unwrap_or(OmsStatus::New),
            ordered_at: ordered_at.unwrap_or_default(),
        };
        // Bounds of every field that parsed (one that did not already has its problem).
        let mut bounds = Problems::new();
        order.check_bounds(&mut bounds);
        p.extend_new(bounds);
        p.into_result().map(|()| order)
    }

    /// Every value within what a real order holds, so nothing unbounded is stored or sent: ids
    /// (safe as a URL path segment), status and carrier names, list sizes and dates.
    fn check_bounds(&self, p: &mut Problems) {
        check_id(p, "order_id", &self.order_id);
        let status = self.status.name();
        if status.trim().is_empty() {
            p.add("status", "is empty: name an OMS status, e.g. 処理中");
        } else if status.chars().count() > MAX_NAME_CHARS || status.chars().any(char::is_control) {
            p.add(
                "status",
                format!("must be at most {MAX_NAME_CHARS} characters without control characters"),
            );
        }
        if let Some(Carrier::Other(name)) = &self.carrier {
            if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
                p.add(
                    "carrier",
                    format!("other:<name> must be at most {MAX_NAME_CHARS} characters without control characters"),
                );
            }
        }
        check_year(p, "ordered_at", self.ordered_at.year());
        if let Some(t) = self.updated_at {
            check_year(p, "updated_at", t.year());
        }
        if let Some(d) = self.ship_date {
            check_year(p, "ship_date", d.year());
        }
        if let Some(d) = self.requested_delivery_date {
            check_year(p, "requested_delivery_date", d.year());
        }
        check_count(
            p,
            "tracking_numbers",
            self.tracking_numbers.len(),
            MAX_TRACKING_NUMBERS,
        );
        check_count(p, "shipments", self.shipments.len(), MAX_SHIPMENTS);
        check_count(p, "items", self.items.len(), MAX_ITEMS);
        for (i, shipment) in self.shipments.iter().enumerate() {
            check_id(
                p,
                &format!("shipments[{i}].shipment_id"),
                &shipment.shipment_id,
            );
            check_count(
                p,
                &format!("shipments[{i}].items"),
                shipment.items.len(),
                MAX_ITEMS,
            );
            for (j, item) in shipment.items.iter().enumerate() {
                check_item(p, &format!("shipments[{i}].items[{j}]"), item);
            }
        }
        for (i, item) in self.items.iter().enumerate() {
            check_item(p, &format!("items[{i}]"), item);
        }
    }

    /// The tracking number for the order as a whole: the first one given.
    pub fn tracking_number(&self) -> Option<&TrackingNumber> {
        self.tracking_numbers.first()
    }

    /// A shipment's tracking number, falling back to the order's.
    pub fn tracking_number_of<'a>(&'a self, shipment: &'a Shipment) -> Option<&'a TrackingNumber> {
        shipment.tracking_number.as_ref().or(self.tracking_number())
    }
}

/// Longest order, shipment or item id, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest status or carrier name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
pub const MAX_TRACKING_NUMBERS: usize = 20;
pub const MAX_SHIPMENTS: usize = 100;
pub const MAX_ITEMS: usize = 1_000;
pub const MAX_QUANTITY: u32 = 100_000;
/// The years an order's dates and times may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// An id is sent to carts as a URL path segment: letters, digits and `-_.:` only, never `.` or
/// `..` alone.
fn check_id(p: &mut Problems, field: &str, id: &str) {
    if id.trim().is_empty() {
        p.add(field, "is empty");
    } else if id.chars().count() > MAX_ID_CHARS {
        p.add(field, format!("is longer than {MAX_ID_CHARS} characters"));
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        p.add(
            field,
            format!("{id:?} may hold only letters, digits and - _ . :"),
        );
    } else if id.chars().all(|c| c == '.') {
        p.add(field, format!("{id:?} is not an id"));
    }
}

fn check_item(p: &mut Problems, field: &str, item: &Item) {
    check_id(p, &format!("{field}.item_id"), &item.item_id);
    if !(1..=MAX_QUANTITY).contains(&item.quantity) {
        p.add(
            format!("{field}.quantity"),
            format!("must be 1 to {MAX_QUANTITY}, not {}", item.quantity),
        );
    }
}

fn check_count(p: &mut Problems, field: &str, count: usize, max: usize) {
    if count > max {
        p.add(field, format!("holds {count} entries; at most {max}"));
    }
}

fn check_year(p: &mut Problems, field: &str, year: i32) {
    if !YEARS.contains(&year) {
        p.add(
            field,
            format!(
                "is in the year {year}; dates must lie in {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        );
    }
}

/// One field of an order: `None` when absent or null, a problem (under the field's own path) when
/// it does not parse.
fn optional<T: DeserializeOwned>(
    fields: &Map<String, Value>,
    name: &str,
    p: &mut Problems,
) -> Option<T> {
    let value = fields.get(name).filter(|v| !v.is_null())?;
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            let inner = e.path().to_string();
            let field = match inner.as_str() {
                "." => name.to_string(),
                index if index.starts_with('[') => format!("{name}{index}"),
                nested => format!("{name}.{nested}"),
            };
            p.add(field, e.into_inner().to_string());
            None
        }
    }
}

fn required<T: DeserializeOwned>(
    fields: &Map<String, Value>,
    name: &str,
    p: &mut Problems,
) -> Option<T> {
    if fields.get(name).is_none_or(Value::is_null) {
        p.add(name, "is required");
        return None;
    }
    optional(fields, name, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_with_several_bad_fields_names_every_one() {
        let e = Order::from_json(&serde_json::json!({
            "status": "発送待ち",
            "ordered_at": "yesterday",
            "tracking_numbers": ["12 34"],
            "carrier": "kuroneko",
        }))
        .unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["order_id", "ordered_at", "tracking_numbers[0]", "carrier"],
            "{e}"
        );
    }

    #[test]
    fn a_good_order_parses_the_same_as_with_serde() {
        let json = serde_json::json!({
            "order_id": "A1", "status": "処理済み", "ordered_at": "2026-11-20T10:00:00+09:00",
            "ship_date": "2026-11-22", "tracking_numbers": ["1111-2222"], "carrier": "yamato",
            "shipments": [{"shipment_id": "L1", "items": [{"item_id": "i1"}]}],
        });
        let expected: Order = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(Order::from_json(&json).unwrap(), expected);
    }

    #[test]
    fn unknown_status_names_are_kept_as_custom_statuses() {
        let s: OmsStatus = serde_json::from_str("\"ピック済\"").unwrap();
        assert_eq!(s, OmsStatus::Custom("ピック済".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"ピック済\"");
    }

    #[test]
    fn shinki_in_a_seed_means_new() {
        assert_eq!(OmsStatus::from_name("新規"), OmsStatus::New);
        assert_eq!(OmsStatus::from_name("新規受付"), OmsStatus::New);
    }

    #[test]
    fn every_known_status_round_trips_by_name() {
        for s in OmsStatus::KNOWN {
            assert_eq!(OmsStatus::from_name(s.name()), s);
        }
    }

    #[test]
    fn unknown_carrier_code_is_an_error_naming_the_field() {
        let e = Carrier::parse("kuroneko").unwrap_err();
        assert_eq!(e.field(), Some("carrier"));
        assert_eq!(
            Carrier::parse("other:西濃").unwrap(),
            Carrier::Other("西濃".into())
        );
        assert!(Carrier::parse("other:").is_err());
    }

    #[test]
    fn tracking_number_is_trimmed_and_checked() {
        assert_eq!(
            TrackingNumber::parse(" 1234-5678 ").unwrap().as_str(),
            "1234-5678"
        );
        assert!(TrackingNumber::parse("  ").is_err());
        assert!(TrackingNumber::parse("12 34").is_err());
        assert!(TrackingNumber::parse(&"9".repeat(65)).is_err());
    }
}
