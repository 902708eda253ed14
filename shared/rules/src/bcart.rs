//! Bカート: which orders are written back, and what each 出荷 (logistics) record gets.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::order::{Order, TrackingNumber};
use crate::plan::{
    at_least_one, not_new_or_cancelled, ordered_within, updated_within, Cart, Ledger, OnChange,
    Plan, Reason, Trigger, WriteBack,
};
use crate::secret::Secret;
use crate::settings::{
    check_common, check_secret, label, CartSettings, ExportSettings, ImportSettings, SettingKind,
    SettingLabel, PERIOD_DAYS_LABEL,
};
use crate::time::on_or_before_today;

/// Bカート takes write-backs only for orders placed within this many days.
pub const ORDER_AGE_LIMIT_DAYS: u32 = 170;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct BcartCredentials {
    /// Personal access token (Bearer).
    pub access_token: Secret,
}

/// The モール詳細設定 screen's labels (seed 000).
pub const CREDENTIAL_LABELS: &[SettingLabel] = &[
    label(
        "credentials",
        "APIアクセス設定",
        "API access",
        "How mallsync signs in to Bカート.",
        SettingKind::Group,
    ),
    label(
        "credentials.access_token",
        "パーソナルアクセストークン",
        "Personal access token",
        "Issued in Bカート's admin (API設定); sent as a Bearer token.",
        SettingKind::Secret,
    ),
];
pub const OPTION_LABELS: &[SettingLabel] = &[PERIOD_DAYS_LABEL];

/// Bカート's 発送状況 of one 出荷 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogisticsStatus {
    #[serde(rename = "発送指示")]
    ShipInstructed,
    #[serde(rename = "発送済")]
    Shipped,
}

impl LogisticsStatus {
    pub fn label(self) -> &'static str {
        match self {
            LogisticsStatus::ShipInstructed => "発送指示",
            LogisticsStatus::Shipped => "発送済",
        }
    }
}

/// `PATCH /logistics/{logistics_id}` for one 出荷 record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcartUpdate {
    pub order_id: String,
    pub logistics_id: String,
    pub status: LogisticsStatus,
    pub tracking_number: TrackingNumber,
    pub ship_date: Option<NaiveDate>,
}

impl WriteBack for BcartUpdate {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!("{}/{}", self.order_id, self.logistics_id)
    }
}

/// A Bカート store's settings (SPEC.md defaults: 7 days to fetch, 30 min, period 3 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct BcartSettings {
    pub credentials: BcartCredentials,
    #[serde(deserialize_with = "ImportSettings::over_defaults::<BcartSettings, _>")]
    pub import: ImportSettings,
    pub export: ExportSettings,
    /// 作成期間: the period a manual write-back proposes. Scheduled runs have no period rule.
    pub period_days: u32,
}

/// 作成期間's default, in days (SPEC.md).
pub const DEFAULT_PERIOD_DAYS: u32 = 3;

impl Default for BcartSettings {
    fn default() -> Self {
        BcartSettings {
            credentials: BcartCredentials::default(),
            import: Self::IMPORT_DEFAULTS,
            export: ExportSettings::default(),
            period_days: DEFAULT_PERIOD_DAYS,
        }
    }
}

impl CartSettings for BcartSettings {
    const CART: Cart = Cart::Bcart;
    const IMPORT_DEFAULTS: ImportSettings = ImportSettings::defaults(7, 30);
    const CREDENTIAL_LABELS: &'static [SettingLabel] = CREDENTIAL_LABELS;
    const OPTION_LABELS: &'static [SettingLabel] = OPTION_LABELS;
    const SECRET_FIELDS: &'static [&'static str] = &["credentials.access_token"];

    fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::new();
        check_secret(
            &mut p,
            "credentials.access_token",
            &self.credentials.access_token,
        );
        check_common(&mut p, &self.import, &self.export, Some(self.period_days));
        p.into_result()
    }
    fn period_days(&self) -> Option<u32> {
        Some(self.period_days)
    }
    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        vec![&mut self.credentials.access_token]
    }
}

/// Bカート write-back: orders not 新規受付/キャンセル, ordered within 170 days (and, on a manual
/// run, updated within its period); each 出荷 record with a tracking number gets 発送指示, or
/// 発送済 once its ship date is today or earlier in Japan. Nothing in the settings changes this:
/// their period is only what a manual run proposes.
pub fn plan_write_back(
    _settings: &BcartSettings,
    orders: &[Order],
    trigger: Trigger,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Plan<BcartUpdate> {
    let mut plan = Plan::for_orders(orders.len());
    for order in orders {
        let candidates = candidates(order, trigger, now);
        plan.add_order(&order.order_id, candidates, ledger, OnChange::SendAgain);
    }
    plan
}

fn candidates(
    order: &Order,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Vec<BcartUpdate>, Reason> {
    not_new_or_cancelled(&order.status)?;
    ordered_within(order, ORDER_AGE_LIMIT_DAYS, now)?;
    updated_within(order, trigger.period_days(None), now)?;
    if order.shipments.is_empty() {
        return Err(Reason::NoShipment);
    }
    let status = match order.ship_date {
        Some(date) if on_or_before_today(date, now) => LogisticsStatus::Shipped,
        _ => LogisticsStatus::ShipInstructed,
    };
    let updates = order
        .shipments
        .iter()
        .filter_map(|shipment| {
            let tracking_number = order.tracking_number_of(shipment)?;
            Some(BcartUpdate {
                order_id: order.order_id.clone(),
                logistics_id: shipment.shipment_id.clone(),
                status,
                tracking_number: tracking_number.clone(),
                ship_date: order.ship_date,
            })
        })
        .collect();
    at_least_one(updates, Reason::NoTrackingNumber)
}
