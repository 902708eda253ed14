//! Lenient readers for cart JSON: ids and numbers sent as numbers or strings (CS-Cart sends every
//! number as a string), blank dates, and Japan-time timestamps.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use mallsync_rules::time::jst;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};

/// `yyyy-MM-dd HH:mm:ss`, the timestamp form Bカート and BASE use, in Japan time.
pub const JAPAN_DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";
/// `yyyy-MM-dd`.
pub const DATE: &str = "%Y-%m-%d";

/// A JSON value as a lenient reader sees it.
enum Scalar {
    Text(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    /// An object or an array (read to its end and skipped).
    Other(Unexpected<'static>),
}

impl Scalar {
    /// As text (trimmed); `None` for blank text. An object or an array is an error.
    fn into_text(this: Option<Scalar>) -> Result<Option<String>, String> {
        let text = match this {
            None => return Ok(None),
            Some(Scalar::Text(s)) => s.trim().to_string(),
            Some(Scalar::Int(n)) => n.to_string(),
            Some(Scalar::UInt(n)) => n.to_string(),
            Some(Scalar::Float(f)) => f.to_string(),
            Some(Scalar::Bool(b)) => b.to_string(),
            Some(Scalar::Other(unexpected)) => {
                return Err(format!(
                    "invalid type: {unexpected}, expected {}",
                    ScalarReader::<()>::EXPECTING
                ))
            }
        };
        Ok(Some(text).filter(|s| !s.is_empty()))
    }
}

/// Reads one value (`null` is `None`) and hands it to `check` while the deserializer is still at
/// it, so that an error `check` returns is reported at the value (serde_json's position, from
/// which `wire` names the field). One hand-written visitor rather than an untagged enum: serde
/// reads those through a buffered copy of the value, compiled again for every field and cart.
fn read<'de, D: Deserializer<'de>, T>(
    d: D,
    check: fn(Option<Scalar>) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_any(ScalarReader { check })
}

struct ScalarReader<T> {
    check: fn(Option<Scalar>) -> Result<T, String>,
}

impl<T> ScalarReader<T> {
    const EXPECTING: &'static str = "a string, a number or a boolean";

    fn give<E: serde::de::Error>(self, value: Option<Scalar>) -> Result<T, E> {
        (self.check)(value).map_err(E::custom)
    }
}

impl<'de, T> Visitor<'de> for ScalarReader<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(Self::EXPECTING)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        self.give(Some(Scalar::Text(v.to_string())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<T, E> {
        self.give(Some(Scalar::Text(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        self.give(Some(Scalar::Int(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        self.give(Some(i64::try_from(v).map_or(Scalar::UInt(v), Scalar::Int)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
        self.give(Some(Scalar::Float(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<T, E> {
        self.give(Some(Scalar::Bool(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
        self.give(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<T, E> {
        self.give(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }

    // Objects and arrays are read to their end, so a reader that takes them as "none" (`opt_yen`)
    // goes on with the next field.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.give(Some(Scalar::Other(Unexpected::Map)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.give(Some(Scalar::Other(Unexpected::Seq)))
    }
}

/// A value sent as a number or a string, as text; `null` and `""` are `None`.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    read(d, Scalar::into_text)
}

/// An id sent as a number or a string; required and not blank.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    read(d, |v| {
        Scalar::into_text(v)?.ok_or_else(|| "the id is missing or blank".to_string())
    })
}

/// A count sent as a number or a numeric string (`"3"`, `3`, `3.0`); `null`/`""` are `None`.
pub fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    read(d, |v| match Scalar::into_text(v)? {
        None => Ok(None),
        Some(text) => parse_count(&text)
            .map(Some)
            .ok_or_else(|| format!("{text:?} is not a count")),
    })
}

/// Yen sent as a number or a numeric string (`1200`, `"5400.00"`, `0.0`), rounded to whole yen;
/// `null`, `""` and text that is not a number are `None` (an amount mallsync cannot read is
/// left out of the imported order rather than failing its import).
pub fn opt_yen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    read(d, |v| {
        Ok(match v {
            Some(Scalar::Int(n)) => Some(n),
            Some(Scalar::UInt(n)) => i64::try_from(n).ok(),
            Some(Scalar::Float(f)) => yen(f),
            Some(Scalar::Text(t)) => t.trim().parse::<f64>().ok().and_then(yen),
            Some(Scalar::Bool(_) | Scalar::Other(_)) | None => None,
        })
    })
}

fn yen(f: f64) -> Option<i64> {
    // Within ±1e15 yen the cast is exact; anything beyond is not an order amount.
    (f.is_finite() && f.abs() < 1e15).then(|| f.round() as i64)
}

/// A UNIX time in seconds sent as a number or a string; `null`, `""` and `0` are `None`.
pub fn opt_unix_time<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    read(d, |v| match Scalar::into_text(v)? {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(0) => Ok(None),
            Ok(secs) => Utc
                .timestamp_opt(secs, 0)
                .single()
                .map(|t| Some(t.with_timezone(&jst())))
                .ok_or_else(|| format!("{secs} is not a UNIX time")),
            Err(_) => Err(format!("{text:?} is not a UNIX time")),
        },
    })
}

/// A collection PHP sends as an object keyed by id (`{"8731":{…}}`), or as an array when it is
/// empty or has only list keys: `(key, value)` pairs in the order sent, array elements keyed by
/// their index; `null` is empty.
pub fn keyed<'de, D, T>(d: D) -> Result<Vec<(String, T)>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Keyed<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Keyed<T> {
        type Value = Vec<(String, T)>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object keyed by id, an array or null")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, T>()? {
                out.push((k, v));
            }
            Ok(out)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<T>()? {
                out.push((out.len().to_string(), v));
            }
            Ok(out)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }

    d.deserialize_any(Keyed(PhantomData))
}

fn parse_count(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().or_else(|| {
        let f: f64 = text.parse().ok()?;
        (f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX)).then_some(f as u32)
    })
}

/// `yyyy-MM-dd HH:mm:ss` read as Japan time.
pub fn japan_date_time(raw: &str) -> Option<DateTime<FixedOffset>> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), JAPAN_DATE_TIME).ok()?;
    jst().from_local_datetime(&naive).single()
}

/// `yyyy-MM-dd`; blank and the zero date `0000-00-00` some carts use for "none" are `None`.
pub fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), DATE).ok()
}

/// An instant written as `yyyy-MM-dd HH:mm:ss` in Japan time (for query parameters).
pub fn to_japan_date_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst()).format(JAPAN_DATE_TIME).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(deserialize_with = "id")]
        id: String,
        #[serde(default, deserialize_with = "opt_count")]
        amount: Option<u32>,
        #[serde(default, deserialize_with = "opt_unix_time")]
        at: Option<DateTime<FixedOffset>>,
    }

    #[test]
    fn ids_and_counts_are_read_from_numbers_and_strings_alike() {
        let a: Row = serde_json::from_str(r#"{"id":101,"amount":"3"}"#).unwrap();
        let b: Row = serde_json::from_str(r#"{"id":"101","amount":3}"#).unwrap();
        assert_eq!((a.id.as_str(), a.amount), ("101", Some(3)));
        assert_eq!((b.id.as_str(), b.amount), ("101", Some(3)));
    }

    #[test]
    fn a_blank_id_is_an_error_but_a_blank_count_is_none() {
        assert!(serde_json::from_str::<Row>(r#"{"id":""}"#).is_err());
        let r: Row = serde_json::from_str(r#"{"id":1,"amount":""}"#).unwrap();
        assert_eq!(r.amount, None);
        assert!(serde_json::from_str::<Row>(r#"{"id":1,"amount":"-2"}"#).is_err());
    }

    #[test]
    fn unix_times_are_shown_in_japan_time_and_zero_means_none() {
        let r: Row = serde_json::from_str(r#"{"id":1,"at":"1700000000"}"#).unwrap();
        assert_eq!(r.at.unwrap().to_rfc3339(), "2023-11-15T07:13:20+09:00");
        let r: Row = serde_json::from_str(r#"{"id":1,"at":0}"#).unwrap();
        assert_eq!(r.at, None);
    }

    #[derive(Deserialize)]
    struct Bag {
        #[serde(default, deserialize_with = "keyed")]
        products: Vec<(String, u32)>,
    }

    #[test]
    fn php_collections_are_read_from_objects_arrays_and_null_in_order() {
        let b: Bag = serde_json::from_str(r#"{"products":{"9":1,"10":2}}"#).unwrap();
        assert_eq!(b.products, vec![("9".into(), 1), ("10".into(), 2)]);
        let b: Bag = serde_json::from_str(r#"{"products":[5]}"#).unwrap();
        assert_eq!(b.products, vec![("0".into(), 5)]);
        let b: Bag = serde_json::from_str(r#"{"products":null}"#).unwrap();
        assert!(b.products.is_empty());
    }

    #[test]
    fn japan_timestamps_and_zero_dates_are_read() {
        assert_eq!(
            japan_date_time("2026-11-20 10:15:00").unwrap().to_rfc3339(),
            "2026-11-20T10:15:00+09:00"
        );
        assert_eq!(date("0000-00-00"), None);
        assert_eq!(date(""), None);
        assert_eq!(date("2026-11-21"), NaiveDate::from_ymd_opt(2026, 11, 21));
    }

    #[test]
    fn query_times_are_written_in_japan_time() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 30, 0).unwrap();
        assert_eq!(to_japan_date_time(t), "2026-11-24 00:30:00");
    }
}
