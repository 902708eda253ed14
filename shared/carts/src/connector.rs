//! The same verbs for every cart: where and as whom to call it, what to import, what to send.

use chrono::{DateTime, Duration, Utc};
use mallsync_rules::{Cart, ImportedOrder, OmsStatus, Order, Secret, WriteBack};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{exchange, CartError, Exchange, ImportPage, RateLimitPolicy, Request, Response};

/// Where and as whom one store's cart is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api<C> {
    /// The prefix every path of the cart joins to, without a trailing `/`
    /// (`https://api.bcart.jp/api/v1`, `https://shop.example.jp` for CS-Cart). Tests point it at
    /// a fake cart.
    pub base_url: String,
    pub credentials: C,
    /// The current access token where the cart issues one (BASE, futureshop); `None` otherwise.
    pub access_token: Option<AccessToken>,
}

impl<C> Api<C> {
    /// The same store, calling `base_url` instead (a fake cart in tests).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Api<C> {
        self.base_url = base_url.into().trim_end_matches('/').to_string();
        self
    }

    /// The access token, or `CredentialsRejected` telling the operator to connect the store.
    pub fn bearer_token(&self) -> Result<&Secret, CartError> {
        self.access_token
            .as_ref()
            .map(|t| &t.token)
            .ok_or_else(|| CartError::CredentialsRejected {
                message: "no access token: connect the store to the cart first".into(),
            })
    }
}

/// An OAuth access token (BASE, futureshop), with the refresh token where the cart rotates one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    /// Refresh this long before expiry, so a token never runs out in the middle of a run.
    pub const REFRESH_MARGIN_SECS: i64 = 300;

    /// Whether the token still has more than [`Self::REFRESH_MARGIN_SECS`] to live at `now`.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at
            .is_none_or(|at| at - Duration::seconds(Self::REFRESH_MARGIN_SECS) > now)
    }

    /// When a token that lives `expires_in` seconds from `now` expires; an error (not a panic) for
    /// a lifetime that is not a positive number of seconds a clock can hold.
    pub fn expiry_after(now: DateTime<Utc>, expires_in: i64) -> Result<DateTime<Utc>, CartError> {
        Duration::try_seconds(expires_in)
            .filter(|_| expires_in > 0)
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(|| {
                CartError::malformed(format!(
                    "token expires_in {expires_in} is not a usable number of seconds"
                ))
            })
    }

    /// This new token, keeping `previous`'s refresh token when the cart sent no new one (a cart
    /// that rotates refresh tokens always sends one; the new one then replaces the old).
    pub fn keeping_refresh_token(mut self, previous: Option<&AccessToken>) -> AccessToken {
        if self.refresh_token.is_none() {
            if let Some(previous) = previous {
                self.refresh_token = previous.refresh_token.clone();
                self.refresh_expires_at = previous.refresh_expires_at;
            }
        }
        self
    }
}

/// What to import: the window and the cart-side filters taken from the store's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportQuery {
    /// Orders taken at or after this instant…
    pub from: DateTime<Utc>,
    /// …and before this one (`mallsync_rules::import::ImportWindow`); a cart whose upper bound
    /// is inclusive is sent `to − 1 s`.
    pub to: DateTime<Utc>,
    /// The cart's own status codes to fetch (CS-Cart `O`, `B`, `P`, `C`); empty means every status.
    #[serde(default)]
    pub cart_statuses: Vec<String>,
    /// futureshop: add option prices to the item unit price.
    #[serde(default)]
    pub option_price: bool,
    /// 受注格納先ステータス: the OMS status every imported order gets. A cart's own order statuses
    /// (Bカート's shop-defined labels, BASE dispatch_status, CS-Cart letters) are not OMS statuses.
    pub target_status: OmsStatus,
}

impl ImportQuery {
    /// The last whole second in the window (`to − 1 s`), for carts whose upper bound is
    /// inclusive to the second.
    pub fn last_second(&self) -> DateTime<Utc> {
        self.to
            .checked_sub_signed(Duration::seconds(1))
            .unwrap_or(self.to)
    }
}

