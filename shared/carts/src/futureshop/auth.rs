//! futureshop access tokens: OAuth2 client credentials, and the headers every call carries.

use chrono::{DateTime, Utc};
use http::header::ACCEPT;
use http::Method;
use mallsync_rules::futureshop::FutureshopCredentials;
use mallsync_rules::Secret;
use serde::Deserialize;

use crate::wire::{self, CONTENT_TYPE_JSON};
use crate::{AccessToken, Api, CartError, Request, Response};

/// Token endpoint on the contract's API domain [M: the Ruby client and a Node connector agree].
pub const TOKEN_PATH: &str = "/oauth/token";
/// The 店舗キー, on the token call and on every data call [M].
pub const HEADER_SHOP_KEY: &str = "X-SHOP-KEY";
pub const GRANT_TYPE: &str = "client_credentials";

/// `POST /oauth/token` with Basic client_id:client_secret, the shop key and
/// `grant_type=client_credentials`.
pub fn build_token_request(api: &Api<FutureshopCredentials>) -> Result<Request, CartError> {
    let c = &api.credentials;
    let b = wire::builder(
        Method::POST,
        &wire::url(&api.base_url, TOKEN_PATH, &[]),
        Some(&wire::basic(&c.client_id, &c.client_secret)),
    )
    .header(HEADER_SHOP_KEY, c.shop_key.as_str())
    .header(ACCEPT, CONTENT_TYPE_JSON);
    wire::form(b, &[("grant_type", GRANT_TYPE)])
}

/// A new token is needed when there is none or it expires within the refresh margin (futureshop
/// issues no refresh token: a new client-credentials grant replaces it).
pub fn needs_token(api: &Api<FutureshopCredentials>, now: DateTime<Utc>) -> bool {
    api.access_token.as_ref().is_none_or(|t| !t.is_fresh(now))
}

#[derive(Deserialize)]
struct TokenJson {
    access_token: String,
    expires_in: i64,
}

/// The token, expiring `expires_in` seconds after `now` (the lifetime is not published, so it is
/// always read from the answer).
pub fn parse_token(response: &Response, now: DateTime<Utc>) -> Result<AccessToken, CartError> {
    if let Err(e) = wire::check_status(response) {
        return Err(credentials_error(e));
    }
    let token: TokenJson = wire::json_body(response.body(), "futureshop token")?;
    if token.access_token.trim().is_empty() {
        return Err(CartError::malformed(
            "futureshop token: access_token is empty",
        ));
    }
    Ok(AccessToken {
        token: Secret::new(token.access_token),
        expires_at: Some(AccessToken::expiry_after(now, token.expires_in)?),
        refresh_token: None,
        refresh_expires_at: None,
    })
}

/// OAuth answers a wrong client id or secret with 400 `invalid_client` (RFC 6749 §5.2): that is
/// for the operator to fix, like a 401.
fn credentials_error(e: CartError) -> CartError {
    match e {
        CartError::Rejected {
            code: Some(code),
            message,
            ..
        } if matches!(
            code.as_str(),
            "invalid_client" | "unauthorized_client" | "invalid_grant"
        ) =>
        {
            CartError::CredentialsRejected {
                message: format!("{message} (check the client ID, client secret and 店舗キー)"),
            }
        }
        other => other,
    }
}

/// A data call: `Authorization: Bearer`, the shop key and `Accept: application/json`.
pub fn authorized(
    api: &Api<FutureshopCredentials>,
    method: Method,
    url: &str,
) -> Result<http::request::Builder, CartError> {
    let token = api.bearer_token()?;
    Ok(wire::builder(method, url, Some(&wire::bearer(token)))
        .header(HEADER_SHOP_KEY, api.credentials.shop_key.as_str())
        .header(ACCEPT, CONTENT_TYPE_JSON))
}
