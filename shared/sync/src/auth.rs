//! Who may call what: the admin (the `admin_token` variable), a shop (its own API token, stored
//! only as a SHA-256 hash) and the shop's OMS webhooks (HMAC-SHA256 of `<timestamp>.<body>` with
//! the shop's webhook secret, the timestamp within 5 minutes). Every comparison of a secret runs
//! in constant time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::api_error::ApiError;
use crate::encoding::{hex, unhex};
use crate::io::Io;

/// The webhook signature header: `t=<unix seconds>,v1=<hex of HMAC-SHA256(webhook secret,
/// "<t>.<body>")>`, as Stripe signs its webhooks.
pub const HEADER_SIGNATURE: &str = "x-mallsync-signature";

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

/// Admin routes (every component's, `/internal/dispatch` included): the bearer token must equal
/// the `admin_token` variable. Unset or empty switches the admin routes off with a 503, not a 401:
/// no token the caller could send would help, the deployment must set the variable.
pub fn require_admin(io: &impl Io, request: &http::Request<Vec<u8>>) -> Result<(), ApiError> {
    let Some(expected) = io.variable("admin_token") else {
        return Err(ApiError::Disabled(
            "admin routes are off: set the admin_token variable \
             / admin_token 変数が未設定のため管理用ルートは無効です"
                .into(),
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

/// How far a webhook's signed time may be from mallsync's clock, either way.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

fn mac_of(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex of HMAC-SHA256(webhook secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = mac_of(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&mac))
}

/// A parsed signature header: the signed time and every `v1` signature given (an OMS rotating
/// its secret may send two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub signatures: Vec<Vec<u8>>,
}

const SIGNATURE_FORMAT: &str =
    "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the shop's webhook secret>";

/// Reads `X-Mallsync-Signature`; what is missing or malformed is a 401 saying the format.
pub fn signature_header(request: &http::Request<Vec<u8>>) -> Result<SignatureHeader, ApiError> {
    let header = request
        .headers()
        .get(HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "missing {HEADER_SIGNATURE} header: send {SIGNATURE_FORMAT}"
            ))
        })?;
    let malformed =
        || ApiError::Unauthorized(format!("{HEADER_SIGNATURE} must be {SIGNATURE_FORMAT}"));
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| malformed())?),
            Some(("v1", v)) => {
                signatures.push(unhex(v).filter(|b| b.len() == 32).ok_or_else(malformed)?)
            }
            // Other schemes (a future v2) are ignored, as Stripe's clients do.
            Some(_) => {}
            None => return Err(malformed()),
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() && signatures.len() <= 4 => Ok(SignatureHeader {
            timestamp,
            signatures,
        }),
        _ => Err(malformed()),
    }
}

impl SignatureHeader {
    /// Refuses a signature made more than `SIGNATURE_TOLERANCE_SECS` from `now`: a captured
    /// webhook cannot be replayed later.
    pub fn check_time(&self, now: i64) -> Result<(), ApiError> {
        let off = now.saturating_sub(self.timestamp);
        if off.abs() > SIGNATURE_TOLERANCE_SECS {
            return Err(ApiError::Unauthorized(format!(
                "the signature's time t={} is {off} s from mallsync's clock (at most \
                 {SIGNATURE_TOLERANCE_SECS} s): sign each delivery with the current time",
                self.timestamp
            )));
        }
        Ok(())
    }

    /// Whether one of the signatures is the HMAC of `t.body` with `secret` (in constant time).
    pub fn matches(&self, secret: &str, body: &[u8]) -> bool {
        let mut any = false;
        for given in &self.signatures {
            // `verify_slice` compares in constant time; every signature is checked.
            any |= mac_of(secret, self.timestamp, body)
                .verify_slice(given)
                .is_ok();
        }
        any
    }
}

/// The one answer to a webhook whose signature does not match, whether or not the store exists.
pub fn signature_mismatch() -> ApiError {
    ApiError::Unauthorized(
        "the webhook signature does not match: check the store id and the shop's webhook secret"
            .into(),
    )
}

