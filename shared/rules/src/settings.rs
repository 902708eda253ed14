//! A store's settings: SPEC.md's defaults, parsed with the bad field named, checked all at once.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::base::BaseSettings;
use crate::bcart::BcartSettings;
use crate::cscart::CscartSettings;
use crate::error::{naming_the_field, Error, Problems};
use crate::futureshop::FutureshopSettings;
use crate::order::OmsStatus;
use crate::plan::Cart;
use crate::secret::Secret;
use crate::shopserve::ShopserveSettings;

/// The intervals an operator may pick for auto-fetch and auto-export, in minutes.
pub const INTERVAL_MINUTES: [u32; 9] = [10, 15, 20, 30, 60, 120, 180, 360, 720];

/// Longest look-back (days to fetch, periods, import ranges): one year.
pub const MAX_DAYS: u32 = 365;

/// Import (取込) settings; the same for every cart, only the defaults differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub fn defaults(days_to_fetch: u32, auto_fetch_interval_minutes: u32) -> ImportSettings {
        ImportSettings {
            days_to_fetch,
            target_status: OmsStatus::New,
            auto_fetch: false,
            auto_fetch_interval_minutes,
        }
    }

    /// serde helper for a cart's `import` field: the given fields over `defaults`.
    pub(crate) fn deserialize_over<'de, D: Deserializer<'de>>(
        defaults: ImportSettings,
        d: D,
    ) -> Result<ImportSettings, D::Error> {
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
            p.add("import.target_status", "name an OMS status, e.g. 新規受付");
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
#[serde(rename_all = "snake_case")]
pub enum ExportMode {
    /// 【処理済み】以外も書き出す: every status but the cart's excluded ones.
    #[default]
    ExceptUnprocessed,
    /// 【処理済み】だけ書き出す: only 処理済み.
    OnlyProcessed,
}

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

/// What every cart's settings offer, whatever the cart.
pub trait CartSettings {
    const CART: Cart;
    /// Every bad field, named by its JSON path.
    fn validate(&self) -> Result<(), Error>;
    fn import(&self) -> &ImportSettings;
    fn export(&self) -> &ExportSettings;
    /// The period a manual write-back proposes (作成期間), where the cart has one.
    fn period_days(&self) -> Option<u32>;
    fn secrets_mut(&mut self) -> Vec<&mut Secret>;
    fn warnings(&self) -> Vec<Warning> {
        Vec::new()
    }
    /// Whether writing back e-mails the buyer (see each cart's file).
    fn buyer_emails(&self) -> BuyerEmails {
        BuyerEmails::unknown(Self::CART.display_name())
    }
}

/// Any store's settings, stored as JSON tagged by the cart's slug: `{"cart": "base", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cart", rename_all = "lowercase")]
pub enum StoreSettings {
    Bcart(BcartSettings),
    Base(BaseSettings),
    Shopserve(ShopserveSettings),
    Cscart(CscartSettings),
    Futureshop(FutureshopSettings),
}

/// Dispatches to the cart's settings, so each method below is written once.
macro_rules! each_cart {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            StoreSettings::Bcart($s) => $e,
            StoreSettings::Base($s) => $e,
            StoreSettings::Shopserve($s) => $e,
            StoreSettings::Cscart($s) => $e,
            StoreSettings::Futureshop($s) => $e,
        }
    };
}

impl StoreSettings {
    /// A cart's settings with every default (credentials empty, so not yet valid).
    pub fn defaults(cart: Cart) -> StoreSettings {
        match cart {
            Cart::Bcart => StoreSettings::Bcart(BcartSettings::default()),
            Cart::Base => StoreSettings::Base(BaseSettings::default()),
            Cart::Shopserve => StoreSettings::Shopserve(ShopserveSettings::default()),
            Cart::Cscart => StoreSettings::Cscart(CscartSettings::default()),
            Cart::Futureshop => StoreSettings::Futureshop(FutureshopSettings::default()),
        }
    }

