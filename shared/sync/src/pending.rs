//! Orders with shipping work left, kept as data so the schedule forgets nothing without scanning
//! every stored order on every tick (SPEC.md, "The schedule forgets nothing").
//!
//! An order becomes pending, due at once, whenever the OMS sends a new version of it. After each
//! run it is settled: done (every planned update accepted, nothing waiting), due again at once (a
//! failure or a deferral), later for a refusal that waiting may cure, or at its ship date (BASE
//! waits for that day to dispatch; Bカート turns 発送指示 into 発送済). Scheduled runs plan only
//! the pending orders that are due, with no period rule: the period is the manual button's.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mallsync_rules::{time, Order};

use crate::io::{Io, IoError, Value};

/// Most pending orders one scheduled run takes (the oldest due first; the rest wait a tick).
pub const MAX_PER_RUN: u32 = 2_000;
/// How long an order the cart refused outright waits before it is tried again, unless the OMS
/// sends a new version first. Retrying every tick would only repeat the cart's answer.
pub const REFUSED_RETRY_HOURS: i64 = 6;

/// A pending order read for a run, with the version it was read at.
#[derive(Debug, Clone)]
pub struct PendingOrder {
    pub order: Order,
    pub generation: i64,
}

/// What a run found for one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Nothing left to send for this version.
    Done,
    /// Work left over that the next tick should take (a transient failure, a deferral).
    DueNow,
    /// The cart refused it; try again later unless the OMS changes it.
    Refused,
    /// Nothing to send before this day (JST): its ship date.
    DueOn(NaiveDate),
}

/// Marks the orders of a new version as due now (called as the OMS's changes are stored).
pub fn mark_due(io: &impl Io, store_id: &str, order_ids: &[&str]) -> Result<(), IoError> {
    let now = io.now().timestamp();
    for order_id in order_ids {
        io.sql(
            "INSERT INTO pending (store_id, order_id, due_at, generation, attempts) VALUES (?, ?, ?, 1, 0) \
             ON CONFLICT (store_id, order_id) DO UPDATE SET due_at = excluded.due_at, generation = pending.generation + 1, attempts = 0",
            &[store_id.into(), (*order_id).into(), now.into()],
        )?;
    }
    Ok(())
}

/// The store's pending orders due by now, oldest first, with their stored bodies.
pub fn due(io: &impl Io, store_id: &str) -> Result<Vec<PendingOrder>, IoError> {
    io.sql(
        "SELECT p.order_id, p.generation, o.body FROM pending p JOIN orders o ON o.store_id = p.store_id AND o.order_id = p.order_id \
         WHERE p.store_id = ? AND p.due_at <= ? ORDER BY p.due_at, p.order_id LIMIT ?",
        &[
            store_id.into(),
            io.now().timestamp().into(),
            Value::Integer(i64::from(MAX_PER_RUN)),
        ],
    )?
    .iter()
    .map(|r| {
        let order = serde_json::from_str(r.text("body")?).map_err(|e| {
            IoError(format!(
                "stored order {} does not parse: {e}",
                r.opt_text("order_id").unwrap_or("?")
            ))
        })?;
        Ok(PendingOrder {
            order,
            generation: r.int("generation")?,
        })
    })
    .collect()
}

/// The current versions of some orders (for a run that did not start from `due`).
pub fn generations(
    io: &impl Io,
    store_id: &str,
    order_ids: &[&str],
) -> Result<Vec<(String, i64)>, IoError> {
    let mut out = Vec::with_capacity(order_ids.len());
    for chunk in order_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut params: Vec<Value> = vec![store_id.into()];
        params.extend(chunk.iter().map(|id| Value::from(*id)));
        for row in io
            .sql(
                &format!("SELECT order_id, generation FROM pending WHERE store_id = ? AND order_id IN ({marks})"),
                &params,
            )?
            .iter()
        {
            out.push((row.text("order_id")?.to_string(), row.int("generation")?));
        }
    }
    Ok(out)
}

/// Settles one order after a run, for the version the run planned (`generation`; `None` when
/// the order was not pending, e.g. a manual run's): a newer version stored meanwhile stays due
/// as it is.
pub fn settle(
    io: &impl Io,
    store_id: &str,
    order_id: &str,
    generation: Option<i64>,
    settlement: Settlement,
) -> Result<(), IoError> {
    let now = io.now();
    let due_at = match settlement {
        Settlement::Done => {
            if let Some(generation) = generation {
                io.sql(
                    "DELETE FROM pending WHERE store_id = ? AND order_id = ? AND generation = ?",
                    &[store_id.into(), order_id.into(), generation.into()],
                )?;
            }
            return Ok(());
        }
        Settlement::DueNow => now,
        Settlement::Refused => now + Duration::hours(REFUSED_RETRY_HOURS),
        Settlement::DueOn(day) => start_of_jst_day(day).max(now),
    };
    let Some(generation) = generation else {
        // Work left by a run over an order that was not pending: it is now.
        io.sql(
            "INSERT INTO pending (store_id, order_id, due_at, generation, attempts) VALUES (?, ?, ?, 1, 1) \
             ON CONFLICT (store_id, order_id) DO NOTHING",
            &[store_id.into(), order_id.into(), due_at.timestamp().into()],
        )?;
        return Ok(());
    };
    io.sql(
        "UPDATE pending SET due_at = ?, attempts = attempts + 1 WHERE store_id = ? AND order_id = ? AND generation = ?",
        &[
            due_at.timestamp().into(),
            store_id.into(),
            order_id.into(),
            generation.into(),
        ],
    )?;
    Ok(())
}

/// When an order whose ship date is still to come has work again: that day, in Japan.
pub fn ship_day_ahead(order: &Order, now: DateTime<Utc>) -> Option<NaiveDate> {
    let today = time::today(now);
    order.ship_date.filter(|d| *d > today)
}

fn start_of_jst_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::from_naive_utc_and_offset(midnight, Utc) - Duration::hours(9)
}

/// How many orders of the store are pending (for the operator's view of a store).
pub fn count(io: &impl Io, store_id: &str) -> Result<i64, IoError> {
    io.sql(
        "SELECT COUNT(*) AS n FROM pending WHERE store_id = ?",
        &[store_id.into()],
    )?
    .first()
    .map_or(Ok(0), |r| r.int("n"))
}
