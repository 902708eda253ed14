//! Notifications per shop: where they go (destinations), what happened (events, kept in an
//! outbox), and delivering them after the work that raised them.
//!
//! - A **destination** is an HTTPS webhook, signed like the OMS webhook (`X-Mallsync-Signature:
//!   t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with the destination's own secret), or a
//!   chat incoming webhook (`{"text": …}`). URL and secret are sealed at rest; the URL must lie
//!   within the `notification_origin` variable, which is also the components' allowed outbound
//!   host for it (spin.toml).
//! - An **event** (a run with failed orders, a store that needs reconnection, credentials about
//!   to lapse, a cart limit that deferred work) goes into `notification_outbox` once per
//!   destination under a unique event key: raising the same event again adds nothing, so it is
//!   sent at most once.
//! - **Delivery** happens after the work (a webhook's write-back, a tick's runs), through `Io`
//!   like cart calls. A failure is logged and retried on a later tick with back-off; after
//!   [`MAX_ATTEMPTS`] the row is marked failed. A run never waits for a destination.

use chrono::{DateTime, Utc};
use mallsync_rules::{Cart, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::auth::{sign, HEADER_SIGNATURE};
use crate::carts::origin_allows;
use crate::io::{random_hex, Io, IoError, Row};
use crate::runlog::{self, Outcome};
use crate::shops::{check_name, Store};
use crate::time;
use crate::{alerts, crypto, lease};

/// The component variable naming the origin notifications may go to, as Spin's
/// `allowed_outbound_hosts` reads an entry (`https://hooks.slack.com`, `https://*.example.jp`).
pub const ORIGIN_VARIABLE: &str = "notification_origin";
/// Further origins a deployment may declare (each needs its own allowed_outbound_hosts entry).
const MORE_ORIGIN_VARIABLES: [&str; 2] = ["notification_origin_2", "notification_origin_3"];

/// Every allowed notification origin, comma-separated; `None` when none is set.
fn allowed_origins(io: &impl Io) -> Option<String> {
    let all: Vec<String> = std::iter::once(ORIGIN_VARIABLE)
        .chain(MORE_ORIGIN_VARIABLES)
        .filter_map(|name| io.variable(name))
        .collect();
    (!all.is_empty()).then(|| all.join(","))
}

/// Deliveries of one event a destination gets before the row is marked failed (the last about
/// 8.5 h after the first; ticks come every 5 minutes, so the early retries wait for a tick).
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry's wait; each further one doubles, up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 60;
const MAX_BACKOFF_SECS: i64 = 6 * 3600;
/// A delivery claimed by one instance is not taken by another for this long.
const CLAIM_SECS: i64 = 30;
/// Destinations one shop may have.
pub const MAX_DESTINATIONS: usize = 10;
/// How long after a webhook's write-back its notifications may still be sent in the same
/// invocation (Spin stops a handler at 30 s; the write-back has 20).
pub const FOLLOW_UP_SECS: i64 = 5;
/// The failures a run notification lists (the run log has them all).
const FIRST_FAILURES: usize = 5;
/// Headers every webhook delivery carries besides the signature.
pub const HEADER_EVENT: &str = "x-mallsync-event";
/// The outbox id: the same on every retry of one event, so a receiver can drop a repeat.
pub const HEADER_DELIVERY: &str = "x-mallsync-delivery";

/// What a destination can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A write-back run with failed orders (store, counts, first failures, the run's path).
    RunFailed,
    /// The cart refused the store's credentials for good: someone must connect it again.
    NeedsReconnection,
    /// The store's refresh token lapses within the destination's `lapse_warning_days` and the
    /// schedule could not renew it.
    CredentialsLapsing,
    /// The cart's own rate limit or lockout deferred work (`rate_limited` in the run log).
    CartLimit,
    /// Sent only by the test-send route.
    Test,
}

impl Event {
    pub const ALL: [Event; 4] = [
        Event::RunFailed,
        Event::NeedsReconnection,
        Event::CredentialsLapsing,
        Event::CartLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::RunFailed => "run_failed",
            Event::NeedsReconnection => "needs_reconnection",
            Event::CredentialsLapsing => "credentials_lapsing",
            Event::CartLimit => "cart_limit",
            Event::Test => "test",
        }
    }
}

/// How a destination is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// JSON event, signed with the destination's secret.
    Webhook,
    /// `{"text": "<Japanese>\n<English>"}`, unsigned (the URL itself is the secret).
    Chat,
}

