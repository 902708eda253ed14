//! BASE: which orders are dispatched, per order item, and with what.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::order::{Carrier, Item, OmsStatus, Order, TrackingNumber};
use crate::plan::{updated_within, Cart, Ledger, OnChange, Plan, Reason, Trigger, WriteBack};
use crate::secret::Secret;
use crate::settings::{
    check_common, check_required, check_secret, check_url, label, BuyerEmails, CartSettings,
    ExportMode, ExportSettings, ImportSettings, SettingKind, SettingLabel, EXPORT_MODE_LABEL,
};
use crate::time::on_or_before_today;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct BaseCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    /// The redirect URL registered with BASE (mallsync's OAuth callback route).
    pub redirect_uri: String,
}

/// The モール詳細設定 screen's labels (seed 001).
pub const CREDENTIAL_LABELS: &[SettingLabel] = &[
    label("credentials", "APIアクセス設定", "API access", "The app registered at developers.thebase.in; then press アクセスキー「取得する」 to connect.", SettingKind::Group),
    label("credentials.client_id", "クライアントID", "Client ID", "The app's client ID.", SettingKind::Plain),
    label(
        "credentials.client_secret",
        "クライアントシークレット",
        "Client secret",
        "The app's client secret.",
        SettingKind::Secret,
    ),
    label(
        "credentials.redirect_uri",
        "リダイレクトURL",
        "Redirect URL",
        "The URL registered with the app: this service's /base/oauth/callback.",
        SettingKind::Url,
    ),
];
pub const OPTION_LABELS: &[SettingLabel] = &[SettingLabel {
    // BASE mails the buyer on every dispatch: the one place its settings can say so.
    help: "Which OMS statuses are written back to BASE. Each dispatch makes BASE e-mail the buyer (発送メール); BASE's API cannot turn that off, and mallsync never dispatches an item twice.",
    ..EXPORT_MODE_LABEL
}];

/// `POST /1/orders/edit_status` with `status=dispatched` for one order item. One-way: BASE e-mails
/// the buyer and never lets the item go back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseDispatch {
    /// BASE's `unique_key`.
    pub order_id: String,
    pub order_item_id: String,
    pub tracking_number: TrackingNumber,
    pub carrier: Option<Carrier>,
    pub ship_date: NaiveDate,
}

impl WriteBack for BaseDispatch {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!("{}/{}", self.order_id, self.order_item_id)
    }
    /// The tracking number the buyer's 発送メール carried, to name it if the OMS changes it later.
    fn ledger_note(&self) -> Option<String> {
        Some(self.tracking_number.as_str().to_string())
    }
}

/// A BASE store's settings (SPEC.md defaults: 7 days to fetch, 30 min, 【処理済み】以外も書き出す).
/// Buyer e-mails: BASE sends its 発送メール on every dispatch; no setting here can stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct BaseSettings {
    pub credentials: BaseCredentials,
    #[serde(deserialize_with = "ImportSettings::over_defaults::<BaseSettings, _>")]
    pub import: ImportSettings,
    pub export: ExportSettings,
    /// API書出.
    pub export_mode: ExportMode,
}

impl Default for BaseSettings {
    fn default() -> Self {
        BaseSettings {
            credentials: BaseCredentials::default(),
            import: Self::IMPORT_DEFAULTS,
            export: ExportSettings::default(),
            export_mode: ExportMode::default(),
        }
    }
}

impl CartSettings for BaseSettings {
    const CART: Cart = Cart::Base;
    const IMPORT_DEFAULTS: ImportSettings = ImportSettings::defaults(7, 30);
    const CREDENTIAL_LABELS: &'static [SettingLabel] = CREDENTIAL_LABELS;
    const OPTION_LABELS: &'static [SettingLabel] = OPTION_LABELS;
    const SECRET_FIELDS: &'static [&'static str] = &["credentials.client_secret"];

    /// BASE mails the buyer (発送メール) on every dispatch, and the API offers no switch
    /// (cart-apis.md: "treat BASE always mails on dispatch as the safe assumption").
    fn buyer_emails(&self) -> BuyerEmails {
        BuyerEmails {
            mails_buyer: "always",
            message_ja: "BASEは発送（発送済みへの変更）のたびに購入者へ発送メールを送ります。APIから止めることはできません。送り直しはしないため、同じ注文に二度は送られません。".into(),
            message_en: "BASE e-mails the buyer (発送メール) on every dispatch, and its API cannot turn that off. mallsync never dispatches an item twice, so no buyer gets it twice.".into(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::new();
        check_required(&mut p, "credentials.client_id", &self.credentials.client_id);
        check_secret(
            &mut p,
            "credentials.client_secret",
            &self.credentials.client_secret,
        );
        check_url(
            &mut p,
            "credentials.redirect_uri",
            &self.credentials.redirect_uri,
        );
        check_common(&mut p, &self.import, &self.export, None);
        p.into_result()
    }
    fn period_days(&self) -> Option<u32> {
        None
    }
    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        vec![&mut self.credentials.client_secret]
    }

    fn credential_urls(&self) -> Vec<(&'static str, &str)> {
        vec![("credentials.redirect_uri", &self.credentials.redirect_uri)]
    }
}

/// Whether the export mode sends an order in `status`. キャンセル never, in any mode.
pub fn mode_sends(mode: ExportMode, status: &OmsStatus) -> bool {
    match (mode, status) {
        (_, OmsStatus::Cancelled) => false,
        (ExportMode::ExceptUnprocessed, OmsStatus::New | OmsStatus::OnHold) => false,
        (ExportMode::ExceptUnprocessed, _) => true,
        (ExportMode::OnlyProcessed, status) => *status == OmsStatus::Processed,
    }
}

