//! A store's settings: SPEC.md's defaults, parsed with the bad field named, checked all at once.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Problems};
use crate::order::OmsStatus;
use crate::plan::Cart;
use crate::secret::Secret;

/// The intervals an operator may pick for auto-fetch and auto-export, in minutes.
pub const INTERVAL_MINUTES: [u32; 9] = [10, 15, 20, 30, 60, 120, 180, 360, 720];

pub use crate::time::MAX_DAYS;

/// Import (取込) settings; the same for every cart, only the defaults differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// 受注を取得する日数: how far back an import looks.
    pub days_to_fetch: u32,
    /// 受注格納先ステータス: the OMS status an imported order gets.
    pub target_status: OmsStatus,
    pub auto_fetch: bool,
    pub auto_fetch_interval_minutes: u32,
}

/// An `import` object as given: missing fields take the cart's defaults, not one global default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportSettingsGiven {
    days_to_fetch: Option<u32>,
    target_status: Option<OmsStatus>,
    auto_fetch: Option<bool>,
    auto_fetch_interval_minutes: Option<u32>,
}

impl ImportSettings {
    /// A cart's defaults: new orders go to 新規受付, auto-fetch off.
    pub const fn defaults(days_to_fetch: u32, auto_fetch_interval_minutes: u32) -> ImportSettings {
        ImportSettings {
            days_to_fetch,
            target_status: OmsStatus::New,
            auto_fetch: false,
            auto_fetch_interval_minutes,
        }
    }

    /// serde helper for every cart's `import` field: the given fields over the cart's
    /// [`CartSettings::IMPORT_DEFAULTS`]. Each cart's settings name it with their own type:
    /// `#[serde(deserialize_with = "ImportSettings::over_defaults::<BcartSettings, _>")]`.
    pub(crate) fn over_defaults<'de, S: CartSettings, D: Deserializer<'de>>(
        d: D,
    ) -> Result<ImportSettings, D::Error> {
        let defaults = S::IMPORT_DEFAULTS;
        let given = ImportSettingsGiven::deserialize(d)?;
        Ok(ImportSettings {
            days_to_fetch: given.days_to_fetch.unwrap_or(defaults.days_to_fetch),
            target_status: given.target_status.unwrap_or(defaults.target_status),
            auto_fetch: given.auto_fetch.unwrap_or(defaults.auto_fetch),
            auto_fetch_interval_minutes: given
                .auto_fetch_interval_minutes
                .unwrap_or(defaults.auto_fetch_interval_minutes),
        })
    }

    fn check(&self, p: &mut Problems) {
        check_days(p, "import.days_to_fetch", self.days_to_fetch);
        if self.target_status.name().trim().is_empty() {
            p.add_ja_en(
                "import.target_status",
                "受注ステータスを指定してください（例: 新規受付）",
                "name an OMS status, e.g. 新規受付",
            );
        }
        check_interval(
            p,
            "import.auto_fetch_interval_minutes",
            self.auto_fetch_interval_minutes,
        );
    }
}

/// Write-back (書き出し) schedule; the same for every cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ExportSettings {
    pub auto_export: bool,
    /// "About every 30 minutes": a safety net behind the OMS webhook.
    pub auto_export_interval_minutes: u32,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            auto_export: false,
            auto_export_interval_minutes: 30,
        }
    }
}

impl ExportSettings {
    fn check(&self, p: &mut Problems) {
        check_interval(
            p,
            "export.auto_export_interval_minutes",
            self.auto_export_interval_minutes,
        );
    }
}

/// API書出 for BASE and CS-Cart: which OMS statuses are written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportMode {
    /// 【処理済み】以外も書き出す: every status but the cart's excluded ones.
    #[default]
    ExceptUnprocessed,
    /// 【処理済み】だけ書き出す: only 処理済み.
    OnlyProcessed,
}

/// How the モール詳細設定 screen shows one setting: the seeds' label in Japanese, an English one,
/// what it does, and the kind of value. Each cart lists its own in its rules file; the settings
/// JSON Schema (`crate::schema`, served by the API) is built from the types plus these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingLabel {
    /// The JSON path below the settings, e.g. `import.days_to_fetch` (a group: `import`).
    pub path: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    /// What the setting does, in English (with the screen's Japanese words where they help).
    pub help: &'static str,
    pub kind: SettingKind,
    /// Each choice of a choice field: (value as sent, Japanese, English).
    pub choices: &'static [(&'static str, &'static str, &'static str)],
}

