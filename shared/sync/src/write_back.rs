//! Write-back runs, one function for every cart: plan with the cart's rules, then send each
//! planned update on its own (`send_one`), recording what the cart accepted before moving on.
//!
//! A buyer never gets the same shipping e-mail twice: the ledger remembers what each cart accepted
//! (key + hash of the data), and before sending a run claims (key, hash) in one statement, so of
//! two overlapping runs only one sends; the claim is given back after the send, once the ledger
//! holds the result.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_carts::{drive, Api, CartError};
use mallsync_rules::{
    Exclusion, Ledger, Order, Plan, PlanWarning, Reason, Trigger, Warning, WriteBack,
};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::carts::{self, CartBinding};
use crate::io::{Io, IoError};
use crate::ledger;
use crate::orders;
use crate::pacing::Pacer;
use crate::pending::{self, Settlement};
use crate::runlog::{self, OrderLine, Outcome};
use crate::shops::Store;

/// How long one invocation may spend sending: Spin stops a handler at 30 s, and the run log
/// and the response need the rest.
pub const RUN_BUDGET_SECS: i64 = 20;
/// The longest wait before a retry inside a run; a longer Retry-After leaves it to the next run.
pub const MAX_WAIT_SECS: u64 = 5;
/// Tries per update within one run (the next run tries again).
pub const MAX_ATTEMPTS: u32 = 3;
/// The period of a manual run for a cart without one of its own (BASE, futureshop).
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;
/// A claim outlives its run's budget by this much, so a crashed run's claims lapse soon.
const CLAIM_GRACE_SECS: i64 = 30;

/// How one planned update went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The cart accepted it; the ledger now holds it.
    Sent,
    /// Another run sent exactly this meanwhile (the ledger has it): nothing was sent.
    AlreadyAccepted,
    /// The cart already held exactly this (e.g. dispatched by hand in BASE with the same
    /// tracking number): the client wrote nothing; the ledger now records it.
    HeldByCart,
    /// Another run is sending exactly this right now: nothing was sent.
    ClaimedElsewhere,
    /// Not sent in this run, for `reason`; the next run sends it.
    Deferred { reason: Deferral, why: String },
    /// The cart refused or failed, after any retries the budget allowed.
    Failed(CartError),
}

/// Why an update waits for the next run (not a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferral {
    /// The run's time budget ran out.
    TimeBudget,
    /// The account's shared request budget is used up for now.
    RequestBudget,
    /// The cart answered with its rate limit (remembered for the account).
    RateLimited,
    /// The cart kept failing in this run: the rest waits instead of hammering it.
    CartFailing,
    /// A step that follows the order's shipping data, which did not reach the cart in this run.
    WaitsForShippingData,
}

impl Deferral {
    /// The run log's reason code.
    pub fn code(self) -> &'static str {
        match self {
            Deferral::TimeBudget => "time_budget",
            Deferral::RequestBudget => "request_budget",
            Deferral::RateLimited => "rate_limited",
            Deferral::CartFailing => "cart_failing",
            Deferral::WaitsForShippingData => "waits_for_shipping_data",
        }
    }

    /// What the operator reads in the run log, in Japanese.
    fn message_ja(self) -> &'static str {
        match self {
            Deferral::TimeBudget => "この処理の時間内に送信できませんでした。次回の処理で送信します",
            Deferral::CartFailing => "カートでエラーが続いたため、この処理では送信していません。次回の処理で送信します",
            Deferral::WaitsForShippingData => "発送情報がまだカートに届いていないため、処理済みにしていません。次回の処理で行います",
            Deferral::RequestBudget | Deferral::RateLimited => "カートのAPI利用上限のため、この処理では送信していません。上限が解除された後の処理で送信します",
        }
    }
}

/// A store's cart, connected for one run: its API handle (with a fresh token), the account's
/// request budget and the run's lookups (BASE's carrier ids, fetched once). Made on the first
/// planned update, so a run with nothing to send calls nothing.
pub struct Connection<C: CartBinding> {
    pub api: Api<C::Credentials>,
    pub pacer: Pacer,
    lookups: Option<C::RunLookups>,
}