/// BASE write-back: orders in the export mode's statuses (never キャンセル) with a tracking number
/// and a ship date of today or earlier in Japan (BASE dispatches at once and e-mails the buyer,
/// so a future date waits for its day); one dispatch per order item. On a manual run, only orders
/// updated within its period. What BASE dispatched is never changed (one-way).
pub fn plan_write_back(
    settings: &BaseSettings,
    orders: &[Order],
    trigger: Trigger,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Plan<BaseDispatch> {
    let mut plan = Plan::for_orders(orders.len());
    for order in orders {
        let candidates = candidates(settings, order, trigger, now);
        if let Ok(dispatches) = &candidates {
            warn_if_tracking_numbers_differ(&mut plan, &order.order_id, dispatches);
        }
        let unchangeable =
            plan.add_order(&order.order_id, candidates, ledger, OnChange::CannotChange);
        for dispatch in &unchangeable {
            warn_changed_after_dispatch(&mut plan, ledger, dispatch);
        }
    }
    plan
}

/// BASE keeps one tracking number per order, whatever the item: when the order's shipments
/// carry several, the buyer and BASE end up with only the last one dispatched.
fn warn_if_tracking_numbers_differ(
    plan: &mut Plan<BaseDispatch>,
    order_id: &str,
    dispatches: &[BaseDispatch],
) {
    let mut numbers: Vec<&str> = Vec::new();
    for d in dispatches {
        if !numbers.contains(&d.tracking_number.as_str()) {
            numbers.push(d.tracking_number.as_str());
        }
    }
    if numbers.len() < 2 {
        return;
    }
    let list = numbers.join(", ");
    plan.warn(
        order_id,
        "base_tracking_numbers_differ",
        format!(
            "BASEは注文ごとに伝票番号を1つしか保持しません。注文{order_id}の出荷には異なる伝票番号({list})があり、BASEには最後に発送した商品の番号だけが残ります。"
        ),
        format!(
            "BASE keeps one tracking number per order: order {order_id} has shipments with different tracking numbers ({list}); BASE will keep only the one of the item dispatched last."
        ),
    );
}

/// BASE dispatch is one-way: a change in the OMS after an item was dispatched never reaches
/// BASE or the buyer, so the operator is told what the buyer has and what the OMS now says.
fn warn_changed_after_dispatch(plan: &mut Plan<BaseDispatch>, ledger: &Ledger, d: &BaseDispatch) {
    let new = d.tracking_number.as_str();
    let (received_ja, received_en) = match ledger.note(&d.ledger_key()) {
        Some(sent) => (sent.to_string(), sent.to_string()),
        None => ("(記録なし)".to_string(), "(not recorded)".to_string()),
    };
    let (ja, en) = if received_en == new {
        (
            format!(
                "注文{order}の商品{item}はBASEで発送済みのため、配送会社・出荷日の変更はBASEに反映できません(伝票番号{new})。",
                order = d.order_id,
                item = d.order_item_id
            ),
            format!(
                "item {item} of order {order} is dispatched in BASE, which cannot change it: the new carrier or ship date (tracking number {new}) will not reach BASE.",
                order = d.order_id,
                item = d.order_item_id
            ),
        )
    } else {
        (
            format!(
                "注文{order}の商品{item}はBASEで発送済みのため変更できません。購入者に通知した伝票番号は{received_ja}、新しい伝票番号{new}はBASEに反映されません。必要なら購入者に直接お知らせください。",
                order = d.order_id,
                item = d.order_item_id
            ),
            format!(
                "item {item} of order {order} is dispatched in BASE, which cannot change it: the buyer was sent tracking number {received_en}; the new number {new} will not reach BASE. Tell the buyer directly if needed.",
                order = d.order_id,
                item = d.order_item_id
            ),
        )
    };
    plan.warn(&d.order_id, "base_changed_after_dispatch", ja, en);
}

fn candidates(
    settings: &BaseSettings,
    order: &Order,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Vec<BaseDispatch>, Reason> {
    if !mode_sends(settings.export_mode, &order.status) {
        return Err(Reason::StatusExcluded {
            status: order.status.clone(),
        });
    }
    updated_within(order, trigger.period_days(None), now)?;
    let items = items_with_tracking(order);
    if items.is_empty() {
        return Err(Reason::NoItems);
    }
    if items.iter().all(|(_, tracking)| tracking.is_none()) {
        return Err(Reason::NoTrackingNumber);
    }
    let ship_date = order.ship_date.ok_or(Reason::NoShipDate)?;
    if !on_or_before_today(ship_date, now) {
        return Err(Reason::ShipDateInFuture { ship_date });
    }
    let dispatches = items
        .into_iter()
        .filter_map(|(item, tracking_number)| {
            Some(BaseDispatch {
                order_id: order.order_id.clone(),
                order_item_id: item.item_id.clone(),
                tracking_number: tracking_number?.clone(),
                carrier: order.carrier.clone(),
                ship_date,
            })
        })
        .collect();
    Ok(dispatches)
}

/// Every item once, with its tracking number: an item in a shipment takes that shipment's (or
/// the order's), an item listed only on the order takes the order's.
fn items_with_tracking(order: &Order) -> Vec<(&Item, Option<&TrackingNumber>)> {
    let mut items: Vec<(&Item, Option<&TrackingNumber>)> = Vec::new();
    let in_shipments = order.shipments.iter().flat_map(|shipment| {
        let tracking = order.tracking_number_of(shipment);
        shipment.items.iter().map(move |item| (item, tracking))
    });
    let on_order = order
        .items
        .iter()
        .map(|item| (item, order.tracking_number()));
    for (item, tracking) in in_shipments.chain(on_order) {
        if !items.iter().any(|(seen, _)| seen.item_id == item.item_id) {
            items.push((item, tracking));
        }
    }
    items
}