/// The kind of value, for the schema's ranges and formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// A group of settings (an object).
    Group,
    /// Text, a flag or a choice.
    Plain,
    /// A secret: write-only, shown masked.
    Secret,
    /// Days back: 1 to `MAX_DAYS`.
    Days,
    /// Minutes, one of `INTERVAL_MINUTES`.
    Interval,
    Url,
    Email,
}

pub(crate) const fn label(
    path: &'static str,
    ja: &'static str,
    en: &'static str,
    help: &'static str,
    kind: SettingKind,
) -> SettingLabel {
    SettingLabel {
        path,
        ja,
        en,
        help,
        kind,
        choices: &[],
    }
}

/// The labels every cart shares: import and write-back schedules.
pub const COMMON_LABELS: &[SettingLabel] = &[
    label(
        "import",
        "受注取得",
        "Import",
        "Fetching the cart's orders into the OMS.",
        SettingKind::Group,
    ),
    label(
        "import.days_to_fetch",
        "受注を取得する日数",
        "Days to fetch",
        "How many days back an import looks for orders (日分).",
        SettingKind::Days,
    ),
    label(
        "import.target_status",
        "受注格納先ステータス",
        "Status of imported orders",
        "The OMS status an imported order gets, e.g. 新規受付.",
        SettingKind::Plain,
    ),
    label(
        "import.auto_fetch",
        "自動取得",
        "Auto-fetch",
        "Import on a schedule.",
        SettingKind::Plain,
    ),
    label(
        "import.auto_fetch_interval_minutes",
        "取得間隔（分）",
        "Auto-fetch interval (minutes)",
        "How often auto-fetch imports.",
        SettingKind::Interval,
    ),
    label(
        "export",
        "書き出し",
        "Write-back",
        "Sending shipping data to the cart.",
        SettingKind::Group,
    ),
    label(
        "export.auto_export",
        "自動書き出し",
        "Auto-export",
        "Write back each OMS update at once, and again on a schedule as a safety net.",
        SettingKind::Plain,
    ),
    label(
        "export.auto_export_interval_minutes",
        "自動書き出しの間隔（分）",
        "Auto-export interval (minutes)",
        "How often the scheduled write-back runs (about every 30 minutes by default).",
        SettingKind::Interval,
    ),
];

/// 作成期間, for the carts whose データ書出 screen has one.
pub const PERIOD_DAYS_LABEL: SettingLabel = label(
    "period_days",
    "作成期間（日）",
    "Period (days)",
    "A manual write-back (発送情報の更新) sends orders updated within this many days.",
    SettingKind::Days,
);

/// API書出 for BASE and CS-Cart.
pub const EXPORT_MODE_LABEL: SettingLabel = SettingLabel {
    choices: &[
        (
            "except_unprocessed",
            "【処理済み】以外も書き出す",
            "Every status but the excluded ones",
        ),
        (
            "only_processed",
            "【処理済み】だけ書き出す",
            "Only 処理済み (processed) orders",
        ),
    ],
    ..label(
        "export_mode",
        "API書出",
        "Statuses written back",
        "Which OMS statuses are written back to the cart.",
        SettingKind::Plain,
    )
};

/// Something the operator must know about a store's settings (shown with settings and preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

/// Whether the cart e-mails the buyer when mallsync writes shipping data back, as far as its
/// public facts tell (shown per store in the write-back preview, Japanese and English).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuyerEmails {
    /// `always` (the cart mails and mallsync cannot stop it), `on` / `off` (a store setting
    /// decides), `unknown` (the cart's documents do not say).
    pub mails_buyer: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

impl BuyerEmails {
    pub fn unknown(cart: &str) -> BuyerEmails {
        BuyerEmails {
            mails_buyer: "unknown",
            message_ja: format!("{cart}がAPIでの更新時に購入者へメールを送るかは公開資料で確認できていません。{cart}の管理画面のメール設定を確認してください。"),
            message_en: format!("{cart}'s public documents do not say whether an update through its API e-mails the buyer; check the mail settings in {cart}'s admin."),
        }
    }
}

