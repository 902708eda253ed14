//! The scheduled tick: finds the stores whose auto-fetch or auto-export interval has come and
//! runs them, within one invocation's budget, resuming from a saved cursor on the next tick.
//! A lease row makes overlapping or duplicated ticks harmless: the second one does nothing.
//!
//! The `scheduler` component's cron event and the `dispatcher` component's
//! `POST /internal/dispatch` both run [`record_tick`]: the tick over every cart, recorded with
//! what started it. (The route and the stored names keep their deployed spelling; in the code,
//! "dispatch" is BASE's shipping and the component's name, never this tick.)

use chrono::{DateTime, Duration, Utc};
use mallsync_rules::{Cart, ImportWindow, Trigger};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::io::{random_hex, Io};
use crate::shops::{self, Store};
use crate::{import, lease, runlog, schema, with_cart, write_back};

/// A tick stops starting new work after this long (Spin stops a handler at 30 s).
pub const TICK_BUDGET_SECS: i64 = 20;
/// A lease outlives its tick's budget by this much (the last run may end after the budget), so
/// a crashed tick's lease lapses soon after.
const LEASE_GRACE_SECS: i64 = 30;
/// A run still open this long after it started was cut off (Spin's limit is 30 s).
const INTERRUPTED_AFTER_SECS: i64 = 120;
const LAST_IMPORT: &str = "last_scheduled_import";
const LAST_EXPORT: &str = "last_scheduled_export";
/// The cursor row of the schedule itself (no store).
const SCHEDULE_ROW: &str = "";

/// What one store got in this tick.
#[derive(Debug, Clone, Serialize)]
pub struct StoreWork {
    pub store_id: String,
    pub cart: Cart,
    /// `import`, `write_back` or `token_renewal` (a refresh token renewed before it lapsed).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct TickReport {
    /// Set when another tick holds the lease: this one did nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub stores_checked: usize,
    pub work: Vec<StoreWork>,
    /// Stores whose stored row no longer parses (the detail is in the log).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_stores: Vec<String>,
    /// Set when the budget ran out: the next tick starts after this store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
    /// Notifications delivered (or failed, to be retried) after the runs.
    pub notifications: crate::notify::Delivered,
}

/// One tick over every cart's stores (the dispatcher and scheduler components, with every cart's
/// hosts).
pub fn tick(io: &impl Io) -> Result<TickReport, ApiError> {
    tick_within(io, None, Duration::seconds(TICK_BUDGET_SECS))
}

/// One tick over one cart's stores (a cart component, which may call only its own cart).
pub fn tick_cart(io: &impl Io, cart: Cart) -> Result<TickReport, ApiError> {
    tick_within(io, Some(cart), Duration::seconds(TICK_BUDGET_SECS))
}

/// One tick over `cart`'s stores (all carts for `None`) that starts no new work after `budget`.
pub fn tick_within(
    io: &impl Io,
    cart: Option<Cart>,
    budget: Duration,
) -> Result<TickReport, ApiError> {
    schema::ensure(io)?;
    let scope = format!("dispatch:{}", cart.map_or("all", Cart::slug));
    let owner = random_hex(io, 8)?;
    let started = io.now();
    let deadline = started + budget;
    let lease_until = deadline + Duration::seconds(LEASE_GRACE_SECS);
    if !lease::take(io, &scope, &owner, lease_until.timestamp())? {
        return Ok(TickReport {
            skipped: Some("another scheduled tick is running".into()),
            ..TickReport::default()
        });
    }
    // A run that started this long ago and never finished was cut off (Spin stops an
    // invocation at 30 s): close it in the log so the operator sees it was interrupted.
    let cut_off = started - Duration::seconds(INTERRUPTED_AFTER_SECS);
    let result = runlog::close_interrupted(io, cut_off)
        .map_err(ApiError::from)
        .and_then(|_| walk(io, cart, &scope, deadline));
    // Notifications go out after the runs, in what is left of the budget (plus a little, so a
    // tick that used all of it still delivers); a failure waits for a later tick.
    let delivered = crate::notify::deliver_due(
        io,
        None,
        deadline.max(io.now()) + Duration::seconds(crate::notify::FOLLOW_UP_SECS),
    );
    if let Err(e) = &delivered {
        eprintln!("mallsync dispatch: notifications not delivered: {e}");
    }
    lease::give_back(io, &scope, &owner)?;
    result.map(|mut report| {
        report.notifications = delivered.unwrap_or_default();
        report
    })
}