impl<C: CartBinding> Connection<C> {
    /// Connects (a token request where the cart needs one), within the account's budget. The
    /// inner `Err` is what each planned update becomes when the cart cannot be reached: deferred
    /// when the budget refused the token request, else the cart's error as it is (a refused
    /// credential, a URL outside the cart's origins). The outer `Err` is a platform failure.
    pub fn open(
        io: &impl Io,
        store_id: &str,
        settings: &C::Settings,
        deadline: DateTime<Utc>,
    ) -> Result<Result<Connection<C>, SendOutcome>, ApiError> {
        let unsent = |e: ApiError, pacer: Option<&Pacer>| match (e, pacer.and_then(Pacer::refused))
        {
            (_, Some(refusal)) => Ok(Err(SendOutcome::Deferred {
                reason: Deferral::RequestBudget,
                why: refusal.why.clone(),
            })),
            (ApiError::Cart(error), None) => Ok(Err(SendOutcome::Failed(error))),
            (other, None) => Err(other),
        };
        let unconnected = match carts::api_without_token::<C>(io, settings) {
            Ok(api) => api,
            Err(e) => return unsent(e, None),
        };
        let mut pacer = carts::pacer::<C>(settings, &unconnected)?;
        match carts::api::<C>(io, store_id, settings, &mut pacer, deadline) {
            Ok(api) => Ok(Ok(Connection {
                api,
                pacer,
                lookups: None,
            })),
            Err(e) => unsent(e, Some(&pacer)),
        }
    }

    /// Fetches the run's lookups once (through the budget). A failed lookup leaves the default,
    /// with which the cart looks up what it needs itself: slower, still correct.
    fn ensure_lookups(&mut self, io: &impl Io, deadline: DateTime<Utc>) {
        if self.lookups.is_none() {
            let Connection { api, pacer, .. } = self;
            let fetched = drive(C::run_lookups(api), |request| {
                pacer.send(io, deadline, request)
            });
            self.lookups = Some(fetched.unwrap_or_default());
        }
    }
}

/// Sends one planned update: claim it, check the ledger, call the cart (retrying what the cart
/// says is retryable, within `deadline`; renewing a token the cart refused, once), record what
/// it accepted, give the claim back.
pub fn send_one<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    connection: &mut Connection<C>,
    update: &C::Update,
    run_id: i64,
    deadline: DateTime<Utc>,
) -> Result<SendOutcome, ApiError> {
    let key = update.ledger_key();
    let hash = update.data_hash();
    let owner = format!("run-{run_id}");
    let until = deadline.timestamp() + CLAIM_GRACE_SECS;
    if !ledger::claim(io, store_id, &key, hash, &owner, until)? {
        return Ok(SendOutcome::ClaimedElsewhere);
    }
    let outcome = if ledger::accepted(io, store_id, &key)? == Some(hash) {
        Ok(SendOutcome::AlreadyAccepted)
    } else {
        connection.ensure_lookups(io, deadline);
        // Whether any try sent a write (anything but a read): a client that only read and
        // found the cart holding the data wrote nothing, and the log must not say "sent".
        let wrote = std::cell::Cell::new(false);
        with_retries(io, store_id, connection, deadline, |c| {
            let Connection {
                api,
                pacer,
                lookups,
            } = c;
            let lookups = lookups.get_or_insert_with(Default::default);
            drive(C::write_back(api, lookups, update), |request| {
                if request.method() != http::Method::GET {
                    wrote.set(true);
                }
                pacer.send(io, deadline, request)
            })
        })
        .and_then(|result| match result {
            Ok(()) => {
                ledger::record(
                    io,
                    store_id,
                    &key,
                    update.order_id(),
                    hash,
                    update.ledger_note(),
                    run_id,
                )?;
                Ok(if wrote.get() {
                    SendOutcome::Sent
                } else {
                    SendOutcome::HeldByCart
                })
            }
            Err(unsent) => Ok(unsent),
        })
    };
    ledger::release(io, store_id, &key, hash, &owner)?;
    outcome
}