/// The settings every cart shares: the fields `import` and `export`, the same types at the same
/// JSON paths in every cart's settings (so the stored JSON stays flat). The cart registry
/// implements this for each cart's settings type (`store_settings.rs`); a cart's own file
/// declares only the fields and `CartSettings::IMPORT_DEFAULTS`.
pub trait SharedSettings {
    fn import(&self) -> &ImportSettings;
    fn export(&self) -> &ExportSettings;
}

/// What every cart's settings offer, whatever the cart: each cart's settings type declares here
/// what differs (its defaults, labels, secrets, URLs), in the cart's own file.
pub trait CartSettings: SharedSettings + Default {
    const CART: Cart;
    /// The cart's `import` defaults (SPEC.md): a missing field of a given `import` object takes
    /// its value from here, not from one global default.
    const IMPORT_DEFAULTS: ImportSettings;
    /// The モール詳細設定 screen's labels of the `credentials` group, in screen order.
    const CREDENTIAL_LABELS: &'static [SettingLabel];
    /// The labels of the cart's own options, after the shared ones.
    const OPTION_LABELS: &'static [SettingLabel];
    /// The JSON paths of the secrets, in `secrets_mut` order (for error messages).
    const SECRET_FIELDS: &'static [&'static str];
    /// Every bad field, named by its JSON path.
    fn validate(&self) -> Result<(), Error>;
    /// The period a manual write-back proposes (作成期間), where the cart has one.
    fn period_days(&self) -> Option<u32>;
    fn secrets_mut(&mut self) -> Vec<&mut Secret>;
    /// The URLs the store's credentials are sent to or bound to, by JSON path (CS-Cart store
    /// URL, futureshop API URL, BASE redirect URL): a stored secret is kept for a masked form
    /// only while they are unchanged. None for a cart with one shared API.
    fn credential_urls(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }
    /// The cart's own status codes an import fetches (CS-Cart's letters); empty: every status.
    fn import_cart_statuses(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether an import adds option prices to the item unit price (futureshop).
    fn import_option_price(&self) -> bool {
        false
    }
    fn warnings(&self) -> Vec<Warning> {
        Vec::new()
    }
    /// Whether writing back e-mails the buyer (see each cart's file).
    fn buyer_emails(&self) -> BuyerEmails {
        BuyerEmails::unknown(Self::CART.display_name())
    }
}

/// Checks shared by the cart settings; each adds a problem naming `field`.
pub(crate) fn check_common(
    p: &mut Problems,
    import: &ImportSettings,
    export: &ExportSettings,
    period_days: Option<u32>,
) {
    import.check(p);
    export.check(p);
    if let Some(days) = period_days {
        check_days(p, "period_days", days);
    }
}

pub(crate) fn check_days(p: &mut Problems, field: &str, days: u32) {
    if !(1..=MAX_DAYS).contains(&days) {
        p.add_ja_en(
            field,
            format!("1〜{MAX_DAYS}日で指定してください（{days}日は指定できません）"),
            format!("must be 1 to {MAX_DAYS} days, not {days}"),
        );
    }
}

fn check_interval(p: &mut Problems, field: &str, minutes: u32) {
    if !INTERVAL_MINUTES.contains(&minutes) {
        let allowed = INTERVAL_MINUTES.map(|m| m.to_string()).join(", ");
        p.add_ja_en(
            field,
            format!("{allowed} 分のいずれかを選んでください（{minutes}分は選べません）"),
            format!("must be one of {allowed} minutes, not {minutes}"),
        );
    }
}

pub(crate) fn check_required(p: &mut Problems, field: &str, value: &str) {
    if value.trim().is_empty() {
        add_required(p, field);
    }
}

pub(crate) fn check_secret(p: &mut Problems, field: &str, value: &Secret) {
    if value.is_empty() {
        add_required(p, field);
    }
}

fn add_required(p: &mut Problems, field: &str) {
    p.add_ja_en(field, "入力してください（必須）", "is required");
}