fn walk(
    io: &impl Io,
    cart: Option<Cart>,
    scope: &str,
    deadline: DateTime<Utc>,
) -> Result<TickReport, ApiError> {
    let after = lease::cursor(io, SCHEDULE_ROW, scope)?.unwrap_or_default();
    let mut report = TickReport::default();
    let mut last_done = after.clone();
    for (store_id, store) in shops::stores_after(io, cart, &after)? {
        if io.now() >= deadline {
            report.resume_after = Some(last_done);
            break;
        }
        report.stores_checked += 1;
        match store {
            Ok(store) => run_due(io, &store, deadline, &mut report)?,
            Err(e) => {
                eprintln!("mallsync schedule: store {store_id} skipped: {e}");
                report.skipped_stores.push(store_id.clone());
            }
        }
        lease::set_cursor(io, SCHEDULE_ROW, scope, &store_id)?;
        last_done = store_id;
    }
    if report.resume_after.is_none() {
        // Every store had its turn: the next tick starts from the first again.
        lease::set_cursor(io, SCHEDULE_ROW, scope, "")?;
    }
    Ok(report)
}

/// Whether `interval_minutes` have passed since the last scheduled run of `kind`; if so, marks
/// now as that run's time (before running, so a failing store waits its interval too).
fn due(io: &impl Io, store: &Store, kind: &str, interval_minutes: u32) -> Result<bool, ApiError> {
    let now = io.now();
    let last = lease::cursor(io, &store.id, kind)?
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0));
    let is_due = last.is_none_or(|t| t + Duration::minutes(i64::from(interval_minutes)) <= now);
    if is_due {
        lease::set_cursor(io, &store.id, kind, &now.timestamp().to_string())?;
    }
    Ok(is_due)
}

fn run_due(
    io: &impl Io,
    store: &Store,
    deadline: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), ApiError> {
    // A store with nothing to sync keeps its connection: a refresh token near its lapse is
    // renewed here (BASE's lapses 30 days after its last use).
    if io.now() < deadline {
        let renewed =
            with_cart!(store.cart, C => crate::carts::keep_token_alive::<C>(io, store, deadline));
        crate::notify::note_renewal(io, store, renewed.as_ref().err())?;
        match renewed {
            Ok(false) => {}
            Ok(true) => report.work.push(StoreWork {
                store_id: store.id.clone(),
                cart: store.cart,
                kind: "token_renewal",
                run_id: None,
                error: None,
            }),
            Err(e) => report.work.push(work(store, "token_renewal", Err(e))?),
        }
    }
    // A store that needs reconnection or whose credentials lapse soon: a notice (once).
    crate::notify::watch_store(io, store)?;
    let import = store.settings.import();
    if import.auto_fetch && due(io, store, LAST_IMPORT, import.auto_fetch_interval_minutes)? {
        let outcome = ImportWindow::from_days(import.days_to_fetch, io.now())
            .map_err(ApiError::from)
            .and_then(|window| with_cart!(store.cart, C => import::run::<C>(io, store, window, import::ImportTrigger::Scheduled)));
        if outcome.as_ref().is_ok_and(|r| !r.complete) {
            // An unfinished import goes on at the next tick, not an interval later.
            lease::set_cursor(io, &store.id, LAST_IMPORT, "0")?;
        }
        report
            .work
            .push(work(store, "import", outcome.map(|r| r.run_id))?);
    }
    let export = store.settings.export();
    if export.auto_export
        && io.now() < deadline
        && due(io, store, LAST_EXPORT, export.auto_export_interval_minutes)?
    {
        // Only the orders with work left that is due: nothing due, no run (and no log line).
        let orders = write_back::orders_for(io, store, Trigger::Scheduled)?;
        if !orders.is_empty() {
            let outcome = with_cart!(store.cart, C => write_back::run::<C>(io, store, Trigger::Scheduled, &orders, deadline));
            if outcome.as_ref().is_ok_and(|r| r.out_of_time) {
                // Work deferred (time or request budget, a cart limit): due again on the next
                // tick; the account's budget decides when the cart is actually called.
                lease::set_cursor(io, &store.id, LAST_EXPORT, "0")?;
            }
            report
                .work
                .push(work(store, "write_back", outcome.map(|r| r.run_id))?);
        }
    }
    Ok(())
}