/// Sends up to `C::MAX_BATCH` batchable updates in one call (futureshop's 発送API: 100 orders),
/// each claimed and checked against the ledger first; one outcome per update, in order.
pub fn send_batch<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    connection: &mut Connection<C>,
    updates: &[&C::Update],
    run_id: i64,
    deadline: DateTime<Utc>,
) -> Result<Vec<SendOutcome>, ApiError> {
    let owner = format!("run-{run_id}");
    let until = deadline.timestamp() + CLAIM_GRACE_SECS;
    let mut outcomes: Vec<Option<SendOutcome>> = Vec::with_capacity(updates.len());
    let mut claimed = Vec::new();
    for update in updates {
        let (key, hash) = (update.ledger_key(), update.data_hash());
        if !ledger::claim(io, store_id, &key, hash, &owner, until)? {
            outcomes.push(Some(SendOutcome::ClaimedElsewhere));
            continue;
        }
        claimed.push((key.clone(), hash));
        if ledger::accepted(io, store_id, &key)? == Some(hash) {
            outcomes.push(Some(SendOutcome::AlreadyAccepted));
        } else {
            outcomes.push(None);
        }
    }
    let to_send: Vec<&C::Update> = updates
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.is_none())
        .map(|(u, _)| *u)
        .collect();
    let result = if to_send.is_empty() {
        Ok(Ok(Vec::new()))
    } else {
        connection.ensure_lookups(io, deadline);
        with_retries(io, store_id, connection, deadline, |c| {
            let Connection {
                api,
                pacer,
                lookups,
            } = c;
            let lookups = lookups.get_or_insert_with(Default::default);
            drive(C::write_back_batch(api, lookups, &to_send), |request| {
                pacer.send(io, deadline, request)
            })
        })
    };
    let sent_outcomes: Vec<SendOutcome> = match result {
        Ok(Ok(results)) => {
            let mut out = Vec::with_capacity(to_send.len());
            for (i, update) in to_send.iter().enumerate() {
                out.push(match results.get(i) {
                    Some(Ok(())) => {
                        ledger::record(
                            io,
                            store_id,
                            &update.ledger_key(),
                            update.order_id(),
                            update.data_hash(),
                            update.ledger_note(),
                            run_id,
                        )?;
                        SendOutcome::Sent
                    }
                    Some(Err(error)) => SendOutcome::Failed(error.clone()),
                    None => SendOutcome::Failed(CartError::malformed(format!(
                        "the batch answer has {} results for {} orders",
                        results.len(),
                        to_send.len()
                    ))),
                });
            }
            out
        }
        Ok(Err(unsent)) => vec![unsent; to_send.len()],
        Err(e) => {
            for (key, hash) in &claimed {
                ledger::release(io, store_id, key, *hash, &owner)?;
            }
            return Err(e);
        }
    };
    for (key, hash) in &claimed {
        ledger::release(io, store_id, key, *hash, &owner)?;
    }
    let mut sent = sent_outcomes.into_iter();
    Ok(outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                sent.next()
                    .unwrap_or(SendOutcome::Failed(CartError::malformed(
                        "missing batch result",
                    )))
            })
        })
        .collect())
}

/// Calls the cart with the retries its answers allow: a transient failure again after a short
/// back-off within the budget, a refused access token once after renewing it; a rate limit is
/// remembered for the account and defers. `Err(outcome)` when it gave up.
fn with_retries<C: CartBinding, T>(
    io: &impl Io,
    store_id: &str,
    connection: &mut Connection<C>,
    deadline: DateTime<Utc>,
    mut call: impl FnMut(&mut Connection<C>) -> Result<T, CartError>,
) -> Result<Result<T, SendOutcome>, ApiError> {
    let mut attempt = 1;
    let mut token_renewed = false;
    loop {
        let error = match call(connection) {
            Ok(value) => return Ok(Ok(value)),
            Err(error) => error,
        };
        if let Some(refusal) = connection.pacer.refused() {
            return Ok(Err(SendOutcome::Deferred {
                reason: Deferral::RequestBudget,
                why: refusal.why.clone(),
            }));
        }
        match &error {
            CartError::CredentialsRejected { .. }
                if C::CAPABILITIES.issues_tokens && !token_renewed =>
            {
                // The cart refused the access token before mallsync's clock says it expired:
                // get a new one, once, and try again.
                token_renewed = true;
                let rejected = connection.api.access_token.clone();
                let Connection { api, pacer, .. } = &mut *connection;
                match carts::fresh_token::<C>(io, store_id, api, pacer, deadline, rejected.as_ref())
                {
                    Ok(()) => continue,
                    Err(ApiError::Cart(e)) => return Ok(Err(SendOutcome::Failed(e))),
                    Err(other) => return Err(other),
                }
            }
            CartError::RateLimited { .. } => {
                // Remembered for every run and component calling this account (Bカート locks it
                // for minutes; BASE until the next hour or day): nothing more goes out until it
                // ends, and the rest waits for a later run.
                connection.pacer.note_refusal(io, &error)?;
                return Ok(Err(SendOutcome::Deferred {
                    reason: Deferral::RateLimited,
                    why: error.to_string(),
                }));
            }
            _ => match retry_wait(&error, attempt, io.now(), deadline) {
                Some(wait) => {
                    io.sleep(wait);
                    attempt += 1;
                }
                None => return Ok(Err(SendOutcome::Failed(error))),
            },
        }
    }
}

