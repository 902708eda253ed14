//! One request budget per cart account, kept in SQLite and shared by every run, tick and
//! component: a cart counts requests per account, not per mallsync process, and punishes going
//! over (Bカート locks the account for 300 s; BASE refuses until the next hour or JST day).
//!
//! Every request to a cart goes through [`Pacer::send`] (token, connection test, import,
//! write-back). Admission is one SQL statement, so two components racing for the last request of
//! a window cannot both get it.
//!
//! - A rolling limit (`max_requests` per `window_secs`: Bカート 300/300 s, futureshop 1/s) is
//!   paced as a token bucket at [`SHARE_OF_CEILING`] of the ceiling with a small burst, so no
//!   window of that length, wherever it starts, ever holds more than the cart allows.
//! - A clock-aligned limit (BASE: 5,000 per clock hour, 100,000 per JST day) is counted per hour
//!   and per day, stopping [`ALIGNED_MARGIN`] short of each cap.
//! - A lockout or an hour/day limit the cart reports is remembered ([`Pacer::note_refusal`]):
//!   nothing is sent to that account before it ends.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Timelike, Utc};
use mallsync_carts::{CartError, RateLimitPolicy, Request, Response, TransportError};

use crate::io::{Io, IoError, Value};

/// The share of a rolling ceiling mallsync uses: the rest is margin for clock differences
/// between mallsync and the cart.
pub const SHARE_OF_CEILING: f64 = 0.9;
/// Requests a rolling limit may send back to back after a quiet spell, as a share of the ceiling
/// (at least one). With the paced rate this keeps any window at or under 98 % of the ceiling.
const BURST_SHARE: f64 = 0.08;
/// Requests kept back from each clock-aligned cap (BASE's hour and day).
pub const ALIGNED_MARGIN: u32 = 50;
/// The longest a run waits in place for its next request; a longer wait leaves the rest of the
/// run to the next tick.
pub const MAX_WAIT_SECS: i64 = 5;

/// Why the pacer did not send: the caller defers the rest of its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// When the account may be called again.
    pub until: DateTime<Utc>,
    /// For the run log.
    pub why: String,
}

/// The budget of one cart account, as one run sees it.
pub struct Pacer {
    account: String,
    policy: RateLimitPolicy,
    refused: Option<Refusal>,
}

impl Pacer {
    /// The pacer of a cart account. `account` names it (cart and credentials, hashed by the
    /// caller); every pacer of the same account shares one budget.
    pub fn new(account: impl Into<String>, policy: RateLimitPolicy) -> Pacer {
        Pacer {
            account: account.into(),
            policy,
            refused: None,
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// Set when a request was not sent because the budget is used up: the work left is
    /// deferred (not failed) to the next tick.
    pub fn refused(&self) -> Option<&Refusal> {
        self.refused.as_ref()
    }

    /// `io.send`, once the account's budget admits it: waits in place when the next slot comes
    /// within [`MAX_WAIT_SECS`] and before `deadline`, otherwise refuses (see [`Pacer::refused`]).
    /// A 429 answer blocks the account for its `Retry-After` (or the cart's lockout).
    pub fn send(
        &mut self,
        io: &impl Io,
        deadline: DateTime<Utc>,
        request: Request,
    ) -> Result<Response, TransportError> {
        self.admit(io, deadline)?;
        let response = io.send(request)?;
        if response.status() == http::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok());
            let wait = retry_after
                .or(self.policy.lockout_secs.and_then(|s| i64::try_from(s).ok()))
                .unwrap_or_else(|| i64::try_from(self.policy.window_secs).unwrap_or(60));
            let until = io.now() + Duration::seconds(wait.max(1));
            block(io, &self.account, until).map_err(|e| TransportError(e.0))?;
        }
        Ok(response)
    }

