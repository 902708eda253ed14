//! CS-Cart: which orders are written back, and the shipment + status C each gets.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::order::{Carrier, Item, OmsStatus, Order, TrackingNumber};
use crate::plan::{
    at_least_one, updated_within, Cart, Ledger, OnChange, Plan, Reason, Trigger, WriteBack,
};
use crate::secret::Secret;
use crate::settings::{
    check_common, check_required, check_secret, check_url, label, BuyerEmails, CartSettings,
    ExportMode, ExportSettings, ImportSettings, SettingKind, SettingLabel, EXPORT_MODE_LABEL,
    PERIOD_DAYS_LABEL,
};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct CscartCredentials {
    /// The store URL: the admin URL without `admin.php`, e.g. `https://shop.example.jp/`.
    pub store_url: String,
    pub admin_email: String,
    pub api_key: Secret,
}

/// The モール詳細設定 screen's labels (seed 003).
pub const CREDENTIAL_LABELS: &[SettingLabel] = &[
    label(
        "credentials",
        "API連携設定",
        "API access",
        "An administrator's API key on the shop's CS-Cart.",
        SettingKind::Group,
    ),
    label(
        "credentials.store_url",
        "URL",
        "Store URL",
        "The admin URL without admin.php, e.g. https://shop.example.jp/.",
        SettingKind::Url,
    ),
    label(
        "credentials.admin_email",
        "メールアドレス",
        "Administrator e-mail",
        "The e-mail of an administrator account (お客様 > 管理者).",
        SettingKind::Email,
    ),
    label(
        "credentials.api_key",
        "APIキー",
        "API key",
        "That administrator's API key.",
        SettingKind::Secret,
    ),
];
pub const OPTION_LABELS: &[SettingLabel] = &[
    SettingLabel {
        choices: &[
            ("O", "注文受付", "Open"),
            ("B", "入荷待ち", "Backordered"),
            ("P", "支払い確認済み", "Processed (paid)"),
            ("C", "配送済み", "Complete"),
        ],
        ..label(
            "import_statuses",
            "CS-CART取得ステータス",
            "CS-Cart statuses to fetch",
            "An import fetches orders in these CS-Cart statuses.",
            SettingKind::Plain,
        )
    },
    EXPORT_MODE_LABEL,
    PERIOD_DAYS_LABEL,
    label(
        "notifications",
        "メール通知",
        "E-mail notifications",
        "Whom CS-Cart e-mails when mallsync sets an order to 配送済み. CS-Cart reads any value sent, even \"N\", as notify, so an off switch is sent by leaving the key out. The shipment e-mail of CS-Cart 4.16 and later follows the shop's own notification settings in CS-Cart.",
        SettingKind::Group,
    ),
    label(
        "notifications.notify_user",
        "購入者に通知",
        "Notify the buyer",
        "CS-Cart's status e-mail to the buyer (notify_user). On by default, as when the shop ships by hand with 顧客に通知 ticked.",
        SettingKind::Plain,
    ),
    label(
        "notifications.notify_department",
        "注文部門に通知",
        "Notify the order department",
        "The same e-mail to the shop's order department (notify_department).",
        SettingKind::Plain,
    ),
    label(
        "notifications.notify_vendor",
        "出品者に通知",
        "Notify the vendor",
        "Multi-Vendor: the same e-mail to the vendor (notify_vendor).",
        SettingKind::Plain,
    ),
];

/// `POST /api/shipments` for one shipping group, then a status-only `PUT /api/orders/{id}` to C.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CscartShipment {
    pub order_id: String,
    /// CS-Cart's shipping group (shipping_id); `None` when the order has one group.
    pub shipping_id: Option<String>,
    pub tracking_number: TrackingNumber,
    pub carrier: Option<Carrier>,
    pub ship_date: NaiveDate,
    /// Items and amounts shipped; empty means every item of the order.
    pub items: Vec<Item>,
    /// Whom CS-Cart e-mails about the status change (the store's setting). Left out of the JSON,
    /// so the ledger hash is only the shipping data: switching e-mails on or off resends nothing.
    #[serde(skip)]
    pub notify: CscartNotify,
}

/// Whom CS-Cart e-mails when mallsync sets an order to 配送済み (`PUT /api/orders/{id}`):
/// `notify_user` (the buyer), `notify_department` (the shop's staff), `notify_vendor`
/// (Multi-Vendor). CS-Cart reads any non-empty value, even `"N"`, as "notify", so an "off" is
/// sent by leaving the key out. Default: only the buyer, as when the shop ships by hand in the
/// admin with "Notify customer" ticked. The shipment e-mail CS-Cart ≥ 4.16 sends on
/// `POST /api/shipments` follows the shop's own notification settings in CS-Cart, not these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CscartNotify {
    /// 購入者に通知: the buyer gets CS-Cart's status e-mail (配送済み).
    pub notify_user: bool,
    /// 注文部門に通知: the shop's order department gets it.
    pub notify_department: bool,
    /// 出品者に通知 (Multi-Vendor): the vendor gets it.
    pub notify_vendor: bool,
}

