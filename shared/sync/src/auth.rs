//! Who may call what: the admin (the `admin_token` variable), a shop (its own API token, stored
//! only as a SHA-256 hash) and the shop's OMS webhooks (HMAC-SHA256 of the body with the shop's
//! webhook secret). Every comparison of a secret runs in constant time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::api_error::ApiError;
use crate::io::Io;

/// The webhook signature header: `sha256=<hex of HMAC-SHA256(webhook secret, body)>`.
pub const HEADER_SIGNATURE: &str = "x-mallsync-signature";
const SIGNATURE_PREFIX: &str = "sha256=";

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// SHA-256 as hex: how API tokens and OAuth states are stored.
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// No early exit: the time taken does not tell how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of `Authorization: Bearer <token>`.
pub fn bearer(request: &http::Request<Vec<u8>>) -> Option<&str> {
    request
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Admin routes: the bearer token must equal the `admin_token` variable. Unset means no admin.
pub fn require_admin(io: &impl Io, request: &http::Request<Vec<u8>>) -> Result<(), ApiError> {
    let Some(expected) = io.variable("admin_token") else {
        return Err(ApiError::Unauthorized(
            "admin routes are off: set the admin_token variable".into(),
        ));
    };
    let given = bearer(request).ok_or_else(|| {
        ApiError::Unauthorized("send the admin token as Authorization: Bearer <admin_token>".into())
    })?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the admin token is wrong".into()))
    }
}

/// HMAC-SHA256 of `body` with `secret`, as sent in the signature header.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!("{SIGNATURE_PREFIX}{}", hex(&mac.finalize().into_bytes()))
}

/// Checks the webhook signature header against the body, in constant time.
pub fn verify_signature(secret: &str, request: &http::Request<Vec<u8>>) -> Result<(), ApiError> {
    let header = request
        .headers()
        .get(HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "missing {HEADER_SIGNATURE} header: sign the body with the shop's webhook secret (sha256=<hex HMAC-SHA256>)"
            ))
        })?;
    let given = header
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(unhex)
        .ok_or_else(|| {
            ApiError::Unauthorized(format!("{HEADER_SIGNATURE} must be sha256=<64 hex digits>"))
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(request.body());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| {
        ApiError::Unauthorized(
            "the webhook signature does not match the body: check the shop's webhook secret".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &str, body: &[u8]) -> http::Request<Vec<u8>> {
        http::Request::builder()
            .header(HEADER_SIGNATURE, sign(secret, body))
            .body(body.to_vec())
            .unwrap()
    }

    #[test]
    fn a_body_signed_with_the_shop_secret_is_accepted() {
        assert!(verify_signature("whsec", &signed("whsec", b"{\"orders\":[]}")).is_ok());
    }

    #[test]
    fn a_body_signed_with_another_secret_or_changed_after_signing_is_refused() {
        assert!(verify_signature("whsec", &signed("other", b"{}")).is_err());
        let mut request = signed("whsec", b"{\"orders\":[]}");
        request.body_mut().push(b' ');
        assert!(verify_signature("whsec", &request).is_err());
    }

    #[test]
    fn a_missing_or_malformed_signature_is_refused_with_a_message_naming_the_header() {
        let bare = http::Request::builder().body(b"{}".to_vec()).unwrap();
        let e = verify_signature("whsec", &bare).unwrap_err();
        assert!(e.message().contains(HEADER_SIGNATURE));
        let odd = http::Request::builder()
            .header(HEADER_SIGNATURE, "sha256=xyz")
            .body(b"{}".to_vec())
            .unwrap();
        assert_eq!(verify_signature("whsec", &odd).unwrap_err().status(), 401);
    }

    #[test]
    fn tokens_differing_in_one_byte_or_in_length_do_not_match() {
        assert!(constant_time_eq(b"tok-1", b"tok-1"));
        assert!(!constant_time_eq(b"tok-1", b"tok-2"));
        assert!(!constant_time_eq(b"tok-1", b"tok-12"));
    }
}
