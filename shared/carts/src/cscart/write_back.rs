//! CS-Cart write-back: `POST /api/shipments` for one shipping group, then a status-only
//! `PUT /api/orders/{id}` to C (配送済み).

use chrono::{NaiveDate, NaiveTime, TimeZone};
use http::Method;
use mallsync_rules::cscart::{CscartCredentials, CscartNotify, CscartShipment};
use mallsync_rules::time::jst;
use mallsync_rules::Carrier;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auth::authorization;
use super::orders::{build_order_detail, parse_order_detail, OrderDetail, ORDERS_PATH};
use crate::exchange::{self, Either};
use crate::values::{id, opt_text};
use crate::wire::CartMessage;
use crate::{wire, Api, CartError, Exchange, Request, Response};

pub const SHIPMENTS_PATH: &str = "/api/shipments";
/// 配送済み (Complete).
pub const STATUS_COMPLETE: &str = "C";
/// The value of a `notify_*` key that is on. CS-Cart reads any non-empty value (even `"N"`) as
/// "notify", so an off key is left out of the body, never sent as `"N"`.
const NOTIFY: &str = "Y";

/// The whole write-back of one shipment. Every `POST /api/shipments` names its products: the
/// OMS shipment's items when it lists them, else the group's products from the cart's own order
/// (`GET /api/orders/{id}`, which also tells the group when the update names none). Then the
/// shipment is created and the order set to C. A bare 400 on creating counts as "already
/// shipped" only when the cart's shipments for the order confirm it: the group's shipment holds
/// this tracking number, or holds another one that is then corrected to it. Anything else is a
/// refusal naming what is missing, so "sent" is only ever said of data the cart holds.
pub fn ship_and_complete(
    api: Api<CscartCredentials>,
    update: CscartShipment,
) -> impl Exchange<Output = ()> {
    let target = match (&update.shipping_id, update.items.is_empty()) {
        (Some(id), false) => Either::Left(exchange::ready(Target {
            shipping_id: id.clone(),
            products: update
                .items
                .iter()
                .map(|i| (i.item_id.clone(), i.quantity))
                .collect(),
        })),
        _ => {
            let wanted = update.clone();
            Either::Right(exchange::single(
                build_order_detail(&api, &update.order_id),
                move |response: Response| {
                    target_from_detail(&parse_order_detail(&response)?, &wanted)
                },
            ))
        }
    };
    exchange::then(target, move |target: Target| {
        let create = exchange::single(
            build_create_shipment(&api, &update, &target.shipping_id, &target.products),
            |response: Response| parse_create_shipment(&response),
        );
        Ok(exchange::then(create, move |created: Created| {
            let confirm = match created {
                Created::New => Either::Left(exchange::ready(())),
                Created::AlreadyShipped => Either::Right(confirm_held(
                    api.clone(),
                    update.clone(),
                    target.shipping_id.clone(),
                )),
            };
            Ok(exchange::then(confirm, move |()| {
                Ok(exchange::single(
                    build_complete_order(&api, &update.order_id, update.notify),
                    |response: Response| wire::check_status(&response),
                ))
            }))
        }))
    })
}

/// Where one shipment goes: its shipping group and the products (item id, amount) it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub shipping_id: String,
    pub products: Vec<(String, u32)>,
}

/// The group and products from the cart's order when the update does not say them: the update's
/// group or the order's only one; the update's items, else the group's products. A refusal
/// naming what is missing when the cart cannot tell either.
pub fn target_from_detail(
    detail: &OrderDetail,
    update: &CscartShipment,
) -> Result<Target, CartError> {
    let shipping_id = match &update.shipping_id {
        Some(id) => id.clone(),
        None => only_shipping_id(detail)?,
    };
    let products = if update.items.is_empty() {
        detail.products_of_group(&shipping_id).ok_or_else(|| CartError::Rejected {
            status: 200,
            code: Some("shipment_products_unknown".into()),
            message: format!(
                "CS-Cart order {order} has {groups} shipping groups and neither the OMS shipment nor the cart's order says which products group {shipping_id} ships: list the items on the OMS shipment / CS-Cart注文{order}には配送グループが{groups}つあり、グループ{shipping_id}で出荷する商品がOMSの出荷にもカートの注文にもありません。OMSの出荷に商品を指定してください",
                order = detail.order_id,
                groups = detail.shipping_ids().len(),
            ),
        })?
    } else {
        update
            .items
            .iter()
            .map(|i| (i.item_id.clone(), i.quantity))
            .collect()
    };
    Ok(Target {
        shipping_id,
        products,
    })
}