impl Default for CscartNotify {
    fn default() -> Self {
        CscartNotify {
            notify_user: true,
            notify_department: false,
            notify_vendor: false,
        }
    }
}

impl WriteBack for CscartShipment {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!(
            "{}/{}",
            self.order_id,
            self.shipping_id.as_deref().unwrap_or("-")
        )
    }
}

/// CS-Cart order statuses an import can fetch (CS-CART取得ステータス), by their fixed letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CscartStatus {
    /// 注文受付 (Open)
    #[serde(rename = "O")]
    Open,
    /// 入荷待ち (Backordered)
    #[serde(rename = "B")]
    Backordered,
    /// 支払い確認済み (Processed/paid)
    #[serde(rename = "P")]
    Paid,
    /// 配送済み (Complete); also what a write-back sets.
    #[serde(rename = "C")]
    Complete,
}

impl CscartStatus {
    pub const ALL: [CscartStatus; 4] = [
        CscartStatus::Open,
        CscartStatus::Backordered,
        CscartStatus::Paid,
        CscartStatus::Complete,
    ];

    /// The letter CS-Cart's API uses.
    pub fn code(self) -> &'static str {
        match self {
            CscartStatus::Open => "O",
            CscartStatus::Backordered => "B",
            CscartStatus::Paid => "P",
            CscartStatus::Complete => "C",
        }
    }

    pub fn from_code(code: &str) -> Option<CscartStatus> {
        CscartStatus::ALL
            .into_iter()
            .find(|s| s.code() == code.trim())
    }

    /// The label the operator sees (seed 003).
    pub fn label_ja(self) -> &'static str {
        match self {
            CscartStatus::Open => "注文受付",
            CscartStatus::Backordered => "入荷待ち",
            CscartStatus::Paid => "支払い確認済み",
            CscartStatus::Complete => "配送済み",
        }
    }
}

/// A CS-Cart store's settings (SPEC.md defaults: 10 min auto-fetch, period 1 day,
/// 【処理済み】以外も); days to fetch 7 like the other carts, since SPEC.md gives none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CscartSettings {
    pub credentials: CscartCredentials,
    #[serde(deserialize_with = "ImportSettings::over_defaults::<CscartSettings, _>")]
    pub import: ImportSettings,
    /// CS-CART取得ステータス: the cart statuses an import fetches. Default 注文受付 and
    /// 支払い確認済み: CS-Cart puts an order paid online straight into P, so O alone would miss it.
    pub import_statuses: Vec<CscartStatus>,
    pub export: ExportSettings,
    /// API書出.
    pub export_mode: ExportMode,
    /// 作成期間: write back orders updated within this many days.
    pub period_days: u32,
    /// Whom CS-Cart e-mails about the 配送済み status change (default: the buyer only).
    pub notifications: CscartNotify,
}

/// 作成期間's default, in days (SPEC.md).
pub const DEFAULT_PERIOD_DAYS: u32 = 1;

impl Default for CscartSettings {
    fn default() -> Self {
        CscartSettings {
            credentials: CscartCredentials::default(),
            import: Self::IMPORT_DEFAULTS,
            import_statuses: vec![CscartStatus::Open, CscartStatus::Paid],
            export: ExportSettings::default(),
            export_mode: ExportMode::default(),
            period_days: DEFAULT_PERIOD_DAYS,
            notifications: CscartNotify::default(),
        }
    }
}

