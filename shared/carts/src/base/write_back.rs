//! BASE write-back: per order item, `POST /orders/edit_status` with `status=dispatched` (or
//! `atobarai_status=shipping`), the tracking number and the carrier's BASE id.

use http::Method;
use mallsync_rules::base::{BaseCredentials, BaseDispatch};
use mallsync_rules::Carrier;
use serde::Deserialize;

use super::auth::authorization;
use super::check;
use super::orders::{
    build_order_detail, parse_order_detail, OrderDetail, ITEM_CANCELLED, ITEM_DISPATCHED,
};
use crate::exchange::{self, Either};
use crate::values::{id, opt_text};
use crate::{wire, Api, CartError, Exchange, Request, Response};

pub const EDIT_STATUS_PATH: &str = "/orders/edit_status";
pub const DELIVERY_COMPANIES_PATH: &str = "/delivery_companies";
const STATUS_DISPATCHED: &str = "dispatched";
/// 後払い orders are not dispatched but set to `atobarai_status=shipping`; BASE dispatches them
/// itself once the parcel arrives.
const PAYMENT_ATOBARAI: &str = "atobarai";
const ATOBARAI_SHIPPING: &str = "shipping";
/// Order `dispatch_status` values meaning the order has left the shop.
const ORDER_SHIPPING: &str = "shipping";
const ORDER_DISPATCHED: &str = "dispatched";

/// How BASE is told an item has shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// `status=dispatched` (one-way; BASE e-mails the buyer).
    Dispatched,
    /// `atobarai_status=shipping` for 後払い orders; BASE requires the carrier and tracking number.
    AtobaraiShipping,
}

/// The whole write-back of one item: read the order, then, unless the item has shipped already,
/// find the carrier's BASE id (in `known` companies when the caller has them from an earlier item
/// of the same run, else by `GET /delivery_companies`) and dispatch. The output is the company list
/// used, for the next item of the run.
pub fn dispatch_reusing(
    api: Api<BaseCredentials>,
    update: BaseDispatch,
    known: Option<Vec<DeliveryCompany>>,
) -> impl Exchange<Output = Option<Vec<DeliveryCompany>>> {
    let detail = exchange::single(
        build_order_detail(&api, &update.order_id),
        |response: Response| parse_order_detail(&response),
    );
    exchange::then(detail, move |detail: OrderDetail| {
        Ok(match next_step(&detail, &update)? {
            None => Either::Left(exchange::ready(known)),
            Some(how) => Either::Right(look_up_carrier_and_dispatch(api, update, how, known)),
        })
    })
}

/// What the item needs: nothing when it has shipped already with this tracking number, else how
/// to dispatch it. An error when it is cancelled, not in the order, a 後払い order without a
/// carrier, or shipped already with another tracking number (by hand in BASE: BASE cannot change
/// it, and the operator should know rather than see the update recorded as accepted).
fn next_step(detail: &OrderDetail, update: &BaseDispatch) -> Result<Option<Dispatch>, CartError> {
    let refuse = |code: &str, message: String| CartError::Rejected {
        status: 200,
        code: Some(code.into()),
        message,
    };
    let item = detail.item(&update.order_item_id).ok_or_else(|| {
        refuse(
            "no_order_item",
            format!(
                "BASE order {} has no item {}",
                update.order_id, update.order_item_id
            ),
        )
    })?;
    let shipped_already = || {
        let held = detail.tracking_number.as_deref().map(base_tracking_number);
        let ours = base_tracking_number(update.tracking_number.as_str());
        if held.as_deref() == Some(ours.as_str()) {
            Ok(None)
        } else {
            Err(refuse(
                "dispatched_with_other_tracking",
                format!(
                    "BASE order {} was dispatched already with tracking number {}: BASE cannot change it to {}",
                    update.order_id,
                    held.as_deref().unwrap_or("(none)"),
                    ours
                ),
            ))
        }
    };
    match item.status.as_deref() {
        Some(ITEM_DISPATCHED) => return shipped_already(),
        Some(ITEM_CANCELLED) => {
            return Err(refuse(
                "item_cancelled",
                format!(
                    "item {} of BASE order {} is cancelled in BASE: it cannot be dispatched",
                    update.order_item_id, update.order_id
                ),
            ))
        }
        _ => {}
    }
    if detail.payment.as_deref() != Some(PAYMENT_ATOBARAI) {
        return Ok(Some(Dispatch::Dispatched));
    }
    // One atobarai call updates the whole order, which then shows `shipping`.
    if matches!(
        detail.dispatch_status.as_deref(),
        Some(ORDER_SHIPPING | ORDER_DISPATCHED)
    ) {
        return shipped_already();
    }
    if update.carrier.is_none() {
        return Err(refuse(
            "carrier_required",
            format!(
                "BASE order {} is 後払い (atobarai): BASE requires the carrier with the tracking number",
                update.order_id
            ),
        ));
    }
    Ok(Some(Dispatch::AtobaraiShipping))
}