/// How long to wait before trying a transient failure again, or `None` to give up for this run:
/// not retryable, out of tries, or a wait that does not fit the budget.
fn retry_wait(
    error: &CartError,
    attempt: u32,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Option<Duration> {
    if !error.is_retryable() || attempt >= MAX_ATTEMPTS {
        return None;
    }
    let wait = error
        .retry_after()
        .unwrap_or(Duration::from_secs(1 << (attempt - 1)));
    let fits = chrono::Duration::from_std(wait).is_ok_and(|w| now + w < deadline);
    (wait.as_secs() <= MAX_WAIT_SECS && fits).then_some(wait)
}

/// A run's result as routes return it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub sent: usize,
    pub excluded: usize,
    pub failed: usize,
    /// Left for the next run (time or request budget, a limit the cart reported): not failures.
    pub deferred: usize,
    /// Why the run stopped before the end, leaving the rest to the next run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The run deferred work: the next tick should go on at once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    pub orders: Vec<OrderLine>,
}

impl RunReport {
    fn new(run_id: i64) -> RunReport {
        RunReport {
            run_id,
            sent: 0,
            excluded: 0,
            failed: 0,
            deferred: 0,
            stopped: None,
            out_of_time: false,
            orders: Vec::new(),
        }
    }

    fn counts(&self) -> runlog::Counts {
        runlog::Counts {
            sent: self.sent,
            excluded: self.excluded,
            failed: self.failed,
            deferred: self.deferred,
            imported: 0,
        }
    }

    /// Logs one order's line and counts it by its outcome.
    fn log(&mut self, io: &impl Io, line: OrderLine) -> Result<(), IoError> {
        match line.outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Excluded => self.excluded += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Deferred => self.deferred += 1,
            Outcome::Warning => {}
        }
        runlog::add_line(io, self.run_id, &line)?;
        self.orders.push(line);
        Ok(())
    }
}

fn trigger_label(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Scheduled => "scheduled",
        Trigger::Manual { .. } => "manual",
        Trigger::Webhook => "webhook",
    }
}

/// The orders a run considers: on the schedule, the store's pending orders that are due (work
/// left from earlier, whatever their age); a manual run, the stored orders updated within its
/// period.
pub fn orders_for(io: &impl Io, store: &Store, trigger: Trigger) -> Result<Vec<Order>, IoError> {
    match trigger {
        Trigger::Scheduled => Ok(pending::due(io, &store.id)?
            .into_iter()
            .map(|p| p.order)
            .collect()),
        Trigger::Manual { period_days } => {
            orders::updated_within(io, &store.id, period_days, io.now())
        }
        Trigger::Webhook => {
            let days = store
                .settings
                .period_days()
                .unwrap_or(DEFAULT_LOOKBACK_DAYS);
            orders::updated_within(io, &store.id, days, io.now())
        }
    }
}

pub fn exclusion_line(exclusion: &Exclusion) -> OrderLine {
    let mut line = OrderLine::new(&exclusion.order_id, Outcome::Excluded);
    line.reason_code = Some(exclusion.reason.code().to_string());
    line.message = Some(exclusion.reason.message_en());
    line.message_ja = Some(exclusion.reason.message_ja());
    line
}