impl CartSettings for CscartSettings {
    const CART: Cart = Cart::Cscart;
    const IMPORT_DEFAULTS: ImportSettings = ImportSettings::defaults(7, 10);
    const CREDENTIAL_LABELS: &'static [SettingLabel] = CREDENTIAL_LABELS;
    const OPTION_LABELS: &'static [SettingLabel] = OPTION_LABELS;
    const SECRET_FIELDS: &'static [&'static str] = &["credentials.api_key"];

    /// The status e-mail follows `notifications.notify_user`; the shipment e-mail of CS-Cart
    /// ≥ 4.16 follows the shop's notification settings in CS-Cart itself.
    fn buyer_emails(&self) -> BuyerEmails {
        let (mails_buyer, ja, en) = if self.notifications.notify_user {
            ("on", "配送済みへの変更時にCS-Cartが購入者へメールを送ります（設定 notifications.notify_user）。", "CS-Cart e-mails the buyer when mallsync sets the order to 配送済み (setting notifications.notify_user).")
        } else {
            ("off", "配送済みへの変更時の購入者へのメールは送りません（設定 notifications.notify_user がオフ）。", "CS-Cart does not e-mail the buyer when mallsync sets the order to 配送済み (setting notifications.notify_user is off).")
        };
        BuyerEmails {
            mails_buyer,
            message_ja: format!("{ja}出荷（shipment）登録時のメールはCS-Cart 4.16以降、CS-Cart側の通知設定に従います。"),
            message_en: format!("{en} The shipment e-mail of CS-Cart 4.16 and later follows the shop's own notification settings in CS-Cart."),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::new();
        check_url(&mut p, "credentials.store_url", &self.credentials.store_url);
        if self.credentials.store_url.trim_end().ends_with(".php") {
            p.add_ja_en(
                "credentials.store_url",
                "管理画面URLから admin.php を除いたURLを入力してください（例: https://shop.example.jp/）",
                "give the admin URL without admin.php, e.g. https://shop.example.jp/",
            );
        }
        let email = self.credentials.admin_email.trim();
        check_required(&mut p, "credentials.admin_email", email);
        if !email.is_empty() && !email.contains('@') {
            p.add_ja_en(
                "credentials.admin_email",
                format!("{email:?} はメールアドレスではありません"),
                format!("{email:?} is not an e-mail address"),
            );
        }
        check_secret(&mut p, "credentials.api_key", &self.credentials.api_key);
        if self.import_statuses.is_empty() {
            p.add_ja_en(
                "import_statuses",
                "取得するステータスを1つ以上選んでください",
                "choose at least one of O, B, P, C",
            );
        }
        check_common(&mut p, &self.import, &self.export, Some(self.period_days));
        p.into_result()
    }
    fn period_days(&self) -> Option<u32> {
        Some(self.period_days)
    }
    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        vec![&mut self.credentials.api_key]
    }

    fn credential_urls(&self) -> Vec<(&'static str, &str)> {
        vec![("credentials.store_url", &self.credentials.store_url)]
    }
    /// CS-CART取得ステータス, by CS-Cart's letters.
    fn import_cart_statuses(&self) -> Vec<String> {
        self.import_statuses
            .iter()
            .map(|s| s.code().to_string())
            .collect()
    }
}

/// Whether the export mode sends an order in `status`: 【処理済み】のみ sends 処理済み only,
/// 【処理済み】以外も every status but 新規受付 and キャンセル.
pub fn mode_sends(mode: ExportMode, status: &OmsStatus) -> bool {
    match mode {
        ExportMode::OnlyProcessed => *status == OmsStatus::Processed,
        ExportMode::ExceptUnprocessed => !matches!(status, OmsStatus::New | OmsStatus::Cancelled),
    }
}

/// CS-Cart write-back: orders in the export mode's statuses, updated within the period, with both
/// a ship date and a tracking number; one shipment per shipping group (or one for the order), each
/// setting the order and shipment to 配送済み (C).
pub fn plan_write_back(
    settings: &CscartSettings,
    orders: &[Order],
    trigger: Trigger,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Plan<CscartShipment> {
    let period_days = trigger.period_days(Some(settings.period_days));
    let mut plan = Plan::for_orders(orders.len());
    for order in orders {
        let candidates = candidates(settings.export_mode, order, period_days, now).map(|c| {
            c.into_iter()
                .map(|shipment| CscartShipment {
                    notify: settings.notifications,
                    ..shipment
                })
                .collect::<Vec<_>>()
        });
        plan.add_order(&order.order_id, candidates, ledger, OnChange::SendAgain);
    }
    plan
}

fn candidates(
    mode: ExportMode,
    order: &Order,
    period_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Vec<CscartShipment>, Reason> {
    if !mode_sends(mode, &order.status) {
        return Err(Reason::StatusExcluded {
            status: order.status.clone(),
        });
    }
    updated_within(order, period_days, now)?;
    let ship_date = order.ship_date.ok_or(Reason::NoShipDate)?;
    let shipment =
        |shipping_id: Option<&str>, tracking: Option<&TrackingNumber>, items: &[Item]| {
            Some(CscartShipment {
                order_id: order.order_id.clone(),
                shipping_id: shipping_id.map(str::to_string),
                tracking_number: tracking?.clone(),
                carrier: order.carrier.clone(),
                ship_date,
                items: items.to_vec(),
                notify: CscartNotify::default(),
            })
        };
    let shipments = if order.shipments.is_empty() {
        shipment(None, order.tracking_number(), &[])
            .into_iter()
            .collect()
    } else {
        order
            .shipments
            .iter()
            .filter_map(|s| shipment(Some(&s.shipment_id), order.tracking_number_of(s), &s.items))
            .collect()
    };
    at_least_one(shipments, Reason::NoTrackingNumber)
}
