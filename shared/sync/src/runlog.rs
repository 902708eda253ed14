//! The run log (自動処理ログ): every write-back and import, who or what started it, and each
//! order's outcome with the rule or cart error behind it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::io::{Io, IoError, Row, Value};
use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Sent,
    Excluded,
    Failed,
    /// Left for the next run (time or request budget): not a failure.
    Deferred,
    /// Something the operator should know about an order (BASE: a correction it cannot send):
    /// not an outcome of its own, not counted.
    Warning,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Excluded => "excluded",
            Outcome::Failed => "failed",
            Outcome::Deferred => "deferred",
            Outcome::Warning => "warning",
        }
    }

    fn parse(s: &str) -> Result<Outcome, IoError> {
        match s {
            "sent" => Ok(Outcome::Sent),
            "excluded" => Ok(Outcome::Excluded),
            "failed" => Ok(Outcome::Failed),
            "deferred" => Ok(Outcome::Deferred),
            "warning" => Ok(Outcome::Warning),
            other => Err(IoError(format!("run line outcome {other:?} is unknown"))),
        }
    }
}

/// One order's line in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_key: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_ja: Option<String>,
    /// The exact fields sent (or meant to be sent) to the cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Value>,
}

impl OrderLine {
    pub fn new(order_id: &str, outcome: Outcome) -> OrderLine {
        OrderLine {
            order_id: order_id.to_string(),
            ledger_key: None,
            outcome,
            reason_code: None,
            message: None,
            message_ja: None,
            fields: None,
        }
    }
}

/// A run as the operator reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub store_id: String,
    /// `write_back` or `import`.
    pub kind: String,
    /// `scheduled`, `manual`, `webhook`.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub sent: i64,
    pub excluded: i64,
    pub failed: i64,
    pub deferred: i64,
    pub imported: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<OrderLine>,
}

pub fn start(io: &impl Io, store_id: &str, kind: &str, trigger: &str) -> Result<i64, IoError> {
    let rows = io.sql(
        "INSERT INTO runs (store_id, kind, trigger, started_at) VALUES (?, ?, ?, ?) RETURNING id",
        &[
            store_id.into(),
            kind.into(),
            trigger.into(),
            io.now().timestamp().into(),
        ],
    )?;
    rows.first()
        .ok_or_else(|| IoError("INSERT INTO runs … RETURNING gave no id".into()))?
        .int("id")
}

pub fn add_line(io: &impl Io, run_id: i64, line: &OrderLine) -> Result<(), IoError> {
    io.sql(
        "INSERT INTO run_orders (run_id, order_id, ledger_key, outcome, reason_code, message, message_ja, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            run_id.into(),
            line.order_id.clone().into(),
            line.ledger_key.clone().into(),
            line.outcome.as_str().into(),
            line.reason_code.clone().into(),
            line.message.clone().into(),
            line.message_ja.clone().into(),
            line.fields.as_ref().map(|f| f.to_string()).into(),
        ],
    )?;
    Ok(())
}

/// How many orders a run sent, left out, failed or imported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sent: usize,
    pub excluded: usize,
    pub failed: usize,
    pub deferred: usize,
    pub imported: usize,
}

