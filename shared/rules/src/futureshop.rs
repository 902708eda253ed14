//! futureshop: which orders are written back, per shipment (お届け先), in batches of ≤100 orders.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::order::{Order, TrackingNumber};
use crate::plan::{
    not_new_or_cancelled, ordered_within, updated_within, Cart, DataHash, Ledger, OnChange, Plan,
    Reason, Trigger, WriteBack,
};
use crate::secret::Secret;
use crate::settings::{
    check_common, check_required, check_secret, check_url, label, CartSettings, ExportSettings,
    ImportSettings, SettingKind, SettingLabel, Warning,
};

/// futureshop takes write-backs only for orders placed within this many days.
pub const ORDER_AGE_LIMIT_DAYS: u32 = 170;

/// Scheduled and webhook runs send orders last updated in the OMS within this many days.
pub const UPDATED_WITHIN_DAYS: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct FutureshopCredentials {
    /// 店舗キー, sent as `X-SHOP-KEY`.
    pub shop_key: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The API domain futureshop issues per contract, e.g. `https://api.example.future-shop.jp`.
    pub api_base_url: String,
}

/// The モール詳細設定 screen's labels (seed 004).
pub const CREDENTIAL_LABELS: &[SettingLabel] = &[
    label("credentials", "APIアクセス設定", "API access", "The API credentials futureshop issued for the shop.", SettingKind::Group),
    label("credentials.shop_key", "店舗キー", "Shop key", "Sent as X-SHOP-KEY.", SettingKind::Plain),
    label("credentials.client_id", "クライアントID", "Client ID", "The API client ID.", SettingKind::Plain),
    label(
        "credentials.client_secret",
        "クライアントシークレット",
        "Client secret",
        "The API client secret.",
        SettingKind::Secret,
    ),
    label(
        "credentials.api_base_url",
        "APIドメイン",
        "API base URL",
        "The API domain futureshop issued for the contract, e.g. https://api.example.future-shop.jp.",
        SettingKind::Url,
    ),
];
pub const OPTION_LABELS: &[SettingLabel] = &[
    label(
        "option_price",
        "オプション価格",
        "Option prices",
        "商品単価に加算する: add option prices to the item unit price on import.",
        SettingKind::Plain,
    ),
    label(
        "mark_processed",
        "API書出（処理済みに更新）",
        "Set to processed",
        "注文ステータスを処理済みに更新する: also set the order to 処理済み after a write-back.",
        SettingKind::Plain,
    ),
    SettingLabel {
        choices: &[
            ("on_order_completed", "注文完了時に有効", "When the order completes"),
            ("after_days", "一定期間経過後に有効", "After a set period"),
            ("by_admin", "管理者が、管理画面から有効", "By an administrator"),
            ("on_shipped", "発送済み時に有効", "When shipped (not applied through the API)"),
            ("on_processed", "処理済み時に有効", "When processed (not applied through the API)"),
        ],
        ..label(
            "point_timing",
            "ポイント有効処理設定",
            "Point activation",
            "The shop's point setting in futureshop, so mallsync can warn when the API does not activate points.",
            SettingKind::Plain,
        )
    },
];

/// Most orders futureshop takes in one `POST /admin-api/v1/shipping/status`.
pub const MAX_ORDERS_PER_BATCH: usize = 100;

/// One shipment's fields. Absent values are omitted on the wire, never sent as "" (futureshop
/// overwrites a field with blank when sent an empty string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutureshopShipment {
    pub shipment_no: u32,
    pub ship_date: NaiveDate,
    pub tracking_number: Option<TrackingNumber>,
    /// 到着予定日 = the requested delivery date when there is one.
    pub expected_arrival: Option<NaiveDate>,
}

/// One planned futureshop update. The 処理済 step is its own update with its own ledger entry,
/// so a failed 処理済 is retried alone and never sends the shipping data again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FutureshopUpdate {
    /// 発送API: one order's shipments; travels in batches of up to [`MAX_ORDERS_PER_BATCH`].
    Ship {
        order_id: String,
        shipments: Vec<FutureshopShipment>,
    },
    /// 処理済 (`POST /admin-api/v1/order/complete`): planned only with or after the order's
    /// `Ship` (in the ledger, or before it in the same plan), and refused for an order futureshop
    /// shows as cancelled.
    Complete { order_id: String },
}

