//! Import (取込): fetch the cart's orders in a window, one request per step, and keep each whole
//! order for the OMS to read through its cursor: new ones once, changed ones again as a new
//! version, unchanged ones never twice.
//!
//! Progress (the window and the cart's page cursor) is saved after every step, so a run that
//! runs out of time or rate budget, or meets a 429 or 5xx, keeps what it fetched and the next run
//! goes on from the page it stopped at.

use chrono::{DateTime, Duration, Utc};
use mallsync_carts::drive;
use mallsync_rules::ImportWindow;
use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;
use crate::carts::{self, CartBinding};
use crate::io::Io;
use crate::lease;
use crate::orders::{self, Kept};
use crate::pacing::Pacer;
use crate::runlog;
use crate::shops::Store;
use crate::write_back::RUN_BUDGET_SECS;

/// The `cursors` row holding an unfinished import's progress.
pub const PROGRESS: &str = "import_progress";

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub run_id: i64,
    pub window: ImportWindow,
    /// Orders the cart returned in this run.
    pub fetched: usize,
    /// Of those, orders the store did not have yet (now readable through the cursor).
    pub imported: usize,
    /// Of those, orders that changed in the cart since imported (readable again as a new version).
    pub changed: usize,
    /// Requests (pages, or BASE/CS-Cart order details) this run completed.
    pub steps: u32,
    /// Steps of this import completed so far, over every run.
    pub steps_total: u32,
    /// The whole window is imported; otherwise the next run goes on where this one stopped.
    pub complete: bool,
    /// Why the run stopped early (rate budget, time, a 429 or 5xx), for the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// What started an import (the run log's `trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportTrigger {
    /// Auto-fetch on the store's schedule: always goes on with a saved window.
    Scheduled,
    /// データ取込 asked for a window (console or API).
    Manual,
}

impl ImportTrigger {
    pub fn label(self) -> &'static str {
        match self {
            ImportTrigger::Scheduled => "scheduled",
            ImportTrigger::Manual => "manual",
        }
    }
}

/// An unfinished import: its window and the cart's cursor of the next step.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// `C::ImportCursor` as JSON.
    cursor: serde_json::Value,
    /// Steps completed so far.
    steps: u32,
}

fn load_progress(io: &impl Io, store_id: &str) -> Result<Option<Progress>, ApiError> {
    Ok(lease::cursor(io, store_id, PROGRESS)?
        .filter(|raw| !raw.is_empty())
        .and_then(|raw| serde_json::from_str(&raw).ok()))
}

fn save_progress(
    io: &impl Io,
    store_id: &str,
    progress: Option<&Progress>,
) -> Result<(), ApiError> {
    let raw = match progress {
        Some(p) => serde_json::to_string(p)
            .map_err(|e| ApiError::Internal(format!("import progress does not serialize: {e}")))?,
        None => String::new(),
    };
    lease::set_cursor(io, store_id, PROGRESS, &raw)?;
    Ok(())
}

/// The one place an import's pacer is made: the cart account's shared request budget.
fn pacer_for<C: CartBinding>(io: &impl Io, settings: &C::Settings) -> Result<Pacer, ApiError> {
    let unconnected = carts::api_without_token::<C>(io, settings)?;
    carts::pacer::<C>(settings, &unconnected)
}

/// Requests to a cart that allows one request per window (futureshop and ショップサーブ's 1
/// request/s) are spaced from the *answer* of the one before, not from when it
/// was sent: the cart counts arrivals, and a first request slow to arrive followed by a fast one
/// would otherwise land two within one second (seen through the host against the futureshop fake).
/// Costs one answer's latency per request. (A candidate for the shared pacer itself.)
struct Spacing {
    gap: Option<Duration>,
    last_answer: Option<DateTime<Utc>>,
}

impl Spacing {
    fn for_policy(policy: &mallsync_carts::RateLimitPolicy) -> Spacing {
        // Only a window of one request: a cart allowing bursts (Bカート's 300 per 300 s) is
        // left to the pacer alone.
        let gap = (policy.max_requests == Some(1))
            .then(|| i64::try_from(policy.window_secs).ok())
            .flatten()
            .map(Duration::seconds);
        Spacing {
            gap,
            last_answer: None,
        }
    }

    /// `pacer.send`, first waiting out the gap after the last answer (refusing, like the pacer,
    /// when that wait would end after `deadline`).
    fn send(
        &mut self,
        pacer: &mut Pacer,
        io: &impl Io,
        deadline: DateTime<Utc>,
        request: mallsync_carts::Request,
    ) -> Result<mallsync_carts::Response, mallsync_carts::TransportError> {
        if let (Some(gap), Some(last)) = (self.gap, self.last_answer) {
            let ready = last + gap;
            if ready >= deadline {
                return Err(mallsync_carts::TransportError(
                    "this run's time is up before the cart's next request slot; the next run goes on"
                        .into(),
                ));
            }
            if let Ok(wait) = (ready - io.now()).to_std() {
                io.sleep(wait);
            }
        }
        let answer = pacer.send(io, deadline, request);
        self.last_answer = Some(io.now());
        answer
    }

