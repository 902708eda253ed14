//! Eストアー ショップサーブ: HTTP Basic, an order search in weekly windows and a per-order shipping
//! update. The order API is not public: every guessed path and name is in [`wire`].

pub mod auth;
pub mod orders;
pub mod wire;
pub mod write_back;

use mallsync_rules::shopserve::{ShopserveCredentials, ShopserveUpdate};
use mallsync_rules::{Cart, Order};

use crate::exchange::{self, Either};
use crate::wire::CONTENT_TYPE_JSON;
use crate::{
    Api, AuthScheme, Capabilities, CartError, Connector, Exchange, ImportQuery, RateLimitPolicy,
    Response,
};

pub use orders::{build_order_search, parse_order_search, weekly_windows, Window};
pub use write_back::{build_order_update, parse_order_update};

/// Eストアー ショップサーブ, for [`Connector`].
pub struct Shopserve;

impl Connector for Shopserve {
    const CART: Cart = Cart::Shopserve;
    /// ショップサーブ publishes no limit [?]. One request per second is a cautious pace that still
    /// imports a 100-order week per second; 429 and 5xx are retried by the shared classification.
    const RATE_LIMIT: RateLimitPolicy = RateLimitPolicy {
        max_requests: Some(1),
        window_secs: 1,
        lockout_secs: None,
        max_requests_per_day: None,
        clock_aligned: false,
    };
    const CAPABILITIES: Capabilities = Capabilities {
        auth: AuthScheme::Basic,
        issues_tokens: false,
        write_content_type: CONTENT_TYPE_JSON,
        shared_api: true,
        default_origin: "https://management.api.shopserve.jp",
        browser_oauth: false,
        order_webhooks: false,
    };
    type Credentials = ShopserveCredentials;
    type Update = ShopserveUpdate;

    fn base_url(_: &ShopserveCredentials) -> String {
        wire::BASE_URL.to_string()
    }

    /// A one-order search: proves the credentials and the 受注・決済API option together.
    fn connection_test(api: &Api<ShopserveCredentials>) -> impl Exchange<Output = ()> {
        exchange::single(orders::build_probe_search(api), |response: Response| {
            parse_order_search(&response).map(|_| ())
        })
    }

    /// One search per week of the window, each paged to its end; an order seen twice is kept once.
    fn list_orders(
        api: &Api<ShopserveCredentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>> {
        let windows = weekly_windows(query.from, query.to);
        if windows.is_empty() {
            return Either::Right(exchange::ready(Vec::new()));
        }
        Either::Left(exchange::map(
            exchange::paged(
                orders::SearchPages {
                    api: api.clone(),
                    windows,
                    query: query.clone(),
                },
                orders::Cursor { window: 0, from: 0 },
            ),
            crate::to_orders,
        ))
    }

    type ImportCursor = orders::Cursor;

    /// One page of one week's search; the weeks come from the window, so a saved cursor names
    /// the same week on the next run.
    fn import_page(
        api: &Api<ShopserveCredentials>,
        query: &ImportQuery,
        cursor: &orders::Cursor,
    ) -> impl Exchange<Output = crate::ImportPage<orders::Cursor>> {
        let windows = weekly_windows(query.from, query.to);
        if cursor.window >= windows.len() {
            return Either::Right(exchange::ready(crate::ImportPage {
                orders: Vec::new(),
                next: None,
            }));
        }
        let pages = orders::SearchPages {
            api: api.clone(),
            windows,
            query: query.clone(),
        };
        Either::Left(exchange::map(exchange::one_page(pages, *cursor), |page| {
            crate::ImportPage {
                orders: page.items,
                next: page.next,
            }
        }))
    }

    /// One update call. Re-sending sets the same fields to the same values.
    type RunLookups = ();

    fn write_back(
        api: &Api<ShopserveCredentials>,
        _lookups: &(),
        update: &ShopserveUpdate,
    ) -> impl Exchange<Output = ()> {
        exchange::single(build_order_update(api, update), |response: Response| {
            parse_order_update(&response)
        })
    }
}

/// `Ok(())` for a 2xx. ショップサーブ closes the API during maintenance with a message saying so
/// (status code unknown): that is transient whatever the status. Only the error body or the
/// answer's own message is read for it, never order data (an item may be called メンテナンスキット).
/// Everything else is classified the shared way.
pub fn check_response(response: &Response) -> Result<(), CartError> {
    let message = crate::wire::CartMessage::from_body(response.body()).message;
    let under_maintenance = match &message {
        Some(m) => m.contains(wire::MAINTENANCE_MARKER),
        None => {
            !response.status().is_success()
                && String::from_utf8_lossy(response.body()).contains(wire::MAINTENANCE_MARKER)
        }
    };
    if under_maintenance {
        return Err(CartError::Transient {
            status: Some(response.status().as_u16()),
            message: format!(
                "ショップサーブ is under maintenance and the API is closed: {}",
                message.unwrap_or_else(|| crate::wire::quote(response.body()))
            ),
        });
    }
    crate::wire::check_status(response)
}
