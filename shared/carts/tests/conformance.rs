//! One conformance suite for every cart client (STYLE.md 9): the same checks run against each
//! `Connector`. A cart skips a check only through its declared `Connector::CAPABILITIES`.
//!
//! To add a cart: implement `Sample` for it (credentials, one update, and its 2xx answers taken
//! from tests/fixtures/<cart>/), then add one line to the `conformance!` list at the bottom.

mod support;

use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mallsync_carts::base::Base;
use mallsync_carts::bcart::Bcart;
use mallsync_carts::cscart::Cscart;
use mallsync_carts::futureshop::Futureshop;
use mallsync_carts::shopserve::Shopserve;
use mallsync_carts::{
    AccessToken, Api, AuthScheme, CartError, Connector, Exchange, ImportQuery, Request, Response,
    Step,
};
use mallsync_rules::{Carrier, Item, OmsStatus, Secret, TrackingNumber};
use proptest::prelude::*;
use support::{fixture, response};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn tracking() -> TrackingNumber {
    TrackingNumber::parse("1234-5678-9012").unwrap()
}

fn ship_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// A live access token, for the carts that issue them.
fn live_token() -> AccessToken {
    AccessToken {
        token: Secret::new("access-token-1"),
        expires_at: Some(now() + Duration::hours(1)),
        refresh_token: Some(Secret::new("refresh-token-1")),
        refresh_expires_at: Some(now() + Duration::days(20)),
    }
}

/// What the suite needs from each cart: a store, an update, and the cart's 2xx answers.
trait Sample: Connector + Sized {
    /// tests/fixtures/<DIR>/
    const DIR: &'static str;
    fn credentials() -> Self::Credentials;
    fn update() -> Self::Update;
    /// The `Authorization` every data call must carry for `credentials()` (and the live token).
    fn authorization() -> String;
    /// The cart's 2xx answer to one request, from its fixtures.
    fn answer(request: &Request) -> Response;

    fn store() -> Api<Self::Credentials> {
        let token = Self::CAPABILITIES.issues_tokens.then(live_token);
        <Self as Connector>::api(Self::credentials(), token)
    }

    /// One day: short enough for every cart's window rules (ショップサーブ answers a week at most).
    fn query() -> ImportQuery {
        ImportQuery {
            from: now() - Duration::days(1),
            to: now(),
            cart_statuses: Vec::new(),
            option_price: false,
            target_status: OmsStatus::New,
        }
    }
}

fn ok(cart: &str, status: u16, name: &str) -> Response {
    response(status, fixture(cart, name))
}

fn not_found(request: &Request) -> Response {
    panic!(
        "the sample cart has no answer for {} {}",
        request.method(),
        request.uri()
    )
}

impl Sample for Bcart {
    const DIR: &'static str = "bcart";
    fn credentials() -> Self::Credentials {
        mallsync_rules::bcart::BcartCredentials {
            access_token: Secret::new("pat-1"),
        }
    }
    fn update() -> Self::Update {
        mallsync_rules::bcart::BcartUpdate {
            order_id: "1024".into(),
            logistics_id: "7001".into(),
            status: mallsync_rules::bcart::LogisticsStatus::Shipped,
            tracking_number: tracking(),
            ship_date: Some(ship_date()),
        }
    }
    fn authorization() -> String {
        "Bearer pat-1".into()
    }
    fn answer(request: &Request) -> Response {
        let path = request.uri().path();
        let query = request.uri().query().unwrap_or_default();
        match (request.method().as_str(), path) {
            ("GET", "/api/v1/orders") if query.contains("offset=2") => {
                ok("bcart", 200, "orders_200_last_page.json")
            }
            ("GET", "/api/v1/orders") => ok("bcart", 200, "orders_200.json"),
            ("PATCH", p) if p.starts_with("/api/v1/logistics/") => {
                ok("bcart", 200, "logistics_patch_200.json")
            }
            _ => not_found(request),
        }
    }
}