/// After a bare 400: reads the order's shipments. The group's shipment with this tracking number
/// means the cart holds it already; a group shipment with another number gets this one (a
/// corrected tracking number); no shipment in the group is a refusal: the tracking number is on
/// no shipment, and the order is not set to C.
fn confirm_held(
    api: Api<CscartCredentials>,
    update: CscartShipment,
    shipping_id: String,
) -> impl Exchange<Output = ()> {
    let list = exchange::single(
        build_list_shipments(&api, &update.order_id),
        |response: Response| parse_shipments(&response),
    );
    exchange::then(list, move |shipments: Vec<ExistingShipment>| {
        let wanted = update.tracking_number.as_str();
        let in_group =
            |s: &&ExistingShipment| s.shipping_id.as_deref().is_none_or(|id| id == shipping_id);
        if shipments
            .iter()
            .filter(in_group)
            .any(|s| s.tracking_number.as_deref() == Some(wanted))
        {
            return Ok(Either::Left(exchange::ready(())));
        }
        match shipment_to_correct(&shipments, &shipping_id, wanted) {
            Some(shipment_id) => Ok(Either::Right(exchange::single(
                build_update_tracking(&api, &shipment_id, wanted),
                |response: Response| wire::check_status(&response),
            ))),
            None => Err(CartError::Rejected {
                status: 400,
                code: Some("shipment_not_held".into()),
                message: format!(
                    "CS-Cart refused the shipment of order {order} group {shipping_id} (a bare 400) and holds no shipment for that group: tracking number {wanted} is on no shipment. Check the items and the group in CS-Cart / CS-Cartは注文{order}のグループ{shipping_id}の出荷を受け付けず(400)、そのグループの出荷もありません。伝票番号{wanted}はどの出荷にも登録されていません。CS-Cartで商品と配送グループを確認してください",
                    order = update.order_id,
                ),
            }),
        }
    })
}

/// The latest shipment of the group (or of the order, when CS-Cart does not say the group) if its
/// tracking number is not `wanted`.
fn shipment_to_correct(
    shipments: &[ExistingShipment],
    shipping_id: &str,
    wanted: &str,
) -> Option<String> {
    let latest = shipments
        .iter()
        .filter(|s| s.shipping_id.as_deref().is_none_or(|id| id == shipping_id))
        .max_by_key(|s| s.shipment_id.parse::<u64>().unwrap_or(0))?;
    (latest.tracking_number.as_deref() != Some(wanted)).then(|| latest.shipment_id.clone())
}

/// The order's one shipping group; with none or several the update must say which.
fn only_shipping_id(detail: &OrderDetail) -> Result<String, CartError> {
    match detail.shipping_ids().as_slice() {
        [one] => Ok(one.to_string()),
        ids => Err(CartError::Rejected {
            status: 200,
            code: Some("shipping_group_unknown".into()),
            message: format!(
                "CS-Cart order {} has {} shipping groups ({}): the shipment must name one",
                detail.order_id,
                ids.len(),
                ids.join(", ")
            ),
        }),
    }
}

#[derive(Debug, Serialize)]
struct NewShipment {
    order_id: Value,
    shipping_id: Value,
    tracking_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    carrier: Option<String>,
    /// `{"<item_id>": amount}`: always named, since a shipment without products is a bare 400
    /// whenever CS-Cart cannot tell which products the group ships.
    products: Map<String, Value>,
    /// The ship date, as UNIX seconds (CS-Cart ≥ 4.16 stores it as the shipment date).
    timestamp: i64,
}

