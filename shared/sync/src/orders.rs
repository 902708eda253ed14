//! Orders the OMS sent (the write-back's input) and orders imported from the cart (the OMS's
//! input, read through a cursor).

use chrono::{DateTime, Duration, Utc};
use mallsync_rules::{FieldError, ImportedOrder, Order};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::io::{Io, IoError, Value};
use crate::time;

/// Most orders one webhook may carry: enough for a busy hour, small enough for one invocation.
pub const MAX_BATCH: usize = 1_000;

/// The "updated" instant the planning query filters on: the last OMS change, else the order time.
fn updated_at(order: &Order) -> i64 {
    order.updated_at.unwrap_or(order.ordered_at).timestamp()
}

/// One order of a webhook batch, with the version counter the OMS sent for it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub order: Order,
    /// Grows with every change in the OMS; when both the stored and the received order carry
    /// one, it decides which is newer.
    pub version: Option<u64>,
}

/// Parses a webhook body `{"orders": [...]}`: every problem in every order, each named by its
/// path (`orders[3].ship_date`), or the whole batch. Nothing is stored unless all of it is good.
pub fn parse_batch(body: &[u8]) -> Result<Vec<Received>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("$", format!("is not valid JSON: {e}")))?;
    let items = value
        .get("orders")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| ApiError::invalid("orders", "must be an array of orders"))?;
    if items.len() > MAX_BATCH {
        return Err(ApiError::TooLarge(format!(
            "the batch holds {} orders; send at most {MAX_BATCH} per request",
            items.len()
        )));
    }
    let mut problems = Vec::new();
    let mut orders = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let version = match item.get("version") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(v) if v <= MAX_VERSION => Some(v),
                _ => {
                    problems.push(FieldError::new(
                        format!("orders[{i}].version"),
                        format!("must be a whole number from 0 to {MAX_VERSION}"),
                    ));
                    None
                }
            },
        };
        match Order::from_json(item) {
            Ok(order) => {
                if let Some(first) = seen.insert(order.order_id.clone(), i) {
                    problems.push(FieldError::new(
                        format!("orders[{i}].order_id"),
                        format!(
                            "{:?} is also orders[{first}]: send each order once",
                            order.order_id
                        ),
                    ));
                }
                orders.push(Received { order, version });
            }
            Err(e) => problems.extend(e.within(&format!("orders[{i}]")).problems),
        }
    }
    if problems.is_empty() {
        Ok(orders)
    } else {
        Err(ApiError::Invalid(problems))
    }
}

/// The largest version counter accepted (SQLite integers are signed 64-bit).
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// Remembers a signed delivery until its signature expires; a second delivery with the same
/// signature (a replay) is refused.
pub fn record_delivery(
    io: &impl Io,
    store_id: &str,
    header: &crate::auth::SignatureHeader,
) -> Result<(), ApiError> {
    let now = io.now().timestamp();
    io.sql(
        "DELETE FROM webhook_deliveries WHERE expires_at < ?",
        &[now.into()],
    )?;
    let signature: Vec<u8> = header.signatures.concat();
    let expires_at = header
        .timestamp
        .saturating_add(crate::auth::SIGNATURE_TOLERANCE_SECS + 1);
    let rows = io.sql(
        "INSERT INTO webhook_deliveries (store_id, signature, expires_at) VALUES (?, ?, ?) \
         ON CONFLICT (store_id, signature) DO NOTHING RETURNING signature",
        &[
            store_id.into(),
            crate::encoding::hex(&signature).into(),
            expires_at.into(),
        ],
    )?;
    if rows.is_empty() {
        return Err(ApiError::Conflict(
            "this signed delivery was already received (a replay): sign each delivery anew with \
             the current time / 同じ署名の配信は受信済みです。配信ごとに現在時刻で署名してください"
                .into(),
        ));
    }
    Ok(())
}

