//! CS-Cart: HTTP Basic (admin e-mail and API key) against the shop's own store URL, orders listed
//! then read one by one, and a shipment plus a status-only change to C per write-back.

pub mod auth;
pub mod orders;
pub mod write_back;

use mallsync_rules::cscart::{CscartCredentials, CscartShipment};
use mallsync_rules::{Cart, Order};

use crate::wire::CONTENT_TYPE_JSON;
use crate::{
    exchange, Api, AuthScheme, Capabilities, Connector, Exchange, ImportQuery, RateLimitPolicy,
    Response,
};

pub use orders::{build_list_orders, build_order_detail, parse_order_detail, parse_orders_page};
pub use write_back::{
    build_complete_order, build_create_shipment, build_list_shipments, build_update_tracking,
    carrier_code, parse_create_shipment, parse_shipments, Created,
};

/// CS-Cart, for [`Connector`].
pub struct Cscart;

impl Connector for Cscart {
    const CART: Cart = Cart::Cscart;
    /// CS-Cart has no rate limit of its own (self-hosted; whatever the host enforces). One call at
    /// a time is polite to a shop's own server.
    const RATE_LIMIT: RateLimitPolicy = RateLimitPolicy {
        max_requests: None,
        window_secs: 1,
        lockout_secs: None,
        max_requests_per_day: None,
        clock_aligned: false,
    };
    const CAPABILITIES: Capabilities = Capabilities {
        auth: AuthScheme::Basic,
        issues_tokens: false,
        write_content_type: CONTENT_TYPE_JSON,
        shared_api: false,
        // Each shop runs its own CS-Cart: any https origin (the store URL), narrowed by the
        // cscart_api_origin variable.
        default_origin: "https://*",
        browser_oauth: false,
        order_webhooks: false,
    };
    type Credentials = CscartCredentials;
    type Update = CscartShipment;

    /// The shop's store URL (every CS-Cart is self-hosted).
    fn base_url(credentials: &CscartCredentials) -> String {
        auth::store_base_url(credentials)
    }

    /// One order from the list: proves the URL, the e-mail/API key and `view_orders`.
    fn connection_test(api: &Api<CscartCredentials>) -> impl Exchange<Output = ()> {
        exchange::single(orders::build_probe(api), |response: Response| {
            parse_orders_page(&response).map(|_| ())
        })
    }

    /// The order list in the window and the store's statuses to fetch (注文受付 O, 入荷待ち B, …),
    /// then each order's detail for its products and shipping groups.
    fn list_orders(
        api: &Api<CscartCredentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>> {
        orders::list_then_details(api.clone(), query.clone())
    }

    type ImportCursor = exchange::KeyedCursor;

    /// A page of the order list (its ids go into the cursor), or one order's detail.
    fn import_page(
        api: &Api<CscartCredentials>,
        query: &ImportQuery,
        cursor: &exchange::KeyedCursor,
    ) -> impl Exchange<Output = crate::ImportPage<exchange::KeyedCursor>> {
        orders::import_step(api, query, cursor)
    }

    /// `POST /api/shipments` (a fully shipped order's bare 400 counts as done, after putting a
    /// changed tracking number on its latest shipment), then `PUT /api/orders/{id}`
    /// `{"status":"C"}` plus the store's `notify_*` keys that are on (default `"notify_user":"Y"`)
    /// and nothing else.
    type RunLookups = ();

    fn write_back(
        api: &Api<CscartCredentials>,
        _lookups: &(),
        update: &CscartShipment,
    ) -> impl Exchange<Output = ()> {
        write_back::ship_and_complete(api.clone(), update.clone())
    }
}