/// A store's result for the report; a platform failure ends the tick, a cart failure does not.
fn work(
    store: &Store,
    kind: &'static str,
    outcome: Result<i64, ApiError>,
) -> Result<StoreWork, ApiError> {
    let (run_id, error) = match outcome {
        Ok(run_id) => (Some(run_id), None),
        Err(e @ ApiError::Internal(_)) => return Err(e),
        Err(e) => (None, Some(e.message())),
    };
    Ok(StoreWork {
        store_id: store.id.clone(),
        cart: store.cart,
        kind,
        run_id,
        error,
    })
}

/// What started a recorded tick: the cron trigger (the `scheduler` component) or
/// `POST /internal/dispatch` (the `dispatcher` component, called by an external scheduler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickSource {
    Cron,
    Http,
}

impl TickSource {
    fn as_str(self) -> &'static str {
        match self {
            TickSource::Cron => "cron",
            TickSource::Http => "http",
        }
    }
}

/// One recorded tick, as `POST /internal/dispatch` answers it and `GET` shows the last one.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedTick {
    pub run: i64,
    pub trigger: &'static str,
    pub at_unix: i64,
    /// What the tick did.
    pub work: TickReport,
}

/// Every recorded tick, one row each: the proof that the schedule reaches the service.
const TICKS_TABLE: &str = "CREATE TABLE IF NOT EXISTS dispatch_runs (run INTEGER PRIMARY KEY AUTOINCREMENT, trigger TEXT NOT NULL, at_unix INTEGER NOT NULL)";
/// The last recorded tick, in key-value.
const LAST_TICK_KEY: &str = "dispatch:last_run";

/// Records a tick started by `source` at `at_unix` (the cron event's time, or now), then runs it
/// over every cart's stores.
pub fn record_tick(
    io: &impl Io,
    source: TickSource,
    at_unix: i64,
) -> Result<RecordedTick, ApiError> {
    io.sql(TICKS_TABLE, &[])?;
    let inserted = io.sql(
        "INSERT INTO dispatch_runs (trigger, at_unix) VALUES (?, ?) RETURNING run",
        &[source.as_str().into(), at_unix.into()],
    )?;
    let run = inserted
        .first()
        .and_then(|row| row.opt_int("run"))
        .ok_or_else(|| ApiError::Internal("INSERT … RETURNING gave no run number".into()))?;
    let record = RecordedTick {
        run,
        trigger: source.as_str(),
        at_unix,
        work: tick(io)?,
    };
    let bytes = serde_json::to_vec(&record)
        .map_err(|e| ApiError::Internal(format!("the recorded tick does not serialize: {e}")))?;
    io.kv_set(LAST_TICK_KEY, &bytes)?;
    Ok(record)
}

/// How many ticks each source started so far, and the last one.
pub fn recorded_ticks(io: &impl Io) -> Result<serde_json::Value, ApiError> {
    io.sql(TICKS_TABLE, &[])?;
    let counts = io.sql(
        "SELECT trigger, COUNT(*) AS runs FROM dispatch_runs GROUP BY trigger",
        &[],
    )?;
    let mut by_source = serde_json::Map::new();
    for row in counts.iter() {
        by_source.insert(row.text("trigger")?.to_string(), row.int("runs")?.into());
    }
    let last: Option<serde_json::Value> = match io.kv_get(LAST_TICK_KEY)? {
        None => None,
        Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::Internal(format!("key-value {LAST_TICK_KEY} does not parse: {e}"))
        })?),
    };
    Ok(serde_json::json!({ "runs": by_source, "last_run": last }))
}