impl Sample for Base {
    const DIR: &'static str = "base";
    fn credentials() -> Self::Credentials {
        mallsync_rules::base::BaseCredentials {
            client_id: "cid".into(),
            client_secret: Secret::new("csecret"),
            redirect_uri: "https://mallsync.example.jp/oauth/base/callback".into(),
        }
    }
    fn update() -> Self::Update {
        mallsync_rules::base::BaseDispatch {
            order_id: "8A2C3E1F0B9D4C7A".into(),
            order_item_id: "41001".into(),
            tracking_number: tracking(),
            carrier: Some(Carrier::Yamato),
            ship_date: ship_date(),
        }
    }
    fn authorization() -> String {
        "Bearer access-token-1".into()
    }
    fn answer(request: &Request) -> Response {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/1/orders") => ok("base", 200, "orders_200.json"),
            ("GET", "/1/orders/detail/1F3D5B7A9C0E2B4D") => {
                ok("base", 200, "orders_detail_200_dispatched.json")
            }
            ("GET", p) if p.starts_with("/1/orders/detail/") => {
                ok("base", 200, "orders_detail_200.json")
            }
            ("GET", "/1/delivery_companies") => ok("base", 200, "delivery_companies_200.json"),
            ("POST", "/1/orders/edit_status") => ok("base", 200, "edit_status_200.json"),
            ("POST", "/1/oauth/token") => ok("base", 200, "token_200.json"),
            _ => not_found(request),
        }
    }
}

impl Sample for Cscart {
    const DIR: &'static str = "cscart";
    fn credentials() -> Self::Credentials {
        mallsync_rules::cscart::CscartCredentials {
            store_url: "https://shop.example.jp/".into(),
            admin_email: "admin@example.jp".into(),
            api_key: Secret::new("key"),
        }
    }
    fn update() -> Self::Update {
        mallsync_rules::cscart::CscartShipment {
            order_id: "105".into(),
            shipping_id: None,
            tracking_number: tracking(),
            carrier: Some(Carrier::Sagawa),
            ship_date: ship_date(),
            items: vec![Item {
                item_id: "3127414766".into(),
                quantity: 2,
            }],
            notify: Default::default(),
        }
    }
    fn authorization() -> String {
        let raw = base64::engine::general_purpose::STANDARD.encode("admin@example.jp:key");
        format!("Basic {raw}")
    }
    fn answer(request: &Request) -> Response {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/api/orders") => ok("cscart", 200, "orders_200.json"),
            ("GET", "/api/orders/106") => ok("cscart", 200, "orders_detail_200_two_groups.json"),
            ("GET", p) if p.starts_with("/api/orders/") => {
                ok("cscart", 200, "orders_detail_200.json")
            }
            ("POST", "/api/shipments") => ok("cscart", 201, "shipments_201.json"),
            ("PUT", p) if p.starts_with("/api/orders/") => ok("cscart", 200, "orders_put_200.json"),
            _ => not_found(request),
        }
    }
}

impl Sample for Shopserve {
    const DIR: &'static str = "shopserve";
    fn credentials() -> Self::Credentials {
        mallsync_rules::shopserve::ShopserveCredentials {
            shop_id: "shop1".into(),
            manager_key: Secret::new("mkey"),
        }
    }
    fn update() -> Self::Update {
        mallsync_rules::shopserve::ShopserveUpdate {
            order_id: "1001".into(),
            mark_shipped: true,
            carrier: Some(Carrier::Yamato),
            tracking_number: Some(tracking()),
            scheduled_ship_date: Some(ship_date()),
        }
    }
    fn authorization() -> String {
        let raw = base64::engine::general_purpose::STANDARD.encode("shop1:mkey");
        format!("Basic {raw}")
    }
    fn answer(request: &Request) -> Response {
        match (request.method().as_str(), request.uri().path()) {
            ("POST", "/v2/orders/_search") => {
                ok("shopserve", 200, "order_search_200_last_page.json")
            }
            ("PUT", p) if p.starts_with("/v2/orders/") && p.ends_with("/shipping") => {
                ok("shopserve", 200, "order_update_200.json")
            }
            _ => not_found(request),
        }
    }
}