    /// Parses settings an operator sent: a field of the wrong type is an error naming that field;
    /// missing fields take SPEC.md's defaults; then every rule is checked at once.
    pub fn from_json(bytes: &[u8]) -> Result<StoreSettings, Error> {
        let mut value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid("$", format!("is not valid JSON: {e}")))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| Error::invalid("$", "must be a JSON object"))?;
        let slugs = Cart::ALL.map(Cart::slug).join(", ");
        let cart = match object.remove("cart") {
            Some(serde_json::Value::String(slug)) => Cart::from_slug(&slug).ok_or_else(|| {
                Error::invalid("cart", format!("unknown cart {slug:?}: use one of {slugs}"))
            })?,
            Some(_) => return Err(Error::invalid("cart", format!("must be one of {slugs}"))),
            None => {
                return Err(Error::invalid(
                    "cart",
                    format!("is missing: use one of {slugs}"),
                ))
            }
        };
        let mut p = Problems::new();
        check_sizes(&mut p, "", &value);
        p.into_result()?;
        let settings = match cart {
            Cart::Bcart => StoreSettings::Bcart(parse_fields(value)?),
            Cart::Base => StoreSettings::Base(parse_fields(value)?),
            Cart::Shopserve => StoreSettings::Shopserve(parse_fields(value)?),
            Cart::Cscart => StoreSettings::Cscart(parse_fields(value)?),
            Cart::Futureshop => StoreSettings::Futureshop(parse_fields(value)?),
        };
        settings.validate()?;
        Ok(settings)
    }

    pub fn cart(&self) -> Cart {
        fn cart_of<S: CartSettings>(_: &S) -> Cart {
            S::CART
        }
        each_cart!(self, s => cart_of(s))
    }

    pub fn validate(&self) -> Result<(), Error> {
        each_cart!(self, s => s.validate())
    }

    pub fn import(&self) -> &ImportSettings {
        each_cart!(self, s => s.import())
    }

    pub fn export(&self) -> &ExportSettings {
        each_cart!(self, s => s.export())
    }

    pub fn period_days(&self) -> Option<u32> {
        each_cart!(self, s => s.period_days())
    }

    /// Operator warnings (e.g. futureshop points not activated through the API).
    pub fn warnings(&self) -> Vec<Warning> {
        each_cart!(self, s => s.warnings())
    }

    pub fn buyer_emails(&self) -> BuyerEmails {
        each_cart!(self, s => s.buyer_emails())
    }

    fn secrets_mut(&mut self) -> Vec<&mut Secret> {
        each_cart!(self, s => s.secrets_mut())
    }

    /// The same settings for display: every secret replaced by `********` (or "" when unset).
    pub fn masked(&self) -> StoreSettings {
        let mut shown = self.clone();
        for secret in shown.secrets_mut() {
            *secret = Secret::new(secret.masked());
        }
        shown
    }

    /// The URLs the store's credentials are sent to or bound to (CS-Cart store URL, futureshop
    /// API URL, BASE redirect URL); the carts with one shared API have none of their own.
    pub fn credential_urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            StoreSettings::Base(s) => {
                vec![("credentials.redirect_uri", &s.credentials.redirect_uri)]
            }
            StoreSettings::Cscart(s) => vec![("credentials.store_url", &s.credentials.store_url)],
            StoreSettings::Futureshop(s) => {
                vec![("credentials.api_base_url", &s.credentials.api_base_url)]
            }
            StoreSettings::Bcart(_) | StoreSettings::Shopserve(_) => Vec::new(),
        }
    }

    /// Settings an operator saved from a masked form: a secret left as `********` keeps the
    /// stored value, but only while every URL of the credentials is unchanged, so a stored
    /// credential is never sent to a host other than the one it was entered for. Secrets of a
    /// store on another cart are never carried over.
    pub fn keeping_masked_secrets_from(
        mut self,
        stored: &StoreSettings,
    ) -> Result<StoreSettings, Error> {
        if self.cart() != stored.cart() {
            return Ok(self);
        }
        let changed_url = self
            .credential_urls()
            .into_iter()
            .zip(stored.credential_urls())
            .find(|((_, new), (_, old))| new.trim() != old.trim())
            .map(|((field, _), _)| field);
        let secret_fields = self.secret_fields();
        let mut stored = stored.clone();
        let mut p = Problems::new();
        for ((secret, kept), field) in self
            .secrets_mut()
            .into_iter()
            .zip(stored.secrets_mut())
            .zip(secret_fields)
        {
            if secret.expose() != Secret::MASK {
                continue;
            }
            match changed_url {
                None => *secret = kept.clone(),
                Some(url_field) => p.add(
                    field,
                    format!(
                        "{url_field} changed, so the stored secret is not sent there: enter it again \
                         ({url_field} が変わったため、保存済みの秘密情報は使えません。もう一度入力してください)"
                    ),
                ),
            }
        }
        p.into_result().map(|()| self)
    }

    /// The JSON paths of the secrets, in `secrets_mut` order (for error messages).
    fn secret_fields(&self) -> Vec<&'static str> {
        match self {
            StoreSettings::Bcart(_) => vec!["credentials.access_token"],
            StoreSettings::Base(_) => vec!["credentials.client_secret"],
            StoreSettings::Shopserve(_) => vec!["credentials.manager_key"],
            StoreSettings::Cscart(_) => vec!["credentials.api_key"],
            StoreSettings::Futureshop(_) => vec!["credentials.client_secret"],
        }
    }
}

