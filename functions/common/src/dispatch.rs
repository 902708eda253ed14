//! Scheduled work. The cron trigger (local, plugin 0.4) and the HTTP route `/internal/dispatch`
//! (Fermyon Cloud, driven by an external scheduler) both call `dispatch`.

use crate::{error::json_response, platform, routes::path_info, ApiError};
use spin_sdk::{
    http::{Method, Request, Response},
    sqlite::Value,
};

/// What started a dispatch run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Cron,
    Http,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Cron => "cron",
            Trigger::Http => "http",
        }
    }
}

/// One recorded dispatch run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DispatchRun {
    pub run: i64,
    pub trigger: &'static str,
    pub at_unix: u64,
    /// What the sync service's tick did (`mallsync_sync::DispatchReport`).
    pub work: serde_json::Value,
}

const RUNS_TABLE: &str = "CREATE TABLE IF NOT EXISTS dispatch_runs (run INTEGER PRIMARY KEY AUTOINCREMENT, trigger TEXT NOT NULL, at_unix INTEGER NOT NULL)";
const LAST_RUN_KEY: &str = "dispatch:last_run";

/// Runs the scheduled work once. For now that is recording the run (a SQLite row and the last run
/// in key-value), which is what proves the schedule reaches the component.
pub fn dispatch(trigger: Trigger, at_unix: u64) -> Result<DispatchRun, ApiError> {
    let sql = |e| ApiError::Internal(format!("sqlite dispatch_runs: {e}"));
    let db = platform::database()?;
    db.execute(RUNS_TABLE, &[]).map_err(sql)?;
    let at = i64::try_from(at_unix)
        .map_err(|_| ApiError::BadRequest(format!("timestamp {at_unix} out of range")))?;
    let inserted = db
        .execute(
            "INSERT INTO dispatch_runs (trigger, at_unix) VALUES (?, ?) RETURNING run",
            &[Value::Text(trigger.as_str().into()), Value::Integer(at)],
        )
        .map_err(sql)?;
    let run = inserted
        .rows()
        .next()
        .and_then(|row| row.get::<i64>("run"))
        .ok_or_else(|| ApiError::Internal("INSERT … RETURNING gave no run number".into()))?;
    // The scheduled work itself: every store whose auto-fetch or auto-export is due.
    let work = mallsync_sync::spin::tick()
        .map_err(|e| ApiError::Internal(format!("sync dispatch: {e}")))?;
    let record = DispatchRun {
        run,
        trigger: trigger.as_str(),
        at_unix,
        work: serde_json::json!(work),
    };
    platform::key_value()?
        .set_json(LAST_RUN_KEY, &record)
        .map_err(|e| ApiError::Internal(format!("key-value {LAST_RUN_KEY}: {e}")))?;
    Ok(record)
}

/// Serves the dispatcher's HTTP routes, all behind `Authorization: Bearer <admin_token>`.
pub fn serve_dispatcher(request: Request) -> Response {
    route(&request).unwrap_or_else(ApiError::into_response)
}

fn route(request: &Request) -> Result<Response, ApiError> {
    authorize(request)?;
    match (request.method(), path_info(request).trim_end_matches('/')) {
        // POST /internal/dispatch: run the scheduled work now (the external scheduler's call)
        (Method::Post, "") => {
            let run = dispatch(Trigger::Http, unix_now())?;
            Ok(json_response(200, &serde_json::json!(run)))
        }
        // GET /internal/dispatch: how many runs so far, and the last one
        (Method::Get, "") => runs(),
        (_, "") => Err(ApiError::MethodNotAllowed("GET, POST")),
        _ => Err(ApiError::NotFound),
    }
}

fn runs() -> Result<Response, ApiError> {
    let sql = |e| ApiError::Internal(format!("sqlite dispatch_runs: {e}"));
    let db = platform::database()?;
    db.execute(RUNS_TABLE, &[]).map_err(sql)?;
    let counts = db
        .execute(
            "SELECT trigger, COUNT(*) AS runs FROM dispatch_runs GROUP BY trigger",
            &[],
        )
        .map_err(sql)?;
    let mut by_trigger = serde_json::Map::new();
    for row in counts.rows() {
        if let (Some(trigger), Some(n)) = (row.get::<&str>("trigger"), row.get::<i64>("runs")) {
            by_trigger.insert(trigger.to_string(), n.into());
        }
    }
    let last: Option<serde_json::Value> = platform::key_value()?
        .get_json(LAST_RUN_KEY)
        .map_err(|e| ApiError::Internal(format!("key-value {LAST_RUN_KEY}: {e}")))?;
    Ok(json_response(
        200,
        &serde_json::json!({ "runs": by_trigger, "last_run": last }),
    ))
}

/// Checks the bearer token against the `admin_token` variable. An empty `admin_token` switches the
/// route off rather than letting an empty token in.
fn authorize(request: &Request) -> Result<(), ApiError> {
    let expected = platform::variable("admin_token")?;
    if expected.is_empty() {
        return Err(ApiError::Disabled(
            "the dispatch route is off: set the admin_token variable".into(),
        ));
    }
    let given = request
        .header("authorization")
        .and_then(|v| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Compares without an early exit, so response time does not reveal how much of a guess was right.
/// (Only the length can leak, which a random token of fixed length does not mind.)
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_tokens_match() {
        assert!(constant_time_eq(b"s3cret-token", b"s3cret-token"));
    }

    #[test]
    fn a_token_differing_in_one_byte_or_length_does_not_match() {
        assert!(!constant_time_eq(b"s3cret-token", b"s3cret-tokeN"));
        assert!(!constant_time_eq(b"s3cret-token", b"s3cret-toke"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
