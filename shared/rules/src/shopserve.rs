//! Eストアー ショップサーブ: which orders are written back and which fields each gets.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::order::{Carrier, OmsStatus, Order, TrackingNumber};
use crate::plan::{ordered_within, Cart, Ledger, OnChange, Plan, Reason, Trigger, WriteBack};
use crate::secret::Secret;
use crate::settings::{
    check_common, check_required, check_secret, label, CartSettings, ExportSettings,
    ImportSettings, SettingKind, SettingLabel, PERIOD_DAYS_LABEL,
};
use crate::time::within_days;

/// ショップサーブ takes write-backs for orders placed within one year: 365×24 h.
pub const ORDER_AGE_LIMIT_DAYS: u32 = 365;

/// An order never updated since it was taken in counts as "in the period" for this many days
/// after it was ordered.
pub const NEVER_UPDATED_WINDOW_DAYS: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct ShopserveCredentials {
    pub shop_id: String,
    /// マネージャー認証キー
    pub manager_key: Secret,
}

/// The モール詳細設定 screen's labels (seed 002).
pub const CREDENTIAL_LABELS: &[SettingLabel] = &[
    label(
        "credentials",
        "APIアクセス設定",
        "API access",
        "The 受注・決済API credentials from the store's admin.",
        SettingKind::Group,
    ),
    label(
        "credentials.shop_id",
        "ショップID",
        "Shop ID",
        "The store's shop ID.",
        SettingKind::Plain,
    ),
    label(
        "credentials.manager_key",
        "マネージャー認証キー",
        "Manager key",
        "The マネージャー認証キー issued for the API.",
        SettingKind::Secret,
    ),
];
pub const OPTION_LABELS: &[SettingLabel] = &[PERIOD_DAYS_LABEL];

/// One order's update. Without a tracking number only `scheduled_ship_date` is set (SPEC.md: no
/// carrier, no status, so the cart raises no error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopserveUpdate {
    pub order_id: String,
    /// 発送ステータス = 発送済み; only with a tracking number.
    pub mark_shipped: bool,
    pub carrier: Option<Carrier>,
    pub tracking_number: Option<TrackingNumber>,
    /// 発送予定日 (the OMS ship date).
    pub scheduled_ship_date: Option<NaiveDate>,
}

impl WriteBack for ShopserveUpdate {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        self.order_id.clone()
    }
}

/// A ショップサーブ store's settings. SPEC.md gives no defaults for this cart; these follow Bカート
/// (7 days to fetch: integrators fetch a week back; 30 min; period 3 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ShopserveSettings {
    pub credentials: ShopserveCredentials,
    #[serde(deserialize_with = "ImportSettings::over_defaults::<ShopserveSettings, _>")]
    pub import: ImportSettings,
    pub export: ExportSettings,
    /// 作成期間: write back orders updated within this many days.
    pub period_days: u32,
}

/// 作成期間's default, in days (SPEC.md).
pub const DEFAULT_PERIOD_DAYS: u32 = 3;

impl Default for ShopserveSettings {
    fn default() -> Self {
        ShopserveSettings {
            credentials: ShopserveCredentials::default(),
            import: Self::IMPORT_DEFAULTS,
            export: ExportSettings::default(),
            period_days: DEFAULT_PERIOD_DAYS,
        }
    }
}

impl CartSettings for ShopserveSettings {
    const CART: Cart = Cart::Shopserve;
    const IMPORT_DEFAULTS: ImportSettings = ImportSettings::defaults(7, 30);
    const CREDENTIAL_LABELS: &'static [SettingLabel] = CREDENTIAL_LABELS;
    const OPTION_LABELS: &'static [SettingLabel] = OPTION_LABELS;
    const SECRET_FIELDS: &'static [&'static str] = &["credentials.manager_key"];

    fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::new();
        check_required(&mut p, "credentials.shop_id", &self.credentials.shop_id);
        check_secret(
            &mut p,
            "credentials.manager_key",
            &self.credentials.manager_key,
        );
        check_common(&mut p, &self.import, &self.export, Some(self.period_days));
        p.into_result()
    }
    fn period_days(&self) -> Option<u32> {
        Some(self.period_days)
    }
    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        vec![&mut self.credentials.manager_key]
    }
}

/// ショップサーブ write-back: orders not 新規受付/キャンセル/保留, updated within the period (never
/// updated: ordered within 4 days), ordered within one year. With a tracking number: 発送済み,
/// carrier, tracking number and ship date; without one: the ship date only.
pub fn plan_write_back(
    settings: &ShopserveSettings,
    orders: &[Order],
    trigger: Trigger,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Plan<ShopserveUpdate> {
    // On the schedule there is no period rule (the orders are those with work left).
    let period_days = match trigger {
        Trigger::Manual { period_days } => Some(period_days),
        Trigger::Webhook => Some(settings.period_days),
        Trigger::Scheduled => None,
    };
    let mut plan = Plan::for_orders(orders.len());
    for order in orders {
        let candidate = candidate(order, period_days, now).map(|update| [update]);
        plan.add_order(&order.order_id, candidate, ledger, OnChange::SendAgain);
    }
    plan
}

fn candidate(
    order: &Order,
    period_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<ShopserveUpdate, Reason> {
    if matches!(
        order.status,
        OmsStatus::New | OmsStatus::Cancelled | OmsStatus::OnHold
    ) {
        return Err(Reason::StatusExcluded {
            status: order.status.clone(),
        });
    }
    match (order.updated_at, period_days) {
        (_, None) => {}
        (Some(updated_at), Some(period_days)) if !within_days(updated_at, period_days, now) => {
            return Err(Reason::NotUpdatedInPeriod { period_days })
        }
        (None, Some(_)) if !within_days(order.ordered_at, NEVER_UPDATED_WINDOW_DAYS, now) => {
            return Err(Reason::NotUpdatedSinceOrdered {
                window_days: NEVER_UPDATED_WINDOW_DAYS,
            })
        }
        _ => {}
    }
    ordered_within(order, ORDER_AGE_LIMIT_DAYS, now)?;
    match (order.tracking_number(), order.ship_date) {
        (Some(tracking_number), ship_date) => Ok(ShopserveUpdate {
            order_id: order.order_id.clone(),
            mark_shipped: true,
            carrier: order.carrier.clone(),
            tracking_number: Some(tracking_number.clone()),
            scheduled_ship_date: ship_date,
        }),
        // A carrier without a tracking number is refused by the cart: send the date alone.
        (None, Some(ship_date)) => Ok(ShopserveUpdate {
            order_id: order.order_id.clone(),
            mark_shipped: false,
            carrier: None,
            tracking_number: None,
            scheduled_ship_date: Some(ship_date),
        }),
        (None, None) => Err(Reason::NoTrackingNumberOrShipDate),
    }
}
