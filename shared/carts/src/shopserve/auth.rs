//! ショップサーブ authentication: HTTP Basic `ショップID:マネージャー認証キー` on every call [M]; the key
//! does not expire, so there is no token step.

use http::header::ACCEPT;
use http::Method;
use mallsync_rules::shopserve::ShopserveCredentials;

use crate::wire::{self, CONTENT_TYPE_JSON};
use crate::Api;

/// A call with Basic auth and `Accept: application/json`.
pub fn authorized(
    api: &Api<ShopserveCredentials>,
    method: Method,
    url: &str,
) -> http::request::Builder {
    let c = &api.credentials;
    wire::builder(method, url, Some(&wire::basic(&c.shop_id, &c.manager_key)))
        .header(ACCEPT, CONTENT_TYPE_JSON)
}
