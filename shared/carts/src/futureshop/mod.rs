//! futureshop: client-credentials tokens, the order search with its `nextUrl` cursor, and the
//! 発送API (≤100 orders per call) with the optional 処理済 step as its own update.

pub mod auth;
pub mod orders;
pub mod write_back;

use chrono::{DateTime, Utc};
use mallsync_rules::futureshop::{FutureshopCredentials, FutureshopUpdate, MAX_ORDERS_PER_BATCH};
use mallsync_rules::{Cart, ImportedOrder, Order};
use serde::{Deserialize, Serialize};

use crate::exchange::{self, Either, Page, Pages};
use crate::wire::CONTENT_TYPE_JSON;
use crate::{
    AccessToken, Api, AuthScheme, Capabilities, CartError, Connector, Exchange, ImportPage,
    ImportQuery, RateLimitPolicy, Request, Response,
};

pub use auth::HEADER_SHOP_KEY;
pub use orders::StatusFilters;
pub use write_back::{
    build_order_complete, build_order_detail, build_shipping_status, complete_order,
    parse_write_result, ship_batch, OrderOutcome,
};

/// futureshop, for [`Connector`].
pub struct Futureshop;

impl Connector for Futureshop {
    const CART: Cart = Cart::Futureshop;
    /// About one request per second per client [M: a Node connector citing the manual; the Ruby
    /// client sleeps 1 s between pages]. A 429 is retried after its Retry-After.
    const RATE_LIMIT: RateLimitPolicy = RateLimitPolicy {
        max_requests: Some(1),
        window_secs: 1,
        lockout_secs: None,
        max_requests_per_day: None,
        clock_aligned: false,
    };
    const CAPABILITIES: Capabilities = Capabilities {
        auth: AuthScheme::Bearer,
        issues_tokens: true,
        write_content_type: CONTENT_TYPE_JSON,
        shared_api: false,
        default_origin: "https://api.admin.future-shop.net",
        browser_oauth: false,
        order_webhooks: false,
    };
    type Credentials = FutureshopCredentials;
    type Update = FutureshopUpdate;

    /// The API domain futureshop issues per contract (not derived from the shop's URL).
    fn base_url(credentials: &FutureshopCredentials) -> String {
        credentials.api_base_url.clone()
    }

    fn token_request(
        api: &Api<FutureshopCredentials>,
        now: DateTime<Utc>,
    ) -> Result<Option<Request>, CartError> {
        if auth::needs_token(api, now) {
            auth::build_token_request(api).map(Some)
        } else {
            Ok(None)
        }
    }

    fn parse_token(response: Response, now: DateTime<Utc>) -> Result<AccessToken, CartError> {
        auth::parse_token(&response, now)
    }

    /// The first page of an unfiltered order search: proves the token, the shop key and the
    /// order API permission together.
    fn connection_test(api: &Api<FutureshopCredentials>) -> impl Exchange<Output = ()> {
        exchange::single(
            orders::build_unfiltered_search(api),
            |response: Response| orders::parse_shipping_page(&response).map(|_| ()),
        )
    }

    fn list_orders(
        api: &Api<FutureshopCredentials>,
        query: &ImportQuery,
    ) -> impl Exchange<Output = Vec<Order>> {
        exchange::map(
            exchange::paged(
                SearchPages {
                    api: api.clone(),
                    query: query.clone(),
                    filters: StatusFilters::from_cart_statuses(&query.cart_statuses),
                },
                Cursor::First,
            ),
            crate::to_orders,
        )
    }

    type ImportCursor = Cursor;

    /// One page of the search, or the page a saved `nextUrl` names (with the window's filters).
    fn import_page(
        api: &Api<FutureshopCredentials>,
        query: &ImportQuery,
        cursor: &Cursor,
    ) -> impl Exchange<Output = ImportPage<Cursor>> {
        let pages = SearchPages {
            api: api.clone(),
            query: query.clone(),
            filters: StatusFilters::from_cart_statuses(&query.cart_statuses),
        };
        exchange::map(exchange::one_page(pages, cursor.clone()), |page| {
            ImportPage {
                orders: page.items,
                next: page.next,
            }
        })
    }

    type RunLookups = ();

    /// The shipping data: the 発送API for this one order (a batch of one; re-sending is safe, the
    /// 発送API overwrites the same fields with the same values). The 処理済 step: read the order,
    /// refuse a cancelled one, complete it unless it is already.
    fn write_back(
        api: &Api<FutureshopCredentials>,
        _lookups: &(),
        update: &FutureshopUpdate,
    ) -> impl Exchange<Output = ()> {
        match update {
            FutureshopUpdate::Ship { .. } => Either::Left(exchange::then(
                ship_batch(api, &[update]),
                |results: Vec<Result<(), CartError>>| {
                    results
                        .into_iter()
                        .try_for_each(|r| r)
                        .map(|()| exchange::ready(()))
                },
            )),
            FutureshopUpdate::Complete { order_id } => Either::Right(complete_order(api, order_id)),
        }
    }

    /// The 発送API takes up to 100 orders per call [H].
    const MAX_BATCH: usize = MAX_ORDERS_PER_BATCH;

    /// The shipping data travels in batches; the 処理済 step goes alone, after it.
    fn batches(update: &FutureshopUpdate) -> bool {
        update.is_ship()
    }

    fn write_back_batch(
        api: &Api<FutureshopCredentials>,
        _lookups: &(),
        updates: &[&FutureshopUpdate],
    ) -> impl Exchange<Output = Vec<Result<(), CartError>>> {
        ship_batch(api, updates)
    }
}

/// Where the search is: its first page, or the page a `nextUrl` names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cursor {
    #[default]
    First,
    Next(String),
}

/// The order search over one import window, for [`exchange::paged`].
struct SearchPages {
    api: Api<FutureshopCredentials>,
    query: ImportQuery,
    filters: StatusFilters,
}

impl Pages for SearchPages {
    type Item = ImportedOrder;
    type Cursor = Cursor;

    fn request(&self, cursor: &Cursor) -> Result<Request, CartError> {
        match cursor {
            Cursor::First => orders::build_shipping_search(&self.api, &self.query),
            Cursor::Next(url) => orders::build_next_page(
                &self.api,
                url,
                &self.filters.params(self.query.from, self.query.to),
            ),
        }
    }

    fn parse(
        &self,
        cursor: &Cursor,
        response: Response,
    ) -> Result<Page<ImportedOrder, Cursor>, CartError> {
        let page = orders::parse_shipping_page(&response)?;
        let next = page.next_url.clone().map(Cursor::Next);
        if next.as_ref() == Some(cursor) {
            return Err(CartError::malformed(
                "futureshop order search: nextUrl points back to the same page",
            ));
        }
        Ok(Page {
            items: page.imported_orders(&self.filters, &self.query)?,
            next,
        })
    }
}