/// A destination as stored, URL and secret opened.
#[derive(Debug, Clone)]
pub struct Destination {
    pub id: String,
    pub shop_id: String,
    pub name: String,
    pub kind: Kind,
    pub url: String,
    secret: Option<String>,
    pub events: Vec<Event>,
    pub lapse_warning_days: i64,
    pub created_at: DateTime<Utc>,
}

/// A destination as routes show it: the URL cut to its origin (a chat URL's path is its
/// secret), no secret, and how its deliveries went.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationView {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub url: String,
    pub events: Vec<Event>,
    pub lapse_warning_days: i64,
    pub created_at: DateTime<Utc>,
    pub delivery: DeliveryState,
}

/// What creating a webhook destination returns: the only time its signing secret is shown.
#[derive(Debug, Clone, Serialize)]
pub struct NewDestination {
    #[serde(flatten)]
    pub destination: DestinationView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// The last delivery sent and the last that failed (of a destination, or of a store's events).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryState {
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Events still waiting to be delivered (or retried).
    pub pending: i64,
    /// Events given up after [`MAX_ATTEMPTS`].
    pub failed: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    #[serde(default)]
    pub name: String,
    pub kind: Kind,
    #[serde(default)]
    pub url: String,
    /// Default: every event.
    pub events: Option<Vec<Event>>,
    /// Warn of credentials lapsing within this many days (1–7, default 7): the schedule renews
    /// a refresh token 7 days ahead, so a warning means its renewal failed.
    pub lapse_warning_days: Option<i64>,
}

/// The default `lapse_warning_days`: a week, the schedule's own renewal margin.
pub const DEFAULT_LAPSE_WARNING_DAYS: i64 = crate::carts::KEEP_ALIVE_DAYS;

fn url_place(id: &str) -> String {
    format!("notification_destinations.url:{id}")
}

fn secret_place(id: &str) -> String {
    format!("notification_destinations.secret:{id}")
}

/// `scheme://host[:port]` of a URL, for display.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