/// An order that was not stored because the stored one is as new and differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub order_id: String,
    pub message: String,
    pub message_ja: String,
}

/// What storing a batch did.
#[derive(Debug, Clone, Default)]
pub struct Upserted {
    /// Stored: new orders and newer versions.
    pub changed: Vec<Order>,
    /// Not stored: older than what is stored (a replayed or late delivery). By order id.
    pub stale: Vec<String>,
    /// Not stored: as new as the stored order (same version or same `updated_at`) but different.
    pub conflicts: Vec<Conflict>,
}

/// The stored form: the order, with its version counter when the OMS sent one.
fn stored_body(received: &Received) -> Result<String, ApiError> {
    let mut value = serde_json::to_value(&received.order)
        .map_err(|e| ApiError::Internal(format!("order does not serialize: {e}")))?;
    if let (Some(version), Some(fields)) = (received.version, value.as_object_mut()) {
        fields.insert("version".into(), version.into());
    }
    Ok(value.to_string())
}

/// Stores the orders and returns those whose stored data changed. Only a newer order replaces a
/// stored one: a higher version counter when both carry one, else a later `updated_at`. Without
/// versions, equal times with different data are conflicts, never a silent overwrite.
pub fn upsert_received(
    io: &impl Io,
    store_id: &str,
    orders: Vec<Received>,
) -> Result<Upserted, ApiError> {
    let now = io.now().timestamp();
    let mut done = Upserted::default();
    for received in orders {
        let body = stored_body(&received)?;
        let order_id = received.order.order_id.clone();
        let updated = updated_at(&received.order);
        let rows = io.sql(
            "INSERT INTO orders (store_id, order_id, body, updated_at, received_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (store_id, order_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, received_at = excluded.received_at \
             WHERE CASE WHEN json_extract(excluded.body, '$.version') IS NOT NULL \
                         AND json_extract(orders.body, '$.version') IS NOT NULL \
                         AND json_extract(excluded.body, '$.version') <> json_extract(orders.body, '$.version') \
                    THEN json_extract(excluded.body, '$.version') > json_extract(orders.body, '$.version') \
                    ELSE excluded.updated_at > orders.updated_at END \
             RETURNING order_id",
            &[
                store_id.into(),
                order_id.clone().into(),
                body.clone().into(),
                updated.into(),
                now.into(),
            ],
        )?;
        if !rows.is_empty() {
            done.changed.push(received.order);
            continue;
        }
        // Not stored: the same data again, an older version, or a conflict.
        let stored = io.sql(
            "SELECT body, updated_at FROM orders WHERE store_id = ? AND order_id = ?",
            &[store_id.into(), order_id.clone().into()],
        )?;
        let Some(row) = stored.first() else { continue };
        let stored_body = row.text("body")?;
        if stored_body == body {
            continue;
        }
        let stored_version = serde_json::from_str::<serde_json::Value>(stored_body)
            .ok()
            .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
        let older = match (received.version, stored_version) {
            (Some(new), Some(old)) if new != old => new < old,
            _ => updated < row.int("updated_at")?,
        };
        if older {
            done.stale.push(order_id);
        } else {
            done.conflicts.push(Conflict {
                message: format!(
                    "order {order_id} is stored with the same version and updated_at but other data: \
                     send a later updated_at (or a higher version) for a change"
                ),
                message_ja: format!(
                    "受注 {order_id} は同じ更新日時(バージョン)で別の内容が保存済みです。変更には新しい updated_at (または version) を付けてください"
                ),
                order_id,
            });
        }
    }
    Ok(done)
}

/// Stores orders without version counters; returns those whose stored data changed.
pub fn upsert(io: &impl Io, store_id: &str, orders: Vec<Order>) -> Result<Vec<Order>, ApiError> {
    let received = orders
        .into_iter()
        .map(|order| Received {
            order,
            version: None,
        })
        .collect();
    Ok(upsert_received(io, store_id, received)?.changed)
}

