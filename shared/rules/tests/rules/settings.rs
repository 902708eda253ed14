//! Store settings: SPEC.md's defaults, JSON in and out, every bad field named at once.

use mallsync_rules::cscart::CscartStatus;
use mallsync_rules::futureshop::PointTiming;
use mallsync_rules::store_settings::MAX_SETTING_CHARS;
use mallsync_rules::{Cart, ExportMode, OmsStatus, Secret, StoreSettings};

fn fields(e: &mallsync_rules::Error) -> Vec<&str> {
    e.problems.iter().map(|p| p.field.as_str()).collect()
}

fn credentials(cart: Cart) -> &'static str {
    match cart {
        Cart::Bcart => r#"{"access_token":"tok"}"#,
        Cart::Base => {
            r#"{"client_id":"id","client_secret":"sec","redirect_uri":"https://mallsync.example.jp/base/oauth"}"#
        }
        Cart::Shopserve => r#"{"shop_id":"shop","manager_key":"key"}"#,
        Cart::Cscart => {
            r#"{"store_url":"https://shop.example.jp/","admin_email":"admin@example.jp","api_key":"key"}"#
        }
        Cart::Futureshop => {
            r#"{"shop_key":"k","client_id":"id","client_secret":"sec","api_base_url":"https://api.example.future-shop.jp"}"#
        }
    }
}

/// The least JSON that is valid for each cart: its credentials, plus `extra` fields.
fn json(cart: Cart, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"cart":"{}","credentials":{}{sep}{extra}}}"#,
        cart.slug(),
        credentials(cart)
    )
}

fn parse(cart: Cart, extra: &str) -> Result<StoreSettings, mallsync_rules::Error> {
    StoreSettings::from_json(json(cart, extra).as_bytes())
}

#[test]
fn every_cart_defaults_to_the_spec_settings() {
    // (cart, days to fetch, auto-fetch interval, period)
    let expected = [
        (Cart::Bcart, 7, 30, Some(3)),
        (Cart::Base, 7, 30, None),
        (Cart::Shopserve, 7, 30, Some(3)),
        (Cart::Cscart, 7, 10, Some(1)),
        (Cart::Futureshop, 10, 10, Some(4)),
    ];
    for (cart, days, interval, period) in expected {
        let s = parse(cart, "").unwrap();
        assert_eq!(s.cart(), cart);
        assert_eq!(s.import().days_to_fetch, days, "{cart:?}");
        assert_eq!(s.import().auto_fetch_interval_minutes, interval, "{cart:?}");
        assert_eq!(s.import().target_status, OmsStatus::New, "{cart:?}");
        assert!(!s.import().auto_fetch, "{cart:?}");
        assert!(!s.export().auto_export, "{cart:?}");
        assert_eq!(s.export().auto_export_interval_minutes, 30, "{cart:?}");
        assert_eq!(s.period_days(), period, "{cart:?}");
        assert!(s.warnings().is_empty(), "{cart:?}");
    }
}

#[test]
fn base_and_cscart_default_to_writing_back_more_than_processed_orders() {
    let StoreSettings::Base(base) = parse(Cart::Base, "").unwrap() else {
        panic!()
    };
    assert_eq!(base.export_mode, ExportMode::ExceptUnprocessed);
    let StoreSettings::Cscart(cscart) = parse(Cart::Cscart, "").unwrap() else {
        panic!()
    };
    assert_eq!(cscart.export_mode, ExportMode::ExceptUnprocessed);
    assert_eq!(
        cscart.import_statuses,
        [CscartStatus::Open, CscartStatus::Paid]
    );
}

#[test]
fn futureshop_defaults_add_option_prices_and_leave_the_order_status_alone() {
    let StoreSettings::Futureshop(f) = parse(Cart::Futureshop, "").unwrap() else {
        panic!()
    };
    assert!(f.option_price);
    assert!(!f.mark_processed);
    assert_eq!(f.point_timing, PointTiming::OnOrderCompleted);
}

#[test]
fn a_partial_import_object_keeps_the_carts_other_defaults() {
    let s = parse(
        Cart::Futureshop,
        r#""import":{"auto_fetch":true,"target_status":"処理中"}"#,
    )
    .unwrap();
    assert!(s.import().auto_fetch);
    assert_eq!(s.import().target_status, OmsStatus::Processing);
    assert_eq!(s.import().days_to_fetch, 10);
    assert_eq!(s.import().auto_fetch_interval_minutes, 10);
}