/// The write-back's canonical orders of whole imported orders, each order once (offset paging can
/// list an order twice when new orders push the list down while it is read).
pub fn to_orders(imported: Vec<ImportedOrder>) -> Vec<Order> {
    let mut seen = std::collections::HashSet::new();
    imported
        .iter()
        .filter(|o| seen.insert(o.order_id.clone()))
        .map(ImportedOrder::to_order)
        .collect()
}

/// How a cart authenticates each call, for the conformance suite to check the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// `Authorization: Basic base64(user:password)`.
    Basic,
}

/// What a cart does differently, declared once so shared checks skip only what does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Data calls carry this authorization scheme.
    pub auth: AuthScheme,
    /// The cart issues access tokens through [`Connector::token_request`] (BASE, futureshop).
    pub issues_tokens: bool,
    /// The content type of write-back bodies (`application/json`, or form-encoded for BASE).
    pub write_content_type: &'static str,
    /// Every shop calls the same public API (Bカート, BASE, ショップサーブ), so the service's
    /// `api_origin` variable may move it (tests point it at a fake); a cart whose URL is in the
    /// store's credentials (CS-Cart, futureshop) is not moved.
    pub shared_api: bool,
    /// Where the cart's API is when no variable names one (spin.toml's defaults, Spin's
    /// `allowed_outbound_hosts` syntax): the store's credentials are sent only there.
    pub default_origin: &'static str,
    /// The shop connects a store from a browser (OAuth consent, BASE): the service's `/oauth/*`
    /// routes answer for this cart.
    pub browser_oauth: bool,
    /// The cart posts its own order webhooks (Bカート's order.created / order.updated), which
    /// the service verifies and imports at once; for another cart that route answers 404.
    pub order_webhooks: bool,
}

/// The same verbs for every cart, one impl per cart module (`Bcart`, `Base`, `Shopserve`,
/// `Cscart`, `Futureshop` unit structs).
pub trait Connector {
    const CART: Cart;
    const RATE_LIMIT: RateLimitPolicy;
    const CAPABILITIES: Capabilities;
    /// `mallsync_rules::<cart>::<Cart>Credentials`.
    type Credentials;
    /// The planned update one `write_back` sends (`mallsync_rules::<cart>::…`).
    type Update: WriteBack;

    /// The real cart's base URL for these credentials (fixed for most carts; the store URL for
    /// CS-Cart, the contract's API domain for futureshop).
    fn base_url(credentials: &Self::Credentials) -> String;

    /// The store's API handle for the real cart.
    fn api(
        credentials: Self::Credentials,
        access_token: Option<AccessToken>,
    ) -> Api<Self::Credentials> {
        Api {
            base_url: Self::base_url(&credentials)
                .trim_end_matches('/')
                .to_string(),
            credentials,
            access_token,
        }
    }

    /// A request for a new access token when the cart needs one before calling (futureshop:
    /// client credentials; BASE: refresh when missing or expiring within
    /// [`AccessToken::REFRESH_MARGIN_SECS`]); `Ok(None)` when the current one will do or the cart
    /// uses no tokens. An error means the operator must reconnect (e.g. BASE never authorized).
    fn token_request(
        _api: &Api<Self::Credentials>,
        _now: DateTime<Utc>,
    ) -> Result<Option<Request>, CartError> {
        Ok(None)
    }

    /// The token from the response to [`Connector::token_request`], its expiry computed from `now`.
    fn parse_token(_response: Response, _now: DateTime<Utc>) -> Result<AccessToken, CartError> {
        Err(CartError::malformed(format!(
            "{} issues no access tokens",
            Self::CART.display_name()
        )))
    }

    /// A cheap authenticated call proving the credentials work.
    fn connection_test(api: &Api<Self::Credentials>) -> impl Exchange<Output = ()>;

    /// Where an import of one window stands between steps: saved as JSON after every step, so the
    /// next run goes on from there. `Default` is the first page.
    type ImportCursor: Serialize + DeserializeOwned + Clone + Default + std::fmt::Debug;

    /// One step of an import, exactly one request: the page at `cursor` with its orders whole (in
    /// the store's target status, or キャンセル when the cart cancelled them) and the next cursor.
    /// A cart whose listing holds only keys (BASE, CS-Cart) lists a page into the cursor, then
    /// reads one order per step.
    fn import_page(
        api: &Api<Self::Credentials>,
        query: &ImportQuery,
        cursor: &Self::ImportCursor,
    ) -> impl Exchange<Output = ImportPage<Self::ImportCursor>>;