/// The planning query: the store's orders updated at or after `since` (index orders_by_update).
pub fn updated_since(
    io: &impl Io,
    store_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Order>, IoError> {
    io.sql(
        "SELECT order_id, body FROM orders WHERE store_id = ? AND updated_at >= ?",
        &[store_id.into(), since.timestamp().into()],
    )?
    .iter()
    .map(|r| {
        serde_json::from_str(r.text("body")?).map_err(|e| {
            IoError(format!(
                "stored order {} does not parse: {e}",
                r.opt_text("order_id").unwrap_or("?")
            ))
        })
    })
    .collect()
}

/// The stored orders with these ids (those the store has).
pub fn by_ids(io: &impl Io, store_id: &str, order_ids: &[&str]) -> Result<Vec<Order>, IoError> {
    let mut out = Vec::with_capacity(order_ids.len());
    for chunk in order_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut params: Vec<Value> = vec![store_id.into()];
        params.extend(chunk.iter().map(|id| Value::from(*id)));
        for row in io
            .sql(
                &format!("SELECT order_id, body FROM orders WHERE store_id = ? AND order_id IN ({marks})"),
                &params,
            )?
            .iter()
        {
            out.push(serde_json::from_str(row.text("body")?).map_err(|e| {
                IoError(format!(
                    "stored order {} does not parse: {e}",
                    row.opt_text("order_id").unwrap_or("?")
                ))
            })?);
        }
    }
    Ok(out)
}

/// Orders updated within the last `days` days.
pub fn updated_within(
    io: &impl Io,
    store_id: &str,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Order>, IoError> {
    updated_since(io, store_id, now - Duration::days(i64::from(days)))
}

/// One imported order as the OMS reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// The cursor: pass the last `seq` seen as `after` to read on.
    pub seq: i64,
    pub imported_at: DateTime<Utc>,
    /// 1 for the order as first imported; each change in the cart since adds one.
    pub version: i64,
    /// What changed since the version before (`cart_status`, `items`, `shipments`, …); empty for
    /// version 1.
    pub changes: Vec<String>,
    pub order: serde_json::Value,
}

/// What keeping one imported order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The store did not have it: version 1.
    New,
    /// It changed in the cart: a new version, with the fields that changed.
    Changed(Vec<String>),
    /// The same as the version the OMS has: nothing to deliver.
    Unchanged,
}

/// The stored body: the order and its version. (Rows written before versions held the order
/// alone: version 1.)
#[derive(Debug, Serialize, serde::Deserialize)]
struct Stored {
    version: i64,
    #[serde(default)]
    changes: Vec<String>,
    order: serde_json::Value,
}

fn stored(body: &str) -> Result<Stored, IoError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| IoError(format!("imported order does not parse: {e}")))?;
    if value.get("version").is_some() && value.get("order").is_some() {
        serde_json::from_value(value)
            .map_err(|e| IoError(format!("imported order does not parse: {e}")))
    } else {
        Ok(Stored {
            version: 1,
            changes: Vec::new(),
            order: value,
        })
    }
}

