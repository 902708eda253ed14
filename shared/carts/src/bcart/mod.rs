//! Bカート: Bearer personal access token, orders paged by offset with their 出荷 records, and
//! one `PATCH /logistics/{id}` per 出荷 record.

pub mod auth;
pub mod orders;
pub mod write_back;

use mallsync_rules::bcart::{BcartCredentials, BcartUpdate};
use mallsync_rules::{Cart, ImportedOrder, Order};
use serde::{Deserialize, Serialize};

use crate::exchange::{self, Page, Pages};
use crate::wire::CONTENT_TYPE_JSON;
use crate::{
    Api, AuthScheme, Capabilities, CartError, Connector, Exchange, ImportPage, ImportQuery,
    RateLimitPolicy, Request, Response,
};

pub use orders::{build_list_orders, parse_orders_page, OrdersPage, PAGE_LIMIT};
pub use write_back::{build_logistics_patch, parse_logistics_patch};

/// The public API every Bカート shop shares.
pub const BASE_URL: &str = "https://api.bcart.jp/api/v1";

/// Bカート, for [`Connector`].
pub struct Bcart;

impl Connector for Bcart {
    const CART: Cart = Cart::Bcart;
    /// 300 requests per 300 s shared by every app of the shop; going over locks the shop out for
    /// 300 s, announced by `Retry-After` [M: Bカート blog post 187].
    const RATE_LIMIT: RateLimitPolicy = RateLimitPolicy {
        max_requests: Some(300),
        window_secs: 300,
        lockout_secs: Some(300),
        max_requests_per_day: None,
        clock_aligned: false,
    };
    const CAPABILITIES: Capabilities = Capabilities {
        auth: AuthScheme::Bearer,
        issues_tokens: false,
        write_content_type: CONTENT_TYPE_JSON,
        shared_api: true,
        default_origin: "https://api.bcart.jp",
        browser_oauth: false,
        order_webhooks: true,
    };
    type Credentials = BcartCredentials;
    type Update = BcartUpdate;

    fn base_url(_credentials: &BcartCredentials) -> String {
        BASE_URL.to_string()
    }

    /// One order (`limit=1`): proves the token and its `orders-read` scope.
    fn connection_test(api: &Api<BcartCredentials>) -> impl Exchange<Output = ()> {
        exchange::single(orders::build_probe(api), |response: Response| {
            parse_orders_page(&response).map(|_| ())
        })
    }

    /// Every order in the window, once per requested Bカート status label (or once for all), each
    /// listing paged by offset until empty or `meta.total` is reached.
    fn list_orders(
        api: &Api<BcartCredentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>> {
        exchange::map(
            exchange::paged(
                OrderPages {
                    api: api.clone(),
                    query: query.clone(),
                },
                Cursor::default(),
            ),
            crate::to_orders,
        )
    }

    type ImportCursor = Cursor;

    /// One page of the listing (`complete=1` embeds every order's products and 出荷 records).
    fn import_page(
        api: &Api<BcartCredentials>,
        query: &ImportQuery,
        cursor: &Cursor,
    ) -> impl Exchange<Output = ImportPage<Cursor>> {
        let pages = OrderPages {
            api: api.clone(),
            query: query.clone(),
        };
        exchange::map(exchange::one_page(pages, *cursor), |page| ImportPage {
            orders: page.items,
            next: page.next,
        })
    }

    /// `PATCH /logistics/{id}` with 送り状番号, 発送日 and 発送状況. Bカート's order status (shop-defined
    /// labels) is not touched: SPEC.md's Bカート fields are the 出荷 record's status, tracking number
    /// and ship date. The PATCH sets values, so sending it again is harmless.
    type RunLookups = ();

    fn write_back(
        api: &Api<BcartCredentials>,
        _lookups: &(),
        update: &BcartUpdate,
    ) -> impl Exchange<Output = ()> {
        exchange::single(build_logistics_patch(api, update), |response: Response| {
            parse_logistics_patch(&response)
        })
    }
}

/// Which status listing (index into `ImportQuery::cart_statuses`) and which offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub status: usize,
    pub offset: u64,
}

struct OrderPages {
    api: Api<BcartCredentials>,
    query: ImportQuery,
}

impl Pages for OrderPages {
    type Item = ImportedOrder;
    type Cursor = Cursor;

    fn request(&self, cursor: &Cursor) -> Result<Request, CartError> {
        let status = self
            .query
            .cart_statuses
            .get(cursor.status)
            .map(String::as_str);
        build_list_orders(&self.api, &self.query, status, cursor.offset)
    }

    fn parse(
        &self,
        cursor: &Cursor,
        response: Response,
    ) -> Result<Page<ImportedOrder, Cursor>, CartError> {
        let page = parse_orders_page(&response)?;
        let got = page.orders.len();
        let next = match exchange::next_offset(cursor.offset, got, PAGE_LIMIT, page.total()) {
            Some(offset) => Some(Cursor { offset, ..*cursor }),
            None if cursor.status + 1 < self.query.cart_statuses.len() => Some(Cursor {
                status: cursor.status + 1,
                offset: 0,
            }),
            None => None,
        };
        Ok(Page {
            items: page.imported_orders(&self.query.target_status)?,
            next,
        })
    }
}