fn is_loopback(url: &str) -> bool {
    let authority = origin_of(url);
    let host = authority.trim_start_matches("http://");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Every problem of a destination, at once: name, URL (https, within `notification_origin`),
/// events, warning days.
fn check(io: &impl Io, input: &DestinationInput) -> Result<(Vec<Event>, i64), ApiError> {
    let mut problems: Vec<FieldError> = match check_name("name", &input.name) {
        Err(ApiError::Invalid(p)) => p,
        _ => Vec::new(),
    };
    let mut add =
        |field: &str, ja: String, en: String| problems.push(FieldError::ja_en(field, ja, en));
    let url = input.url.trim();
    if url.is_empty() {
        add(
            "url",
            "通知先のURLを入力してください（例: https://hooks.slack.com/services/…）".into(),
            "is required, e.g. https://hooks.slack.com/services/…".into(),
        );
    } else if !(url.starts_with("https://") || url.starts_with("http://") && is_loopback(url)) {
        add(
            "url",
            "https:// で始まるURLを入力してください".into(),
            "must start with https://".into(),
        );
    } else if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        add(
            "url",
            "URLではありません（空白を含むか、2,048文字を超えています）".into(),
            "is not a URL (spaces, or over 2,048 characters)".into(),
        );
    } else {
        let host = origin_of(url);
        match allowed_origins(io) {
            Some(allowed) if origin_allows(&allowed, url) => {}
            Some(allowed) => add(
                "url",
                format!("{host} は許可された通知先ホスト（{allowed}）ではありません。{ORIGIN_VARIABLE} 変数と各コンポーネントの allowed_outbound_hosts に追加してください（README「Notifications」）"),
                format!(
                    "{host} is not an allowed notification host ({allowed}): add it to the \
                     {ORIGIN_VARIABLE} variable and each component's allowed_outbound_hosts \
                     (README \"Notifications\")"
                ),
            ),
            None => add(
                "url",
                format!("通知先ホストが許可されていません。{ORIGIN_VARIABLE} 変数を設定してください（README「Notifications」）"),
                format!(
                    "no notification host is allowed: set the {ORIGIN_VARIABLE} variable \
                     (README \"Notifications\")"
                ),
            ),
        }
    }
    let events = input.events.clone().unwrap_or_else(|| Event::ALL.to_vec());
    if events.is_empty() {
        add(
            "events",
            "通知するイベントを1つ以上選んでください".into(),
            "choose at least one of run_failed, needs_reconnection, credentials_lapsing, cart_limit"
                .into(),
        );
    }
    if events.contains(&Event::Test) {
        add(
            "events",
            "test はテスト送信専用で、購読できません".into(),
            "test is sent only by the test route, not subscribed to".into(),
        );
    }
    let days = input
        .lapse_warning_days
        .unwrap_or(DEFAULT_LAPSE_WARNING_DAYS);
    let most = crate::carts::KEEP_ALIVE_DAYS;
    if !(1..=most).contains(&days) {
        add(
            "lapse_warning_days",
            format!("1〜{most} の日数を指定してください（自動更新は期限の{most}日前に行います）"),
            format!(
                "must be 1 to {most} (the schedule renews credentials that many days before they lapse), not {days}"
            ),
        );
    }
    if problems.is_empty() {
        let mut unique = Vec::new();
        for e in events {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        Ok((unique, days))
    } else {
        Err(ApiError::Invalid(problems))
    }
}

/// Creates a destination of the shop; a webhook gets a new signing secret, shown once.
pub fn create(
    io: &impl Io,
    shop_id: &str,
    input: &DestinationInput,
) -> Result<NewDestination, ApiError> {
    let (events, lapse_warning_days) = check(io, input)?;
    // Every event goes to every destination within one invocation's budget: keep it small.
    if list_ids(io, shop_id)?.len() >= MAX_DESTINATIONS {
        return Err(ApiError::invalid_ja_en(
            "url",
            format!("通知先は{MAX_DESTINATIONS}件までです。先に1件削除してください"),
            format!(
                "a shop has at most {MAX_DESTINATIONS} notification destinations: remove one first"
            ),
        ));
    }
    let id = format!("nd_{}", random_hex(io, 8)?);
    let secret = match input.kind {
        Kind::Webhook => Some(format!("whsec_{}", random_hex(io, 32)?)),
        Kind::Chat => None,
    };
    let url = input.url.trim().to_string();
    let sealed_url = crypto::seal(io, url.as_bytes(), &url_place(&id))?;
    let sealed_secret = match &secret {
        Some(s) => Some(crypto::seal(io, s.as_bytes(), &secret_place(&id))?),
        None => None,
    };
    let now = io.now();
    let events_json =
        serde_json::to_string(&events).map_err(|e| ApiError::Internal(e.to_string()))?;
    io.sql(
        "INSERT INTO notification_destinations (id, shop_id, name, kind, url, secret, events, lapse_warning_days, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            id.clone().into(),
            shop_id.into(),
            input.name.trim().into(),
            kind_str(input.kind).into(),
            sealed_url.into(),
            sealed_secret.into(),
            events_json.into(),
            lapse_warning_days.into(),
            now.timestamp().into(),
        ],
    )?;
    let destination = Destination {
        id,
        shop_id: shop_id.to_string(),
        name: input.name.trim().to_string(),
        kind: input.kind,
        url,
        secret: secret.clone(),
        events,
        lapse_warning_days,
        created_at: time::from_seconds(now.timestamp()),
    };
    Ok(NewDestination {
        destination: view(io, &destination)?,
        signing_secret: secret,
    })
}

fn kind_str(kind: Kind) -> &'static str {
    match kind {
        Kind::Webhook => "webhook",
        Kind::Chat => "chat",
    }
}

const DESTINATION_COLUMNS: &str =
    "id, shop_id, name, kind, url, secret, events, lapse_warning_days, created_at";

fn from_row(io: &impl Io, r: Row<'_>) -> Result<Destination, IoError> {
    let id = r.text("id")?.to_string();
    let kind = match r.text("kind")? {
        "chat" => Kind::Chat,
        _ => Kind::Webhook,
    };
    let url = crypto::open_text(io, r.text("url")?, &url_place(&id))?;
    let secret = match r.opt_text("secret") {
        Some(sealed) => Some(crypto::open_text(io, sealed, &secret_place(&id))?),
        None => None,
    };
    let events = serde_json::from_str(r.text("events")?)
        .map_err(|e| IoError(format!("destination {id}: stored events do not parse: {e}")))?;
    Ok(Destination {
        shop_id: r.text("shop_id")?.to_string(),
        name: r.text("name")?.to_string(),
        kind,
        url,
        secret,
        events,
        lapse_warning_days: r.int("lapse_warning_days")?,
        created_at: time::from_seconds(r.int("created_at")?),
        id,
    })
}

/// The shop's destinations, oldest first.
pub fn list(io: &impl Io, shop_id: &str) -> Result<Vec<Destination>, IoError> {
    io.sql(
        &format!("SELECT {DESTINATION_COLUMNS} FROM notification_destinations WHERE shop_id = ? ORDER BY created_at, id"),
        &[shop_id.into()],
    )?
    .iter()
    .map(|r| from_row(io, r))
    .collect()
}

