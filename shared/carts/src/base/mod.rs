//! BASE: OAuth authorization code with rotating refresh tokens, orders listed then read one by
//! one, and per-item dispatch with the carrier's BASE id looked up by name.

pub mod auth;
pub mod orders;
pub mod write_back;

use chrono::{DateTime, Utc};
use http::header::HeaderMap;
use mallsync_rules::base::{BaseCredentials, BaseDispatch};
use mallsync_rules::{Cart, Order};

use crate::wire::CONTENT_TYPE_FORM;
use crate::{
    exchange, wire, AccessToken, Api, AuthScheme, Capabilities, CartError, Connector, Exchange,
    ImportQuery, RateLimitPolicy, Request, Response,
};

pub use auth::{authorize_url, build_code_exchange, build_refresh, SCOPES};
pub use orders::{build_list_orders, build_order_detail, parse_order_detail, parse_orders_page};
pub use write_back::{
    build_delivery_companies, build_edit_status, dispatch_reusing, parse_delivery_companies,
    DeliveryCompany, Dispatch,
};

/// BASE's public API, version 1.
pub const BASE_URL: &str = "https://api.thebase.in/1";

/// BASE error codes meaning the hourly or daily call limit is spent (sent as HTTP 400, not 429).
const HOUR_LIMIT: &str = "hour_api_limit";
const DAY_LIMIT: &str = "day_api_limit";
/// BASE/OAuth error codes meaning the token, grant, user or app registration is not accepted
/// (`access_denied`: the shop's user is gone or restricted, or plain HTTP was used).
const CREDENTIAL_ERRORS: [&str; 5] = [
    "invalid_token",
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
];
/// BASE answers a bad or expired token with the generic `invalid_request` and this in the
/// description (`アクセストークンが無効です。`, `…不正です。`; public BASE clients match on it).
const INVALID_REQUEST: &str = "invalid_request";
const TOKEN_WORD: &str = "トークン";

/// BASE, for [`Connector`].
pub struct Base;

/// What one BASE write-back run looks up once: the shop's delivery companies (their ids are not
/// published, so they are read from BASE and matched by name). `None`: not looked up yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunLookups {
    pub delivery_companies: Option<Vec<DeliveryCompany>>,
}

impl Connector for Base {
    const CART: Cart = Cart::Base;
    /// 5,000 calls an hour and 100,000 a day per user; the counters reset at :00 and at midnight
    /// [H: BASE API docs].
    const RATE_LIMIT: RateLimitPolicy = RateLimitPolicy {
        max_requests: Some(5_000),
        window_secs: 3_600,
        lockout_secs: None,
        max_requests_per_day: Some(100_000),
        clock_aligned: true,
    };
    const CAPABILITIES: Capabilities = Capabilities {
        auth: AuthScheme::Bearer,
        issues_tokens: true,
        write_content_type: CONTENT_TYPE_FORM,
        shared_api: true,
        default_origin: "https://api.thebase.in",
        browser_oauth: true,
        order_webhooks: false,
    };
    type Credentials = BaseCredentials;
    type Update = BaseDispatch;

    fn base_url(_credentials: &BaseCredentials) -> String {
        BASE_URL.to_string()
    }

    /// A refresh when the access token expires within five minutes; an error asking the operator
    /// to connect when there is no token or the refresh token ran out. The code exchange after
    /// the OAuth redirect is [`build_code_exchange`].
    fn token_request(
        api: &Api<BaseCredentials>,
        now: DateTime<Utc>,
    ) -> Result<Option<Request>, CartError> {
        auth::needed_token_request(api, now)
    }

    /// The refresh (or code exchange) answer; its refresh token replaces the stored one.
    fn parse_token(response: Response, now: DateTime<Utc>) -> Result<AccessToken, CartError> {
        auth::parse_token(&response, now)
    }

    /// One order from the list: proves the token and its `read_orders` scope.
    fn connection_test(api: &Api<BaseCredentials>) -> impl Exchange<Output = ()> {
        exchange::single(orders::build_probe(api), |response: Response| {
            parse_orders_page(&response).map(|_| ())
        })
    }