impl Sample for Futureshop {
    const DIR: &'static str = "futureshop";
    fn credentials() -> Self::Credentials {
        mallsync_rules::futureshop::FutureshopCredentials {
            shop_key: "shop-key-1".into(),
            client_id: "client".into(),
            client_secret: Secret::new("secret"),
            api_base_url: "https://api.shop.example.jp".into(),
        }
    }
    fn update() -> Self::Update {
        mallsync_rules::futureshop::FutureshopUpdate::Ship {
            order_id: "100000020732".into(),
            shipments: vec![mallsync_rules::futureshop::FutureshopShipment {
                shipment_no: 1,
                ship_date: ship_date(),
                tracking_number: Some(tracking()),
                expected_arrival: None,
            }],
        }
    }
    fn authorization() -> String {
        "Bearer access-token-1".into()
    }
    fn answer(request: &Request) -> Response {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/admin-api/v1/shipping") => {
                ok("futureshop", 200, "shipping_search_200_last_page.json")
            }
            ("POST", "/admin-api/v1/shipping/status") => {
                ok("futureshop", 200, "shipping_status_200.json")
            }
            ("POST", "/admin-api/v1/order/complete") => {
                ok("futureshop", 200, "order_complete_200.json")
            }
            ("GET", p) if p.starts_with("/admin-api/v1/orders/") => {
                ok("futureshop", 200, "order_detail_200_shipped.json")
            }
            ("POST", "/oauth/token") => ok("futureshop", 200, "token_200.json"),
            _ => not_found(request),
        }
    }
}

/// Which operation of a cart a check drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    ConnectionTest,
    ListOrders,
    /// A write-back run's lookups (BASE: delivery companies); sends nothing for the other carts.
    RunLookups,
    WriteBack,
    /// One batch of the sample update; sends nothing for carts without batches (MAX_BATCH 1).
    WriteBackBatch,
}

const OPERATIONS: [Operation; 5] = [
    Operation::ConnectionTest,
    Operation::ListOrders,
    Operation::RunLookups,
    Operation::WriteBack,
    Operation::WriteBackBatch,
];

/// Operations that may rightly send nothing for some carts.
fn may_send_nothing(operation: Operation) -> bool {
    matches!(operation, Operation::RunLookups | Operation::WriteBackBatch)
}

/// Drives one operation, answering each request with `answer`; returns the outcome (its output
/// dropped) and every request sent.
fn drive_operation<C: Sample>(
    operation: Operation,
    mut answer: impl FnMut(&Request) -> Option<Response>,
) -> (Result<(), CartError>, Vec<Request>) {
    let api = C::store();
    let update = C::update();
    let query = C::query();
    let mut sent = Vec::new();
    let outcome = match operation {
        Operation::ConnectionTest => run(C::connection_test(&api), &mut answer, &mut sent),
        Operation::ListOrders => run(C::list_orders(&api, &query), &mut answer, &mut sent),
        Operation::RunLookups => run(C::run_lookups(&api), &mut answer, &mut sent),
        Operation::WriteBack => run(
            C::write_back(&api, &Default::default(), &update),
            &mut answer,
            &mut sent,
        ),
        Operation::WriteBackBatch if C::MAX_BATCH > 1 && C::batches(&update) => {
            let mut results = Vec::new();
            let outcome = run_keeping(
                C::write_back_batch(&api, &Default::default(), &[&update]),
                &mut answer,
                &mut sent,
                &mut results,
            );
            outcome.and_then(|()| results.into_iter().flatten().collect())
        }
        Operation::WriteBackBatch => Ok(()),
    };
    (outcome, sent)
}

