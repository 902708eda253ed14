//! BASE's authorization-code flow: the start route sends the operator's browser to BASE with a
//! state bound to one store (stored hashed, expiring); the callback proves the state, exchanges
//! the code and stores the tokens. Refreshing (and keeping the rotated refresh token) happens in
//! `carts::api` before every use.

use chrono::Duration;
use mallsync_carts::base::Base;
use mallsync_carts::{CartError, Connector};

use crate::api_error::ApiError;
use crate::auth::sha256_hex;
use crate::carts;
use crate::io::{random_hex, Io};
use crate::shops::{self, Store};

/// How long an operator has to finish authorizing at BASE.
pub const STATE_LIFETIME_MINUTES: i64 = 10;

/// Longest `return_to` path, in characters.
pub const MAX_RETURN_TO_CHARS: usize = 200;

/// Where a flow started from the console may send the browser back: a path on this origin under
/// `/console/`, so the callback can never redirect anywhere else (no open redirect).
pub fn check_return_to(return_to: &str) -> Result<(), ApiError> {
    let path = return_to.split('?').next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    let safe = return_to.starts_with("/console/")
        && return_to.len() <= MAX_RETURN_TO_CHARS
        && !return_to.contains("//")
        && !path.split('/').any(|segment| segment == "..")
        // A browser reads %2e as a dot in a path, and %2f or %5c could pass for separators.
        && !["%2e", "%2f", "%5c"].iter().any(|escaped| lower.contains(escaped))
        && return_to
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._~?&=%+,:@!$'()*;".contains(c));
    if safe {
        Ok(())
    } else {
        Err(ApiError::invalid_ja_en(
            "return_to",
            "戻り先は /console/ で始まるこのサイトのパスにしてください",
            format!(
                "must be a path on this site under /console/ (at most {MAX_RETURN_TO_CHARS} \
                 characters; no scheme, host, //, .., backslash or #)"
            ),
        ))
    }
}

/// The console path a state carries (`<random>.<hex of the path>`), when the flow was started
/// with one. The state is stored hashed, so the path cannot be changed on the way.
pub fn return_to_of(state: &str) -> Option<String> {
    let (_, hex) = state.split_once('.')?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()?;
    let path = String::from_utf8(bytes).ok()?;
    check_return_to(&path).ok().map(|()| path)
}

/// Stores a fresh state for the store and returns BASE's authorization URL carrying it; with
/// `return_to` (checked first), the callback sends the browser back there.
pub fn start(io: &impl Io, store: &Store, return_to: Option<&str>) -> Result<String, ApiError> {
    if let Some(path) = return_to {
        check_return_to(path)?;
    }
    let settings = carts::settings_for::<Base>(store)?;
    let mut state = random_hex(io, 24)?;
    if let Some(path) = return_to {
        state.push('.');
        state.extend(path.bytes().map(|b| format!("{b:02x}")));
    }
    let expires_at = io.now() + Duration::minutes(STATE_LIFETIME_MINUTES);
    io.sql(
        "INSERT INTO oauth_states (state_hash, store_id, expires_at) VALUES (?, ?, ?)",
        &[
            sha256_hex(&state).into(),
            store.id.clone().into(),
            expires_at.timestamp().into(),
        ],
    )?;
    let api = carts::api_without_token::<Base>(io, settings)?;
    Ok(mallsync_carts::base::auth::authorize_url(
        &api,
        &state,
        &mallsync_carts::base::auth::SCOPES,
    ))
}

/// A state taken back from the callback: its store, and whether it is too old to use.
pub struct TakenState {
    pub store_id: String,
    pub expired: bool,
}

/// Takes the state (once: it is deleted as it is used). An unknown or used state is refused.
pub fn take_state(io: &impl Io, state: &str) -> Result<TakenState, ApiError> {
    let rows = io.sql(
        "DELETE FROM oauth_states WHERE state_hash = ? RETURNING store_id, expires_at",
        &[sha256_hex(state).into()],
    )?;
    let row = rows.first().ok_or_else(|| {
        ApiError::Unauthorized(
            "unknown or already used OAuth state: start again from the store's oauth/start".into(),
        )
    })?;
    Ok(TakenState {
        store_id: row.text("store_id")?.to_string(),
        expired: row.int("expires_at")? < io.now().timestamp(),
    })
}

/// Exchanges the code for the store's first tokens and keeps them.
pub fn exchange(io: &impl Io, store_id: &str, code: &str) -> Result<(), ApiError> {
    let store = shops::store(io, mallsync_rules::Cart::Base, store_id)?;
    let settings = carts::settings_for::<Base>(&store)?;
    let api = carts::api_without_token::<Base>(io, settings)?;
    let now = io.now();
    let request = mallsync_carts::base::auth::build_code_exchange(&api, code)?;
    let response = io.send(request).map_err(CartError::from)?;
    let token = Base::parse_token(response, now)?;
    carts::save_token(io, &store.id, &token)?;
    Ok(())
}

/// Checks the state (once: it is deleted as it is used), exchanges the code and keeps the tokens.
/// Returns the store now connected.
pub fn callback(io: &impl Io, code: &str, state: &str) -> Result<String, ApiError> {
    let taken = take_state(io, state)?;
    if taken.expired {
        return Err(ApiError::Unauthorized(format!(
            "the OAuth state expired ({STATE_LIFETIME_MINUTES} minutes): start again from the store's oauth/start"
        )));
    }
    exchange(io, &taken.store_id, code)?;
    Ok(taken.store_id)
}