/// `POST /api/shipments` for these products. The order status is not set here
/// (`order_status`): the status-only PUT after it says explicitly whether the buyer is notified.
/// No products is refused before anything is sent.
pub fn build_create_shipment(
    api: &Api<CscartCredentials>,
    update: &CscartShipment,
    shipping_id: &str,
    products: &[(String, u32)],
) -> Result<Request, CartError> {
    if products.is_empty() {
        return Err(CartError::InvalidRequest {
            what: format!(
                "a CS-Cart shipment of order {} must name its products",
                update.order_id
            ),
        });
    }
    let body = NewShipment {
        order_id: id_value(&update.order_id),
        shipping_id: id_value(shipping_id),
        tracking_number: update.tracking_number.as_str().to_string(),
        carrier: update.carrier.as_ref().map(carrier_code),
        products: products
            .iter()
            .map(|(item, amount)| (item.clone(), Value::from(*amount)))
            .collect(),
        timestamp: ship_timestamp(update.ship_date),
    };
    let url = wire::url(&api.base_url, SHIPMENTS_PATH, &[]);
    wire::json(
        wire::builder(Method::POST, &url, Some(&authorization(api))),
        &body,
    )
}

/// What `POST /api/shipments` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// Every product of the order is shipped already.
    AlreadyShipped,
}

/// Created (`{"shipment_id":N}`), or already there: CS-Cart caps amounts at what is left to ship
/// and answers a bare 400 (no message) when nothing is left, which a retry or a re-sent update
/// meets. A 400 with a message is a real refusal.
pub fn parse_create_shipment(response: &Response) -> Result<Created, CartError> {
    match wire::check_status(response) {
        Ok(()) => Ok(Created::New),
        Err(CartError::Rejected { status: 400, .. }) if is_bare(response.body()) => {
            Ok(Created::AlreadyShipped)
        }
        Err(e) => Err(e),
    }
}

/// `GET /api/shipments?order_id=…` (one page: an order has a handful of shipments).
pub fn build_list_shipments(
    api: &Api<CscartCredentials>,
    order_id: &str,
) -> Result<Request, CartError> {
    let url = wire::url(
        &api.base_url,
        SHIPMENTS_PATH,
        &[("order_id", order_id), ("items_per_page", "100")],
    );
    wire::empty(wire::builder(Method::GET, &url, Some(&authorization(api))))
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExistingShipment {
    #[serde(deserialize_with = "id")]
    pub shipment_id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub shipping_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tracking_number: Option<String>,
}

#[derive(Deserialize)]
struct ShipmentsPage {
    shipments: Vec<ExistingShipment>,
}

pub fn parse_shipments(response: &Response) -> Result<Vec<ExistingShipment>, CartError> {
    let page: ShipmentsPage = wire::parse_json(response, "CS-Cart shipments")?;
    Ok(page.shipments)
}

/// `PUT /api/shipments/{id}` with only `tracking_number` (≥ 4.16 refuses any key but
/// tracking_number, comments, status and timestamp).
pub fn build_update_tracking(
    api: &Api<CscartCredentials>,
    shipment_id: &str,
    tracking_number: &str,
) -> Result<Request, CartError> {
    let path = format!("{SHIPMENTS_PATH}/{}", wire::segment(shipment_id)?);
    let url = wire::url(&api.base_url, &path, &[]);
    wire::json(
        wire::builder(Method::PUT, &url, Some(&authorization(api))),
        &serde_json::json!({ "tracking_number": tracking_number }),
    )
}

fn is_bare(body: &[u8]) -> bool {
    let words = CartMessage::from_body(body);
    if words.code.is_some() {
        return false;
    }
    match words.message {
        // ≥ 4.16 wraps every error as "Bad Request: <details>"; no details means none were given.
        Some(m) => m
            .trim_start_matches("Bad Request")
            .trim_matches(|c: char| c == ':' || c.is_whitespace())
            .is_empty(),
        None => {
            body.trim_ascii().is_empty()
                || serde_json::from_slice::<Map<String, Value>>(body).is_ok()
        }
    }
}

#[derive(Debug, Serialize)]
struct StatusOnly {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_user: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_department: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_vendor: Option<&'static str>,
}

/// `PUT /api/orders/{id}` with only `status` and the `notify_*` keys that are on: any other key
/// makes CS-Cart re-form and recalculate the whole order. CS-Cart changes nothing, and mails
/// nothing, when the order is already C, so a retry never mails twice.
pub fn build_complete_order(
    api: &Api<CscartCredentials>,
    order_id: &str,
    notify: CscartNotify,
) -> Result<Request, CartError> {
    let on = |flag: bool| flag.then_some(NOTIFY);
    let body = StatusOnly {
        status: STATUS_COMPLETE,
        notify_user: on(notify.notify_user),
        notify_department: on(notify.notify_department),
        notify_vendor: on(notify.notify_vendor),
    };
    let path = format!("{ORDERS_PATH}/{}", wire::segment(order_id)?);
    let url = wire::url(&api.base_url, &path, &[]);
    wire::json(
        wire::builder(Method::PUT, &url, Some(&authorization(api))),
        &body,
    )
}

/// The carrier as CS-Cart's shipping-module code (Japanese edition: `yamato`, `sagawa`, `jpost`,
/// `fukutsu`); carriers without a module are sent by name, which CS-Cart stores as free text.
pub fn carrier_code(carrier: &Carrier) -> String {
    match carrier {
        Carrier::Yamato => "yamato".into(),
        Carrier::Sagawa => "sagawa".into(),
        Carrier::JapanPost => "jpost".into(),
        Carrier::Fukuyama => "fukutsu".into(),
        Carrier::Seino | Carrier::Other(_) => carrier.japanese_name().to_string(),
    }
}

/// Noon in Japan on the ship date: the same calendar date in any store time zone from UTC−3 to
/// UTC+11, where midnight would show the day before in a store set to UTC.
fn ship_timestamp(date: NaiveDate) -> i64 {
    let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
    jst()
        .from_local_datetime(&noon)
        .single()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| noon.and_utc().timestamp())
}

