//! No status or body makes a parse function of Bカート, BASE, CS-Cart or futureshop's 処理済 read
//! panic (the conformance
//! suite drives whole operations; this reaches every parser directly, however deep it sits).

use chrono::{TimeZone, Utc};
use mallsync_carts::{base, bcart, cscart, futureshop, Connector, Response};
use mallsync_rules::OmsStatus;
use proptest::prelude::*;

fn response(status: u16, body: Vec<u8>, date: Option<String>) -> Response {
    let mut b = http::Response::builder().status(status);
    if let Some(d) = date {
        b = b.header("Date", d).header("Retry-After", "x");
    }
    b.body(body).unwrap()
}

/// Arbitrary bytes, or JSON-ish text built from the field names the parsers look for.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        Just("\"orders\"".to_string()),
        Just("\"order\"".to_string()),
        Just("\"id\"".to_string()),
        Just("\"order_id\"".to_string()),
        Just("\"unique_key\"".to_string()),
        Just("\"ordered_at\"".to_string()),
        Just("\"timestamp\"".to_string()),
        Just("\"ordered\"".to_string()),
        Just("\"products\"".to_string()),
        Just("\"order_items\"".to_string()),
        Just("\"logistics\"".to_string()),
        Just("\"shipping\"".to_string()),
        Just("\"product_groups\"".to_string()),
        Just("\"chosen_shippings\"".to_string()),
        Just("\"shipping_id\"".to_string()),
        Just("\"group_key\"".to_string()),
        Just("\"extra\"".to_string()),
        Just("\"status\"".to_string()),
        Just("\"shipmentList\"".to_string()),
        Just("\"shipped\"".to_string()),
        Just("\"delivery_companies\"".to_string()),
        Just("\"access_token\"".to_string()),
        Just("\"expires_in\"".to_string()),
        Just("\"error\"".to_string()),
        Just("\"meta\"".to_string()),
        Just("\"params\"".to_string()),
        Just("\"2026-11-20 10:00:00\"".to_string()),
        Just("\"1795306500\"".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(word, 0..40).prop_map(|w| w.concat().into_bytes()),
    ]
}

fn answer() -> impl Strategy<Value = (u16, Vec<u8>, Option<String>)> {
    (
        prop_oneof![Just(200u16), Just(400), 100u16..600],
        body(),
        proptest::option::of("[A-Za-z0-9 ,:]{0,32}"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_answer_makes_a_parser_panic((status, body, date) in answer()) {
        let r = || response(status, body.clone(), date.clone());
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        if let Ok(page) = bcart::parse_orders_page(&r()) {
            let _ = page.into_orders(&OmsStatus::New);
        }
        let _ = bcart::parse_logistics_patch(&r());
        let _ = base::parse_orders_page(&r());
        if let Ok(detail) = base::parse_order_detail(&r()) {
            let _ = detail.into_order(&OmsStatus::New);
        }
        let _ = base::parse_delivery_companies(&r());
        let _ = base::Base::parse_token(r(), now);
        let _ = base::check(&r());
        let _ = cscart::parse_orders_page(&r());
        if let Ok(detail) = cscart::parse_order_detail(&r()) {
            let _ = detail.products_of_group("1");
            let _ = detail.into_order(&OmsStatus::New);
        }
        if let Ok(state) = futureshop::write_back::parse_order_state(&r()) {
            let _ = futureshop::write_back::complete_step("1", &state);
        }
        let _ = cscart::parse_create_shipment(&r());
        let _ = cscart::parse_shipments(&r());
    }
}
