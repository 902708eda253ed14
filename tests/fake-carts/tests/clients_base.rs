//! The BASE client against the fake: OAuth code exchange and refresh rotation, list then detail
//! paging, the one-way dispatch with its e-mail, and error classes.

mod common;

use common::{cart_send, drive, import_query, with_token};
use mallsync_carts::base::{build_code_exchange, Base};
use mallsync_carts::{AccessToken, Api, CartError, Connector};
use mallsync_fake_carts::base::{FakeBase, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};
use mallsync_fake_carts::{Fault, OrderSeed, RateLimit, Reply};
use mallsync_rules::base::{BaseCredentials, BaseDispatch};
use mallsync_rules::{Carrier, Secret, TrackingNumber};

fn api(base: &FakeBase) -> Api<BaseCredentials> {
    Base::api(
        BaseCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            redirect_uri: REDIRECT_URI.into(),
        },
        None,
    )
    .with_base_url(base.api_base_url())
}

/// The store after the shop owner consented: the code exchanged for tokens by the client.
fn connected(base: &FakeBase) -> Api<BaseCredentials> {
    let mut api = api(base);
    let response =
        cart_send(build_code_exchange(&api, &base.authorization_code()).unwrap()).unwrap();
    api.access_token = Some(Base::parse_token(response, chrono::Utc::now()).unwrap());
    api
}

fn shop(orders: usize) -> FakeBase {
    let base = FakeBase::start();
    for n in 0..orders {
        base.seed_order(
            &OrderSeed::new(
                &format!("KEY{n:04}"),
                &format!("2026-11-10T{:02}:{:02}:00+09:00", n / 60, n % 60),
            )
            .item(&format!("{}", 40_000 + 2 * n), "Tシャツ", 1, 1500)
            .item(&format!("{}", 40_001 + 2 * n), "靴下", 2, 500),
        );
    }
    base
}

fn dispatch(order: &str, item: &str, carrier: Option<Carrier>) -> BaseDispatch {
    BaseDispatch {
        order_id: order.into(),
        order_item_id: item.into(),
        tracking_number: TrackingNumber::parse("123456789012").unwrap(),
        carrier,
        ship_date: "2026-11-20".parse().unwrap(),
    }
}

#[test]
fn an_import_lists_every_page_then_fetches_each_order() {
    let base = shop(130);
    let api = connected(&base);
    let query = import_query("2026-11-10T00:00:00+09:00", "2026-11-11T00:00:00+09:00");
    let orders = drive(Base::list_orders(&api, &query)).unwrap();
    assert_eq!(orders.len(), 130);
    assert!(orders
        .iter()
        .any(|o| o.order_id == "KEY0000" && o.items.len() == 2));
    let pages = base.calls_to("GET", "/1/orders");
    assert_eq!(pages.len(), 2);
    assert_eq!(
        pages[0].query_param("end_ordered"),
        Some("2026-11-10 23:59:59")
    );
    assert_eq!(pages[1].query_param("offset"), Some("100"));
    let details = base
        .calls()
        .iter()
        .filter(|c| c.path.starts_with("/1/orders/detail/"))
        .count();
    assert_eq!(details, 130);
}

