//! Faults a test injects: the next N requests (all, or those to one path) get an error, a slow
//! answer or a broken body instead of the cart's normal answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::server::{lock, Reply};

/// What an injected fault does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 500, 503) and the cart's error body; state is unchanged.
    Status(u16),
    /// Carry the request out (state changes, e-mails go out), then answer with this status: the
    /// "accepted but the response was lost" case that retries must survive.
    StatusAfterApplying(u16),
    /// Carry the request out at once, but answer only after this delay (client timeouts).
    Delay(Duration),
    /// Answer 200 with a truncated JSON body.
    MalformedJson,
    /// The cart's own rate-limit answer (429 for Bカート/futureshop, 400 `hour_api_limit` for BASE).
    RateLimited,
    /// The cart's own answer to an expired access token.
    TokenExpired,
    /// Exactly this answer (e.g. BASE's 400 `day_api_limit`); state is unchanged.
    Answer(Reply),
}

#[derive(Debug, Clone)]
struct Rule {
    method: Option<String>,
    path_prefix: Option<String>,
    remaining: usize,
    fault: Fault,
}

impl Rule {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// The faults waiting to be served, in the order they were added. Cloning shares the queue.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Rule>>>);

impl Faults {
    /// The next `count` requests, whatever their path, get `fault`.
    pub fn next(&self, count: usize, fault: Fault) -> &Faults {
        self.push(None, None, count, fault)
    }

    /// The next `count` requests whose path starts with `path_prefix` get `fault`.
    pub fn on_path(&self, path_prefix: &str, count: usize, fault: Fault) -> &Faults {
        self.push(None, Some(path_prefix), count, fault)
    }

    /// The next `count` requests with this method and a path starting with `path_prefix` get `fault`.
    pub fn on(&self, method: &str, path_prefix: &str, count: usize, fault: Fault) -> &Faults {
        self.push(Some(method), Some(path_prefix), count, fault)
    }

    /// Drops every fault not yet served.
    pub fn clear(&self) {
        lock(&self.0).clear();
    }

    /// How many faulted answers are still to be served.
    pub fn pending(&self) -> usize {
        lock(&self.0).iter().map(|r| r.remaining).sum()
    }

    fn push(
        &self,
        method: Option<&str>,
        path_prefix: Option<&str>,
        count: usize,
        fault: Fault,
    ) -> &Faults {
        lock(&self.0).push(Rule {
            method: method.map(str::to_string),
            path_prefix: path_prefix.map(str::to_string),
            remaining: count,
            fault,
        });
        self
    }

    /// The fault for this request, if one is waiting; using it counts it down.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.0);
        let rule = rules.iter_mut().find(|r| r.matches(method, path))?;
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        rules.retain(|r| r.remaining > 0);
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_served_in_order_and_only_to_matching_requests() {
        let faults = Faults::default();
        faults
            .on("POST", "/1/orders/edit_status", 1, Fault::Status(503))
            .next(2, Fault::MalformedJson);
        assert_eq!(
            faults.take("POST", "/1/orders/edit_status"),
            Some(Fault::Status(503))
        );
        assert_eq!(faults.take("GET", "/1/orders"), Some(Fault::MalformedJson));
        assert_eq!(faults.pending(), 1);
        assert_eq!(faults.take("GET", "/1/orders"), Some(Fault::MalformedJson));
        assert_eq!(faults.take("GET", "/1/orders"), None);
    }

    #[test]
    fn a_path_fault_leaves_other_paths_alone() {
        let faults = Faults::default();
        faults.on_path("/api/shipments", 1, Fault::Status(500));
        assert_eq!(faults.take("GET", "/api/orders"), None);
        assert_eq!(
            faults.take("POST", "/api/shipments"),
            Some(Fault::Status(500))
        );
    }
}
