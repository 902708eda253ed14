//! Bカート write-back: `PATCH /logistics/{id}` with 送り状番号, 発送日 and 発送状況.

use http::Method;
use mallsync_rules::bcart::{BcartCredentials, BcartUpdate};
use serde::Serialize;

use super::auth::authorization;
use crate::values::DATE;
use crate::{wire, Api, CartError, Request, Response};

pub const LOGISTICS_PATH: &str = "/logistics";

/// The PATCH body. `shipment_date` is left out when the update has none, so Bカート keeps what it
/// holds instead of being sent a blank.
#[derive(Debug, Serialize)]
struct LogisticsPatch<'a> {
    delivery_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipment_date: Option<String>,
    status: &'static str,
}

pub fn build_logistics_patch(
    api: &Api<BcartCredentials>,
    update: &BcartUpdate,
) -> Result<Request, CartError> {
    let path = format!("{LOGISTICS_PATH}/{}", wire::segment(&update.logistics_id)?);
    let body = LogisticsPatch {
        delivery_code: update.tracking_number.as_str(),
        // Ship dates are Japan dates already (rules::time).
        shipment_date: update.ship_date.map(|d| d.format(DATE).to_string()),
        status: update.status.label(),
    };
    let url = wire::url(&api.base_url, &path, &[]);
    wire::json(
        wire::builder(Method::PATCH, &url, Some(&authorization(api))),
        &body,
    )
}

/// Any 2xx is success: the body (`{"logistic":{…}}` in client code) is not needed.
pub fn parse_logistics_patch(response: &Response) -> Result<(), CartError> {
    wire::check_status(response)
}