    /// Waits for a slot in the account's budget, or refuses.
    pub fn admit(&mut self, io: &impl Io, deadline: DateTime<Utc>) -> Result<(), TransportError> {
        loop {
            let now = io.now();
            let next = try_admit(io, &self.account, self.policy, now)
                .map_err(|e| TransportError(format!("request budget: {e}")))?;
            let Some(next) = next else {
                return Ok(());
            };
            let wait = next - now;
            if wait > Duration::seconds(MAX_WAIT_SECS) || next >= deadline {
                let refusal = Refusal {
                    until: next,
                    why: format!(
                        "the cart's request budget for this account is used up until {}; the next run goes on",
                        next.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                };
                let message = refusal.why.clone();
                self.refused = Some(refusal);
                return Err(TransportError(message));
            }
            io.sleep(wait.to_std().unwrap_or(StdDuration::from_millis(1)));
        }
    }

    /// Remembers a limit the cart reported (Bカート's lockout, BASE's hour or day limit), so no
    /// run calls this account before it ends.
    pub fn note_refusal(&self, io: &impl Io, error: &CartError) -> Result<(), IoError> {
        let CartError::RateLimited {
            retry_after_secs,
            message,
        } = error
        else {
            return Ok(());
        };
        let now = io.now();
        let until = if let Some(secs) = retry_after_secs {
            now + Duration::seconds(i64::try_from(*secs).unwrap_or(3600))
        } else if message.contains("day_api_limit") {
            next_jst_midnight(now)
        } else if self.policy.clock_aligned {
            next_hour(now)
        } else {
            let secs = self.policy.lockout_secs.unwrap_or(self.policy.window_secs);
            now + Duration::seconds(i64::try_from(secs).unwrap_or(300))
        };
        block(io, &self.account, until)
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

fn next_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    let start = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    start + Duration::hours(1)
}

fn next_jst_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&jst()).date_naive();
    let tomorrow = local.succ_opt().unwrap_or(local);
    jst()
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map_or(now + Duration::days(1), |t| t.with_timezone(&Utc))
}

/// The JST day number (days since the epoch in Japan time), BASE's daily counter.
fn jst_day(now: DateTime<Utc>) -> i64 {
    (now.timestamp() + 9 * 3600).div_euclid(86_400)
}

/// The spacing and burst tolerance of a rolling limit, in milliseconds.
fn rolling(policy: RateLimitPolicy) -> Option<(i64, i64)> {
    let max = policy.max_requests.filter(|_| !policy.clock_aligned)?;
    let window_ms = i64::try_from(policy.window_secs).ok()?.saturating_mul(1000);
    let interval = (window_ms as f64 / (f64::from(max) * SHARE_OF_CEILING)).ceil() as i64;
    let burst = ((f64::from(max) * BURST_SHARE).floor() as i64).max(1);
    Some((interval, (burst - 1) * interval))
}

/// Caps of a clock-aligned limit: (per hour, per day).
fn aligned(policy: RateLimitPolicy) -> Option<(i64, i64)> {
    if !policy.clock_aligned {
        return None;
    }
    let cap = |n: Option<u32>| n.map_or(i64::MAX, |n| i64::from(n.saturating_sub(ALIGNED_MARGIN)));
    // A clock-aligned window is an hour (BASE); the day cap is on top.
    Some((cap(policy.max_requests), cap(policy.max_requests_per_day)))
}