/// The line of an update that was not sent, with what the operator should know in both
/// languages.
fn unsent_line(
    order_id: &str,
    key: String,
    fields: Option<serde_json::Value>,
    outcome: Outcome,
    code: &str,
    message: String,
    message_ja: String,
) -> OrderLine {
    let mut line = OrderLine::new(order_id, outcome);
    line.ledger_key = Some(key);
    line.fields = fields;
    line.reason_code = Some(code.to_string());
    line.message = Some(message);
    line.message_ja = Some(message_ja);
    line
}

/// The stable code of a cart error, for the run log.
pub fn error_code(error: &CartError) -> &'static str {
    match error {
        CartError::CredentialsRejected { .. } => "credentials_rejected",
        CartError::RateLimited { .. } => "rate_limited",
        CartError::Rejected { .. } => "rejected",
        CartError::Transient { .. } => "transient",
        CartError::Malformed { .. } => "malformed",
        CartError::InvalidRequest { .. } => "invalid_request",
    }
}

/// What a cart error means for the operator, in Japanese (the cart's own text follows).
pub fn error_message_ja(error: &CartError) -> String {
    let what = match error {
        CartError::CredentialsRejected { .. } => {
            "カートが認証情報を受け付けませんでした。ストアの接続設定を確認してください"
        }
        CartError::RateLimited { .. } => "カートのAPI利用上限に達しました。次回の処理で送信します",
        CartError::Rejected { .. } => "カートがこの更新を受け付けませんでした",
        CartError::Transient { .. } => {
            "カートに接続できないか、カートでエラーが起きました。次回の処理で再送します"
        }
        CartError::Malformed { .. } => "カートの応答が想定と異なります",
        CartError::InvalidRequest { .. } => {
            "ストアの設定または受注データからリクエストを作れません。設定を確認してください"
        }
    };
    format!("{what}（{error}）")
}

/// What a run found for one order, the worst first wins: work left now, then a refusal to retry
/// later, then a ship date to wait for.
fn worse(a: Settlement, b: Settlement) -> Settlement {
    fn rank(s: Settlement) -> u8 {
        match s {
            Settlement::DueNow => 3,
            Settlement::Refused => 2,
            Settlement::DueOn(_) => 1,
            Settlement::Done => 0,
        }
    }
    match (a, b) {
        (Settlement::DueOn(x), Settlement::DueOn(y)) => Settlement::DueOn(x.min(y)),
        _ if rank(b) > rank(a) => b,
        _ => a,
    }
}

/// Plans and sends one store's write-back, logging every order's outcome, then settles each
/// order's pending work. Defers the rest to the next run at `deadline` or when the account's
/// request budget is used up. A storage error still closes the run in the log.
pub fn run<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    trigger: Trigger,
    orders: &[Order],
    deadline: DateTime<Utc>,
) -> Result<RunReport, ApiError> {
    let run_id = runlog::start(io, &store.id, "write_back", trigger_label(trigger))?;
    run_logged::<C>(io, store, trigger, orders, deadline, run_id)
}

/// [`run`] in a run the log already holds (the webhook opens it before answering the OMS).
pub fn run_logged<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    trigger: Trigger,
    orders: &[Order],
    deadline: DateTime<Utc>,
    run_id: i64,
) -> Result<RunReport, ApiError> {
    let (settings, ledger, generations) = match prepare::<C>(io, store, orders) {
        Ok(prepared) => prepared,
        Err(error) => return Err(stopped(io, run_id, runlog::Counts::default(), error)),
    };
    let plan = C::plan(settings, orders, trigger, &ledger, io.now());
    let mut report = RunReport::new(run_id);
    let result = carry_out::<C>(
        io,
        store,
        settings,
        trigger,
        orders,
        &plan,
        deadline,
        &mut report,
    )
    .and_then(|settlements| settle_orders(io, store, orders, &settlements, &generations));
    match result {
        Ok(()) => {
            runlog::finish(io, run_id, report.counts(), report.stopped.as_deref())?;
            // Failed orders or a cart limit become notices in the outbox; they are delivered
            // after the run, and a notice that cannot be stored never fails the run.
            if report.failed > 0 || report.deferred > 0 {
                if let Err(e) = crate::notify::after_run(io, store, run_id) {
                    eprintln!("mallsync write-back: run {run_id}: notices not stored: {e}");
                }
            }
            Ok(report)
        }
        // Close the run with what it did; the error itself goes to the caller.
        Err(error) => Err(stopped(io, run_id, report.counts(), error)),
    }
}