impl FutureshopUpdate {
    /// The ledger key suffix of the 処理済 step (`<orderNo>#complete`).
    pub const COMPLETE_KEY_SUFFIX: &'static str = "#complete";

    pub fn is_ship(&self) -> bool {
        matches!(self, FutureshopUpdate::Ship { .. })
    }

    /// The shipments a `Ship` writes; none for `Complete`.
    pub fn shipments(&self) -> &[FutureshopShipment] {
        match self {
            FutureshopUpdate::Ship { shipments, .. } => shipments,
            FutureshopUpdate::Complete { .. } => &[],
        }
    }
}

impl WriteBack for FutureshopUpdate {
    fn order_id(&self) -> &str {
        match self {
            FutureshopUpdate::Ship { order_id, .. } | FutureshopUpdate::Complete { order_id } => {
                order_id
            }
        }
    }
    /// The shipping data keeps the key it always had (the order number), so ledgers written
    /// before 処理済 had its own entry stay valid.
    fn ledger_key(&self) -> String {
        match self {
            FutureshopUpdate::Ship { order_id, .. } => order_id.clone(),
            FutureshopUpdate::Complete { order_id } => {
                format!("{order_id}{}", Self::COMPLETE_KEY_SUFFIX)
            }
        }
    }
    /// The shipping data only (hashed as before 処理済 was split off: the same data never
    /// resends); the 処理済 step hashes its name and order.
    fn data_hash(&self) -> DataHash {
        match self {
            FutureshopUpdate::Ship {
                order_id,
                shipments,
            } => DataHash::of(&(order_id, shipments)),
            FutureshopUpdate::Complete { order_id } => DataHash::of(&("complete", order_id)),
        }
    }
}

/// futureshop's ポイント有効処理設定: when points given on an order become usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PointTiming {
    /// 注文完了時に有効 (futureshop's recommended setting).
    #[default]
    OnOrderCompleted,
    /// 一定期間経過後に有効.
    AfterDays,
    /// 管理者が、管理画面から有効.
    ByAdmin,
    /// 発送済み時に有効: not applied when the API sets 発送済み.
    OnShipped,
    /// 処理済み時に有効: not applied when the API sets 処理済み.
    OnProcessed,
}

/// A futureshop store's settings (SPEC.md defaults: 10 days to fetch, 10 min).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct FutureshopSettings {
    pub credentials: FutureshopCredentials,
    #[serde(deserialize_with = "ImportSettings::over_defaults::<FutureshopSettings, _>")]
    pub import: ImportSettings,
    pub export: ExportSettings,
    /// オプション価格: add option prices to the item unit price on import.
    pub option_price: bool,
    /// API書出: also set the order to 処理済み after a write-back.
    pub mark_processed: bool,
    /// The shop's point setting in futureshop, so mallsync can warn about it.
    pub point_timing: PointTiming,
}

impl Default for FutureshopSettings {
    fn default() -> Self {
        FutureshopSettings {
            credentials: FutureshopCredentials::default(),
            import: Self::IMPORT_DEFAULTS,
            export: ExportSettings::default(),
            option_price: true,
            mark_processed: false,
            point_timing: PointTiming::default(),
        }
    }
}