/// Takes one request from the account's budget: `None` when admitted, else when to ask again.
fn try_admit(
    io: &impl Io,
    account: &str,
    policy: RateLimitPolicy,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, IoError> {
    let now_ms = ms(now);
    let (interval, tolerance) = rolling(policy).unwrap_or((0, 0));
    let (hour_cap, day_cap) = aligned(policy).unwrap_or((i64::MAX, i64::MAX));
    let hour = now.timestamp().div_euclid(3600);
    let day = jst_day(now);
    // One statement: admitted iff a row comes back. `tat` is the token bucket's theoretical
    // arrival time; the hour/day counters restart when the hour or day has changed.
    let admitted = io.sql(
        "INSERT INTO rate_budget (account, tat_ms, blocked_until_ms, hour, hour_used, day, day_used) \
         VALUES (?1, ?2 + ?3, 0, ?5, 1, ?6, 1) \
         ON CONFLICT (account) DO UPDATE SET \
           tat_ms = MAX(rate_budget.tat_ms, ?2) + ?3, \
           hour_used = CASE WHEN rate_budget.hour = ?5 THEN rate_budget.hour_used + 1 ELSE 1 END, \
           hour = ?5, \
           day_used = CASE WHEN rate_budget.day = ?6 THEN rate_budget.day_used + 1 ELSE 1 END, \
           day = ?6 \
         WHERE rate_budget.blocked_until_ms <= ?2 \
           AND MAX(rate_budget.tat_ms, ?2) - ?4 <= ?2 \
           AND (rate_budget.hour <> ?5 OR rate_budget.hour_used < ?7) \
           AND (rate_budget.day <> ?6 OR rate_budget.day_used < ?8) \
         RETURNING account",
        &[
            account.into(),
            Value::Integer(now_ms),
            Value::Integer(interval),
            Value::Integer(tolerance),
            Value::Integer(hour),
            Value::Integer(day),
            Value::Integer(hour_cap),
            Value::Integer(day_cap),
        ],
    )?;
    if !admitted.is_empty() {
        return Ok(None);
    }
    let rows = io.sql(
        "SELECT tat_ms, blocked_until_ms, hour, hour_used, day, day_used FROM rate_budget WHERE account = ?",
        &[account.into()],
    )?;
    let Some(row) = rows.first() else {
        // Refused and gone: ask again at once.
        return Ok(Some(now));
    };
    let mut next = now_ms;
    next = next.max(row.int("blocked_until_ms")?);
    next = next.max(row.int("tat_ms")? - tolerance);
    if row.int("hour")? == hour && row.int("hour_used")? >= hour_cap {
        next = next.max(ms(next_hour(now)));
    }
    if row.int("day")? == day && row.int("day_used")? >= day_cap {
        next = next.max(ms(next_jst_midnight(now)));
    }
    Ok(Some(from_ms(next.max(now_ms + 1))))
}

/// Nothing goes to `account` before `until`.
fn block(io: &impl Io, account: &str, until: DateTime<Utc>) -> Result<(), IoError> {
    io.sql(
        "INSERT INTO rate_budget (account, tat_ms, blocked_until_ms, hour, hour_used, day, day_used) VALUES (?, 0, ?, 0, 0, 0, 0) \
         ON CONFLICT (account) DO UPDATE SET blocked_until_ms = MAX(rate_budget.blocked_until_ms, excluded.blocked_until_ms)",
        &[account.into(), Value::Integer(ms(until))],
    )?;
    Ok(())
}

/// When the account is blocked until (a lockout or an hour/day limit the cart reported).
pub fn blocked_until(io: &impl Io, account: &str) -> Result<Option<DateTime<Utc>>, IoError> {
    let rows = io.sql(
        "SELECT blocked_until_ms FROM rate_budget WHERE account = ?",
        &[account.into()],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.opt_int("blocked_until_ms"))
        .filter(|&t| t > ms(io.now()))
        .map(from_ms))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;
    use chrono::TimeZone;

    fn io() -> NativeIo {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        let io = NativeIo::in_memory(now, |_| Err(TransportError("none".into()))).unwrap();
        crate::schema::ensure(&io).unwrap();
        io
    }

    fn rolling_policy(max: u32, window_secs: u64) -> RateLimitPolicy {
        RateLimitPolicy {
            max_requests: Some(max),
            window_secs,
            lockout_secs: None,
            max_requests_per_day: None,
            clock_aligned: false,
        }
    }

    /// Admits as many requests as it can until `until`, returning their times.
    fn admitted_until(
        io: &NativeIo,
        pacer: &mut Pacer,
        until: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut times = Vec::new();
        while io.now() < until {
            match pacer.admit(io, until + Duration::hours(1)) {
                Ok(()) => times.push(io.now()),
                Err(_) => break,
            }
        }
        times
    }

    fn most_in_any_window(times: &[DateTime<Utc>], window: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn one_request_a_second_is_spaced_more_than_a_second_apart() {
        let io = io();
        let mut pacer = Pacer::new("fs", rolling_policy(1, 1));
        let start = io.now();
        let times = admitted_until(&io, &mut pacer, start + Duration::seconds(60));
        assert!(times
            .windows(2)
            .all(|w| w[1] - w[0] >= Duration::milliseconds(1_100)));
        assert!(times.len() >= 53, "{} requests in 60 s", times.len());
    }

    #[test]
    fn no_rolling_window_of_bcart_ever_holds_more_than_300_and_90_percent_is_used() {
        let io = io();
        let mut pacer = Pacer::new("bc", rolling_policy(300, 300));
        let start = io.now();
        let times = admitted_until(&io, &mut pacer, start + Duration::seconds(1_800));
        assert!(most_in_any_window(&times, Duration::seconds(300)) <= 300);
        // 6 windows' worth at 90 %: at least 1,620 requests.
        assert!(times.len() >= 1_620, "{}", times.len());
    }

    #[test]
    fn two_pacers_of_one_account_share_its_budget_and_another_account_has_its_own() {
        let io = io();
        let mut a = Pacer::new("fs", rolling_policy(1, 1));
        let mut b = Pacer::new("fs", rolling_policy(1, 1));
        let mut other = Pacer::new("fs-2", rolling_policy(1, 1));
        let deadline = io.now() + Duration::seconds(20);
        a.admit(&io, deadline).unwrap();
        let before = io.now();
        b.admit(&io, deadline).unwrap();
        assert!(
            io.now() - before >= Duration::milliseconds(1_100),
            "b waited for a's slot"
        );
        let before = io.now();
        other.admit(&io, deadline).unwrap();
        assert_eq!(io.now(), before);
    }

    #[test]
    fn a_wait_past_the_deadline_refuses_without_waiting() {
        let io = io();
        let mut pacer = Pacer::new("bc", rolling_policy(300, 300));
        let deadline = io.now() + Duration::seconds(20);
        let start = io.now();
        // The burst goes at once, then 1.12 s apart: 20 s hold about 40.
        let mut sent = 0;
        while pacer.admit(&io, deadline).is_ok() {
            sent += 1;
        }
        assert!(sent > 20 && sent < 60, "{sent}");
        assert!(pacer.refused().is_some());
        assert!(io.now() < deadline && io.now() >= start);
    }

    #[test]
    fn a_lockout_the_cart_reported_is_kept_until_it_ends_by_every_pacer_of_the_account() {
        let io = io();
        let policy = RateLimitPolicy {
            lockout_secs: Some(300),
            ..rolling_policy(300, 300)
        };
        let first = Pacer::new("bc", policy);
        first
            .note_refusal(
                &io,
                &CartError::RateLimited {
                    retry_after_secs: Some(300),
                    message: "locked".into(),
                },
            )
            .unwrap();
        let mut second = Pacer::new("bc", policy);
        assert!(second.admit(&io, io.now() + Duration::hours(1)).is_err());
        let refusal = second.refused().unwrap().clone();
        assert_eq!(refusal.until, io.now() + Duration::seconds(300));
        io.advance(Duration::seconds(300));
        assert!(Pacer::new("bc", policy)
            .admit(&io, io.now() + Duration::seconds(20))
            .is_ok());
    }

    #[test]
    fn base_stops_short_of_its_hourly_cap_and_goes_on_at_the_next_hour() {
        let io = io();
        let policy = RateLimitPolicy {
            max_requests: Some(5_000),
            window_secs: 3_600,
            lockout_secs: None,
            max_requests_per_day: Some(100_000),
            clock_aligned: true,
        };
        let mut pacer = Pacer::new("base", policy);
        let deadline = io.now() + Duration::minutes(30);
        let mut sent = 0;
        while pacer.admit(&io, deadline).is_ok() {
            sent += 1;
        }
        assert_eq!(sent, 5_000 - ALIGNED_MARGIN);
        assert_eq!(
            pacer.refused().unwrap().until,
            Utc.with_ymd_and_hms(2026, 11, 23, 4, 0, 0).unwrap()
        );
        io.set_now(Utc.with_ymd_and_hms(2026, 11, 23, 4, 0, 0).unwrap());
        assert!(Pacer::new("base", policy)
            .admit(&io, io.now() + Duration::seconds(20))
            .is_ok());
    }

    #[test]
    fn base_day_limit_blocks_until_midnight_in_japan() {
        let io = io();
        let policy = RateLimitPolicy {
            max_requests: Some(5_000),
            window_secs: 3_600,
            lockout_secs: None,
            max_requests_per_day: Some(100_000),
            clock_aligned: true,
        };
        let pacer = Pacer::new("base", policy);
        pacer
            .note_refusal(
                &io,
                &CartError::RateLimited {
                    retry_after_secs: None,
                    message: "day_api_limit: 本日のAPI利用上限".into(),
                },
            )
            .unwrap();
        // 03:00 UTC is 12:00 JST: blocked until 15:00 UTC.
        assert_eq!(
            blocked_until(&io, "base").unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap())
        );
    }
}