fn list_ids(io: &impl Io, shop_id: &str) -> Result<Vec<String>, IoError> {
    io.sql(
        "SELECT id FROM notification_destinations WHERE shop_id = ?",
        &[shop_id.into()],
    )?
    .iter()
    .map(|r| r.text("id").map(str::to_string))
    .collect()
}

/// Whether the shop has any destination (one cheap statement before building notices).
fn has_destinations(io: &impl Io, shop_id: &str) -> Result<bool, IoError> {
    Ok(!io
        .sql(
            "SELECT 1 AS one FROM notification_destinations WHERE shop_id = ? LIMIT 1",
            &[shop_id.into()],
        )?
        .is_empty())
}

/// One destination of the shop; another shop's answers 404.
pub fn get(io: &impl Io, shop_id: &str, id: &str) -> Result<Destination, ApiError> {
    let rows = io.sql(
        &format!("SELECT {DESTINATION_COLUMNS} FROM notification_destinations WHERE id = ? AND shop_id = ?"),
        &[id.into(), shop_id.into()],
    )?;
    match rows.first() {
        Some(r) => Ok(from_row(io, r)?),
        None => Err(ApiError::NotFound(format!(
            "no notification destination {id} for this shop"
        ))),
    }
}

/// Seals every destination's URL and secret again with the current key (`reseal::reseal_all`).
pub fn reseal(io: &impl Io, keys: &crypto::Keys) -> Result<usize, IoError> {
    let mut done = 0;
    for row in io
        .sql("SELECT id, url, secret FROM notification_destinations", &[])?
        .iter()
    {
        let id = row.text("id")?;
        let stale = |v: Option<&str>| v.is_some_and(|v| keys.needs_reseal(v));
        if !stale(row.opt_text("url")) && !stale(row.opt_text("secret")) {
            continue;
        }
        let again = |stored: &str, place: &str| -> Result<String, IoError> {
            keys.seal(io, &keys.open(stored, place)?, place)
        };
        let url = again(row.text("url")?, &url_place(id))?;
        let secret = match row.opt_text("secret") {
            Some(s) => Some(again(s, &secret_place(id))?),
            None => None,
        };
        io.sql(
            "UPDATE notification_destinations SET url = ?, secret = ? WHERE id = ?",
            &[url.into(), secret.into(), id.into()],
        )?;
        done += 1;
    }
    Ok(done)
}

/// Deletes a destination and its outbox.
pub fn delete(io: &impl Io, shop_id: &str, id: &str) -> Result<(), ApiError> {
    let destination = get(io, shop_id, id)?;
    io.sql(
        "DELETE FROM notification_outbox WHERE destination_id = ?",
        &[destination.id.clone().into()],
    )?;
    io.sql(
        "DELETE FROM notification_destinations WHERE id = ?",
        &[destination.id.into()],
    )?;
    Ok(())
}

pub fn view(io: &impl Io, d: &Destination) -> Result<DestinationView, IoError> {
    let url = match d.kind {
        // A chat URL's path is its token.
        Kind::Chat => format!("{}/********", origin_of(&d.url)),
        Kind::Webhook => d
            .url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    Ok(DestinationView {
        id: d.id.clone(),
        name: d.name.clone(),
        kind: d.kind,
        url,
        events: d.events.clone(),
        lapse_warning_days: d.lapse_warning_days,
        created_at: d.created_at,
        delivery: delivery_state(io, "destination_id", &d.id)?,
    })
}

fn delivery_state(io: &impl Io, column: &str, value: &str) -> Result<DeliveryState, IoError> {
    let rows = io.sql(
        &format!(
            "SELECT MAX(sent_at) AS last_sent, MAX(failed_at) AS last_failed, \
             SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending, \
             SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed \
             FROM notification_outbox WHERE {column} = ?"
        ),
        &[value.into()],
    )?;
    let mut state = DeliveryState::default();
    if let Some(r) = rows.first() {
        state.last_sent_at = r.opt_int("last_sent").map(time::from_seconds);
        state.last_failed_at = r.opt_int("last_failed").map(time::from_seconds);
        state.pending = r.opt_int("pending").unwrap_or(0);
        state.failed = r.opt_int("failed").unwrap_or(0);
    }
    if let Some(failed_at) = state.last_failed_at {
        state.last_error = io
            .sql(
                &format!("SELECT last_error FROM notification_outbox WHERE {column} = ? AND failed_at = ? ORDER BY id DESC LIMIT 1"),
                &[value.into(), failed_at.timestamp().into()],
            )?
            .first()
            .and_then(|r| r.opt_text("last_error").map(str::to_string));
    }
    Ok(state)
}

/// An event about a store, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Notice {
    pub event: Event,
    /// Unique per event: raising the same key again adds nothing.
    pub key: String,
    pub message: String,
    pub message_ja: String,
    pub data: Value,
}