fn count(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Closes a run with its counts and a note for the operator.
pub fn finish(
    io: &impl Io,
    run_id: i64,
    counts: Counts,
    note: Option<&str>,
) -> Result<(), IoError> {
    io.sql(
        "UPDATE runs SET ended_at = ?, sent = ?, excluded = ?, failed = ?, deferred = ?, imported = ?, note = ? WHERE id = ?",
        &[
            io.now().timestamp().into(),
            count(counts.sent),
            count(counts.excluded),
            count(counts.failed),
            count(counts.deferred),
            count(counts.imported),
            note.map(str::to_string).into(),
            run_id.into(),
        ],
    )?;
    Ok(())
}

const RUN_COLUMNS: &str =
    "id, store_id, kind, trigger, started_at, ended_at, sent, excluded, failed, deferred, imported, note";

fn run_from_row(r: Row<'_>) -> Result<Run, IoError> {
    Ok(Run {
        id: r.int("id")?,
        store_id: r.text("store_id")?.to_string(),
        kind: r.text("kind")?.to_string(),
        trigger: r.text("trigger")?.to_string(),
        started_at: time::from_seconds(r.int("started_at")?),
        ended_at: r.opt_int("ended_at").map(time::from_seconds),
        sent: r.int("sent")?,
        excluded: r.int("excluded")?,
        failed: r.int("failed")?,
        deferred: r.int("deferred")?,
        imported: r.int("imported")?,
        note: r.opt_text("note").map(str::to_string),
        orders: Vec::new(),
    })
}

/// The store's runs, newest first.
pub fn list(io: &impl Io, store_id: &str, limit: u32) -> Result<Vec<Run>, IoError> {
    io.sql(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE store_id = ? ORDER BY id DESC LIMIT ?"),
        &[store_id.into(), Value::Integer(i64::from(limit))],
    )?
    .iter()
    .map(run_from_row)
    .collect()
}

/// The store's newest run of `kind` (`write_back` or `import`), without its lines.
pub fn last_of_kind(io: &impl Io, store_id: &str, kind: &str) -> Result<Option<Run>, IoError> {
    io.sql(
        &format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE store_id = ? AND kind = ? ORDER BY id DESC LIMIT 1"
        ),
        &[store_id.into(), kind.into()],
    )?
    .first()
    .map(run_from_row)
    .transpose()
}

/// One run of the store with every order line; `None` when the run is not this store's.
pub fn read(io: &impl Io, store_id: &str, run_id: i64) -> Result<Option<Run>, IoError> {
    let rows = io.sql(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ? AND store_id = ?"),
        &[run_id.into(), store_id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut run = run_from_row(row)?;
    run.orders = io
        .sql(
            "SELECT order_id, ledger_key, outcome, reason_code, message, message_ja, fields FROM run_orders WHERE run_id = ? ORDER BY rowid",
            &[run_id.into()],
        )?
        .iter()
        .map(|r| {
            Ok(OrderLine {
                order_id: r.text("order_id")?.to_string(),
                ledger_key: r.opt_text("ledger_key").map(str::to_string),
                outcome: Outcome::parse(r.text("outcome")?)?,
                reason_code: r.opt_text("reason_code").map(str::to_string),
                message: r.opt_text("message").map(str::to_string),
                message_ja: r.opt_text("message_ja").map(str::to_string),
                fields: r.opt_text("fields").and_then(|f| serde_json::from_str(f).ok()),
            })
        })
        .collect::<Result<_, IoError>>()?;
    Ok(Some(run))
}

/// Closes the runs a crash or a stopped instance left open (started before `started_before`,
/// never finished), with the counts of the lines they logged. Returns how many.
pub fn close_interrupted(io: &impl Io, started_before: DateTime<Utc>) -> Result<usize, IoError> {
    let rows = io.sql(
        "UPDATE runs SET ended_at = ?, \
           sent = (SELECT COUNT(*) FROM run_orders WHERE run_id = runs.id AND outcome = 'sent'), \
           excluded = (SELECT COUNT(*) FROM run_orders WHERE run_id = runs.id AND outcome = 'excluded'), \
           failed = (SELECT COUNT(*) FROM run_orders WHERE run_id = runs.id AND outcome = 'failed'), \
           deferred = (SELECT COUNT(*) FROM run_orders WHERE run_id = runs.id AND outcome = 'deferred'), \
           note = 'interrupted: the run stopped before it finished (crash or restart); what it logged is kept, and the next run sends what is left / 中断されました（処理の途中で停止）。残りは次回の処理で送信します' \
         WHERE ended_at IS NULL AND started_at < ? RETURNING id",
        &[
            io.now().timestamp().into(),
            started_before.timestamp().into(),
        ],
    )?;
    Ok(rows.rows.len())
}