#[test]
fn a_dispatch_sends_carrier_and_tracking_once_and_a_repeat_sends_nothing() {
    let base = shop(1);
    let api = connected(&base);
    let update = dispatch("KEY0000", "40000", Some(Carrier::Yamato));
    drive(Base::write_back(&api, &Default::default(), &update)).unwrap();
    assert_eq!(
        base.item_status("KEY0000", "40000").as_deref(),
        Some("dispatched")
    );
    let email = &base.dispatch_emails()[0];
    assert_eq!(
        (email.delivery_company_id, email.tracking_number.as_deref()),
        (Some(1), Some("123456789012"))
    );
    let edit = &base.calls_to("POST", "/1/orders/edit_status")[0];
    assert_eq!(
        edit.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(edit.form_param("status").as_deref(), Some("dispatched"));

    drive(Base::write_back(&api, &Default::default(), &update)).unwrap();
    assert_eq!(base.dispatch_emails_sent(), 1);
    assert_eq!(base.calls_to("POST", "/1/orders/edit_status").len(), 1);
}

#[test]
fn a_retry_after_a_lost_response_does_not_email_the_buyer_twice() {
    let base = shop(1);
    let api = connected(&base);
    base.faults().on(
        "POST",
        "/1/orders/edit_status",
        1,
        Fault::StatusAfterApplying(503),
    );
    let update = dispatch("KEY0000", "40000", None);
    let e = drive(Base::write_back(&api, &Default::default(), &update)).unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    drive(Base::write_back(&api, &Default::default(), &update)).unwrap();
    assert_eq!(base.dispatch_emails_sent(), 1);
}

#[test]
fn an_expiring_token_is_refreshed_and_the_old_refresh_token_is_then_refused() {
    let base = shop(1);
    let mut api = connected(&base);
    let old = api.access_token.clone().unwrap();
    // Within the 5-minute margin: the client refreshes before calling.
    api.access_token = Some(AccessToken {
        expires_at: Some(chrono::Utc::now() + chrono::Duration::seconds(60)),
        ..old.clone()
    });
    let refreshed = with_token::<Base>(api.clone()).unwrap();
    let new = refreshed.access_token.clone().unwrap();
    assert_ne!(new.refresh_token, old.refresh_token);
    drive(Base::connection_test(&refreshed)).unwrap();
    let e = with_token::<Base>(api).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn the_hourly_limit_is_retryable() {
    let base = shop(1);
    let api = connected(&base);
    base.set_rate_limit(Some(RateLimit::ClockAligned {
        per_hour: 0,
        per_day: 100_000,
    }));
    let e = drive(Base::connection_test(&api)).unwrap_err();
    assert!(matches!(e, CartError::RateLimited { .. }), "{e:?}");
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn the_daily_limit_is_retryable_too() {
    let base = shop(1);
    let api = connected(&base);
    let day_limit = serde_json::json!({"error": "day_api_limit", "error_description": "1日のAPIの利用上限を超えました。"});
    base.faults()
        .next(1, Fault::Answer(Reply::json(400, &day_limit)));
    let e = drive(Base::connection_test(&api)).unwrap_err();
    assert!(matches!(e, CartError::RateLimited { .. }), "{e:?}");
}

#[test]
fn a_cancelled_item_is_refused_without_calling_edit_status() {
    let base = FakeBase::start();
    base.seed_order(
        &OrderSeed::new("C1", "2026-11-10T10:00:00+09:00")
            .status("cancelled")
            .item("7", "帽子", 1, 900),
    );
    let api = connected(&base);
    let e = drive(Base::write_back(
        &api,
        &Default::default(),
        &dispatch("C1", "7", None),
    ))
    .unwrap_err();
    assert!(matches!(e, CartError::Rejected { .. }), "{e:?}");
    assert!(base.calls_to("POST", "/1/orders/edit_status").is_empty());
}

#[test]
fn an_expired_access_token_is_a_credentials_error() {
    let base = shop(1);
    let api = connected(&base);
    base.expire_access_tokens();
    let e = drive(Base::connection_test(&api)).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
}

#[test]
fn a_tracking_number_with_hyphens_is_accepted_after_the_client_strips_them() {
    let base = shop(1);
    let api = connected(&base);
    let mut update = dispatch("KEY0000", "40000", None);
    update.tracking_number = TrackingNumber::parse("1234-5678-9012").unwrap();
    drive(Base::write_back(&api, &Default::default(), &update)).unwrap();
    assert_eq!(
        base.dispatch_emails()[0].tracking_number.as_deref(),
        Some("123456789012")
    );
}

#[test]
fn a_run_reads_the_delivery_companies_once_for_all_its_items() {
    let base = shop(3);
    let api = connected(&base);
    let lookups = drive(Base::run_lookups(&api)).unwrap();
    for n in 0..3 {
        for item in [40_000 + 2 * n, 40_001 + 2 * n] {
            let update = dispatch(
                &format!("KEY{n:04}"),
                &item.to_string(),
                Some(Carrier::Sagawa),
            );
            drive(Base::write_back(&api, &lookups, &update)).unwrap();
        }
    }
    assert_eq!(base.calls_to("GET", "/1/delivery_companies").len(), 1);
    assert_eq!(base.dispatch_emails_sent(), 6);
    assert!(base
        .dispatch_emails()
        .iter()
        .all(|e| e.delivery_company_id == Some(2)));
    assert!(base.violations().is_empty(), "{:?}", base.violations());
}
