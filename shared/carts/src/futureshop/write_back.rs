//! futureshop 発送API (`POST /admin-api/v1/shipping/status`, ≤100 orders per call) and the 処理済
//! step (`POST /admin-api/v1/order/complete`), which is its own planned update: it reads the order
//! first and never completes one futureshop shows as cancelled.

use http::Method;
use mallsync_rules::futureshop::{
    FutureshopCredentials, FutureshopShipment, FutureshopUpdate, MAX_ORDERS_PER_BATCH,
};
use mallsync_rules::WriteBack;
use serde::{Deserialize, Serialize};

use super::auth::authorized;
use crate::exchange::{self, Either};
use crate::values::DATE as DATE_FORMAT;
use crate::wire;
use crate::{Api, CartError, Exchange, Request, Response};

/// 発送API [H, manual excerpt].
pub const SHIPPING_STATUS_PATH: &str = "/admin-api/v1/shipping/status";
/// 受注ステータス変更(処理済)API [H, manual excerpt].
pub const ORDER_COMPLETE_PATH: &str = "/admin-api/v1/order/complete";
/// The order detail, read before 処理済 [M: the Ruby client and fixture].
pub const ORDER_DETAIL_PATH: &str = "/admin-api/v1/orders";
/// 処理状況区分 of an order the shop cancelled (注文取消) [M: b→dash list].
pub const STATUS_CANCELLED: &str = "CANCELLED";
/// 処理状況区分 処理済 [M].
pub const STATUS_COMPLETED: &str = "COMPLETED";
/// The error code futureshop gives for more than 100 orders in one call [H].
pub const ERROR_TOO_MANY: &str = "TooMany";
/// The error code for a 店舗受取 (store pickup) order, which the 発送API cannot ship [H].
pub const ERROR_STORE_PICKUP: &str = "CannotUpdateStorePickup";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShippingStatusBody<'a> {
    order_list: Vec<OrderShipments<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderShipments<'a> {
    order_no: &'a str,
    shipment_list: Vec<ShipmentBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentBody {
    shipment_no: u32,
    shipping_info: ShippingInfoBody,
}

/// A key with no value is left out: futureshop overwrites a field sent as "" with blank [H].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShippingInfoBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_arrival: Option<String>,
    shipping_date: String,
}