/// [`run`], keeping the exchange's output.
fn run_keeping<E: Exchange>(
    mut exchange: E,
    answer: &mut impl FnMut(&Request) -> Option<Response>,
    sent: &mut Vec<Request>,
    output: &mut Vec<E::Output>,
) -> Result<(), CartError> {
    let mut response = None;
    for _ in 0..1_000 {
        match exchange.step(response.take())? {
            Step::Done(out) => {
                output.push(out);
                return Ok(());
            }
            Step::Send(request) => {
                let reply = answer(&request);
                sent.push(request);
                match reply {
                    Some(r) => response = Some(r),
                    None => return Ok(()),
                }
            }
        }
    }
    panic!("the exchange did not finish within 1,000 calls")
}

/// Steps an exchange to the end; stops quietly (Ok) when `answer` has nothing more to say.
fn run<E: Exchange>(
    mut exchange: E,
    answer: &mut impl FnMut(&Request) -> Option<Response>,
    sent: &mut Vec<Request>,
) -> Result<(), CartError> {
    let mut response = None;
    for _ in 0..1_000 {
        match exchange.step(response.take())? {
            Step::Done(_) => return Ok(()),
            Step::Send(request) => {
                let reply = answer(&request);
                sent.push(request);
                match reply {
                    Some(r) => response = Some(r),
                    None => return Ok(()),
                }
            }
        }
    }
    panic!("the exchange did not finish within 1,000 calls")
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

// ---- the checks ----

/// Every request of every operation: under the store's base URL, a known method, the declared
/// auth scheme with exactly the store's credentials, no body on GET, and a body in the declared
/// content type that parses as that type.
fn built_requests_are_well_formed<C: Sample>() {
    let base_url = C::store().base_url;
    for operation in OPERATIONS {
        let (outcome, sent) = drive_operation::<C>(operation, |r| Some(C::answer(r)));
        outcome.unwrap_or_else(|e| panic!("{operation:?} on the 2xx fixtures: {e}"));
        if sent.is_empty() && may_send_nothing(operation) {
            continue;
        }
        assert!(!sent.is_empty(), "{operation:?} sent nothing");
        for r in &sent {
            let what = format!("{operation:?}: {} {}", r.method(), r.uri());
            assert!(
                r.uri().to_string().starts_with(&base_url),
                "{what}: not under {base_url}"
            );
            assert!(
                ["GET", "POST", "PUT", "PATCH"].contains(&r.method().as_str()),
                "{what}: unexpected method"
            );
            let auth = header(r, "authorization").unwrap_or_default();
            let scheme = match C::CAPABILITIES.auth {
                AuthScheme::Bearer => "Bearer ",
                AuthScheme::Basic => "Basic ",
            };
            assert!(
                auth.starts_with(scheme),
                "{what}: authorization is not {scheme}…"
            );
            assert_eq!(auth, C::authorization(), "{what}: wrong credentials");
            if r.method() == http::Method::GET {
                assert!(r.body().is_empty(), "{what}: a GET with a body");
                continue;
            }
            if r.body().is_empty() {
                continue;
            }
            let content_type = header(r, "content-type").unwrap_or_default();
            assert_eq!(
                content_type,
                C::CAPABILITIES.write_content_type,
                "{what}: content type"
            );
            if content_type.starts_with("application/json") {
                serde_json::from_slice::<serde_json::Value>(r.body())
                    .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
            } else {
                assert!(
                    std::str::from_utf8(r.body()).is_ok_and(|b| !b.contains(' ')),
                    "{what}: form body not encoded"
                );
            }
        }
    }
}

/// Every 2xx fixture of the cart is JSON (the operations above parse them into orders).
fn success_fixtures_are_json<C: Sample>() {
    let dir = support::fixture_path(C::DIR, "");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the cart's fixture folder") {
        let path = entry.expect("a fixture").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_2xx = name
            .split(['_', '.'])
            .any(|part| part.len() == 3 && part.starts_with('2') && part.parse::<u16>().is_ok());
        if is_2xx && name.ends_with(".json") {
            seen += 1;
            let bytes = std::fs::read(&path).expect("readable");
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        }
    }
    assert!(seen > 0, "no 2xx fixtures in {}", dir.display());
}