    /// Every order in the window, paging to the end, mapped to the canonical order.
    fn list_orders(
        api: &Api<Self::Credentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>>;

    /// Lookups one write-back run makes once and passes to every call (BASE: the carrier ids from
    /// `/1/delivery_companies`); `()` for carts that need none. `Default` is "not looked up":
    /// a cart given it looks up what it needs itself, so it is correct, only slower.
    type RunLookups: Default;

    /// Fetches the run's lookups (BASE: `GET /1/delivery_companies` once per run); other carts:
    /// an exchange that is Done at once.
    fn run_lookups(_api: &Api<Self::Credentials>) -> impl Exchange<Output = Self::RunLookups> {
        exchange::ready(Self::RunLookups::default())
    }

    /// Sends one planned update with the run's lookups: every call it takes (reads, the write,
    /// the status change). Re-sending an update the cart already holds succeeds (the cart's
    /// "already shipped" is not an error), so a retry after a lost response is safe.
    fn write_back(
        api: &Api<Self::Credentials>,
        lookups: &Self::RunLookups,
        update: &Self::Update,
    ) -> impl Exchange<Output = ()>;

    /// Most updates one batch call carries (futureshop 発送API: 100 orders); 1 = no batching.
    const MAX_BATCH: usize = 1;

    /// Whether this update travels in a batch (futureshop: the shipping data yes, the 処理済
    /// step no). Batchable updates go through [`Connector::write_back_batch`] (or
    /// [`Connector::write_back`] as a batch of one); the others one by one through `write_back`,
    /// after the batches of the same run: the plan lists an order's shipping data before its
    /// 処理済 step, which must not be sent when the shipping data failed.
    fn batches(_update: &Self::Update) -> bool {
        false
    }

    /// One call for up to [`Connector::MAX_BATCH`] batchable updates: one result per update, in
    /// order. An `Err` from the exchange itself means none of them is known to be applied (send
    /// them again: re-sending what the cart holds is safe). Carts without batches refuse every
    /// update at once without sending anything.
    fn write_back_batch(
        _api: &Api<Self::Credentials>,
        _lookups: &Self::RunLookups,
        updates: &[&Self::Update],
    ) -> impl Exchange<Output = Vec<Result<(), CartError>>> {
        exchange::not_batched(Self::CART, updates.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn token_expiring_at(at: DateTime<Utc>) -> AccessToken {
        AccessToken {
            token: Secret::new("t"),
            expires_at: Some(at),
            refresh_token: None,
            refresh_expires_at: None,
        }
    }

    #[test]
    fn a_token_expiring_within_five_minutes_is_not_fresh() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert!(!token_expiring_at(now + Duration::seconds(300)).is_fresh(now));
        assert!(token_expiring_at(now + Duration::seconds(301)).is_fresh(now));
    }

    #[test]
    fn a_new_refresh_token_replaces_the_old_and_a_missing_one_keeps_it() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let mut old = token_expiring_at(now);
        old.refresh_token = Some(Secret::new("r1"));
        let mut rotated = token_expiring_at(now);
        rotated.refresh_token = Some(Secret::new("r2"));
        let kept = rotated.keeping_refresh_token(Some(&old));
        assert_eq!(kept.refresh_token, Some(Secret::new("r2")));
        let kept = token_expiring_at(now).keeping_refresh_token(Some(&old));
        assert_eq!(kept.refresh_token, Some(Secret::new("r1")));
    }

    #[test]
    fn an_absurd_token_lifetime_is_an_error_not_a_panic() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert_eq!(
            AccessToken::expiry_after(now, 3600),
            Ok(now + Duration::hours(1))
        );
        for bad in [0, -1, i64::MAX, i64::MIN] {
            assert!(AccessToken::expiry_after(now, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_token_asks_the_operator_to_connect() {
        let api = Api {
            base_url: "https://x".into(),
            credentials: (),
            access_token: None,
        };
        let e = api.bearer_token().unwrap_err();
        assert!(matches!(e, CartError::CredentialsRejected { .. }));
        assert!(!e.is_retryable());
    }
}
