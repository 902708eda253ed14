//! Write-back runs, one function for every cart: plan with the cart's rules, then send each
//! planned update on its own (`send_one`), recording what the cart accepted before moving on.
//!
//! A buyer never gets the same shipping e-mail twice: the ledger remembers what each cart accepted
//! (key + hash of the data), and before sending a run claims (key, hash) in one statement, so of
//! two overlapping runs only one sends; the claim is given back after the send, once the ledger
//! holds the result.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_carts::{drive, Api, CartError, Connector};
use mallsync_rules::{Exclusion, Order, Reason, Trigger, Warning, WriteBack};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::carts::{self, CartBinding};
use crate::io::{Io, IoError};
use crate::ledger;
use crate::orders;
use crate::pacing::Pacer;
use crate::runlog::{self, OrderLine, Outcome};
use crate::shops::Store;

/// How long one invocation may spend sending: Spin stops a handler at 30 s, and the run log
/// and the response need the rest.
pub const RUN_BUDGET_SECS: i64 = 20;
/// The longest wait before a retry inside a run; a longer Retry-After ends the run instead.
pub const MAX_WAIT_SECS: u64 = 5;
/// Tries per update within one run (the next run tries again).
pub const MAX_ATTEMPTS: u32 = 3;
/// How far back a scheduled run looks for a cart without a period of its own (BASE, futureshop).
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
    /// Another run is sending exactly this right now: nothing was sent.
    ClaimedElsewhere,
    /// The cart refused or failed, after any retries the budget allowed.
    Failed(CartError),
}

/// Sends one planned update: claim it, check the ledger, call the cart (retrying what the cart
/// says is retryable, within `deadline`), record what it accepted, give the claim back.
pub fn send_one<C: Connector>(
    io: &impl Io,
    store_id: &str,
    api: &Api<C::Credentials>,
    update: &C::Update,
    run_id: i64,
    pacer: &mut Pacer,
    deadline: DateTime<Utc>,
) -> Result<SendOutcome, IoError> {
    let key = update.ledger_key();
    let hash = update.data_hash();
    let owner = format!("run-{run_id}");
    let until = deadline.timestamp() + CLAIM_GRACE_SECS;
    if !ledger::claim(io, store_id, &key, hash, &owner, until)? {
        return Ok(SendOutcome::ClaimedElsewhere);
    }
    let outcome = if ledger::accepted(io, store_id, &key)? == Some(hash) {
        SendOutcome::AlreadyAccepted
    } else {
        let mut attempt = 1;
        loop {
            match drive(C::write_back(api, update), |request| {
                pacer.send(io, deadline, request)
            }) {
                Ok(()) => {
                    ledger::record(io, store_id, &key, update.order_id(), hash, run_id)?;
                    break SendOutcome::Sent;
                }
                Err(error) => match retry_wait::<C>(&error, attempt, io.now(), deadline) {
                    Some(wait) => {
                        io.sleep(wait);
                        attempt += 1;
                    }
                    None => break SendOutcome::Failed(error),
                },
            }
        }
    };
    ledger::release(io, store_id, &key, hash, &owner)?;
    Ok(outcome)
}