/// Answers the first call of each operation with `status` and returns the error.
fn first_call_fails_with<C: Sample>(
    status: u16,
    headers: &[(&str, &str)],
) -> Vec<(Operation, CartError)> {
    OPERATIONS
        .into_iter()
        .filter_map(|operation| {
            let mut first = true;
            let (outcome, sent) = drive_operation::<C>(operation, |r| {
                if std::mem::take(&mut first) {
                    let mut b = http::Response::builder().status(status);
                    for (k, v) in headers {
                        b = b.header(*k, *v);
                    }
                    Some(b.body(b"{}".to_vec()).unwrap())
                } else {
                    Some(C::answer(r))
                }
            });
            if sent.is_empty() && may_send_nothing(operation) {
                return None;
            }
            let e = outcome.expect_err("an error status must end the operation with an error");
            Some((operation, e))
        })
        .collect()
}

fn unauthorized_is_not_retryable<C: Sample>() {
    for (operation, e) in first_call_fails_with::<C>(401, &[]) {
        assert!(
            matches!(e, CartError::CredentialsRejected { .. }),
            "{operation:?}: {e:?}"
        );
        assert!(!e.is_retryable(), "{operation:?}");
    }
}

fn rate_limited_and_unavailable_are_retryable<C: Sample>() {
    for (operation, e) in first_call_fails_with::<C>(429, &[("Retry-After", "7")]) {
        assert!(e.is_retryable(), "{operation:?}: 429 gave {e:?}");
        assert_eq!(
            e.retry_after(),
            Some(std::time::Duration::from_secs(7)),
            "{operation:?}"
        );
    }
    for (operation, e) in first_call_fails_with::<C>(503, &[]) {
        assert!(e.is_retryable(), "{operation:?}: 503 gave {e:?}");
    }
}

/// Carts that issue tokens ask for one when it runs out and read the answer; the others never do.
fn tokens_follow_the_declared_capability<C: Sample>() {
    let fresh = C::store();
    assert!(
        C::token_request(&fresh, now()).expect("no error").is_none(),
        "a live token (or none needed) asks for nothing"
    );
    if C::CAPABILITIES.issues_tokens {
        let mut expired = live_token();
        expired.expires_at = Some(now() - Duration::seconds(1));
        let api = <C as Connector>::api(C::credentials(), Some(expired));
        let request = C::token_request(&api, now())
            .expect("a token request")
            .expect("an expired token is renewed");
        assert_eq!(request.method(), http::Method::POST);
        let token = C::parse_token(C::answer(&request), now()).expect("the token fixture parses");
        assert!(!token.token.is_empty());
        assert!(token.expires_at.is_some_and(|t| t > now()));
        let e = C::parse_token(response(401, b"{}".to_vec()), now()).unwrap_err();
        assert!(!e.is_retryable());
    } else {
        assert!(C::parse_token(response(200, b"{}".to_vec()), now()).is_err());
    }
}

/// A response before any request is refused with an error, not a panic or a request.
fn exchanges_refuse_a_response_before_a_request<C: Sample>() {
    let api = C::store();
    let stray = || response(200, b"{}".to_vec());
    assert!(C::connection_test(&api).step(Some(stray())).is_err());
    assert!(C::list_orders(&api, &C::query())
        .step(Some(stray()))
        .is_err());
    assert!(C::write_back(&api, &Default::default(), &C::update())
        .step(Some(stray()))
        .is_err());
}