/// Checks the webhook signature header against the body at `now`: format, time, then HMAC.
pub fn verify_signature(
    secret: &str,
    request: &http::Request<Vec<u8>>,
    now: i64,
) -> Result<SignatureHeader, ApiError> {
    let header = signature_header(request)?;
    header.check_time(now)?;
    if header.matches(secret, request.body()) {
        Ok(header)
    } else {
        Err(signature_mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn signed(secret: &str, t: i64, body: &[u8]) -> http::Request<Vec<u8>> {
        http::Request::builder()
            .header(HEADER_SIGNATURE, sign(secret, t, body))
            .body(body.to_vec())
            .unwrap()
    }

    #[test]
    fn a_body_signed_with_the_shop_secret_at_the_current_time_is_accepted() {
        let body = b"{\"orders\":[]}";
        assert!(verify_signature("whsec", &signed("whsec", NOW, body), NOW).is_ok());
        assert!(verify_signature("whsec", &signed("whsec", NOW - 300, body), NOW).is_ok());
        assert!(verify_signature("whsec", &signed("whsec", NOW + 300, body), NOW).is_ok());
    }

    #[test]
    fn a_body_signed_with_another_secret_or_changed_after_signing_is_refused() {
        assert!(verify_signature("whsec", &signed("other", NOW, b"{}"), NOW).is_err());
        let mut request = signed("whsec", NOW, b"{\"orders\":[]}");
        request.body_mut().push(b' ');
        assert!(verify_signature("whsec", &request, NOW).is_err());
    }

    #[test]
    fn a_stale_or_future_signature_is_refused_even_when_it_matches() {
        for t in [NOW - 301, NOW + 301, 0, i64::MIN, i64::MAX] {
            let e = verify_signature("whsec", &signed("whsec", t, b"{}"), NOW).unwrap_err();
            assert_eq!(e.status(), 401);
            assert!(e.message().contains("current time"), "{}", e.message());
        }
    }

    #[test]
    fn the_timestamp_is_signed_so_moving_it_breaks_the_signature() {
        let header = sign("whsec", NOW - 1_000, b"{}");
        let moved = header.replacen(&format!("t={}", NOW - 1_000), &format!("t={NOW}"), 1);
        let request = http::Request::builder()
            .header(HEADER_SIGNATURE, moved)
            .body(b"{}".to_vec())
            .unwrap();
        assert!(verify_signature("whsec", &request, NOW).is_err());
    }

    #[test]
    fn a_missing_or_malformed_signature_is_refused_with_a_message_naming_the_header() {
        let bare = http::Request::builder().body(b"{}".to_vec()).unwrap();
        let e = verify_signature("whsec", &bare, NOW).unwrap_err();
        assert!(e.message().contains(HEADER_SIGNATURE));
        for odd in ["sha256=xyz", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", ""] {
            let request = http::Request::builder()
                .header(HEADER_SIGNATURE, odd)
                .body(b"{}".to_vec())
                .unwrap();
            assert_eq!(
                verify_signature("whsec", &request, NOW)
                    .unwrap_err()
                    .status(),
                401,
                "{odd}"
            );
        }
    }

    #[test]
    fn one_of_several_v1_signatures_matching_is_enough() {
        let good = sign("whsec", NOW, b"{}");
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={},v1={v1}", "00".repeat(32));
        let request = http::Request::builder()
            .header(HEADER_SIGNATURE, header)
            .body(b"{}".to_vec())
            .unwrap();
        assert!(verify_signature("whsec", &request, NOW).is_ok());
    }

    #[test]
    fn tokens_differing_in_one_byte_or_in_length_do_not_match() {
        assert!(constant_time_eq(b"tok-1", b"tok-1"));
        assert!(!constant_time_eq(b"tok-1", b"tok-2"));
        assert!(!constant_time_eq(b"tok-1", b"tok-12"));
    }
}
