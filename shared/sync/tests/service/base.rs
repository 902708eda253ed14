//! BASE: connecting through OAuth, refreshing with rotation, and one dispatch e-mail per item
//! whatever is redelivered, pressed again or run at the same time.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use mallsync_fake_carts::base::{FakeBase, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::Cart;
use mallsync_sync::carts::load_token;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, App, TestShop};

pub fn base_settings(auto_export: bool) -> Value {
    json!({
        "credentials": { "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI },
        "export": { "auto_export": auto_export }
    })
}

fn state_of(authorize_url: &str) -> String {
    let query = authorize_url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_string()
}

/// Runs the operator's OAuth round trip for the store.
pub fn connect(app: &App, fake: &FakeBase, shop: &TestShop, store: &str) -> Value {
    let start = app.call(
        "GET",
        &format!("/stores/{store}/oauth/start"),
        Some(&shop.token),
        None,
    );
    assert_eq!(start.status, 302, "{}", start.body);
    let url = start.body["authorize_url"].as_str().unwrap();
    assert!(url.contains(&format!("client_id={CLIENT_ID}")), "{url}");
    let state = state_of(url);
    let code = fake.authorization_code();
    let back = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state={state}"),
        None,
        None,
    );
    assert_eq!(back.status, 200, "{}", back.body);
    back.body
}

fn connected_store(auto_export: bool) -> (FakeBase, App, TestShop, String) {
    let fake = FakeBase::start();
    fake.seed_order(&OrderSeed::new("K1", "2026-11-20T10:00:00+09:00").item(
        "11",
        "Tシャツ",
        1,
        1500,
    ));
    let app = spawn_app(Cart::Base, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(auto_export));
    connect(&app, &fake, &shop, &store);
    (fake, app, shop, store)
}

fn shipped_order() -> Value {
    json!({ "orders": [{
        "order_id": "K1",
        "status": "発送待ち",
        "ordered_at": "2026-11-20T10:00:00+09:00",
        "updated_at": "2026-11-23T09:00:00+09:00",
        "ship_date": "2026-11-23",
        "tracking_numbers": ["444455556666"],
        "carrier": "yamato",
        "items": [{ "item_id": "11" }]
    }]})
}

#[test]
fn connecting_through_oauth_keeps_the_tokens_and_a_state_works_only_once() {
    let fake = FakeBase::start();
    let app = spawn_app(Cart::Base, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(false));

    let start = app.call(
        "GET",
        &format!("/stores/{store}/oauth/start"),
        Some(&shop.token),
        None,
    );
    let state = state_of(start.body["authorize_url"].as_str().unwrap());
    let code = fake.authorization_code();
    let first = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state={state}"),
        None,
        None,
    );
    let replay = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state={state}"),
        None,
        None,
    );
    let forged = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state=0123abcd"),
        None,
        None,
    );

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["connected"], store.as_str());
    assert_eq!(replay.status, 401);
    assert_eq!(forged.status, 401);
    let token = load_token(app.io.as_ref(), &store).unwrap().unwrap();
    assert!(token.refresh_token.is_some());
}

#[test]
fn a_webhook_redelivered_a_second_press_and_overlapping_runs_send_one_dispatch_email() {
    let (fake, app, shop, store) = connected_store(true);

    let first = app.webhook(&store, &shop.webhook_secret, &shipped_order());
    app.webhook(&store, &shop.webhook_secret, &shipped_order());
    app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );
    fake.faults()
        .next(2, Fault::Delay(Duration::from_millis(100)));
    let app = Arc::new(app);
    let presses: Vec<_> = (0..2)
        .map(|_| {
            let (app, token, store) = (Arc::clone(&app), shop.token.clone(), store.clone());
            thread::spawn(move || {
                app.call(
                    "POST",
                    &format!("/stores/{store}/write-back"),
                    Some(&token),
                    None,
                )
                .status
            })
        })
        .collect();
    for press in presses {
        assert_eq!(press.join().unwrap(), 200);
    }

    assert_eq!(first.body["write_back"]["sent"], 1, "{}", first.body);
    assert_eq!(fake.dispatch_emails_sent(), 1);
    let email = &fake.dispatch_emails()[0];
    assert_eq!(email.tracking_number.as_deref(), Some("444455556666"));
    assert_eq!(email.delivery_company_id, Some(1));
}