/// What a run reads before planning: the store's settings, what the cart already accepted for
/// these orders, and each order's pending generation.
#[allow(clippy::type_complexity)]
fn prepare<'s, C: CartBinding>(
    io: &impl Io,
    store: &'s Store,
    orders: &[Order],
) -> Result<(&'s C::Settings, Ledger, HashMap<String, i64>), ApiError> {
    let settings = carts::settings_for::<C>(store)?;
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    let ledger = ledger::load(io, &store.id, &ids)?;
    let generations = pending::generations(io, &store.id, &ids)?
        .into_iter()
        .collect();
    Ok((settings, ledger, generations))
}

/// Settles each order's pending work as the run found it (the version it planned only).
fn settle_orders(
    io: &impl Io,
    store: &Store,
    orders: &[Order],
    settlements: &HashMap<&str, Settlement>,
    generations: &HashMap<String, i64>,
) -> Result<(), ApiError> {
    for order in orders {
        let settlement = settlements
            .get(order.order_id.as_str())
            .copied()
            .unwrap_or(Settlement::Done);
        let generation = generations.get(&order.order_id).copied();
        pending::settle(io, &store.id, &order.order_id, generation, settlement)?;
    }
    Ok(())
}

/// Closes a run an internal error stopped, with what it did so far; returns the error.
fn stopped(io: &impl Io, run_id: i64, counts: runlog::Counts, error: ApiError) -> ApiError {
    let note = format!("stopped by an internal error: {}", error.message());
    if let Err(e) = runlog::finish(io, run_id, counts, Some(&note)) {
        eprintln!("mallsync write-back: run {run_id} could not be closed: {e}");
    }
    error
}

/// Logs the exclusions and sends the planned updates; returns each order's settlement.
#[allow(clippy::too_many_arguments)]
fn carry_out<'o, C: CartBinding>(
    io: &impl Io,
    store: &Store,
    settings: &C::Settings,
    trigger: Trigger,
    orders: &'o [Order],
    plan: &Plan<C::Update>,
    deadline: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<HashMap<&'o str, Settlement>, ApiError> {
    let now = io.now();
    let mut settlements: HashMap<&str, Settlement> = orders
        .iter()
        .map(|o| {
            let s = pending::ship_day_ahead(o, now).map_or(Settlement::Done, Settlement::DueOn);
            (o.order_id.as_str(), s)
        })
        .collect();
    let mut settle = |order_id: &str, s: Settlement| {
        if let Some(current) = settlements.get_mut(order_id) {
            *current = worse(*current, s);
        }
    };
    log_warnings_and_exclusions(io, trigger, plan, report, &mut settle)?;
    // Batchable updates first, in batches of the cart's size (futureshop: 100 orders per
    // 発送API call), then the others one by one: a 処理済 step follows its order's shipping data.
    let (batched, single): (Vec<&C::Update>, Vec<&C::Update>) = plan
        .updates
        .iter()
        .partition(|u| C::MAX_BATCH > 1 && C::batches(u));
    let units = batched
        .chunks(C::MAX_BATCH.max(1))
        .map(|chunk| chunk.to_vec())
        .chain(single.into_iter().map(|u| vec![u]));
    let mut connection: Option<Result<Connection<C>, SendOutcome>> = None;
    let mut cart_failed: Option<String> = None;
    // Orders whose batched shipping data did not reach the cart in this run.
    let mut unshipped: std::collections::HashSet<String> = std::collections::HashSet::new();
    for unit in units {
        // Connecting (a token request) only when there is something to send.
        if connection.is_none() {
            connection = Some(Connection::<C>::open(io, &store.id, settings, deadline)?);
        }
        let Some(connection) = connection.as_mut() else {
            unreachable!("the connection was opened just above")
        };
        let is_batch = C::MAX_BATCH > 1 && unit.iter().all(|u| C::batches(u));
        let waits_for_shipping_data =
            !is_batch && unit.iter().any(|u| unshipped.contains(u.order_id()));
        let unsent = why_not_now(
            io.now() >= deadline,
            cart_failed.as_deref(),
            waits_for_shipping_data,
            connection,
        );
        let outcomes = match (unsent, connection) {
            (Some(outcome), _) => vec![outcome; unit.len()],
            (None, Ok(c)) if is_batch => {
                send_batch::<C>(io, &store.id, c, &unit, report.run_id, deadline)?
            }
            (None, Ok(c)) => vec![send_one::<C>(
                io,
                &store.id,
                c,
                unit[0],
                report.run_id,
                deadline,
            )?],
            (None, Err(unsent)) => vec![unsent.clone(); unit.len()],
        };
        for (update, outcome) in unit.iter().zip(outcomes) {
            if is_batch && !matches!(outcome, SendOutcome::Sent | SendOutcome::AlreadyAccepted) {
                unshipped.insert(update.order_id().to_string());
            }
            let line = outcome_line(*update, outcome, report, &mut cart_failed, &mut settle)?;
            report.log(io, line)?;
        }
    }
    Ok(settlements)
}

