//! ショップサーブ shipping write-back: 発送ステータス, 配送会社, 伝票番号 and 発送予定日 for one order.

use mallsync_rules::shopserve::{ShopserveCredentials, ShopserveUpdate};
use serde_json::{Map, Value};

use super::auth::authorized;
use super::{check_response, wire};
use crate::{Api, CartError, Request, Response};

/// The update's body: the ship date always when given; 配送会社 and 伝票番号 only with a tracking
/// number (ショップサーブ refuses a carrier without one); 発送ステータス=発送済み only when the plan
/// marks the order shipped. Without a tracking number the body holds the date alone.
pub fn update_body(update: &ShopserveUpdate) -> Result<Map<String, Value>, CartError> {
    let invalid = |what: &str| CartError::InvalidRequest {
        what: format!("ショップサーブ order {}: {what}", update.order_id),
    };
    if update.tracking_number.is_none() {
        if update.mark_shipped {
            return Err(invalid(
                "発送済み needs a tracking number (the planner should not ask for it)",
            ));
        }
        if update.carrier.is_some() {
            return Err(invalid(
                "a carrier without a tracking number is refused by ショップサーブ",
            ));
        }
    }
    let mut body = Map::new();
    if update.mark_shipped {
        body.insert(
            wire::UPDATE_SHIPPING_STATUS.into(),
            wire::SHIPPING_STATUS_SHIPPED.into(),
        );
    }
    if let Some(carrier) = &update.carrier {
        body.insert(
            wire::UPDATE_CARRIER.into(),
            wire::carrier_value(carrier).into(),
        );
    }
    if let Some(tracking) = &update.tracking_number {
        body.insert(wire::UPDATE_SLIP_NUMBER.into(), tracking.as_str().into());
    }
    if let Some(date) = update.scheduled_ship_date {
        body.insert(
            wire::UPDATE_SCHEDULED_SHIP_DATE.into(),
            date.format(wire::DATE_FORMAT).to_string().into(),
        );
    }
    if body.is_empty() {
        return Err(invalid(
            "nothing to send (no ship date, no tracking number)",
        ));
    }
    Ok(body)
}

/// The update call for one order.
pub fn build_order_update(
    api: &Api<ShopserveCredentials>,
    update: &ShopserveUpdate,
) -> Result<Request, CartError> {
    let body = update_body(update)?;
    let path = wire::ORDER_SHIPPING_UPDATE_PATH
        .replace("{order_no}", &crate::wire::segment(&update.order_id)?);
    crate::wire::json(
        authorized(
            api,
            wire::ORDER_SHIPPING_UPDATE_METHOD,
            &crate::wire::url(&api.base_url, &path, &[]),
        ),
        &Value::Object(body),
    )
}

/// Any 2xx is taken as accepted: the success body is not known.
pub fn parse_order_update(response: &Response) -> Result<(), CartError> {
    check_response(response)
}