/// A cart without a batch call refuses a batch at once, sending nothing, one error per update;
/// a cart with one declares how many updates it carries.
fn batches_follow_max_batch<C: Sample>() {
    let api = C::store();
    let update = C::update();
    if C::MAX_BATCH > 1 {
        assert!(C::batches(&update), "the sample update travels in a batch");
        return;
    }
    assert!(!C::batches(&update));
    let mut sent = Vec::new();
    let mut results = Vec::new();
    run_keeping(
        C::write_back_batch(&api, &Default::default(), &[&update, &update]),
        &mut |_| panic!("a cart without batches sent a request"),
        &mut sent,
        &mut results,
    )
    .expect("refused per update, not as a whole");
    let results = results.pop().expect("an output");
    assert_eq!(results.len(), 2);
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(CartError::InvalidRequest { .. }))));
}

// ---- no input makes a client panic ----

/// A body: arbitrary bytes, or one of the cart's fixtures cut short or with one byte changed (so
/// parsing gets deep into almost-valid JSON).
fn body_strategy(fixtures: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = fixtures.len().max(1);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        (
            0..n,
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(move |(i, at, byte, cut)| {
                let mut body = fixtures.get(i).cloned().unwrap_or_default();
                if body.is_empty() {
                    return body;
                }
                let at = at.index(body.len());
                if cut {
                    body.truncate(at);
                } else {
                    body[at] = byte;
                }
                body
            }),
    ]
}

fn fixtures_of(dir: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(support::fixture_path(dir, "")) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                out.push(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
    }
    out
}

type Answer = (u16, Vec<u8>, Option<String>);

fn answers_strategy(dir: &str) -> impl Strategy<Value = Vec<Answer>> {
    let status = prop_oneof![
        Just(200u16),
        Just(201),
        Just(400),
        Just(401),
        Just(429),
        100u16..600
    ];
    let retry_after = proptest::option::of("[0-9a-zA-Z ,:]{0,30}");
    proptest::collection::vec((status, body_strategy(fixtures_of(dir)), retry_after), 1..6)
}

fn to_response((status, body, retry_after): &Answer) -> Response {
    let mut b = http::Response::builder().status(*status);
    if let Some(v) = retry_after {
        b = b
            .header("Retry-After", v.as_str())
            .header("Date", v.as_str());
    }
    b.body(body.clone()).unwrap()
}

fn no_answer_panics<C: Sample>(answers: &[Answer]) {
    for operation in OPERATIONS {
        let mut queue = answers.iter();
        let _ = drive_operation::<C>(operation, |_| queue.next().map(to_response));
    }
    for answer in answers {
        let _ = C::parse_token(to_response(answer), now());
    }
}

macro_rules! conformance {
    ($($module:ident: $cart:ty,)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn built_requests_carry_the_declared_method_content_type_and_auth() {
                built_requests_are_well_formed::<$cart>();
            }

            #[test]
            fn success_fixtures_parse() {
                success_fixtures_are_json::<$cart>();
            }

            #[test]
            fn unauthorized_is_not_retryable() {
                super::unauthorized_is_not_retryable::<$cart>();
            }

            #[test]
            fn rate_limited_and_unavailable_are_retryable() {
                super::rate_limited_and_unavailable_are_retryable::<$cart>();
            }

            #[test]
            fn tokens_follow_the_declared_capability() {
                super::tokens_follow_the_declared_capability::<$cart>();
            }

            #[test]
            fn exchanges_refuse_a_response_before_a_request() {
                super::exchanges_refuse_a_response_before_a_request::<$cart>();
            }

            #[test]
            fn batches_follow_max_batch() {
                super::batches_follow_max_batch::<$cart>();
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(128))]
                #[test]
                fn no_status_headers_or_body_make_the_client_panic(
                    answers in answers_strategy(<$cart as Sample>::DIR)
                ) {
                    no_answer_panics::<$cart>(&answers);
                }
            }
        }
    )*};
}

conformance! {
    bcart: Bcart,
    base: Base,
    cscart: Cscart,
    shopserve: Shopserve,
    futureshop: Futureshop,
}