/// Logs the plan's warnings and the orders it leaves out (a scheduled run only counts the ones
/// the cart already has), settling an order that waits for its ship date.
fn log_warnings_and_exclusions<U>(
    io: &impl Io,
    trigger: Trigger,
    plan: &Plan<U>,
    report: &mut RunReport,
    settle: &mut impl FnMut(&str, Settlement),
) -> Result<(), ApiError> {
    for warning in &plan.warnings {
        let mut line = OrderLine::new(&warning.order_id, Outcome::Warning);
        line.reason_code = Some(warning.code.clone());
        line.message = Some(warning.message_en.clone());
        line.message_ja = Some(warning.message_ja.clone());
        report.log(io, line)?;
    }
    for exclusion in &plan.excluded {
        if let Reason::ShipDateInFuture { ship_date } = exclusion.reason {
            settle(&exclusion.order_id, Settlement::DueOn(ship_date));
        }
        // A scheduled run meets orders it already sent again and again: counted, not listed.
        if trigger == Trigger::Scheduled && exclusion.reason == Reason::AlreadyAccepted {
            report.excluded += 1;
            continue;
        }
        report.log(io, exclusion_line(exclusion))?;
    }
    Ok(())
}

/// Why the next unit is left for a later run instead of sent now, if it is: the run's time is
/// up, the cart is failing (the rest waits instead of hammering it), the order's shipping data
/// did not reach the cart in this run, the store could not connect, or the account's request
/// budget is spent.
fn why_not_now<C: CartBinding>(
    out_of_time: bool,
    cart_failing: Option<&str>,
    waits_for_shipping_data: bool,
    connection: &Result<Connection<C>, SendOutcome>,
) -> Option<SendOutcome> {
    let deferred = |reason, why: &str| {
        Some(SendOutcome::Deferred {
            reason,
            why: why.into(),
        })
    };
    if out_of_time {
        deferred(Deferral::TimeBudget, "the run's time budget ran out")
    } else if let Some(why) = cart_failing {
        deferred(Deferral::CartFailing, why)
    } else if waits_for_shipping_data {
        deferred(
            Deferral::WaitsForShippingData,
            "the order's shipping data did not reach the cart in this run",
        )
    } else {
        match connection {
            Err(unsent) => Some(unsent.clone()),
            Ok(c) => c
                .pacer
                .refused()
                .and_then(|refusal| deferred(Deferral::RequestBudget, &refusal.why)),
        }
    }
}