impl From<&FutureshopShipment> for ShipmentBody {
    fn from(s: &FutureshopShipment) -> ShipmentBody {
        ShipmentBody {
            shipment_no: s.shipment_no,
            shipping_info: ShippingInfoBody {
                invoice_no: s.tracking_number.as_ref().map(|t| t.as_str().to_string()),
                expected_arrival: s
                    .expected_arrival
                    .map(|d| d.format(DATE_FORMAT).to_string()),
                shipping_date: s.ship_date.format(DATE_FORMAT).to_string(),
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderCompleteBody<'a> {
    order_list: Vec<OrderNo<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderNo<'a> {
    order_no: &'a str,
}

/// One 発送API call for up to [`MAX_ORDERS_PER_BATCH`] orders' shipping data, per shipment
/// (お届け先). Refuses more orders, none, a 処理済 step, or an order without shipments, before
/// anything is sent.
pub fn build_shipping_status(
    api: &Api<FutureshopCredentials>,
    updates: &[&FutureshopUpdate],
) -> Result<Request, CartError> {
    check_batch_size(updates.len())?;
    let mut order_list = Vec::with_capacity(updates.len());
    for u in updates {
        let FutureshopUpdate::Ship {
            order_id,
            shipments,
        } = u
        else {
            return Err(CartError::InvalidRequest {
                what: format!(
                    "futureshop order {}: the 処理済 step is not shipping data and goes alone",
                    u.order_id()
                ),
            });
        };
        if shipments.is_empty() {
            return Err(CartError::InvalidRequest {
                what: format!("futureshop order {order_id} has no shipment (お届け先) to write"),
            });
        }
        order_list.push(OrderShipments {
            order_no: order_id,
            shipment_list: shipments.iter().map(ShipmentBody::from).collect(),
        });
    }
    wire::json(
        authorized(
            api,
            Method::POST,
            &wire::url(&api.base_url, SHIPPING_STATUS_PATH, &[]),
        )?,
        &ShippingStatusBody { order_list },
    )
}

/// One 処理済 call for up to [`MAX_ORDERS_PER_BATCH`] orders.
pub fn build_order_complete(
    api: &Api<FutureshopCredentials>,
    order_nos: &[&str],
) -> Result<Request, CartError> {
    check_batch_size(order_nos.len())?;
    let body = OrderCompleteBody {
        order_list: order_nos.iter().map(|n| OrderNo { order_no: n }).collect(),
    };
    wire::json(
        authorized(
            api,
            Method::POST,
            &wire::url(&api.base_url, ORDER_COMPLETE_PATH, &[]),
        )?,
        &body,
    )
}

fn check_batch_size(orders: usize) -> Result<(), CartError> {
    match orders {
        0 => Err(CartError::InvalidRequest {
            what: "a futureshop write needs at least one order".into(),
        }),
        n if n > MAX_ORDERS_PER_BATCH => Err(CartError::InvalidRequest {
            what: format!(
                "{n} orders in one futureshop call; futureshop takes at most {MAX_ORDERS_PER_BATCH}"
            ),
        }),
        _ => Ok(()),
    }
}

/// The write answer `{"status","errors":[{code,path,message}],"results":[{status,orderNo,code,message}]}` [H].
#[derive(Debug, Deserialize)]
struct WriteResultJson {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorJson>,
    #[serde(default)]
    results: Vec<ResultJson>,
}

#[derive(Debug, Deserialize)]
struct ErrorJson {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultJson {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    order_no: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// What futureshop said of one order in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOutcome {
    pub order_no: String,
    /// `Err(Rejected)` with futureshop's code (e.g. [`ERROR_STORE_PICKUP`]).
    pub result: Result<(), CartError>,
}

/// The answer to a 発送API or 処理済 call: `Err` when the whole call failed (credentials, rate
/// limit, [`ERROR_TOO_MANY`], …), otherwise one outcome per order futureshop reported on.
pub fn parse_write_result(response: &Response) -> Result<Vec<OrderOutcome>, CartError> {
    let status = response.status().as_u16();
    let parsed = wire::json_body::<WriteResultJson>(response.body(), "futureshop write answer");
    if !response.status().is_success() {
        // futureshop's own refusal (4xx with its error list) keeps its code; everything else
        // (401, 429, 5xx, a body in another shape) is classified the shared way.
        return Err(match parsed {
            Ok(r) if !r.errors.is_empty() && rejectable(status) => whole_call_rejected(status, &r),
            _ => wire::classify(response.status(), response.headers(), response.body()),
        });
    }
    let r = parsed?;
    if !r.errors.is_empty() {
        return Err(whole_call_rejected(status, &r));
    }
    let outcomes: Vec<OrderOutcome> = r
        .results
        .iter()
        .map(|res| OrderOutcome {
            order_no: res.order_no.clone().unwrap_or_default(),
            result: match res.status.as_deref() {
                Some("failed") => Err(CartError::Rejected {
                    status,
                    code: res.code.clone().filter(|c| !c.is_empty()),
                    message: futureshop_words(res.code.as_deref(), None, res.message.as_deref()),
                }),
                _ => Ok(()),
            },
        })
        .collect();
    if r.status.as_deref() == Some("failed") && outcomes.iter().all(|o| o.result.is_ok()) {
        return Err(CartError::Rejected {
            status,
            code: None,
            message: "futureshop answered status \"failed\" without naming an error".into(),
        });
    }
    Ok(outcomes)
}

/// Up to 100 orders' shipping data in one 発送API call: one result per update, in order (an
/// order futureshop did not report on is accepted when the call as a whole succeeded). An `Err`
/// from the exchange means the call failed as a whole and none is known to be applied.
pub fn ship_batch(
    api: &Api<FutureshopCredentials>,
    updates: &[&FutureshopUpdate],
) -> impl Exchange<Output = Vec<Result<(), CartError>>> {
    let order_nos: Vec<String> = updates.iter().map(|u| u.order_id().to_string()).collect();
    exchange::single(
        build_shipping_status(api, updates),
        move |response: Response| {
            let reported = parse_write_result(&response)?;
            Ok(order_nos
                .iter()
                .map(|no| result_for(&reported, no))
                .collect())
        },
    )
}

/// `GET /admin-api/v1/orders/{orderNo}`: the order's 処理状況区分 and shipments.
pub fn build_order_detail(
    api: &Api<FutureshopCredentials>,
    order_no: &str,
) -> Result<Request, CartError> {
    let path = format!("{ORDER_DETAIL_PATH}/{}", wire::path_segment(order_no));
    wire::empty(authorized(
        api,
        Method::GET,
        &wire::url(&api.base_url, &path, &[]),
    )?)
}

/// What 処理済 needs of the order detail.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderState {
    #[serde(default)]
    pub order_no: Option<String>,
    /// 処理状況区分: `AWAITING_PAYMENT`, `CANCELLED`, `COMPLETED`, …
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub shipment_list: Vec<ShipmentState>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentState {
    #[serde(default)]
    pub shipment_no: Option<u32>,
    /// 発送済み.
    #[serde(default)]
    pub shipped: Option<bool>,
}

pub fn parse_order_state(response: &Response) -> Result<OrderState, CartError> {
    wire::parse_json(response, "futureshop order detail")
}

/// What the 処理済 step does with the order as futureshop shows it: nothing when it is 処理済
/// already; a refusal (in Japanese and English) when it is cancelled, or when a shipment is not
/// 発送済み yet (its shipping data is not in: completing would hide an unshipped order); else
/// complete it.
pub fn complete_step(order_no: &str, state: &OrderState) -> Result<bool, CartError> {
    match state.status.as_deref() {
        Some(STATUS_COMPLETED) => return Ok(false),
        Some(STATUS_CANCELLED) => {
            return Err(CartError::Rejected {
                status: 200,
                code: Some("order_cancelled".into()),
                message: format!(
                    "futureshopで注文{order_no}は注文取消(キャンセル)のため、処理済にしません / futureshop shows order {order_no} as cancelled: it is not set to 処理済 (completed)"
                ),
            })
        }
        _ => {}
    }
    let unshipped: Vec<String> = state
        .shipment_list
        .iter()
        .filter(|s| s.shipped != Some(true))
        .map(|s| s.shipment_no.map_or_else(|| "?".into(), |n| n.to_string()))
        .collect();
    if !unshipped.is_empty() {
        let list = unshipped.join(", ");
        return Err(CartError::Rejected {
            status: 200,
            code: Some("not_shipped".into()),
            message: format!(
                "futureshopで注文{order_no}のお届け先{list}が発送済みでないため、処理済にしません(発送データの送信後に再試行します) / futureshop order {order_no} has shipments not yet shipped ({list}): it is set to 処理済 only after its shipping data is in"
            ),
        });
    }
    Ok(true)
}

/// The 処理済 step of one order: read it, then `POST /order/complete` unless it is done already
/// or must not be done ([`complete_step`]).
pub fn complete_order(
    api: &Api<FutureshopCredentials>,
    order_no: &str,
) -> impl Exchange<Output = ()> {
    let api = api.clone();
    let order_no = order_no.to_string();
    let read = exchange::single(build_order_detail(&api, &order_no), |response: Response| {
        parse_order_state(&response)
    });
    exchange::then(read, move |state: OrderState| {
        if !complete_step(&order_no, &state)? {
            return Ok(Either::Right(exchange::ready(())));
        }
        let no = order_no.clone();
        Ok(Either::Left(exchange::single(
            build_order_complete(&api, &[order_no.as_str()]),
            move |response: Response| result_for(&parse_write_result(&response)?, &no),
        )))
    })
}

/// What futureshop reported for one order; not reported means accepted.
fn result_for(reported: &[OrderOutcome], order_no: &str) -> Result<(), CartError> {
    reported
        .iter()
        .find(|o| o.order_no == order_no)
        .map_or(Ok(()), |o| o.result.clone())
}

fn rejectable(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 429)
}

fn whole_call_rejected(status: u16, r: &WriteResultJson) -> CartError {
    let first = r.errors.first();
    CartError::Rejected {
        status,
        code: first.and_then(|e| e.code.clone()).filter(|c| !c.is_empty()),
        message: r
            .errors
            .iter()
            .map(|e| futureshop_words(e.code.as_deref(), e.path.as_deref(), e.message.as_deref()))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// "futureshop TooMany at orderList: 一度に指定できる受注は100件までです".
fn futureshop_words(code: Option<&str>, path: Option<&str>, message: Option<&str>) -> String {
    let mut out = String::from("futureshop");
    if let Some(code) = code.filter(|c| !c.is_empty()) {
        out.push(' ');
        out.push_str(code);
    }
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        out.push_str(" at ");
        out.push_str(path);
    }
    if let Some(message) = message.filter(|m| !m.is_empty()) {
        out.push_str(": ");
        out.push_str(message);
    }
    out
}