/// Puts `notice` in the outbox of every destination of the store's shop that wants it (and,
/// for credentials lapsing, whose warning window `days_left` is within). Returns how many rows
/// were added (0 when the event was raised before).
pub fn raise(
    io: &impl Io,
    store: &Store,
    notice: &Notice,
    days_left: Option<i64>,
) -> Result<usize, IoError> {
    let mut added = 0;
    for d in list(io, &store.shop_id)? {
        if !d.events.contains(&notice.event)
            || days_left.is_some_and(|left| left > d.lapse_warning_days)
        {
            continue;
        }
        let payload = json!({
            "event": notice.event.as_str(),
            "event_key": notice.key,
            "occurred_at": io.now(),
            "shop_id": store.shop_id,
            "store": { "id": store.id, "name": store.name, "cart": store.cart },
            "message": notice.message,
            "message_ja": notice.message_ja,
            "data": notice.data,
        });
        let rows = io.sql(
            "INSERT INTO notification_outbox (destination_id, shop_id, store_id, event, event_key, payload, created_at, status, attempts, next_at, claimed_until) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, 0) ON CONFLICT (destination_id, event_key) DO NOTHING RETURNING id",
            &[
                d.id.clone().into(),
                store.shop_id.clone().into(),
                store.id.clone().into(),
                notice.event.as_str().into(),
                notice.key.clone().into(),
                payload.to_string().into(),
                io.now().timestamp().into(),
                io.now().timestamp().into(),
            ],
        )?;
        added += rows.rows.len();
    }
    Ok(added)
}

/// A short hash for event keys (the same inputs always give the same key).
fn short_hash(text: &str) -> String {
    crate::auth::sha256_hex(text)[..16].to_string()
}

/// After a write-back run: a notice for its failed orders and one for a cart limit that
/// deferred work. The failure notice's key is the store, the Japan date and the failed orders
/// with their reason codes, so a scheduled retry that fails the same way the same day is not
/// sent again, while a new failure is.
pub fn after_run(io: &impl Io, store: &Store, run_id: i64) -> Result<usize, IoError> {
    if !has_destinations(io, &store.shop_id)? {
        return Ok(0);
    }
    let Some(run) = runlog::read(io, &store.id, run_id)? else {
        return Ok(0);
    };
    let cart = store.cart.display_name();
    let day = mallsync_rules::time::today(io.now());
    let run_path = format!("/{}/stores/{}/runs/{}", store.cart.slug(), store.id, run.id);
    let mut added = 0;
    let failures: Vec<_> = run
        .orders
        .iter()
        .filter(|l| l.outcome == Outcome::Failed)
        .collect();
    if !failures.is_empty() {
        let mut ids: Vec<String> = failures
            .iter()
            .map(|l| {
                format!(
                    "{}|{}",
                    l.order_id,
                    l.reason_code.as_deref().unwrap_or_default()
                )
            })
            .collect();
        ids.sort();
        let first: Vec<Value> = failures
            .iter()
            .take(FIRST_FAILURES)
            .map(|l| {
                json!({
                    "order_id": l.order_id,
                    "reason_code": l.reason_code,
                    "message": l.message,
                    "message_ja": l.message_ja,
                })
            })
            .collect();
        let head = failures[0];
        let detail = head.message.as_deref().unwrap_or("no message");
        let detail_ja = head.message_ja.as_deref().unwrap_or(detail);
        let notice = Notice {
            event: Event::RunFailed,
            key: format!(
                "run_failed:{}:{day}:{}",
                store.id,
                short_hash(&ids.join("\n"))
            ),
            message: format!(
                "{} ({cart}): {} order(s) failed in write-back run {} ({}; {} sent, {} deferred). First: order {}: {detail}. See {run_path}",
                store.name, run.failed, run.id, run.trigger, run.sent, run.deferred, head.order_id
            ),
            message_ja: format!(
                "{}（{cart}）: 書き戻し処理 {} で {} 件の注文が失敗しました（送信 {} 件、次回へ持ち越し {} 件）。最初の失敗: 注文 {}: {detail_ja}。詳細: {run_path}",
                store.name, run.id, run.failed, run.sent, run.deferred, head.order_id
            ),
            data: json!({
                "run_id": run.id,
                "run_path": run_path,
                "trigger": run.trigger,
                "counts": { "sent": run.sent, "failed": run.failed, "deferred": run.deferred, "excluded": run.excluded },
                "failures": first,
            }),
        };
        added += raise(io, store, &notice, None)?;
    }
    let limited: Vec<_> = run
        .orders
        .iter()
        .filter(|l| {
            l.outcome == Outcome::Deferred && l.reason_code.as_deref() == Some("rate_limited")
        })
        .collect();
    if let Some(first) = limited.first() {
        let hour = io
            .now()
            .with_timezone(&mallsync_rules::time::jst())
            .format("%Y-%m-%dT%H");
        let why = first.message.clone().unwrap_or_default();
        let notice = Notice {
            event: Event::CartLimit,
            key: format!("cart_limit:{}:{hour}", store.id),
            message: format!(
                "{} ({cart}): {cart}'s rate limit or lockout deferred {} order(s) in run {}; the schedule sends them once it ends ({why}). See {run_path}",
                store.name, limited.len(), run.id
            ),
            message_ja: format!(
                "{}（{cart}）: {cart}のAPI制限（回数制限・ロック）のため、処理 {} で {} 件の注文を次回以降に持ち越しました。制限が解けたら自動で送信します。詳細: {run_path}",
                store.name, run.id, limited.len()
            ),
            data: json!({ "run_id": run.id, "run_path": run_path, "deferred": limited.len(), "why": why }),
        };
        added += raise(io, store, &notice, None)?;
    }
    Ok(added)
}

