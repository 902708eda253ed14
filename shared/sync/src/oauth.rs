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

/// Stores a fresh state for the store and returns BASE's authorization URL carrying it.
pub fn start(io: &impl Io, store: &Store) -> Result<String, ApiError> {
    let settings = carts::settings_for::<Base>(store)?;
    let state = random_hex(io, 24)?;
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

/// Checks the state (once: it is deleted as it is used), exchanges the code and keeps the tokens.
/// Returns the store now connected.
pub fn callback(io: &impl Io, code: &str, state: &str) -> Result<String, ApiError> {
    let rows = io.sql(
        "DELETE FROM oauth_states WHERE state_hash = ? RETURNING store_id, expires_at",
        &[sha256_hex(state).into()],
    )?;
    let row = rows.first().ok_or_else(|| {
        ApiError::Unauthorized(
            "unknown or already used OAuth state: start again from the store's oauth/start".into(),
        )
    })?;
    if row.int("expires_at")? < io.now().timestamp() {
        return Err(ApiError::Unauthorized(format!(
            "the OAuth state expired ({STATE_LIFETIME_MINUTES} minutes): start again from the store's oauth/start"
        )));
    }
    let store = shops::store(io, mallsync_rules::Cart::Base, row.text("store_id")?)?;
    let settings = carts::settings_for::<Base>(&store)?;
    let api = carts::api_without_token::<Base>(io, settings)?;
    let now = io.now();
    let request = mallsync_carts::base::auth::build_code_exchange(&api, code)?;
    let response = io.send(request).map_err(CartError::from)?;
    let token = Base::parse_token(response, now)?;
    carts::save_token(io, &store.id, &token)?;
    Ok(store.id)
}