/// How long to wait before trying again, or `None` to give up for this run: not retryable, out
/// of tries, a lockout, or a wait that does not fit the budget.
fn retry_wait<C: Connector>(
    error: &CartError,
    attempt: u32,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Option<Duration> {
    if !error.is_retryable() || attempt >= MAX_ATTEMPTS {
        return None;
    }
    let rate_limited = matches!(error, CartError::RateLimited { .. });
    if rate_limited && C::RATE_LIMIT.lockout_secs.is_some() {
        // Bカート locks a client out for minutes: only the next run may call again.
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
    /// Why the run stopped before the end, leaving the rest to the next run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The run's time ran out with updates left: the next tick should go on at once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_of_time: bool,
    pub orders: Vec<OrderLine>,
}

impl RunReport {
    fn counts(&self) -> runlog::Counts {
        runlog::Counts {
            sent: self.sent,
            excluded: self.excluded,
            failed: self.failed,
            imported: 0,
        }
    }
}

fn trigger_label(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Scheduled => "scheduled",
        Trigger::Manual { .. } => "manual",
        Trigger::Webhook => "webhook",
    }
}

/// The orders a run considers: a webhook's changed orders, otherwise the stored orders updated
/// within the run's period (a manual run's own, else the store's, else `DEFAULT_LOOKBACK_DAYS`).
pub fn orders_for(io: &impl Io, store: &Store, trigger: Trigger) -> Result<Vec<Order>, IoError> {
    let days = match trigger {
        Trigger::Manual { period_days } => period_days,
        Trigger::Scheduled | Trigger::Webhook => store
            .settings
            .period_days()
            .unwrap_or(DEFAULT_LOOKBACK_DAYS),
    };
    orders::updated_within(io, &store.id, days, io.now())
}

pub fn exclusion_line(exclusion: &Exclusion) -> OrderLine {
    let mut line = OrderLine::new(&exclusion.order_id, Outcome::Excluded);
    line.reason_code = Some(exclusion.reason.code().to_string());
    line.message = Some(exclusion.reason.message_en());
    line.message_ja = Some(exclusion.reason.message_ja());
    line
}

fn failed_line(
    order_id: &str,
    key: String,
    fields: serde_json::Value,
    code: &str,
    message: String,
) -> OrderLine {
    let mut line = OrderLine::new(order_id, Outcome::Failed);
    line.ledger_key = Some(key);
    line.fields = Some(fields);
    line.reason_code = Some(code.to_string());
    line.message = Some(message);
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

/// Plans and sends one store's write-back, logging every order's outcome. Stops early, leaving
/// the rest for the next run, at `deadline`, on a retryable error the budget cannot wait out, or
/// when the cart refuses the credentials.
pub fn run<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    trigger: Trigger,
    orders: &[Order],
    deadline: DateTime<Utc>,
) -> Result<RunReport, ApiError> {
    let settings = carts::settings_for::<C>(store)?;
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    let ledger = ledger::load(io, &store.id, &ids)?;
    let plan = C::plan(settings, orders, trigger, &ledger, io.now());
    let run_id = runlog::start(io, &store.id, "write_back", trigger_label(trigger))?;
    let mut report = RunReport {
        run_id,
        sent: 0,
        excluded: 0,
        failed: 0,
        stopped: None,
        out_of_time: false,
        orders: Vec::new(),
    };
    let log = |io: &_, line: OrderLine, report: &mut RunReport| -> Result<(), IoError> {
        match line.outcome.as_str() {
            "sent" => report.sent += 1,
            "excluded" => report.excluded += 1,
            _ => report.failed += 1,
        }
        runlog::add_line(io, run_id, &line)?;
        report.orders.push(line);
        Ok(())
    };
    for exclusion in &plan.excluded {
        // A scheduled run meets every order it already sent, every time: counted, not listed.
        if trigger == Trigger::Scheduled && exclusion.reason == Reason::AlreadyAccepted {
            report.excluded += 1;
            continue;
        }
        log(io, exclusion_line(exclusion), &mut report)?;
    }
    // Connecting (a token refresh) only when there is something to send.
    let api = if plan.updates.is_empty() {
        None
    } else {
        match carts::api::<C>(io, &store.id, settings) {
            Ok(api) => Some(api),
            Err(ApiError::Cart(e)) => {
                report.stopped = Some(format!("could not connect to the cart: {e}"));
                None
            }
            Err(other) => {
                runlog::finish(io, run_id, report.counts(), Some(&other.message()))?;
                return Err(other);
            }
        }
    };
    let mut pacer = Pacer::new(C::RATE_LIMIT);
    for update in &plan.updates {
        let key = update.ledger_key();
        let fields = serde_json::to_value(update).unwrap_or_default();
        let Some(api) = api.as_ref().filter(|_| report.stopped.is_none()) else {
            let why = report.stopped.clone().unwrap_or_default();
            let line = failed_line(
                update.order_id(),
                key,
                fields,
                "deferred",
                format!("not sent in this run ({why}); the next run sends it"),
            );
            log(io, line, &mut report)?;
            continue;
        };
        if io.now() >= deadline {
            report.stopped = Some("the run's time budget ran out".into());
            report.out_of_time = true;
            let line = failed_line(
                update.order_id(),
                key,
                fields,
                "deferred",
                "not sent in this run (time budget); the next run sends it".into(),
            );
            log(io, line, &mut report)?;
            continue;
        }
        let line = match send_one::<C>(io, &store.id, api, update, run_id, &mut pacer, deadline)? {
            SendOutcome::Sent => {
                let mut line = OrderLine::new(update.order_id(), Outcome::Sent);
                line.ledger_key = Some(key);
                line.fields = Some(fields);
                line
            }
            SendOutcome::AlreadyAccepted => exclusion_line(&Exclusion {
                order_id: update.order_id().to_string(),
                reason: Reason::AlreadyAccepted,
            }),
            SendOutcome::ClaimedElsewhere => {
                let mut line = OrderLine::new(update.order_id(), Outcome::Excluded);
                line.ledger_key = Some(key);
                line.reason_code = Some("sending_elsewhere".into());
                line.message = Some("another run is sending exactly this data right now".into());
                line.message_ja = Some("別の処理が同じ内容を送信中です".into());
                line
            }
            SendOutcome::Failed(error) => {
                if error.is_retryable() || matches!(error, CartError::CredentialsRejected { .. }) {
                    report.stopped = Some(format!("the cart failed: {error}"));
                }
                failed_line(
                    update.order_id(),
                    key,
                    fields,
                    error_code(&error),
                    error.to_string(),
                )
            }
        };
        log(io, line, &mut report)?;
    }
    runlog::finish(io, run_id, report.counts(), report.stopped.as_deref())?;
    Ok(report)
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
    pub warnings: Vec<Warning>,
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
    Ok(Preview {
        planned: plan
            .updates
            .iter()
            .map(|u| PlannedCall {
                order_id: u.order_id().to_string(),
                ledger_key: u.ledger_key(),
                fields: serde_json::to_value(u).unwrap_or_default(),
            })
            .collect(),
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
    })
}