/// A URL mallsync sends credentials to: https, or plain http only to this machine (tests, fakes).
pub(crate) fn check_url(p: &mut Problems, field: &str, url: &str) {
    let url = url.trim();
    if url.is_empty() {
        add_required(p, field);
        return;
    }
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        p.add_ja_en(
            field,
            format!("{url:?} は https:// で始まるURLにしてください"),
            format!("{url:?} must start with https://"),
        );
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host_of(authority);
    let valid_host = !host.is_empty()
        && !authority.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host || url.chars().any(char::is_whitespace) {
        p.add_ja_en(
            field,
            format!("{url:?} のホスト名が正しくありません"),
            format!("{url:?} has no valid host name"),
        );
    } else if !secure && !is_loopback(host) {
        p.add_ja_en(
            field,
            format!("{url:?} は https:// にしてください（http は localhost だけに使えます）"),
            format!("{url:?} must use https:// (plain http is allowed only for localhost)"),
        );
    }
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_loopback(host: &str) -> bool {
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store_settings::StoreSettings;

    fn url_problems(url: &str) -> Result<(), Error> {
        let mut p = Problems::new();
        check_url(&mut p, "url", url);
        p.into_result()
    }

    fn problems(json: &str) -> Vec<crate::FieldError> {
        StoreSettings::from_json(json.as_bytes())
            .unwrap_err()
            .problems
    }

    fn fields(problems: &[crate::FieldError]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn a_field_of_the_wrong_type_hides_no_other_problem() {
        let found = problems(
            r#"{"cart":"base","credentials":{"client_id":"","client_secret":"s",
                "redirect_uri":"https://x.example/cb"},
                "import":{"days_to_fetch":"x","auto_fetch":"yes","auto_fetch_interval_minutes":7},
                "export":{"auto_export_interval_minutes":-1},
                "export_mode":"sometimes","colour":"red"}"#,
        );
        let mut named = fields(&found);
        named.sort();
        assert_eq!(
            named,
            [
                "colour",
                "credentials.client_id",
                "export.auto_export_interval_minutes",
                "export_mode",
                "import.auto_fetch",
                "import.auto_fetch_interval_minutes",
                "import.days_to_fetch",
            ]
        );
        for p in &found {
            assert!(
                p.message_ja.as_deref().is_some_and(|m| !m.is_empty()),
                "{p:?}"
            );
        }
        let days = found
            .iter()
            .find(|p| p.field == "import.days_to_fetch")
            .unwrap();
        assert!(days.message.contains("whole number"), "{days:?}");
        assert!(
            days.message_ja.as_deref().unwrap().contains("整数"),
            "{days:?}"
        );
        let flag = found
            .iter()
            .find(|p| p.field == "import.auto_fetch")
            .unwrap();
        assert!(flag.message.contains("true or false"), "{flag:?}");
    }

    #[test]
    fn a_field_with_a_type_problem_is_named_once() {
        // days_to_fetch "0" is a type error; the range rule must not name it a second time.
        let found =
            problems(r#"{"cart":"bcart","credentials":{"access_token":1},"period_days":"0"}"#);
        assert_eq!(fields(&found), ["credentials.access_token", "period_days"]);
    }

    #[test]
    fn a_bad_entry_of_a_list_is_named_by_its_index() {
        let found = problems(
            r#"{"cart":"cscart","credentials":{"store_url":"https://s.example/","admin_email":"a@s.example","api_key":"k"},
                "import_statuses":["O","X"],"period_days":0}"#,
        );
        assert_eq!(fields(&found), ["import_statuses[1]", "period_days"]);
    }

    #[test]
    fn store_urls_must_be_https_except_on_this_machine() {
        assert!(url_problems("https://shop.example.jp/").is_ok());
        assert!(url_problems("http://localhost:8080/").is_ok());
        assert!(url_problems("http://127.0.0.1:3000").is_ok());
        assert!(url_problems("http://[::1]:3000/").is_ok());
        assert!(url_problems("http://shop.example.jp/").is_err());
        assert!(url_problems("ftp://shop.example.jp/").is_err());
        assert!(url_problems("https://").is_err());
        assert!(url_problems("https://user@evil.example/").is_err());
        assert!(url_problems("https://shop example.jp/").is_err());
        assert!(url_problems("http://localhost.evil.example/").is_err());
        assert!(url_problems("http://127.evil.example/").is_err());
    }
}
