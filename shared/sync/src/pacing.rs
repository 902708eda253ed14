//! Staying under a cart's published request rate within one run: up to `max_requests` per
//! window, then a wait for the next window when it fits the run's budget. (Runs do not share a
//! pacer: the cart's own 429 covers what one run cannot see.)

use chrono::{DateTime, Duration, Utc};
use mallsync_carts::{RateLimitPolicy, Request, Response, TransportError};

use crate::io::Io;

pub struct Pacer {
    policy: RateLimitPolicy,
    window_start: Option<DateTime<Utc>>,
    sent: u32,
}

impl Pacer {
    pub fn new(policy: RateLimitPolicy) -> Pacer {
        Pacer {
            policy,
            window_start: None,
            sent: 0,
        }
    }

    /// Called before each request: waits when this window's requests are used up, or refuses
    /// when the next window starts after `deadline` (the rest is left for the next run).
    pub fn before_send(
        &mut self,
        io: &impl Io,
        deadline: DateTime<Utc>,
    ) -> Result<(), TransportError> {
        let Some(max) = self.policy.max_requests else {
            return Ok(());
        };
        let window =
            Duration::seconds(i64::try_from(self.policy.window_secs).unwrap_or(i64::MAX / 2));
        let now = io.now();
        match self.window_start {
            Some(start) if now < start + window => {
                if self.sent >= max {
                    let next = start + window;
                    if next >= deadline {
                        return Err(TransportError(format!(
                            "the cart allows {max} requests per {} s and this run's time is up; the next run goes on",
                            self.policy.window_secs
                        )));
                    }
                    if let Ok(wait) = (next - now).to_std() {
                        io.sleep(wait);
                    }
                    self.window_start = Some(io.now());
                    self.sent = 0;
                }
            }
            _ => {
                self.window_start = Some(now);
                self.sent = 0;
            }
        }
        self.sent += 1;
        Ok(())
    }

    /// `io.send`, paced.
    pub fn send(
        &mut self,
        io: &impl Io,
        deadline: DateTime<Utc>,
        request: Request,
    ) -> Result<Response, TransportError> {
        self.before_send(io, deadline)?;
        io.send(request)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;

    fn io() -> NativeIo {
        NativeIo::in_memory(chrono::Utc::now(), |_| Err(TransportError("none".into()))).unwrap()
    }

    fn policy(max: u32, window_secs: u64) -> RateLimitPolicy {
        RateLimitPolicy {
            max_requests: Some(max),
            window_secs,
            lockout_secs: None,
            max_requests_per_day: None,
        }
    }

    #[test]
    fn one_request_a_second_spaces_three_requests_over_two_seconds() {
        let io = io();
        let start = io.now();
        let mut pacer = Pacer::new(policy(1, 1));
        for _ in 0..3 {
            pacer
                .before_send(&io, start + Duration::seconds(20))
                .unwrap();
        }
        assert_eq!(io.now() - start, Duration::seconds(2));
    }

    #[test]
    fn a_full_window_that_ends_after_the_budget_stops_the_run_instead_of_waiting() {
        let io = io();
        let start = io.now();
        let mut pacer = Pacer::new(policy(300, 300));
        for _ in 0..300 {
            pacer
                .before_send(&io, start + Duration::seconds(20))
                .unwrap();
        }
        assert!(pacer
            .before_send(&io, start + Duration::seconds(20))
            .is_err());
        assert_eq!(io.now(), start, "no waiting at all");
    }
}
