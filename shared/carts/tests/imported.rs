//! The whole imported order, per cart, from fixtures in each cart's real API shape; a cancelled
//! order of each cart; and the resumable import steps (`import_page`) with their saved cursor.

mod support;

use chrono::{TimeZone, Utc};
use mallsync_carts::base::Base;
use mallsync_carts::bcart::{self, Bcart};
use mallsync_carts::cscart::Cscart;
use mallsync_carts::exchange::KeyedCursor;
use mallsync_carts::futureshop::{self, Futureshop};
use mallsync_carts::shopserve::{self, Shopserve};
use mallsync_carts::{AccessToken, Api, Connector, ImportQuery};
use mallsync_rules::base::BaseCredentials;
use mallsync_rules::bcart::BcartCredentials;
use mallsync_rules::cscart::CscartCredentials;
use mallsync_rules::futureshop::FutureshopCredentials;
use mallsync_rules::shopserve::ShopserveCredentials;
use mallsync_rules::{CartState, ImportedOrder, OmsStatus, Secret};
use serde_json::{json, Value};
use support::{fixture_response, run};

fn query(option_price: bool) -> ImportQuery {
    ImportQuery {
        from: Utc.with_ymd_and_hms(2026, 11, 15, 15, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
        cart_statuses: Vec::new(),
        option_price,
        target_status: OmsStatus::Processing,
    }
}

fn token() -> AccessToken {
    AccessToken {
        token: Secret::new("t"),
        expires_at: None,
        refresh_token: None,
        refresh_expires_at: None,
    }
}

fn json_of(order: &ImportedOrder) -> Value {
    serde_json::to_value(order).unwrap()
}

fn bcart_api() -> Api<BcartCredentials> {
    Bcart::api(
        BcartCredentials {
            access_token: Secret::new("pat"),
        },
        None,
    )
}

fn base_api() -> Api<BaseCredentials> {
    Base::api(
        BaseCredentials {
            client_id: "cid".into(),
            client_secret: Secret::new("s"),
            redirect_uri: "https://mallsync.example.jp/cb".into(),
        },
        Some(token()),
    )
}

fn cscart_api() -> Api<CscartCredentials> {
    Cscart::api(
        CscartCredentials {
            store_url: "https://shop.example.jp".into(),
            admin_email: "admin@example.jp".into(),
            api_key: Secret::new("k"),
        },
        None,
    )
}

fn futureshop_api() -> Api<FutureshopCredentials> {
    Futureshop::api(
        FutureshopCredentials {
            shop_key: "k".into(),
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            api_base_url: "https://api.shop.example.jp".into(),
        },
        Some(token()),
    )
}

fn shopserve_api() -> Api<ShopserveCredentials> {
    Shopserve::api(
        ShopserveCredentials {
            shop_id: "shop".into(),
            manager_key: Secret::new("k"),
        },
        None,
    )
}

#[test]
fn bcart_order_whole_from_its_listing_with_each_shipment_address() {
    let (page, sent) = run(
        Bcart::import_page(&bcart_api(), &query(false), &bcart::Cursor::default()),
        vec![fixture_response("bcart", 200, "orders_200.json")],
    );
    let page = page.unwrap();
    let o = json_of(&page.orders[0]);

    assert_eq!(sent.len(), 1, "one request per step");
    assert_eq!(o["order_id"], "1024");
    assert_eq!(o["order_number"], "20261120-0001");
    assert_eq!(o["status"], "処理中");
    assert_eq!(
        o["cart_status"],
        json!({"raw": "新規注文", "state": "open"})
    );
    assert_eq!(o["ordered_at"], "2026-11-20T10:15:00+09:00");
    assert_eq!(o["buyer"]["name"], "山田 太郎");
    assert_eq!(o["buyer"]["company"], "株式会社サンプル商事");
    // Shipping lines are amounts, not items.
    assert_eq!(o["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        o["items"][0],
        json!({"item_id": "5001", "product_code": "A-100", "name": "業務用トレー",
               "options": ["10枚入"], "quantity": 6, "unit_price": 1000, "shipment_id": "7001"})
    );
    let s = &o["shipments"][1];
    assert_eq!(s["shipment_id"], "7002");
    assert_eq!(s["shipment_code"], "S-2");
    assert_eq!(s["shipping_group_id"], "1");
    assert_eq!(s["address"]["name"], "大阪支店");
    assert_eq!(s["address"]["prefecture"], "大阪府");
    assert_eq!(s["item_ids"], json!(["5002"]));
    assert_eq!(o["shipments"][0]["requested_time_slot"], "午前中");
    assert_eq!(o["shipments"][0]["tracking_number"], "123456789012");
    assert_eq!(
        o["amounts"],
        json!({"subtotal": 12000, "shipping": 800, "tax": 1200, "total": 14000})
    );
    assert_eq!(o["payment"], json!({"method": "銀行振込"}));
    // meta.total 3 with 2 on this page: the next step reads on from offset 2.
    assert_eq!(
        page.next,
        Some(bcart::Cursor {
            status: 0,
            offset: 2
        })
    );
}

#[test]
fn bcart_cancelled_order_enters_as_cancelled_with_its_fees_and_points() {
    let (page, _) = run(
        Bcart::import_page(&bcart_api(), &query(false), &bcart::Cursor::default()),
        vec![fixture_response("bcart", 200, "orders_200_cancelled.json")],
    );
    let page = page.unwrap();
    let o = json_of(&page.orders[0]);
    assert_eq!(o["status"], "キャンセル");
    assert_eq!(o["cart_status"]["state"], "cancelled");
    assert_eq!(
        o["buyer"]["phone"], "09012345678",
        "the mobile when no landline"
    );
    assert_eq!(o["items"][0]["options"], json!(["色: 白"]));
    assert_eq!(o["amounts"]["fees"], 330);
    assert_eq!(o["notes"], "不在時は宅配ボックスへ");
    assert_eq!(
        o["billing_address"]["lines"],
        json!(["大阪市北区梅田1-1-1", "梅田ビル3F"])
    );
    assert!(
        o["amounts"].get("points").is_none(),
        "zero points are absent"
    );
    assert_eq!(page.next, None);
}

#[test]
fn base_lists_keys_into_the_cursor_then_reads_one_whole_order_per_step() {
    let (listed, sent) = run(
        Base::import_page(&base_api(), &query(false), &KeyedCursor::default()),
        vec![fixture_response("base", 200, "orders_200.json")],
    );
    let listed = listed.unwrap();
    assert!(sent[0].uri().path().ends_with("/orders"));
    assert!(listed.orders.is_empty());
    let cursor = listed.next.unwrap();
    assert!(!cursor.pending.is_empty());

    let (read, sent) = run(
        Base::import_page(&base_api(), &query(false), &cursor),
        vec![fixture_response("base", 200, "orders_detail_200.json")],
    );
    let read = read.unwrap();
    let o = json_of(&read.orders[0]);

    assert!(sent[0].uri().path().contains("/orders/detail/"));
    assert_eq!(
        read.next.as_ref().map(|c| c.pending.len()),
        Some(cursor.pending.len() - 1)
    );
    assert_eq!(o["order_id"], "8A2C3E1F0B9D4C7A");
    assert_eq!(o["status"], "処理中");
    assert_eq!(
        o["buyer"],
        json!({"name": "山田 太郎", "email": "taro@example.jp", "phone": "0312345678"})
    );
    assert_eq!(o["shipping_address"]["postal_code"], "1500001");
    assert_eq!(o["shipping_address"]["lines"], json!(["渋谷区神宮前1-1-1"]));
    assert_eq!(
        o["items"][1],
        json!({"item_id": "41002", "product_code": "901", "name": "湯呑み", "options": ["藍"],
               "quantity": 1, "unit_price": 2200})
    );
    assert_eq!(o["requested_delivery_date"], "2025-11-25");
    assert_eq!(o["requested_time_slot"], "0812");
    assert_eq!(o["amounts"], json!({"shipping": 800, "total": 5400}));
    assert_eq!(
        o["payment"],
        json!({"method": "creditcard", "status": "authorized"})
    );
    assert!(o.get("shipments").is_none(), "BASE has no shipment records");
}

#[test]
fn base_cancelled_order_enters_as_cancelled() {
    let cursor = KeyedCursor {
        next_page: None,
        listed: true,
        pending: vec!["8A2C3E1F0B9D4C7A".into()],
    };
    let (read, _) = run(
        Base::import_page(&base_api(), &query(false), &cursor),
        vec![fixture_response(
            "base",
            200,
            "orders_detail_200_cancelled.json",
        )],
    );
    let read = read.unwrap();
    let o = &read.orders[0];
    assert_eq!(o.status, OmsStatus::Cancelled);
    assert_eq!(o.cart_status.raw, "cancelled");
    assert_eq!(o.amounts.discount, Some(300));
    assert_eq!(o.notes.as_deref(), Some("ギフト包装希望"));
    assert_eq!(
        read.next, None,
        "the last pending key of a fully listed window ends it"
    );
}

#[test]
fn cscart_order_whole_from_its_detail() {
    let cursor = KeyedCursor {
        next_page: None,
        listed: true,
        pending: vec!["105".into()],
    };
    let (read, _) = run(
        Cscart::import_page(&cscart_api(), &query(false), &cursor),
        vec![fixture_response("cscart", 200, "orders_detail_200.json")],
    );
    let o = json_of(&read.unwrap().orders[0]);
    assert_eq!(o["cart_status"], json!({"raw": "P", "state": "open"}));
    assert_eq!(o["status"], "処理中");
    assert_eq!(o["buyer"]["name"], "山田 太郎");
    assert_eq!(o["buyer"]["email"], "taro@example.jp");
    assert_eq!(
        o["items"][0],
        json!({"item_id": "3127414766", "product_code": "TN-01", "name": "手ぬぐい",
               "quantity": 2, "unit_price": 1200, "shipment_id": "1"})
    );
    let s = &o["shipments"][0];
    assert_eq!(s["shipment_id"], "1");
    assert_eq!(s["delivery_method"], "宅配便");
    assert_eq!(s["address"]["city"], "渋谷区");
    assert_eq!(s["address"]["prefecture"], "13");
    assert_eq!(s["requested_delivery_date"], "2026-11-25");
    assert_eq!(s["requested_time_slot"], "午前中");
    assert_eq!(
        o["amounts"],
        json!({"subtotal": 4600, "shipping": 800, "total": 5400})
    );
    assert!(
        o.get("billing_address").is_none(),
        "no b_ fields in this answer"
    );
}

#[test]
fn cscart_cancelled_order_with_billing_address_options_and_payment() {
    let cursor = KeyedCursor {
        next_page: None,
        listed: true,
        pending: vec!["105".into()],
    };
    let (read, _) = run(
        Cscart::import_page(&cscart_api(), &query(false), &cursor),
        vec![fixture_response(
            "cscart",
            200,
            "orders_detail_200_cancelled.json",
        )],
    );
    let o = json_of(&read.unwrap().orders[0]);
    assert_eq!(o["status"], "キャンセル");
    assert_eq!(o["cart_status"], json!({"raw": "I", "state": "cancelled"}));
    assert_eq!(o["billing_address"]["prefecture"], "東京都");
    assert_eq!(
        o["shipments"][0]["address"]["lines"],
        json!(["渋谷区神宮前1-1-1", "神宮前ハイツ101"])
    );
    assert_eq!(o["items"][0]["options"], json!(["色: 藍"]));
    assert_eq!(o["payment"]["method"], "代金引換");
    assert_eq!(o["amounts"]["tax"], 418);
    assert_eq!(o["notes"], "午前中希望");
}

#[test]
fn futureshop_order_whole_with_kana_and_the_option_price_setting_applied() {
    let step = |option_price: bool| {
        let (page, _) = run(
            Futureshop::import_page(
                &futureshop_api(),
                &query(option_price),
                &futureshop::Cursor::First,
            ),
            vec![fixture_response(
                "futureshop",
                200,
                "shipping_search_200_whole.json",
            )],
        );
        page.unwrap()
    };
    let with_options = step(true);
    let without = step(false);
    let o = json_of(&with_options.orders[0]);

    assert_eq!(o["items"][0]["unit_price"], 3300, "3000 + 名入れ 300");
    assert_eq!(json_of(&without.orders[0])["items"][0]["unit_price"], 3000);
    assert_eq!(o["items"][0]["options"], json!(["ブルー", "名入れ: あり"]));
    assert_eq!(
        o["buyer"],
        json!({"name": "高橋 桜", "name_kana": "タカハシ サクラ", "email": "sakura@example.jp",
               "phone": "0111234567"})
    );
    assert_eq!(o["billing_address"]["postal_code"], "060-0001");
    assert_eq!(o["billing_address"]["prefecture"], "HOKKAIDO");
    let s = &o["shipments"][0];
    assert_eq!(s["address"]["name_kana"], "タカハシ サクラ");
    assert_eq!(s["delivery_method"], "宅配便");
    assert_eq!(s["requested_time_slot"], "午前中");
    assert_eq!(s["tracking_number"], "1234-5678-9012");
    assert_eq!(s["ship_date"], "2026-11-22");
    assert_eq!(
        o["amounts"],
        json!({"subtotal": 6600, "shipping": 930, "tax": 600, "discount": 200, "total": 7330})
    );
    assert_eq!(
        o["payment"],
        json!({"method": "クレジットカード", "status": "入金済"})
    );
    assert_eq!(with_options.next, None);
}

#[test]
fn futureshop_cancelled_and_refunded_orders_enter_as_cancelled() {
    let (page, _) = run(
        Futureshop::import_page(&futureshop_api(), &query(false), &futureshop::Cursor::First),
        vec![fixture_response(
            "futureshop",
            200,
            "shipping_search_200_whole.json",
        )],
    );
    let page = page.unwrap();
    let states: Vec<(OmsStatus, CartState)> = page
        .orders
        .iter()
        .map(|o| (o.status.clone(), o.cart_status.state))
        .collect();
    assert_eq!(
        states,
        [
            (OmsStatus::Processing, CartState::Open),
            (OmsStatus::Cancelled, CartState::Cancelled),
            (OmsStatus::Cancelled, CartState::Refunded),
        ]
    );
}

#[test]
fn futureshop_a_saved_next_url_cursor_goes_on_from_that_page() {
    let cursor = futureshop::Cursor::Next("/admin-api/v1/shipping?cursor=c40".into());
    let saved: futureshop::Cursor =
        serde_json::from_value(serde_json::to_value(&cursor).unwrap()).unwrap();
    let (page, sent) = run(
        Futureshop::import_page(&futureshop_api(), &query(false), &saved),
        vec![fixture_response(
            "futureshop",
            200,
            "shipping_search_200.json",
        )],
    );
    let query_string = sent[0].uri().query().unwrap().to_string();
    assert!(query_string.contains("cursor=c40"), "{query_string}");
    assert!(
        query_string.contains("orderDateStart="),
        "the window's filters are kept"
    );
    assert!(page.unwrap().next.is_some());
}

#[test]
fn shopserve_order_whole_in_the_guessed_names_and_a_cancelled_one() {
    let (page, _) = run(
        Shopserve::import_page(
            &shopserve_api(),
            &query(false),
            &shopserve::orders::Cursor::default(),
        ),
        vec![fixture_response(
            "shopserve",
            200,
            "order_search_200_whole.json",
        )],
    );
    let page = page.unwrap();
    let o = json_of(&page.orders[0]);
    assert_eq!(o["buyer"]["name_kana"], "ナカムラ イチロウ");
    assert_eq!(o["billing_address"]["city"], "横浜市西区");
    assert_eq!(o["shipments"][0]["address"]["name"], "中村 花子");
    assert_eq!(o["shipments"][0]["requested_time_slot"], "午前中");
    assert_eq!(
        o["items"][0],
        json!({"item_id": "TEA-01", "product_code": "TEA-01", "name": "煎茶",
               "options": ["容量: 100g"], "quantity": 2, "unit_price": 2000, "shipment_id": "1"})
    );
    assert_eq!(
        o["amounts"],
        json!({"subtotal": 4000, "shipping": 600, "fees": 0, "tax": 400, "discount": 0,
               "points": 100, "total": 4900})
    );
    assert_eq!(
        o["payment"],
        json!({"method": "銀行振込", "status": "未入金"})
    );
    assert_eq!(o["notes"], "領収書希望");
    assert_eq!(page.orders[1].status, OmsStatus::Cancelled);
}

#[test]
fn an_unchanged_order_has_no_changes_and_a_changed_one_names_them() {
    let page = |name: &str| {
        let (page, _) = run(
            Bcart::import_page(&bcart_api(), &query(false), &bcart::Cursor::default()),
            vec![fixture_response("bcart", 200, name)],
        );
        page.unwrap()
    };
    let a = page("orders_200.json");
    let b = page("orders_200.json");
    assert!(a.orders[0].changes_since(&b.orders[0]).is_empty());
    let mut changed = a.orders[0].clone();
    changed.shipments[1].address = None;
    assert_eq!(changed.changes_since(&a.orders[0]), ["shipments"]);
}

/// Saved as JSON after every step and read back by the next run: every cart's cursor survives it.
fn round_trips<C: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    cursor: C,
) {
    let json = serde_json::to_string(&cursor).unwrap();
    assert_eq!(serde_json::from_str::<C>(&json).unwrap(), cursor, "{json}");
}

#[test]
fn every_carts_import_cursor_survives_being_saved_and_read_back() {
    round_trips(bcart::Cursor {
        status: 1,
        offset: 200,
    });
    round_trips(futureshop::Cursor::Next(
        "/admin-api/v1/shipping?cursor=abc".into(),
    ));
    round_trips(futureshop::Cursor::First);
    round_trips(shopserve::orders::Cursor {
        window: 2,
        from: 100,
    });
    round_trips(KeyedCursor {
        next_page: Some(3),
        listed: false,
        pending: vec!["a".into(), "b".into()],
    });
    round_trips(KeyedCursor::default());
}

#[test]
fn order_times_are_japan_time_whatever_form_the_cart_sends() {
    let cursor = KeyedCursor {
        next_page: None,
        listed: true,
        pending: vec!["k".into()],
    };
    let (base, _) = run(
        Base::import_page(&base_api(), &query(false), &cursor),
        vec![fixture_response("base", 200, "orders_detail_200.json")],
    );
    let (cscart, _) = run(
        Cscart::import_page(&cscart_api(), &query(false), &cursor),
        vec![fixture_response("cscart", 200, "orders_detail_200.json")],
    );
    for order in [&base.unwrap().orders[0], &cscart.unwrap().orders[0]] {
        assert_eq!(
            order.ordered_at.offset().local_minus_utc(),
            9 * 3600,
            "{}",
            order.ordered_at
        );
    }
}