impl From<BcartSettings> for StoreSettings {
    fn from(s: BcartSettings) -> Self {
        StoreSettings::Bcart(s)
    }
}
impl From<BaseSettings> for StoreSettings {
    fn from(s: BaseSettings) -> Self {
        StoreSettings::Base(s)
    }
}
impl From<ShopserveSettings> for StoreSettings {
    fn from(s: ShopserveSettings) -> Self {
        StoreSettings::Shopserve(s)
    }
}
impl From<CscartSettings> for StoreSettings {
    fn from(s: CscartSettings) -> Self {
        StoreSettings::Cscart(s)
    }
}
impl From<FutureshopSettings> for StoreSettings {
    fn from(s: FutureshopSettings) -> Self {
        StoreSettings::Futureshop(s)
    }
}

/// Longest text a setting may hold (a URL, an e-mail address, a key), in characters.
pub const MAX_SETTING_CHARS: usize = 2_048;
/// Most entries a list in the settings may hold.
pub const MAX_SETTING_ITEMS: usize = 100;

/// Every string and list in the settings within its bound; control characters refused.
fn check_sizes(p: &mut Problems, path: &str, value: &serde_json::Value) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(text) => {
            if text.chars().count() > MAX_SETTING_CHARS {
                p.add(
                    path,
                    format!("is longer than {MAX_SETTING_CHARS} characters"),
                );
            } else if text.chars().any(char::is_control) {
                p.add(path, "holds a control character (a line break, a tab, …)");
            }
        }
        serde_json::Value::Array(items) => {
            if items.len() > MAX_SETTING_ITEMS {
                p.add(path, format!("holds more than {MAX_SETTING_ITEMS} entries"));
            } else {
                for (i, item) in items.iter().enumerate() {
                    check_sizes(p, &format!("{path}[{i}]"), item);
                }
            }
        }
        serde_json::Value::Object(fields) => {
            if fields.len() > MAX_SETTING_ITEMS {
                p.add(path, format!("holds more than {MAX_SETTING_ITEMS} fields"));
            } else {
                for (key, item) in fields {
                    check_sizes(p, &at(key), item);
                }
            }
        }
        _ => {}
    }
}

/// Deserializes one cart's fields, turning serde's error into one naming the field's JSON path.
fn parse_fields<S: DeserializeOwned>(value: serde_json::Value) -> Result<S, Error> {
    serde_path_to_error::deserialize(value).map_err(naming_the_field)
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
        p.add(field, format!("must be 1 to {MAX_DAYS} days, not {days}"));
    }
}

fn check_interval(p: &mut Problems, field: &str, minutes: u32) {
    if !INTERVAL_MINUTES.contains(&minutes) {
        let allowed = INTERVAL_MINUTES.map(|m| m.to_string()).join(", ");
        p.add(
            field,
            format!("must be one of {allowed} minutes, not {minutes}"),
        );
    }
}

pub(crate) fn check_required(p: &mut Problems, field: &str, value: &str) {
    if value.trim().is_empty() {
        p.add(field, "is required");
    }
}

pub(crate) fn check_secret(p: &mut Problems, field: &str, value: &Secret) {
    if value.is_empty() {
        p.add(field, "is required");
    }
}

/// A URL mallsync sends credentials to: https, or plain http only to this machine (tests, fakes).
pub(crate) fn check_url(p: &mut Problems, field: &str, url: &str) {
    let url = url.trim();
    if url.is_empty() {
        p.add(field, "is required");
        return;
    }
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        p.add(field, format!("{url:?} must start with https://"));
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
        p.add(field, format!("{url:?} has no valid host name"));
    } else if !secure && !is_loopback(host) {
        p.add(
            field,
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

    fn url_problems(url: &str) -> Result<(), Error> {
        let mut p = Problems::new();
        check_url(&mut p, "url", url);
        p.into_result()
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