#[test]
fn an_expired_access_token_is_refreshed_before_use_and_the_rotated_refresh_token_is_kept() {
    let (fake, app, shop, store) = connected_store(false);
    let before = load_token(app.io.as_ref(), &store).unwrap().unwrap();
    app.webhook(&store, &shop.webhook_secret, &shipped_order());
    app.io.advance(chrono::Duration::hours(2));
    fake.clock().advance(Duration::from_secs(2 * 3600));
    fake.expire_access_tokens();

    let run = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        Some(&json!({ "period_days": 3 })),
    );

    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(run.body["sent"], 1, "{}", run.body);
    let after = load_token(app.io.as_ref(), &store).unwrap().unwrap();
    let (old, new) = (before.refresh_token.unwrap(), after.refresh_token.unwrap());
    assert_ne!(old.expose(), new.expose());
    assert!(fake.is_refresh_token_valid(new.expose()));
    assert!(!fake.is_refresh_token_valid(old.expose()));
}

#[test]
fn a_store_never_connected_to_base_logs_why_nothing_was_sent() {
    let fake = FakeBase::start();
    let app = spawn_app(Cart::Base, fake.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, base_settings(true));

    let reply = app.webhook(&store, &shop.webhook_secret, &shipped_order());

    assert_eq!(reply.status, 200, "{}", reply.body);
    let run = &reply.body["write_back"];
    assert_eq!(run["failed"], 1, "{run}");
    assert!(
        run["stopped"].as_str().unwrap().contains("connect"),
        "{run}"
    );
    assert_eq!(fake.dispatch_emails_sent(), 0);
}

#[test]
fn a_correction_after_dispatch_is_a_warning_naming_the_number_the_buyer_received_and_the_new_one() {
    let (fake, app, shop, store) = connected_store(true);
    app.webhook(&store, &shop.webhook_secret, &shipped_order());
    let mut corrected = shipped_order();
    corrected["orders"][0]["updated_at"] = json!("2026-11-23T10:00:00+09:00");
    corrected["orders"][0]["tracking_numbers"] = json!(["999988887777"]);

    let reply = app.webhook(&store, &shop.webhook_secret, &corrected);
    let preview = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        None,
    );

    assert_eq!(
        fake.dispatch_emails_sent(),
        1,
        "BASE is one-way: no second dispatch"
    );
    let lines = reply.body["write_back"]["orders"]
        .as_array()
        .unwrap()
        .clone();
    let warning = lines
        .iter()
        .find(|l| l["outcome"] == "warning")
        .unwrap_or_else(|| panic!("no warning in {lines:?}"));
    let text = format!("{} {}", warning["message"], warning["message_ja"]);
    assert!(
        text.contains("444455556666") && text.contains("999988887777"),
        "{text}"
    );
    let warnings = preview.body["order_warnings"].as_array().unwrap();
    assert!(!warnings.is_empty(), "{}", preview.body);
}

#[test]
fn an_item_the_shop_already_dispatched_in_base_with_the_same_number_is_logged_as_already_in_the_cart(
) {
    let (fake, app, shop, store) = connected_store(true);
    // Dispatched by hand in BASE's admin with the number the OMS is about to send.
    fake.with_cart(|cart| {
        let order = cart
            .orders
            .iter_mut()
            .find(|o| o.unique_key == "K1")
            .unwrap();
        order.dispatch_status = "dispatched".into();
        order.tracking_number = Some("444455556666".into());
        for item in &mut order.items {
            item.status = "dispatched".into();
        }
    });

    let reply = app.webhook(&store, &shop.webhook_secret, &shipped_order());

    let run = &reply.body["write_back"];
    assert_eq!(run["sent"], 0, "{run}");
    assert_eq!(run["orders"][0]["reason_code"], "already_in_cart", "{run}");
    assert_eq!(
        fake.dispatch_emails_sent(),
        0,
        "nothing was sent, so no e-mail"
    );
    // The ledger holds it: the next press plans nothing.
    let again = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );
    assert_eq!(
        again.body["orders"][0]["reason_code"], "already_accepted",
        "{}",
        again.body
    );
}