    /// A request was answered at `at` outside `send` (the token request).
    fn answered(&mut self, at: DateTime<Utc>) {
        self.last_answer = Some(at);
    }
}

/// The store's API handle, a token request (futureshop, BASE) going through the pacer like every
/// other request: futureshop counts token requests in its one request a second.
fn paced_api<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    settings: &C::Settings,
    pacer: &mut Pacer,
    spacing: &mut Spacing,
    deadline: DateTime<Utc>,
) -> Result<mallsync_carts::Api<C::Credentials>, ApiError> {
    // One renewal at a time per store (carts::fresh_token); the next request is spaced from now.
    let api = carts::api::<C>(io, &store.id, settings, pacer, deadline)?;
    spacing.answered(io.now());
    Ok(api)
}

/// Imports the window, or goes on with an unfinished one first: a scheduled run always, a manual
/// run when its window starts where the saved one does (otherwise it starts its own). The run log
/// records how far it got, including a failure.
pub fn run<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    window: ImportWindow,
    trigger: ImportTrigger,
) -> Result<ImportReport, ApiError> {
    let settings = carts::settings_for::<C>(store)?;
    let run_id = runlog::start(io, &store.id, "import", trigger.label())?;
    let deadline = io.now() + Duration::seconds(RUN_BUDGET_SECS);
    // One import of a store at a time: two would share the cart's budget and race on the saved
    // progress. The lease lapses on its own if a run dies.
    let lease = lease_name(&store.id);
    let owner = format!("import-run-{run_id}");
    let until = (deadline + Duration::seconds(LEASE_SLACK_SECS)).timestamp();
    if !lease::take(io, &lease, &owner, until)? {
        let message = "another import of this store is running; try again when it has finished / 取込を実行中です";
        runlog::finish(io, run_id, runlog::Counts::default(), Some(message))?;
        return Err(ApiError::Conflict(message.into()));
    }
    let outcome = run_leased::<C>(io, store, settings, window, trigger, run_id, deadline);
    lease::give_back(io, &lease, &owner)?;
    outcome
}

/// How long past its budget an import's lease holds (the last request's answer, the run log).
const LEASE_SLACK_SECS: i64 = 60;

/// The lease one store's import holds while it runs.
pub fn lease_name(store_id: &str) -> String {
    format!("import:{store_id}")
}

fn run_leased<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    settings: &C::Settings,
    window: ImportWindow,
    trigger: ImportTrigger,
    run_id: i64,
    deadline: DateTime<Utc>,
) -> Result<ImportReport, ApiError> {
    let mut pacer = match pacer_for::<C>(io, settings) {
        Ok(pacer) => pacer,
        Err(e) => {
            // The store cannot be called at all (e.g. its URL is outside the cart's origins):
            // the run is closed with the reason.
            runlog::finish(io, run_id, runlog::Counts::default(), Some(&e.message()))?;
            return Err(e);
        }
    };
    let mut spacing = Spacing::for_policy(&C::RATE_LIMIT);
    let mut position = Position::<C::ImportCursor>::start(io, &store.id, window, trigger)?;
    let mut report = ImportReport {
        run_id,
        window: position.window,
        fetched: 0,
        imported: 0,
        changed: 0,
        steps: 0,
        steps_total: position.steps_total,
        complete: false,
        stopped: None,
    };
    let failure = match paced_api::<C>(io, store, settings, &mut pacer, &mut spacing, deadline) {
        // A token request refused for now (rate limit, 5xx): nothing lost, the next run retries.
        Err(ApiError::Cart(e)) if e.is_retryable() => {
            report.stopped = Some(e.to_string());
            None
        }
        Err(e) => Some(e),
        Ok(api) => {
            let mut cart = Paced {
                pacer: &mut pacer,
                spacing: &mut spacing,
                deadline,
            };
            fetch_pages::<C>(
                io,
                store,
                settings,
                &api,
                &mut cart,
                &mut position,
                &mut report,
            )?
        }
    };
    report.window = position.window;
    report.steps_total = position.steps_total;
    if !report.complete && failure.is_none() && report.steps == 0 && !position.resumed {
        // Nothing fetched and nothing saved yet: save the start, so the next run knows the window.
        position.save(io, &store.id)?;
    }
    let counts = runlog::Counts {
        imported: report.imported + report.changed,
        ..runlog::Counts::default()
    };
    let note = note(&report, failure.as_ref());
    runlog::finish(io, run_id, counts, note.as_deref())?;
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Where an import stands: the window being fetched, the cart's cursor of its next step, and
/// the part of the asked-for window still to follow.
struct Position<Cursor> {
    window: ImportWindow,
    cursor: Cursor,
    /// Steps of this import completed so far, over every run.
    steps_total: u32,
    /// The asked-for window after the saved one ended, fetched once the saved one is done.
    tail: Option<ImportWindow>,
    /// Whether this run goes on with a saved window.
    resumed: bool,
}

impl<Cursor: Default + Serialize + serde::de::DeserializeOwned> Position<Cursor> {
    /// Goes on with a saved window: a scheduled run always, a manual one when it starts where the
    /// saved one starts. Once that is done, the rest of the asked-for window (from where the saved
    /// one ended) follows in the same run, so nothing between the two is left out.
    fn start(
        io: &impl Io,
        store_id: &str,
        asked: ImportWindow,
        trigger: ImportTrigger,
    ) -> Result<Self, ApiError> {
        let saved = load_progress(io, store_id)?
            .filter(|p| trigger == ImportTrigger::Scheduled || p.from == asked.from);
        let resume = saved.and_then(|p| {
            let cursor = serde_json::from_value::<Cursor>(p.cursor.clone()).ok()?;
            Some((p, cursor))
        });
        Ok(match resume {
            Some((p, cursor)) => Position {
                window: ImportWindow {
                    from: p.from,
                    to: p.to,
                },
                cursor,
                steps_total: p.steps,
                tail: (asked.to > p.to).then_some(ImportWindow {
                    from: p.to,
                    to: asked.to,
                }),
                resumed: true,
            },
            None => Position {
                window: asked,
                cursor: Cursor::default(),
                steps_total: 0,
                tail: None,
                resumed: false,
            },
        })
    }

    /// Saves where the next step starts, for the next run to go on from.
    fn save(&self, io: &impl Io, store_id: &str) -> Result<(), ApiError> {
        let progress = Progress {
            from: self.window.from,
            to: self.window.to,
            cursor: serde_json::to_value(&self.cursor).map_err(|e| {
                ApiError::Internal(format!("import cursor does not serialize: {e}"))
            })?,
            steps: self.steps_total,
        };
        save_progress(io, store_id, Some(&progress))
    }
}

/// A run's way to the cart: the account's budget, the spacing of one-request windows, and the
/// run's deadline.
struct Paced<'a> {
    pacer: &'a mut Pacer,
    spacing: &'a mut Spacing,
    deadline: DateTime<Utc>,
}