/// The store's credential state: when its refresh token lapses, whether the cart refused it,
/// and the last renewal the schedule could not do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CredentialState {
    /// When the refresh token lapses unless used (BASE: 30 days after its last use); `None`
    /// for a cart whose credentials do not lapse, or a store not connected yet.
    pub lapses_at: Option<DateTime<Utc>>,
    pub days_left: Option<i64>,
    pub needs_reconnection: bool,
    /// Why the schedule's last renewal failed, while it keeps failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_error: Option<String>,
}

/// What GET /<cart>/stores/{id} (and the list) shows of a store's credentials and notifications.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreState {
    pub credentials: CredentialState,
    pub notifications: DeliveryState,
}

const RENEWAL_ERROR: &str = "token_renewal_error";

fn days_left(lapses_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    // Whole days, rounded up: 6 days and 1 hour left reads as 7.
    let seconds = (lapses_at - now).num_seconds();
    (seconds + 86_399).div_euclid(86_400)
}

pub fn credential_state(io: &impl Io, store: &Store) -> Result<CredentialState, IoError> {
    let lapses_at = match crate::carts::load_token(io, &store.id) {
        Ok(token) => token.and_then(|t| t.refresh_expires_at),
        // A token that does not open is the store's problem to show, not the route's to fail.
        Err(e) => {
            eprintln!("mallsync notify: store {}: {e}", store.id);
            None
        }
    };
    Ok(CredentialState {
        lapses_at,
        days_left: lapses_at.map(|t| days_left(t, io.now())),
        needs_reconnection: alerts::list(io, &store.id)?
            .iter()
            .any(|a| a.kind == alerts::NEEDS_RECONNECTION),
        renewal_error: lease::cursor(io, &store.id, RENEWAL_ERROR)?.filter(|e| !e.is_empty()),
    })
}

pub fn store_state(io: &impl Io, store: &Store) -> Result<StoreState, IoError> {
    Ok(StoreState {
        credentials: credential_state(io, store)?,
        notifications: delivery_state(io, "store_id", &store.id)?,
    })
}

/// Adds the store's `credentials` and `notifications` to its view (GET of one store, the list).
pub fn add_store_state(io: &impl Io, store: &Store, view: &mut Value) -> Result<(), IoError> {
    let state = store_state(io, store)?;
    view["credentials"] = json!(state.credentials);
    view["notifications"] = json!(state.notifications);
    Ok(())
}

/// After the schedule looked after a store's credentials: remembers why the renewal failed
/// (`Some`), or forgets it once a renewal worked or was not needed (`None`).
pub fn note_renewal(io: &impl Io, store: &Store, error: Option<&ApiError>) -> Result<(), IoError> {
    match error {
        Some(error) => lease::set_cursor(io, &store.id, RENEWAL_ERROR, &error.message()),
        None if lease::cursor(io, &store.id, RENEWAL_ERROR)?.is_some_and(|e| !e.is_empty()) => {
            lease::set_cursor(io, &store.id, RENEWAL_ERROR, "")
        }
        None => Ok(()),
    }
}

