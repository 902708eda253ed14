//! BASE OAuth: the authorization-code flow, refresh with rotation, and Bearer calls.

use chrono::{DateTime, Duration, Utc};
use http::Method;
use mallsync_rules::base::BaseCredentials;
use mallsync_rules::Secret;
use serde::Deserialize;

use super::check;
use crate::{wire, AccessToken, Api, CartError, Request, Response};

pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
pub const TOKEN_PATH: &str = "/oauth/token";
/// What mallsync asks the shop to grant: read orders, dispatch them.
pub const SCOPES: [&str; 2] = ["read_orders", "write_orders"];
/// BASE documents refresh tokens as lasting 30 days.
pub const REFRESH_TOKEN_LIFETIME_DAYS: i64 = 30;

/// Where to send the shop owner to grant access; BASE redirects to `redirect_uri` with `code` and
/// the same `state` (which the caller checks, to refuse forged callbacks).
pub fn authorize_url(api: &Api<BaseCredentials>, state: &str, scopes: &[&str]) -> String {
    let scope = scopes.join(" ");
    wire::url(
        &api.base_url,
        AUTHORIZE_PATH,
        &[
            ("response_type", "code"),
            ("client_id", &api.credentials.client_id),
            ("redirect_uri", &api.credentials.redirect_uri),
            ("scope", &scope),
            ("state", state),
        ],
    )
}

/// `POST /oauth/token` trading the callback's `code` for the first tokens.
pub fn build_code_exchange(api: &Api<BaseCredentials>, code: &str) -> Result<Request, CartError> {
    token_request(api, "authorization_code", ("code", code))
}

/// `POST /oauth/token` with the refresh token; BASE answers with a new refresh token that
/// replaces this one.
pub fn build_refresh(
    api: &Api<BaseCredentials>,
    refresh_token: &Secret,
) -> Result<Request, CartError> {
    token_request(
        api,
        "refresh_token",
        ("refresh_token", refresh_token.expose()),
    )
}

fn token_request(
    api: &Api<BaseCredentials>,
    grant_type: &str,
    grant: (&str, &str),
) -> Result<Request, CartError> {
    let c = &api.credentials;
    let url = wire::url(&api.base_url, TOKEN_PATH, &[]);
    wire::form(
        wire::builder(Method::POST, &url, None),
        &[
            ("grant_type", grant_type),
            ("client_id", &c.client_id),
            ("client_secret", c.client_secret.expose()),
            grant,
            // BASE requires the redirect URI on refresh too.
            ("redirect_uri", &c.redirect_uri),
        ],
    )
}

/// What the data calls need first: nothing while the access token is fresh, a refresh when it
/// expires within five minutes, and the operator when there is no token or refresh token left.
pub fn needed_token_request(
    api: &Api<BaseCredentials>,
    now: DateTime<Utc>,
) -> Result<Option<Request>, CartError> {
    let token = api
        .access_token
        .as_ref()
        .ok_or_else(|| CartError::CredentialsRejected {
            message:
                "BASE is not connected yet: authorize mallsync in BASE from the store settings"
                    .into(),
        })?;
    if token.is_fresh(now) {
        return Ok(None);
    }
    match &token.refresh_token {
        Some(refresh) if token.refresh_expires_at.is_none_or(|at| at > now) => {
            build_refresh(api, refresh).map(Some)
        }
        _ => Err(CartError::CredentialsRejected {
            message:
                "the BASE refresh token has expired (30 days): connect the store to BASE again"
                    .into(),
        }),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The tokens from `POST /oauth/token`: expiry from `expires_in` counted from `now`, the new
/// refresh token valid 30 days from `now`. A rejected code or refresh token (`invalid_grant`)
/// means the operator must connect again.
pub fn parse_token(response: &Response, now: DateTime<Utc>) -> Result<AccessToken, CartError> {
    check(response)?;
    let body: TokenResponse = wire::json_body(response.body(), "BASE token response")?;
    if body.access_token.trim().is_empty() {
        return Err(CartError::malformed(
            "BASE token response: access_token is empty",
        ));
    }
    let refresh_token = body
        .refresh_token
        .filter(|t| !t.trim().is_empty())
        .map(Secret::new);
    let expires_at = body
        .expires_in
        .map(|s| AccessToken::expiry_after(now, s))
        .transpose()?;
    Ok(AccessToken {
        token: Secret::new(body.access_token),
        expires_at,
        refresh_expires_at: refresh_token
            .as_ref()
            .map(|_| now + Duration::days(REFRESH_TOKEN_LIFETIME_DAYS)),
        refresh_token,
    })
}

/// The `Authorization` value for a data call.
pub fn authorization(api: &Api<BaseCredentials>) -> Result<String, CartError> {
    Ok(wire::bearer(api.bearer_token()?))
}