    /// The order list, paged by offset, then `GET /orders/detail/{unique_key}` for each order
    /// (the list holds no items or tracking).
    fn list_orders(
        api: &Api<BaseCredentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>> {
        orders::list_then_details(api.clone(), query.clone())
    }

    type RunLookups = RunLookups;

    /// `GET /1/delivery_companies`, once per run: BASE's carrier ids for every dispatch.
    fn run_lookups(api: &Api<BaseCredentials>) -> impl Exchange<Output = RunLookups> {
        exchange::single(build_delivery_companies(api), |response: Response| {
            Ok(RunLookups {
                delivery_companies: Some(parse_delivery_companies(&response)?),
            })
        })
    }

    type ImportCursor = exchange::KeyedCursor;

    /// A page of the order list (its keys go into the cursor), or one order's detail.
    fn import_page(
        api: &Api<BaseCredentials>,
        query: &ImportQuery,
        cursor: &exchange::KeyedCursor,
    ) -> impl Exchange<Output = crate::ImportPage<exchange::KeyedCursor>> {
        orders::import_step(api, query, cursor)
    }

    /// Reads the order first: an item already dispatched is done (BASE dispatch is one-way, so a
    /// retry after a lost answer must not fail), a cancelled one is refused. Otherwise takes the
    /// carrier's BASE id from the run's lookups (looking the companies up itself only when given
    /// none) and dispatches the item with its tracking number (後払い orders:
    /// `atobarai_status=shipping`).
    fn write_back(
        api: &Api<BaseCredentials>,
        lookups: &RunLookups,
        update: &BaseDispatch,
    ) -> impl Exchange<Output = ()> {
        exchange::map(
            write_back::dispatch_reusing(
                api.clone(),
                update.clone(),
                lookups.delivery_companies.clone(),
            ),
            drop,
        )
    }
}

/// `Ok(())` for a 2xx, else the error, with BASE's own codes classified: every BASE error is an
/// HTTP 400, so `hour_api_limit`/`day_api_limit` become `RateLimited` until the next hour or the
/// next midnight in Japan (counted from the response's `Date`), and token, grant and user errors
/// become `CredentialsRejected` (for an expired access token: refresh, then reconnect if that
/// fails).
pub fn check(response: &Response) -> Result<(), CartError> {
    wire::check_status(response).map_err(|e| reclassify(e, response.headers()))
}

fn reclassify(error: CartError, headers: &HeaderMap) -> CartError {
    let CartError::Rejected {
        code: Some(code),
        message,
        ..
    } = &error
    else {
        return error;
    };
    let cart_now = wire::date_header(headers);
    // The message keeps BASE's code, so the service can tell which window (hour or Japan day)
    // to wait out.
    let with_code = || {
        if message.contains(code.as_str()) {
            message.clone()
        } else {
            format!("{code}: {message}")
        }
    };
    match code.as_str() {
        HOUR_LIMIT => CartError::RateLimited {
            retry_after_secs: cart_now.map(|t| seconds_to_next(t, 3_600)),
            message: with_code(),
        },
        DAY_LIMIT => CartError::RateLimited {
            retry_after_secs: cart_now.map(|t| seconds_to_next(t, 86_400)),
            message: with_code(),
        },
        c if CREDENTIAL_ERRORS.contains(&c) => CartError::CredentialsRejected {
            message: message.clone(),
        },
        INVALID_REQUEST if message.contains(TOKEN_WORD) => CartError::CredentialsRejected {
            message: message.clone(),
        },
        _ => error,
    }
}

/// Seconds from `t` to the next multiple of `period` seconds in Japan time (UTC+9 has whole
/// hours, so the hour boundary is the same in both).
fn seconds_to_next(t: DateTime<Utc>, period: i64) -> u64 {
    let japan_secs = t.timestamp() + 9 * 3_600;
    let into = japan_secs.rem_euclid(period);
    u64::try_from(period - into).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn limit_answer(code: &str) -> Response {
        http::Response::builder()
            .status(400)
            .header("Date", "Mon, 23 Nov 2026 14:45:30 GMT")
            .body(
                format!(r#"{{"error":"{code}","error_description":"API利用上限を超えました。"}}"#)
                    .into_bytes(),
            )
            .unwrap()
    }

    #[test]
    fn the_hour_and_day_limits_are_rate_limited_and_keep_their_code_in_the_message() {
        for (code, wait) in [
            ("hour_api_limit", 14 * 60 + 30),
            ("day_api_limit", 14 * 60 + 30),
        ] {
            match check(&limit_answer(code)).unwrap_err() {
                CartError::RateLimited {
                    retry_after_secs,
                    message,
                } => {
                    assert!(message.contains(code), "{message}");
                    assert_eq!(retry_after_secs, Some(wait));
                }
                e => panic!("{code}: {e:?}"),
            }
        }
        let hour = check(&limit_answer("hour_api_limit"))
            .unwrap_err()
            .to_string();
        assert!(!hour.contains("day_api_limit"), "{hour}");
    }

    #[test]
    fn the_hourly_limit_waits_for_the_next_hour_and_the_daily_one_for_japan_midnight() {
        // 2026-11-23 14:45:30 UTC = 23:45:30 JST
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 14, 45, 30).unwrap();
        assert_eq!(seconds_to_next(t, 3_600), 14 * 60 + 30);
        assert_eq!(seconds_to_next(t, 86_400), 14 * 60 + 30);
        // 01:00:00 UTC = 10:00 JST: a full hour, and 14 hours to midnight.
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        assert_eq!(seconds_to_next(t, 3_600), 3_600);
        assert_eq!(seconds_to_next(t, 86_400), 14 * 3_600);
    }
}