/// An id as CS-Cart's docs show it: a number when it is one, else the text.
fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_request(body: &str) -> Response {
        http::Response::builder()
            .status(400)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn a_bare_400_on_creating_a_shipment_means_already_shipped() {
        assert_eq!(
            parse_create_shipment(&bad_request("")),
            Ok(Created::AlreadyShipped)
        );
        assert_eq!(
            parse_create_shipment(&bad_request(r#"{"message":"Bad Request","status":400}"#)),
            Ok(Created::AlreadyShipped)
        );
    }

    #[test]
    fn a_400_with_details_is_a_refusal() {
        let e = parse_create_shipment(&bad_request(
            r#"{"message":"Bad Request: shipping_id is required","status":400}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(e, CartError::Rejected { status: 400, .. }),
            "{e:?}"
        );
        let e = parse_create_shipment(&bad_request("<html>proxy error</html>")).unwrap_err();
        assert!(matches!(e, CartError::Rejected { .. }));
    }

    fn existing(id: &str, group: Option<&str>, tracking: &str) -> ExistingShipment {
        ExistingShipment {
            shipment_id: id.into(),
            shipping_id: group.map(str::to_string),
            tracking_number: Some(tracking.into()),
        }
    }

    #[test]
    fn only_the_groups_latest_shipment_with_another_number_is_corrected() {
        let list = [
            existing("3", Some("1"), "OLD"),
            existing("10", Some("1"), "OLD2"),
            existing("12", Some("4"), "OTHER"),
        ];
        assert_eq!(shipment_to_correct(&list, "1", "NEW"), Some("10".into()));
        assert_eq!(shipment_to_correct(&list, "1", "OLD2"), None);
        assert_eq!(shipment_to_correct(&[], "1", "NEW"), None);
    }

    #[test]
    fn carriers_map_to_the_japanese_editions_module_codes() {
        assert_eq!(carrier_code(&Carrier::Yamato), "yamato");
        assert_eq!(carrier_code(&Carrier::JapanPost), "jpost");
        assert_eq!(carrier_code(&Carrier::Fukuyama), "fukutsu");
        assert_eq!(carrier_code(&Carrier::Seino), "西濃運輸");
        assert_eq!(carrier_code(&Carrier::Other("エコ配".into())), "エコ配");
    }

    #[test]
    fn the_ship_date_is_sent_as_noon_in_japan() {
        let t = ship_timestamp(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(t, 1_795_402_800); // 2026-11-23T03:00:00Z
    }
}