/// Raises a notice for a store that needs reconnection and for a refresh token lapsing within
/// a destination's warning window (the schedule renews it 7 days ahead, so this is a renewal
/// that keeps failing).
pub fn watch_store(io: &impl Io, store: &Store) -> Result<usize, IoError> {
    if !has_destinations(io, &store.shop_id)? {
        return Ok(0);
    }
    let cart = store.cart.display_name();
    let mut added = 0;
    for alert in alerts::list(io, &store.id)? {
        if alert.kind != alerts::NEEDS_RECONNECTION {
            continue;
        }
        let notice = Notice {
            event: Event::NeedsReconnection,
            // Once per time it was raised: cleared and raised again is news again.
            key: format!(
                "needs_reconnection:{}:{}",
                store.id,
                alert.since.timestamp()
            ),
            message: format!("{} ({cart}): {}", store.name, alert.message),
            message_ja: format!("{}（{cart}）: {}", store.name, alert.message_ja),
            data: json!({ "since": alert.since }),
        };
        added += raise(io, store, &notice, None)?;
    }
    let state = credential_state(io, store)?;
    if let (Some(lapses_at), Some(left)) = (state.lapses_at, state.days_left) {
        if left <= crate::carts::KEEP_ALIVE_DAYS && !state.needs_reconnection {
            let date = lapses_at
                .with_timezone(&mallsync_rules::time::jst())
                .date_naive();
            let why = state
                .renewal_error
                .clone()
                .unwrap_or_else(|| "not renewed yet".into());
            let notice = Notice {
                event: Event::CredentialsLapsing,
                key: format!("credentials_lapsing:{}:{date}", store.id),
                message: format!(
                    "{} ({cart}): the connection to {cart} lapses on {date} ({left} day(s) left) and the schedule could not renew it ({why}). Run a connection test, or connect the store again before then.",
                    store.name
                ),
                message_ja: format!(
                    "{}（{cart}）: {cart}との接続が {date} に切れます（残り {left} 日）。自動更新ができませんでした（{why}）。接続テストを行うか、期限までにストアを再接続してください。",
                    store.name
                ),
                data: json!({ "lapses_at": lapses_at, "days_left": left, "renewal_error": state.renewal_error }),
            };
            added += raise(io, store, &notice, Some(left))?;
        }
    }
    Ok(added)
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
}

fn backoff_secs(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (FIRST_BACKOFF_SECS << shift).min(MAX_BACKOFF_SECS)
}