fn look_up_carrier_and_dispatch(
    api: Api<BaseCredentials>,
    update: BaseDispatch,
    how: Dispatch,
    known: Option<Vec<DeliveryCompany>>,
) -> impl Exchange<Output = Option<Vec<DeliveryCompany>>> {
    let companies = match (&update.carrier, known) {
        (None, known) => Either::Left(exchange::ready(known)),
        (Some(_), Some(known)) => Either::Left(exchange::ready(Some(known))),
        (Some(_), None) => Either::Right(exchange::single(
            build_delivery_companies(&api),
            |response: Response| parse_delivery_companies(&response).map(Some),
        )),
    };
    exchange::then(companies, move |companies: Option<Vec<DeliveryCompany>>| {
        let company_id = match (&update.carrier, &companies) {
            (Some(carrier), Some(list)) => {
                Some(company_for(list, carrier)?.delivery_company_id.clone())
            }
            _ => None,
        };
        let edit = exchange::single(
            build_edit_status(&api, &update, company_id.as_deref(), how),
            |response: Response| check(&response),
        );
        Ok(exchange::map(edit, move |()| companies.clone()))
    })
}

/// `POST /orders/edit_status`, form-encoded. No `add_comment`: BASE appends it to the buyer's
/// 発送メール and mallsync has nothing to add. BASE has no ship-date field; the planner sends only
/// items whose ship date has come.
pub fn build_edit_status(
    api: &Api<BaseCredentials>,
    update: &BaseDispatch,
    delivery_company_id: Option<&str>,
    how: Dispatch,
) -> Result<Request, CartError> {
    let mut fields = vec![
        ("unique_key", update.order_id.as_str()),
        ("order_item_id", update.order_item_id.as_str()),
    ];
    fields.push(match how {
        Dispatch::Dispatched => ("status", STATUS_DISPATCHED),
        Dispatch::AtobaraiShipping => ("atobarai_status", ATOBARAI_SHIPPING),
    });
    if let Some(id) = delivery_company_id {
        fields.push(("delivery_company_id", id));
    }
    let tracking = base_tracking_number(update.tracking_number.as_str());
    fields.push(("tracking_number", &tracking));
    let url = wire::url(&api.base_url, EDIT_STATUS_PATH, &[]);
    wire::form(
        wire::builder(Method::POST, &url, Some(&authorization(api)?)),
        &fields,
    )
}

