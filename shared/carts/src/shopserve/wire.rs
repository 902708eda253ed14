//! Every ショップサーブ order-API name mallsync has to guess, in one place: paths, JSON keys, values.
//!
//! The order API's reference (ショップサーブAPI仕様書) is handed only to shops that apply for the
//! 受注・決済API option; none of it is public (docs/cart-apis.md §3). What is known [M]: the host and
//! `/v2/` prefix, HTTP Basic `ショップID:マネージャー認証キー`, JSON in and out with snake_case keys,
//! search endpoints as `POST …/_search` taking `from`/`size`/`sort` and answering `total_count`
//! (items, clients), and from integrators the fields an update can set (発送ステータス, 配送会社,
//! 伝票番号, 発送予定日). Every item below marked "unknown" is modelled on those endpoints; confirm
//! it with the ショップサーブAPI仕様書. Fixing a name is a change to this file and to the fixtures
//! under `tests/fixtures/shopserve/`, which are written in these names.

/// The management API, without the trailing `/` ([M]: public item/customer API clients).
pub const BASE_URL: &str = "https://management.api.shopserve.jp/v2";

/// Order search, `POST`. Unknown: modelled on `POST /v2/items/_search` and `/v2/client/_search`.
pub const ORDER_SEARCH_PATH: &str = "/orders/_search";

/// One order's shipping update; `{order_no}` is replaced by the order number. Unknown: integrators
/// say the update exists (GoQ, LOGILESS, commerce robotics); path and method are not public.
pub const ORDER_SHIPPING_UPDATE_PATH: &str = "/orders/{order_no}/shipping";
/// The method of [`ORDER_SHIPPING_UPDATE_PATH`]. Unknown: public clients use `PUT` for item updates.
pub const ORDER_SHIPPING_UPDATE_METHOD: http::Method = http::Method::PUT;

/// Search body: where the page starts ([M] for item search).
pub const SEARCH_FROM: &str = "from";
/// Search body: page size ([M] for item search).
pub const SEARCH_SIZE: &str = "size";
/// Search body: the sort, `{"order": "Asc"}` ([M] for item search). The sort key's name is
/// unknown, so none is sent and the cart's default key is used.
pub const SEARCH_SORT: &str = "sort";
/// Inside [`SEARCH_SORT`]: the direction's key ([M] for item search).
pub const SEARCH_SORT_ORDER: &str = "order";
/// The ascending direction ([M] for item search: `Asc|Desc`), so paging moves forward in time.
pub const SORT_ASCENDING: &str = "Asc";
/// The largest page the item search is seen to serve ([M]: clients send `size: 100`).
pub const SEARCH_PAGE_SIZE: u32 = 100;
/// Search body: ordered at or after. Unknown: filter keys sit at the top level of the body as in
/// `client/_search` (`{"mail_address": …}`).
pub const SEARCH_ORDERED_FROM: &str = "order_date_from";
/// Search body: ordered at or before. Unknown, like [`SEARCH_ORDERED_FROM`].
pub const SEARCH_ORDERED_TO: &str = "order_date_to";
/// Search body: the cart statuses to fetch (注文ステータス names such as `新規受付`). Unknown.
pub const SEARCH_ORDER_STATUSES: &str = "order_statuses";
/// How times are written in search filters and read in orders: Japan time, no offset. Unknown.
pub const DATE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// How dates are written (発送予定日) and read (お届け希望日). Unknown.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Search answer: how many orders match in all ([M]: every `_search` answers `total_count`,
/// sometimes as a string).
pub const RESPONSE_TOTAL_COUNT: &str = "total_count";
/// Search answer: the list of orders. Unknown: `client/_search` answers `clients`.
pub const RESPONSE_ORDERS: &str = "orders";

/// Order: 受注番号. Unknown.
pub const ORDER_NO: &str = "order_no";
/// Order: 注文日時 ([`DATE_TIME_FORMAT`]). Unknown.
pub const ORDER_DATE: &str = "order_date";
/// Order: 注文ステータス (`新規受付`, `キャンセル`, `保留`, … per integrators). Unknown key.
pub const ORDER_STATUS: &str = "order_status";
/// Order: its deliveries (配送先). Unknown; LOGILESS notes orders can have several (複数配送先).
pub const ORDER_DELIVERIES: &str = "deliveries";
/// Delivery: its number within the order. Unknown.
pub const DELIVERY_NO: &str = "delivery_no";
/// Delivery: お届け希望日 ([`DATE_FORMAT`]). Unknown (cart-apis.md §6.6: "ShopServe: unknown").
pub const DELIVERY_REQUESTED_DATE: &str = "delivery_date";
/// Delivery: 伝票番号 (お問合せ番号). Unknown.
pub const DELIVERY_SLIP_NUMBER: &str = "slip_number";
/// Delivery: its lines. Unknown.
pub const DELIVERY_ITEMS: &str = "items";
/// Line: 商品管理番号. Unknown.
pub const ITEM_CODE: &str = "item_code";
/// Line: 数量. Unknown.
pub const ITEM_QUANTITY: &str = "quantity";