/// The HTTP request for one delivery: signed JSON for a webhook, `{"text"}` for a chat.
pub fn request(
    destination: &Destination,
    delivery_id: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<mallsync_carts::Request, String> {
    let builder = http::Request::builder()
        .method("POST")
        .uri(&destination.url)
        .header("content-type", "application/json")
        .header("user-agent", "mallsync-notifications");
    let built = match destination.kind {
        Kind::Webhook => {
            let mut body = payload.clone();
            body["delivery_id"] = json!(delivery_id);
            let bytes = body.to_string().into_bytes();
            let secret = destination.secret.as_deref().unwrap_or_default();
            builder
                .header(HEADER_SIGNATURE, sign(secret, now.timestamp(), &bytes))
                .header(HEADER_EVENT, payload["event"].as_str().unwrap_or_default())
                .header(HEADER_DELIVERY, delivery_id)
                .body(bytes)
        }
        Kind::Chat => {
            let text = format!(
                "{}\n{}",
                payload["message_ja"].as_str().unwrap_or_default(),
                payload["message"].as_str().unwrap_or_default()
            );
            builder.body(json!({ "text": text }).to_string().into_bytes())
        }
    };
    built.map_err(|e| format!("the destination URL does not make a request: {e}"))
}

/// Sends one request; `Err` says why it did not arrive (transport error or non-2xx status).
fn send(io: &impl Io, request: mallsync_carts::Request) -> Result<u16, String> {
    match io.send(request) {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => {
            let body = String::from_utf8_lossy(response.body());
            let body: String = body.chars().take(200).collect();
            Err(format!("HTTP {}: {body}", response.status().as_u16()))
        }
        Err(e) => Err(format!("not delivered: {}", e.0)),
    }
}

/// Delivers the outbox rows that are due (of one store, or all with `None`) until `deadline`.
/// Each row is claimed first (one statement), so two instances never send the same row; a
/// failure is logged and retried after a back-off, up to [`MAX_ATTEMPTS`].
pub fn deliver_due(
    io: &impl Io,
    store_id: Option<&str>,
    deadline: DateTime<Utc>,
) -> Result<Delivered, IoError> {
    let mut done = Delivered::default();
    let mut seen = std::collections::HashSet::new();
    while io.now() < deadline {
        let now = io.now().timestamp();
        let due = io.sql(
            "SELECT id FROM notification_outbox WHERE status = 'pending' AND next_at <= ? AND claimed_until < ? \
             AND (? IS NULL OR store_id = ?) ORDER BY id LIMIT 20",
            &[
                now.into(),
                now.into(),
                store_id.into(),
                store_id.into(),
            ],
        )?;
        let ids: Vec<i64> = due
            .iter()
            .filter_map(|r| r.opt_int("id"))
            .filter(|id| !seen.contains(id))
            .collect();
        if ids.is_empty() {
            break;
        }
        for id in ids {
            seen.insert(id);
            if io.now() >= deadline {
                break;
            }
            let now = io.now().timestamp();
            let claimed = io.sql(
                "UPDATE notification_outbox SET claimed_until = ? WHERE id = ? AND status = 'pending' AND claimed_until < ? \
                 RETURNING destination_id, shop_id, payload, attempts",
                &[(now + CLAIM_SECS).into(), id.into(), now.into()],
            )?;
            let Some(row) = claimed.first() else {
                continue;
            };
            let attempts = row.int("attempts")? + 1;
            let outcome = match get(io, row.text("shop_id")?, row.text("destination_id")?) {
                Ok(destination) => {
                    let payload: Value =
                        serde_json::from_str(row.text("payload")?).map_err(|e| {
                            IoError(format!("outbox {id}: payload does not parse: {e}"))
                        })?;
                    request(&destination, &id.to_string(), &payload, io.now())
                        .and_then(|request| send(io, request))
                }
                Err(ApiError::NotFound(m)) => Err(m),
                Err(e) => return Err(IoError(e.message())),
            };
            let now = io.now().timestamp();
            match outcome {
                Ok(_) => {
                    io.sql(
                        "UPDATE notification_outbox SET status = 'sent', sent_at = ?, attempts = ?, claimed_until = 0 WHERE id = ?",
                        &[now.into(), attempts.into(), id.into()],
                    )?;
                    done.sent += 1;
                }
                Err(why) => {
                    eprintln!("mallsync notify: delivery {id} (attempt {attempts}) failed: {why}");
                    let status = if attempts >= MAX_ATTEMPTS {
                        "failed"
                    } else {
                        "pending"
                    };
                    io.sql(
                        "UPDATE notification_outbox SET status = ?, attempts = ?, next_at = ?, failed_at = ?, last_error = ?, claimed_until = 0 WHERE id = ?",
                        &[
                            status.into(),
                            attempts.into(),
                            (now + backoff_secs(attempts)).into(),
                            now.into(),
                            why.into(),
                            id.into(),
                        ],
                    )?;
                    done.failed += 1;
                }
            }
        }
    }
    Ok(done)
}

/// The test-send route: a `test` event to one destination now, not through the outbox; the
/// answer says whether it arrived.
pub fn send_test(io: &impl Io, destination: &Destination, cart: Cart) -> Result<Value, ApiError> {
    let key = format!("test:{}", random_hex(io, 8)?);
    let payload = json!({
        "event": Event::Test.as_str(),
        "event_key": key,
        "occurred_at": io.now(),
        "shop_id": destination.shop_id,
        "message": format!("mallsync test notification to {} (sent from the {} component)", destination.name, cart.display_name()),
        "message_ja": format!("mallsync のテスト通知です（通知先: {}）", destination.name),
        "data": {},
    });
    let request = request(destination, &key, &payload, io.now()).map_err(ApiError::Internal)?;
    Ok(match send(io, request) {
        Ok(status) => json!({ "delivered": true, "status": status }),
        Err(error) => json!({ "delivered": false, "error": error }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn back_off_doubles_from_a_minute_up_to_six_hours() {
        assert_eq!(backoff_secs(1), 60);
        assert_eq!(backoff_secs(2), 120);
        assert_eq!(backoff_secs(5), 960);
        assert_eq!(backoff_secs(10), MAX_BACKOFF_SECS);
    }

    #[test]
    fn days_left_round_up() {
        let now = time::from_seconds(1_000_000);
        assert_eq!(days_left(now + Duration::days(7), now), 7);
        assert_eq!(
            days_left(now + Duration::days(6) + Duration::hours(1), now),
            7
        );
        assert_eq!(days_left(now - Duration::hours(1), now), 0);
    }
}