/// The run-log line of one planned update's outcome; also settles its order and notes why the
/// run stopped early.
fn outcome_line<U: WriteBack + Serialize>(
    update: &U,
    outcome: SendOutcome,
    report: &mut RunReport,
    cart_failed: &mut Option<String>,
    settle: &mut impl FnMut(&str, Settlement),
) -> Result<OrderLine, ApiError> {
    let key = update.ledger_key();
    let fields = fields_of(update)?;
    let order_id = update.order_id();
    Ok(match outcome {
        SendOutcome::Sent => {
            let mut line = OrderLine::new(order_id, Outcome::Sent);
            line.ledger_key = Some(key);
            line.fields = Some(fields);
            line
        }
        SendOutcome::AlreadyAccepted => exclusion_line(&Exclusion {
            order_id: order_id.to_string(),
            reason: Reason::AlreadyAccepted,
        }),
        SendOutcome::HeldByCart => {
            let mut line = exclusion_line(&Exclusion {
                order_id: order_id.to_string(),
                reason: Reason::AlreadyAccepted,
            });
            line.ledger_key = Some(key);
            line.reason_code = Some("already_in_cart".into());
            line.message =
                Some("the cart already holds exactly this data; nothing was sent".into());
            line.message_ja = Some("カートに同じ内容が登録済みのため、送信していません".into());
            line
        }
        SendOutcome::ClaimedElsewhere => {
            settle(order_id, Settlement::DueNow);
            let mut line = OrderLine::new(order_id, Outcome::Excluded);
            line.ledger_key = Some(key);
            line.reason_code = Some("sending_elsewhere".into());
            line.message = Some("another run is sending exactly this data right now".into());
            line.message_ja = Some("別の処理が同じ内容を送信中です".into());
            line
        }
        SendOutcome::Deferred { reason, why } => {
            settle(order_id, Settlement::DueNow);
            report.out_of_time = true;
            report.stopped.get_or_insert_with(|| why.clone());
            unsent_line(
                order_id,
                key,
                Some(fields),
                Outcome::Deferred,
                reason.code(),
                format!("not sent in this run ({why}); the next run sends it"),
                reason.message_ja().into(),
            )
        }
        SendOutcome::Failed(error) => {
            let retry_soon =
                error.is_retryable() || matches!(error, CartError::CredentialsRejected { .. });
            settle(
                order_id,
                if retry_soon {
                    Settlement::DueNow
                } else {
                    Settlement::Refused
                },
            );
            if retry_soon {
                let why = format!("the cart failed: {error}");
                report.stopped.get_or_insert_with(|| why.clone());
                *cart_failed = Some(why);
            }
            unsent_line(
                order_id,
                key,
                Some(fields),
                Outcome::Failed,
                error_code(&error),
                error.to_string(),
                error_message_ja(&error),
            )
        }
    })
}

/// A planned update's fields as the run log and the preview show them. One that does not
/// serialize is an error, never a blank line.
fn fields_of<U: WriteBack + Serialize>(update: &U) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(update).map_err(|e| {
        ApiError::Internal(format!(
            "planned update {} does not serialize: {e}",
            update.ledger_key()
        ))
    })
}

/// One planned call in a preview: the order, the unit the cart writes, and the exact fields.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedCall {
    pub order_id: String,
    pub ledger_key: String,
    pub fields: serde_json::Value,
}

/// An order a preview leaves out, with the rule's code and its message in Japanese and English.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedOrder {
    pub order_id: String,
    pub reason_code: &'static str,
    pub message_ja: String,
    pub message_en: String,
    pub reason: Reason,
}

/// What a write-back would do, sending nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub planned: Vec<PlannedCall>,
    pub excluded: Vec<ExcludedOrder>,
    /// About the store's settings (e.g. futureshop's points).
    pub warnings: Vec<Warning>,
    /// About single orders (e.g. BASE keeps one tracking number per order).
    pub order_warnings: Vec<PlanWarning>,
    /// Whether sending this e-mails the buyer (BASE always does; CS-Cart as its settings say).
    pub buyer_emails: mallsync_rules::BuyerEmails,
}

pub fn preview<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    trigger: Trigger,
) -> Result<Preview, ApiError> {
    let settings = carts::settings_for::<C>(store)?;
    let orders = orders_for(io, store, trigger)?;
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    let ledger = ledger::load(io, &store.id, &ids)?;
    let plan = C::plan(settings, &orders, trigger, &ledger, io.now());
    let planned = plan
        .updates
        .iter()
        .map(|u| {
            Ok(PlannedCall {
                order_id: u.order_id().to_string(),
                ledger_key: u.ledger_key(),
                fields: fields_of(u)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Preview {
        planned,
        excluded: plan
            .excluded
            .into_iter()
            .map(|e| ExcludedOrder {
                order_id: e.order_id,
                reason_code: e.reason.code(),
                message_ja: e.reason.message_ja(),
                message_en: e.reason.message_en(),
                reason: e.reason,
            })
            .collect(),
        warnings: store.settings.warnings(),
        order_warnings: plan.warnings,
        buyer_emails: store.settings.buyer_emails(),
    })
}