/// Fetches page after page, keeping each page's orders and saving the position after it, until
/// the window (and its tail) is done, the run's time is up, or the cart refuses. Returns the
/// failure that ends the import for the operator (a 429 or 5xx only stops this run, noted in
/// `report.stopped`); `Err` is a failure of mallsync's own storage.
fn fetch_pages<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    settings: &C::Settings,
    api: &mallsync_carts::Api<C::Credentials>,
    cart: &mut Paced,
    position: &mut Position<C::ImportCursor>,
    report: &mut ImportReport,
) -> Result<Option<ApiError>, ApiError> {
    loop {
        let query = carts::import_query::<C>(settings, position.window);
        if io.now() >= cart.deadline {
            report.stopped = Some(format!(
                "this run's {RUN_BUDGET_SECS} s are used up / 実行時間の上限に達しました"
            ));
            return Ok(None);
        }
        let step = drive(C::import_page(api, &query, &position.cursor), |request| {
            cart.spacing.send(cart.pacer, io, cart.deadline, request)
        });
        let page = match step {
            Ok(page) => page,
            Err(e) if e.is_retryable() => {
                report.stopped = Some(e.to_string());
                return Ok(None);
            }
            Err(e) => return Ok(Some(ApiError::from(e))),
        };
        report.steps += 1;
        position.steps_total += 1;
        report.fetched += page.orders.len();
        for order in &page.orders {
            match orders::keep_imported(io, &store.id, order)? {
                Kept::New => report.imported += 1,
                Kept::Changed(_) => report.changed += 1,
                Kept::Unchanged => {}
            }
        }
        match (page.next, position.tail.take()) {
            (Some(next), tail) => {
                position.cursor = next;
                position.tail = tail;
            }
            (None, Some(rest)) => {
                position.window = rest;
                position.cursor = C::ImportCursor::default();
            }
            (None, None) => {
                save_progress(io, &store.id, None)?;
                report.complete = true;
                return Ok(None);
            }
        }
        position.save(io, &store.id)?;
    }
}

/// What the run log says: how far the import got and, when it stopped early, why and that the
/// next run goes on from there.
fn note(report: &ImportReport, failure: Option<&ApiError>) -> Option<String> {
    let progress = format!(
        "{} steps this run, {} of this window so far; {} orders fetched, {} new, {} changed",
        report.steps, report.steps_total, report.fetched, report.imported, report.changed
    );
    if let Some(e) = failure {
        return Some(format!(
            "import stopped: {} ({progress}); fix this, then the next run goes on from step {} / 取込を中断しました",
            e.message(),
            report.steps_total + 1
        ));
    }
    match (&report.stopped, report.complete) {
        (_, true) if report.steps_total > report.steps => Some(format!(
            "import finished the window over several runs ({progress}) / 取込が完了しました"
        )),
        (_, true) => None,
        (Some(why), false) => Some(format!(
            "import paused: {why} ({progress}); the next run goes on from step {} / 次回の実行で続きから取り込みます",
            report.steps_total + 1
        )),
        (None, false) => Some(format!("import paused ({progress})")),
    }
}