/// 注文ステータス meaning cancelled ([M]: integrators list `新規受付 / キャンセル / 保留`).
pub const ORDER_STATUS_CANCELLED: &str = "キャンセル";
/// Order: the buyer (注文者), an object of the person keys below. Unknown.
pub const ORDER_BUYER: &str = "orderer";
/// Order: the totals. Unknown keys, modelled on the fields integrators import.
pub const ORDER_TOTAL: &str = "total_price";
pub const ORDER_SUBTOTAL: &str = "item_total_price";
pub const ORDER_POSTAGE: &str = "postage";
pub const ORDER_FEE: &str = "commission";
pub const ORDER_TAX: &str = "tax";
pub const ORDER_DISCOUNT: &str = "discount";
pub const ORDER_POINTS: &str = "use_point";
/// Order: 決済方法 and 入金ステータス. Unknown keys.
pub const ORDER_PAYMENT_METHOD: &str = "payment_method";
pub const ORDER_PAYMENT_STATUS: &str = "payment_status";
/// Order: the buyer's note (備考). Unknown key.
pub const ORDER_NOTE: &str = "note";
/// Delivery: the recipient (お届け先), an object of the person keys below. Unknown.
pub const DELIVERY_RECEIVER: &str = "receiver";
/// Delivery: お届け希望時間帯. Unknown.
pub const DELIVERY_REQUESTED_TIME: &str = "delivery_time";
/// Delivery: 配送方法. Unknown.
pub const DELIVERY_METHOD: &str = "delivery_method";
/// Person keys (buyer and recipient alike). Unknown.
pub const PERSON_NAME: &str = "name";
pub const PERSON_NAME_KANA: &str = "name_kana";
pub const PERSON_EMAIL: &str = "mail_address";
pub const PERSON_PHONE: &str = "tel";
pub const PERSON_ZIP: &str = "zip_code";
pub const PERSON_PREFECTURE: &str = "prefecture";
pub const PERSON_CITY: &str = "city";
pub const PERSON_ADDRESS_LINES: [&str; 2] = ["address1", "address2"];
/// Line: 商品名, 単価 and the chosen options (`["カラー: 赤"]`). Unknown keys.
pub const ITEM_NAME: &str = "item_name";
pub const ITEM_PRICE: &str = "unit_price";
pub const ITEM_OPTIONS: &str = "options";

/// Update: 発送ステータス. Unknown key; integrators name the field.
pub const UPDATE_SHIPPING_STATUS: &str = "shipping_status";
/// Update: the 発送ステータス value for 発送済み. Unknown: integrators quote the label `発送済み`.
pub const SHIPPING_STATUS_SHIPPED: &str = "発送済み";
/// Update: 配送会社, sent as its Japanese name ([`carrier_value`]). Unknown key and values (the
/// carrier code list is not public).
pub const UPDATE_CARRIER: &str = "delivery_company";
/// Update: 伝票番号. Unknown key.
pub const UPDATE_SLIP_NUMBER: &str = "slip_number";
/// Update: 発送予定日 ([`DATE_FORMAT`]); the OMS ship date goes here (GoQ manual, SPEC.md). Unknown key.
pub const UPDATE_SCHEDULED_SHIP_DATE: &str = "scheduled_shipping_date";

/// Error answers: the message key. Unknown: assumed `{"message": …}` like most JSON APIs.
pub const ERROR_MESSAGE: &str = "message";
/// Error answers: the cart's own error code, when it gives one. Unknown.
pub const ERROR_CODE: &str = "code";
/// Words in the answer while ショップサーブ is under maintenance and the API is closed
/// (integrators quote "メンテナンス期間中のためAPIは使用できません" [M]); the status code is unknown.
pub const MAINTENANCE_MARKER: &str = "メンテナンス";

/// The 配送会社 value for a carrier. Unknown: sent as the carrier's Japanese name until the
/// 仕様書's code list is known.
pub fn carrier_value(carrier: &mallsync_rules::Carrier) -> &str {
    carrier.japanese_name()
}