impl CartSettings for FutureshopSettings {
    const CART: Cart = Cart::Futureshop;
    const IMPORT_DEFAULTS: ImportSettings = ImportSettings::defaults(10, 10);
    const CREDENTIAL_LABELS: &'static [SettingLabel] = CREDENTIAL_LABELS;
    const OPTION_LABELS: &'static [SettingLabel] = OPTION_LABELS;
    const SECRET_FIELDS: &'static [&'static str] = &["credentials.client_secret"];

    fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::new();
        check_required(&mut p, "credentials.shop_key", &self.credentials.shop_key);
        check_required(&mut p, "credentials.client_id", &self.credentials.client_id);
        check_secret(
            &mut p,
            "credentials.client_secret",
            &self.credentials.client_secret,
        );
        check_url(
            &mut p,
            "credentials.api_base_url",
            &self.credentials.api_base_url,
        );
        check_common(&mut p, &self.import, &self.export, None);
        p.into_result()
    }
    /// A manual run proposes futureshop's own 4 days (and may only widen it).
    fn period_days(&self) -> Option<u32> {
        Some(UPDATED_WITHIN_DAYS)
    }
    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        vec![&mut self.credentials.client_secret]
    }

    fn credential_urls(&self) -> Vec<(&'static str, &str)> {
        vec![("credentials.api_base_url", &self.credentials.api_base_url)]
    }
    fn import_option_price(&self) -> bool {
        self.option_price
    }

    fn warnings(&self) -> Vec<Warning> {
        let (setting, status) = match self.point_timing {
            PointTiming::OnShipped => ("発送済み時に有効", "発送済み"),
            PointTiming::OnProcessed => ("処理済み時に有効", "処理済み"),
            _ => return Vec::new(),
        };
        vec![Warning {
            code: "futureshop_points_not_activated",
            message_ja: format!(
                "futureshopのポイント有効処理設定が「{setting}」のため、APIで{status}にしてもポイントは有効になりません。futureshop管理画面で手動で有効処理を行ってください。"
            ),
            message_en: format!(
                "futureshop's point setting is \"{setting}\": points are not activated when the API sets the order to {status}. Activate them by hand in the futureshop admin."
            ),
        }]
    }
}

/// An item's unit price on import: with the option prices added when the store says so.
pub fn unit_price_with_options(unit_price: i64, option_prices: &[i64], option_price: bool) -> i64 {
    if option_price {
        option_prices
            .iter()
            .fold(unit_price, |sum, option| sum.saturating_add(*option))
    } else {
        unit_price
    }
}

/// futureshop write-back: orders not 新規受付/キャンセル, last updated in the OMS within 4 days (a
/// manual run's period may widen that window, never narrow it), ordered within 170 days, with a
/// ship date (setting it is what makes futureshop mark the shipment 発送済み). Per order a `Ship`
/// update with every shipment (the tracking number when there is one, the expected arrival = the
/// requested delivery date), then, when the store asks for 処理済, a `Complete` update after it.
pub fn plan_write_back(
    settings: &FutureshopSettings,
    orders: &[Order],
    trigger: Trigger,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Plan<FutureshopUpdate> {
    let period_days = period_days(trigger);
    let mut plan = Plan::for_orders(orders.len());
    for order in orders {
        let candidates = candidate(order, period_days, now).map(|ship| {
            let complete = settings.mark_processed.then(|| FutureshopUpdate::Complete {
                order_id: order.order_id.clone(),
            });
            // The Ship first: the 処理済 step goes only with or after the shipping data.
            std::iter::once(ship).chain(complete)
        });
        plan.add_order(&order.order_id, candidates, ledger, OnChange::SendAgain);
    }
    plan
}

/// The "updated in the OMS within N days" window: 4 days, or a manual run's period when longer;
/// none on the schedule, which finishes the orders with work left whatever their age.
pub fn period_days(trigger: Trigger) -> Option<u32> {
    trigger
        .period_days(Some(UPDATED_WITHIN_DAYS))
        .map(|days| days.max(UPDATED_WITHIN_DAYS))
}

fn candidate(
    order: &Order,
    period_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<FutureshopUpdate, Reason> {
    not_new_or_cancelled(&order.status)?;
    updated_within(order, period_days, now)?;
    ordered_within(order, ORDER_AGE_LIMIT_DAYS, now)?;
    let ship_date = order.ship_date.ok_or(Reason::NoShipDate)?;
    let shipment = |shipment_no, tracking_number: Option<&TrackingNumber>| FutureshopShipment {
        shipment_no,
        ship_date,
        tracking_number: tracking_number.cloned(),
        expected_arrival: order.requested_delivery_date,
    };
    let shipments = if order.shipments.is_empty() {
        vec![shipment(1, order.tracking_number())]
    } else {
        order
            .shipments
            .iter()
            .map(|s| {
                // futureshop numbers an order's shipments from 1.
                let no = s
                    .shipment_id
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|no| *no > 0)
                    .ok_or_else(|| Reason::InvalidShipmentNo {
                        shipment_id: s.shipment_id.clone(),
                    })?;
                Ok(shipment(no, order.tracking_number_of(s)))
            })
            .collect::<Result<_, Reason>>()?
    };
    Ok(FutureshopUpdate::Ship {
        order_id: order.order_id.clone(),
        shipments,
    })
}