/// BASE takes 半角英数 only: the hyphens shops write in tracking numbers are left out.
fn base_tracking_number(tracking: &str) -> String {
    tracking
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// `GET /delivery_companies` (no scope needed).
pub fn build_delivery_companies(api: &Api<BaseCredentials>) -> Result<Request, CartError> {
    let url = wire::url(&api.base_url, DELIVERY_COMPANIES_PATH, &[]);
    wire::empty(wire::builder(Method::GET, &url, Some(&authorization(api)?)))
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeliveryCompany {
    #[serde(deserialize_with = "id")]
    pub delivery_company_id: String,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct DeliveryCompanies {
    delivery_companies: Vec<DeliveryCompany>,
}

pub fn parse_delivery_companies(response: &Response) -> Result<Vec<DeliveryCompany>, CartError> {
    check(response)?;
    let body: DeliveryCompanies = wire::json_body(response.body(), "BASE delivery companies")?;
    Ok(body.delivery_companies)
}

/// The names a carrier goes by in BASE's list, best first (the published example has
/// クロネコヤマト, 佐川急便, 日本通運; the real list is fetched every time).
fn names_of(carrier: &Carrier) -> Vec<&str> {
    let mut names = vec![carrier.japanese_name()];
    names.extend_from_slice(match carrier {
        Carrier::Yamato => &["クロネコヤマト", "ヤマト"],
        Carrier::Sagawa => &["佐川"],
        Carrier::JapanPost => &["ゆうパック", "郵便"],
        Carrier::Seino => &["西濃"],
        Carrier::Fukuyama => &["福山"],
        Carrier::Other(_) => &[],
    });
    names
}

/// The BASE company for a carrier: an exact name first, then a name containing one of the
/// carrier's names. None found is a rejection naming what BASE offers, so the operator can fix
/// the carrier before anything is dispatched (dispatch cannot be edited afterwards).
pub fn company_for<'a>(
    companies: &'a [DeliveryCompany],
    carrier: &Carrier,
) -> Result<&'a DeliveryCompany, CartError> {
    let names = names_of(carrier);
    let name_of = |c: &'a DeliveryCompany| c.name.as_deref().unwrap_or_default();
    names
        .iter()
        .find_map(|n| companies.iter().find(|c| name_of(c) == *n))
        .or_else(|| {
            names
                .iter()
                .find_map(|n| companies.iter().find(|c| name_of(c).contains(n)))
        })
        .ok_or_else(|| CartError::Rejected {
            status: 200,
            code: Some("unknown_carrier".into()),
            message: format!(
                "BASE has no delivery company for {}: BASE offers {}",
                carrier.japanese_name(),
                companies.iter().map(name_of).collect::<Vec<_>>().join(", ")
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn companies(names: &[(&str, &str)]) -> Vec<DeliveryCompany> {
        names
            .iter()
            .map(|(id, name)| DeliveryCompany {
                delivery_company_id: id.to_string(),
                name: Some(name.to_string()),
            })
            .collect()
    }

    #[test]
    fn tracking_numbers_lose_their_hyphens_for_base() {
        assert_eq!(base_tracking_number("1234-5678-9012"), "123456789012");
        assert_eq!(base_tracking_number("AB12cd"), "AB12cd");
    }

    #[test]
    fn carriers_are_found_by_the_names_base_uses() {
        let list = companies(&[
            ("1", "クロネコヤマト"),
            ("2", "佐川急便"),
            ("4", "日本郵便（ゆうパック）"),
        ]);
        assert_eq!(
            company_for(&list, &Carrier::Yamato)
                .unwrap()
                .delivery_company_id,
            "1"
        );
        assert_eq!(
            company_for(&list, &Carrier::Sagawa)
                .unwrap()
                .delivery_company_id,
            "2"
        );
        assert_eq!(
            company_for(&list, &Carrier::JapanPost)
                .unwrap()
                .delivery_company_id,
            "4"
        );
    }

    #[test]
    fn an_exact_name_wins_over_a_partial_one() {
        let list = companies(&[("7", "ヤマト運輸（ネコポス）"), ("1", "ヤマト運輸")]);
        assert_eq!(
            company_for(&list, &Carrier::Yamato)
                .unwrap()
                .delivery_company_id,
            "1"
        );
    }

    #[test]
    fn an_unknown_carrier_is_refused_listing_what_base_offers() {
        let list = companies(&[("1", "クロネコヤマト")]);
        let e = company_for(&list, &Carrier::Other("エコ配".into())).unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("クロネコヤマト"), "{e}");
    }
}