/// Keeps an imported order: new, a new version when it changed in the cart (it moves to the end
/// of the cursor with a new `seq`, so the OMS reads it once more), or nothing when unchanged.
pub fn keep_imported(
    io: &impl Io,
    store_id: &str,
    order: &ImportedOrder,
) -> Result<Kept, ApiError> {
    let serialize = |stored: &Stored| {
        serde_json::to_string(stored)
            .map_err(|e| ApiError::Internal(format!("order does not serialize: {e}")))
    };
    let value = serde_json::to_value(order)
        .map_err(|e| ApiError::Internal(format!("order does not serialize: {e}")))?;
    let now = io.now().timestamp();
    let existing = io.sql(
        "SELECT body FROM imported_orders WHERE store_id = ? AND order_id = ?",
        &[store_id.into(), order.order_id.clone().into()],
    )?;
    let Some(old_body) = existing
        .first()
        .map(|r| r.text("body").map(str::to_string))
        .transpose()?
    else {
        let body = serialize(&Stored {
            version: 1,
            changes: Vec::new(),
            order: value,
        })?;
        let rows = io.sql(
            "INSERT INTO imported_orders (store_id, order_id, body, imported_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (store_id, order_id) DO NOTHING RETURNING seq",
            &[store_id.into(), order.order_id.clone().into(), body.into(), now.into()],
        )?;
        // Another run kept it first: that run delivers it.
        return Ok(if rows.is_empty() {
            Kept::Unchanged
        } else {
            Kept::New
        });
    };
    let old = stored(&old_body)?;
    let changes: Vec<String> = match serde_json::from_value::<ImportedOrder>(old.order.clone()) {
        Ok(earlier) => order
            .changes_since(&earlier)
            .into_iter()
            .map(str::to_string)
            .collect(),
        // Imported before orders were whole: deliver the whole order once.
        Err(_) => vec!["order".to_string()],
    };
    if changes.is_empty() {
        return Ok(Kept::Unchanged);
    }
    let body = serialize(&Stored {
        version: old.version + 1,
        changes: changes.clone(),
        order: value,
    })?;
    // Delete then insert, each guarded: a new seq from AUTOINCREMENT is above every seq ever
    // given, so the OMS reading on from its cursor sees the new version exactly once. Only the
    // run that removed the old version inserts the new one.
    let removed = io.sql(
        "DELETE FROM imported_orders WHERE store_id = ? AND order_id = ? AND body = ? RETURNING seq",
        &[store_id.into(), order.order_id.clone().into(), old_body.into()],
    )?;
    if removed.is_empty() {
        return Ok(Kept::Unchanged);
    }
    io.sql(
        "INSERT INTO imported_orders (store_id, order_id, body, imported_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (store_id, order_id) DO NOTHING",
        &[
            store_id.into(),
            order.order_id.clone().into(),
            body.into(),
            now.into(),
        ],
    )?;
    Ok(Kept::Changed(changes))
}

/// Imported orders after the cursor `after`, oldest first. `seq` grows in commit order (SQLite
/// writes one statement at a time), so reading on from the last `seq` misses nothing.
pub fn imported_after(
    io: &impl Io,
    store_id: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<Imported>, IoError> {
    io.sql(
        "SELECT seq, body, imported_at FROM imported_orders WHERE store_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        &[store_id.into(), after.into(), Value::Integer(i64::from(limit))],
    )?
    .iter()
    .map(|r| {
        let body = stored(r.text("body")?)?;
        Ok(Imported {
            seq: r.int("seq")?,
            imported_at: time::from_seconds(r.int("imported_at")?),
            version: body.version,
            changes: body.changes,
            order: body.order,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_order_in_a_batch_is_named_by_its_index_and_field() {
        let body = r#"{"orders": [
            {"order_id": "A1", "status": "処理中", "ordered_at": "2026-11-20T10:00:00+09:00"},
            {"order_id": "A2", "status": "処理中", "ordered_at": "yesterday"},
            {"order_id": "A3", "status": "処理中", "ordered_at": "2026-11-20T10:00:00+09:00", "carrier": "kuroneko"},
            {"order_id": "A1", "status": "処理中", "ordered_at": "2026-11-20T10:00:00+09:00"}
        ]}"#.as_bytes();
        let ApiError::Invalid(problems) = parse_batch(body).unwrap_err() else {
            panic!("expected a 400");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "orders[1].ordered_at",
                "orders[2].carrier",
                "orders[3].order_id"
            ]
        );
    }

    #[test]
    fn a_body_without_an_orders_array_is_refused() {
        assert!(matches!(parse_batch(b"[]"), Err(ApiError::Invalid(_))));
        assert!(matches!(
            parse_batch(b"{\"orders\": 3}"),
            Err(ApiError::Invalid(_))
        ));
    }
}