#[test]
fn settings_survive_storage_as_json() {
    for cart in Cart::ALL {
        let s = parse(cart, r#""export":{"auto_export":true}"#).unwrap();
        let stored = serde_json::to_string(&s).unwrap();
        assert!(
            stored.contains(&format!(r#""cart":"{}""#, cart.slug())),
            "{stored}"
        );
        assert_eq!(serde_json::from_str::<StoreSettings>(&stored).unwrap(), s);
        assert_eq!(StoreSettings::from_json(stored.as_bytes()).unwrap(), s);
    }
}

#[test]
fn a_settings_field_of_the_wrong_type_is_an_error_naming_the_field() {
    let cases = [
        (Cart::Bcart, r#""period_days":"three""#, "period_days"),
        (Cart::Bcart, r#""period_days":-3"#, "period_days"),
        (
            Cart::Base,
            r#""import":{"days_to_fetch":7.5}"#,
            "import.days_to_fetch",
        ),
        (Cart::Base, r#""export_mode":"sometimes""#, "export_mode"),
        (
            Cart::Cscart,
            r#""export":{"auto_export":"yes"}"#,
            "export.auto_export",
        ),
        (
            Cart::Cscart,
            r#""import_statuses":["O","X"]"#,
            "import_statuses[1]",
        ),
        (Cart::Futureshop, r#""point_timing":3"#, "point_timing"),
        (
            Cart::Shopserve,
            r#""import":{"auto_fetch_interval_minutes":null,"days":3}"#,
            "import.days",
        ),
    ];
    for (cart, extra, field) in cases {
        let e = parse(cart, extra).unwrap_err();
        assert_eq!(e.field(), Some(field), "{extra}: {e}");
    }
    let e = StoreSettings::from_json(br#"{"cart":"bcart","credentials":{"access_token":5}}"#)
        .unwrap_err();
    assert_eq!(e.field(), Some("credentials.access_token"));
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let e = parse(Cart::Bcart, r#""perod_days":3"#).unwrap_err();
    assert_eq!(e.field(), Some("perod_days"));
    assert!(e.to_string().contains("period_days"), "{e}");
}

#[test]
fn the_cart_must_be_named_and_known() {
    for (input, field) in [
        (&br#"{"credentials":{}}"#[..], "cart"),
        (br#"{"cart":"rakuten"}"#, "cart"),
        (br#"{"cart":3}"#, "cart"),
        (br#"[1]"#, "$"),
        (br#"{"cart":"bcart""#, "$"),
    ] {
        let e = StoreSettings::from_json(input).unwrap_err();
        assert_eq!(e.field(), Some(field), "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn validation_reports_every_bad_field_at_once() {
    let e = StoreSettings::from_json(
        br#"{"cart":"cscart","credentials":{"store_url":"http://shop.example.jp/","admin_email":"admin"},
            "import":{"days_to_fetch":0,"auto_fetch_interval_minutes":7},
            "import_statuses":[],"export":{"auto_export_interval_minutes":0},"period_days":366}"#,
    )
    .unwrap_err();
    assert_eq!(
        fields(&e),
        [
            "credentials.store_url",
            "credentials.admin_email",
            "credentials.api_key",
            "import_statuses",
            "import.days_to_fetch",
            "import.auto_fetch_interval_minutes",
            "export.auto_export_interval_minutes",
            "period_days",
        ]
    );
}

#[test]
fn every_cart_requires_its_credentials() {
    let expected: [(Cart, &[&str]); 5] = [
        (Cart::Bcart, &["credentials.access_token"]),
        (
            Cart::Base,
            &[
                "credentials.client_id",
                "credentials.client_secret",
                "credentials.redirect_uri",
            ],
        ),
        (
            Cart::Shopserve,
            &["credentials.shop_id", "credentials.manager_key"],
        ),
        (
            Cart::Cscart,
            &[
                "credentials.store_url",
                "credentials.admin_email",
                "credentials.api_key",
            ],
        ),
        (
            Cart::Futureshop,
            &[
                "credentials.shop_key",
                "credentials.client_id",
                "credentials.client_secret",
                "credentials.api_base_url",
            ],
        ),
    ];
    for (cart, required) in expected {
        let e = StoreSettings::from_json(format!(r#"{{"cart":"{}"}}"#, cart.slug()).as_bytes())
            .unwrap_err();
        assert_eq!(fields(&e), required, "{cart:?}");
        // Blank is as good as missing.
        assert!(StoreSettings::defaults(cart).validate().is_err());
    }
}

#[test]
fn store_urls_need_https_except_on_this_machine() {
    let with_url = |url: &str| {
        StoreSettings::from_json(
            format!(
                r#"{{"cart":"cscart","credentials":{{"store_url":"{url}","admin_email":"a@example.jp","api_key":"k"}}}}"#
            )
            .as_bytes(),
        )
    };
    assert!(with_url("https://shop.example.jp/").is_ok());
    assert!(with_url("http://localhost:8080/").is_ok());
    assert!(with_url("http://127.0.0.1:8080/").is_ok());
    for bad in [
        "http://shop.example.jp/",
        "shop.example.jp",
        "https://shop.example.jp/admin.php",
    ] {
        let e = with_url(bad).unwrap_err();
        assert_eq!(fields(&e), ["credentials.store_url"], "{bad}");
    }
}

#[test]
fn masked_settings_show_whether_a_secret_is_set_never_its_value() {
    for cart in Cart::ALL {
        let s = parse(cart, "").unwrap();
        let shown = serde_json::to_string(&s.masked()).unwrap();
        for secret in ["tok", "sec", "key"] {
            assert!(!shown.contains(&format!("\"{secret}\"")), "{shown}");
        }
        assert!(shown.contains(Secret::MASK), "{shown}");
        assert_eq!(s.masked().cart(), cart);
    }
    let blank = StoreSettings::defaults(Cart::Bcart).masked();
    assert!(!serde_json::to_string(&blank)
        .unwrap()
        .contains(Secret::MASK));
}

#[test]
fn a_secret_saved_back_masked_keeps_the_stored_value() {
    let stored = parse(Cart::Base, "").unwrap();
    let mut edited = stored.masked();
    if let StoreSettings::Base(b) = &mut edited {
        b.export.auto_export = true;
    }
    let saved = edited.keeping_masked_secrets_from(&stored).unwrap();
    let StoreSettings::Base(b) = &saved else {
        panic!()
    };
    assert_eq!(b.credentials.client_secret.expose(), "sec");
    assert!(b.export.auto_export);
    // A new value replaces the stored one; another cart's secrets are never carried over.
    let other = parse(Cart::Bcart, "").unwrap().masked();
    let StoreSettings::Bcart(o) = other.keeping_masked_secrets_from(&stored).unwrap() else {
        panic!()
    };
    assert_eq!(o.credentials.access_token.expose(), Secret::MASK);
}

#[test]
fn cscart_import_statuses_are_the_carts_letters() {
    let s = parse(Cart::Cscart, r#""import_statuses":["O","B","P","C"]"#).unwrap();
    let StoreSettings::Cscart(c) = s else {
        panic!()
    };
    assert_eq!(c.import_statuses, CscartStatus::ALL);
    let codes: Vec<&str> = CscartStatus::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(codes, ["O", "B", "P", "C"]);
    assert_eq!(
        CscartStatus::from_code("B"),
        Some(CscartStatus::Backordered)
    );
    assert_eq!(CscartStatus::from_code("I"), None);
    assert_eq!(CscartStatus::Paid.label_ja(), "支払い確認済み");
}

#[test]
fn a_masked_secret_is_kept_only_while_every_url_of_the_store_is_unchanged() {
    for cart in [Cart::Base, Cart::Cscart, Cart::Futureshop] {
        let stored = parse(cart, "").unwrap();
        let (url_field, _) = stored.credential_urls()[0];
        // The same URL, written with a trailing space: still the same origin, the secret stays.
        let mut same = serde_json::to_value(stored.masked()).unwrap();
        let field = url_field.trim_start_matches("credentials.");
        let url = same["credentials"][field].as_str().unwrap().to_string();
        same["credentials"][field] = format!("{url} ").into();
        let same: StoreSettings = serde_json::from_value(same).unwrap();
        assert!(
            same.keeping_masked_secrets_from(&stored).is_ok(),
            "{cart:?}"
        );
        // Another host with the masked secret: refused, naming the secret and the URL.
        let mut moved = serde_json::to_value(stored.masked()).unwrap();
        moved["credentials"][field] = "https://attacker.example/capture".into();
        let moved: StoreSettings = serde_json::from_value(moved).unwrap();
        let e = moved.keeping_masked_secrets_from(&stored).unwrap_err();
        assert!(e.problems[0].message.contains(url_field), "{e}");
        assert!(e.problems[0].field.starts_with("credentials."), "{e}");
        // Another host with the secret entered again: accepted, with the new secret.
        let mut entered = serde_json::to_value(stored.clone()).unwrap();
        entered["credentials"][field] = "https://other.example/".into();
        let entered: StoreSettings = serde_json::from_value(entered).unwrap();
        assert!(
            entered.keeping_masked_secrets_from(&stored).is_ok(),
            "{cart:?}"
        );
    }
}

#[test]
fn oversized_or_control_character_settings_are_refused_naming_the_field() {
    let long = "x".repeat(MAX_SETTING_CHARS + 1);
    let e = parse(
        Cart::Bcart,
        &format!(r#""import":{{"target_status":"{long}"}}"#),
    )
    .unwrap_err();
    assert!(
        e.problems.iter().any(|p| p.field == "import.target_status"),
        "{e}"
    );
    let e = parse(Cart::Bcart, r#""import":{"target_status":"a\nb"}"#).unwrap_err();
    assert!(
        e.problems.iter().any(|p| p.field == "import.target_status"),
        "{e}"
    );
}
