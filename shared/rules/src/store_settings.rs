//! Any store's settings: the one type naming every cart's settings, parsed with every bad field
//! named. The shared pieces every cart's settings use live in `settings.rs`, which names no cart,
//! so the cart modules and this one import in one direction only.

// Built with no cart feature (mallsync-carts alone), nothing parses an operator's settings.
#![cfg_attr(
    not(any(
        feature = "bcart",
        feature = "base",
        feature = "shopserve",
        feature = "cscart",
        feature = "futureshop"
    )),
    allow(dead_code, unused_variables)
)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Problems};
use crate::plan::Cart;
use crate::secret::Secret;
use crate::settings::*;

/// `StoreSettings`, one variant per line of the cart registry (`crate::for_each_cart!`), each
/// holding `crate::<module>::<SettingsType>`; `From` each settings type; and each settings
/// type's `SharedSettings` (its `import` and `export` fields). For the line
/// `Bcart bcart "bcart" "Bカート" BcartSettings;`: the variant `Bcart(crate::bcart::BcartSettings)`,
/// `impl From<BcartSettings> for StoreSettings` and `impl SharedSettings for BcartSettings`.
macro_rules! store_settings {
    ({} $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        /// Any store's settings, stored as JSON tagged by the cart's slug: `{"cart": "base", ...}`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(tag = "cart", rename_all = "lowercase")]
        pub enum StoreSettings {
            $($Variant(crate::$module::$Settings),)*
        }

        $(
            impl From<crate::$module::$Settings> for StoreSettings {
                fn from(s: crate::$module::$Settings) -> Self {
                    StoreSettings::$Variant(s)
                }
            }

            impl SharedSettings for crate::$module::$Settings {
                fn import(&self) -> &ImportSettings {
                    &self.import
                }
                fn export(&self) -> &ExportSettings {
                    &self.export
                }
            }
        )*
    };
}
crate::for_each_cart!(store_settings {});

/// `each_cart!(settings, s => expr)`: `expr` over the cart's own settings `s`, so each method of
/// `StoreSettings` is written once.
macro_rules! each_cart {
    ($self:expr, $s:ident => $e:expr) => {
        crate::for_each_cart!(each_cart_arms { $self, $s => $e })
    };
}
macro_rules! each_cart_arms {
    ({ $self:expr, $s:ident => $e:expr }
     $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        match $self {
            $(StoreSettings::$Variant($s) => $e,)*
        }
    };
}

/// `with_settings_type!(cart, S => expr)`: `expr` with `S` standing for `cart`'s settings type.
/// With `only_built_in` first, a cart whose cargo feature is off has no arm: the enclosing
/// function returns `Err(not_built_in(cart))`.
macro_rules! with_settings_type {
    ($cart:expr, $S:ident => $e:expr) => {
        crate::for_each_cart!(crate::store_settings::settings_type_arms { $cart, $S => $e })
    };
    (only_built_in $cart:expr, $S:ident => $e:expr) => {
        crate::for_each_cart!(crate::store_settings::settings_type_arms { only_built_in $cart, $S => $e })
    };
}
macro_rules! settings_type_arms {
    ({ only_built_in $cart:expr, $S:ident => $e:expr }
     $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        match $cart {
            $(
                #[cfg(feature = $slug)]
                crate::plan::Cart::$Variant => {
                    type $S = crate::$module::$Settings;
                    $e
                }
            )*
            #[allow(unreachable_patterns)]
            other => return Err(crate::store_settings::not_built_in(other)),
        }
    };
    ({ $cart:expr, $S:ident => $e:expr }
     $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        match $cart {
            $(
                crate::plan::Cart::$Variant => {
                    type $S = crate::$module::$Settings;
                    $e
                }
            )*
        }
    };
}
// For schema.rs (feature `schema`).
#[allow(unused_imports)]
pub(crate) use {settings_type_arms, with_settings_type};

/// Stored settings, read for the carts this build has (cargo features, one per cart): a cart
/// component reads only its own cart's stores, and every other cart's reader would cost it
/// ~12 KB. Settings of a cart not built in are an error naming it.
impl<'de> Deserialize<'de> for StoreSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut value = serde_json::Value::deserialize(d)?;
        let cart = match value.as_object_mut().and_then(|o| o.remove("cart")) {
            Some(serde_json::Value::String(slug)) => Cart::from_slug(&slug)
                .ok_or_else(|| D::Error::custom(format!("unknown cart {slug:?}")))?,
            _ => return Err(D::Error::missing_field("cart")),
        };
        let read = || -> Result<StoreSettings, Error> {
            with_settings_type!(only_built_in cart, S => serde_json::from_value::<S>(value)
                .map(StoreSettings::from)
                .map_err(|e| Error::invalid("$", e.to_string())))
        };
        read().map_err(D::Error::custom)
    }
}

/// Every setting's label for `cart`, in the screen's order: credentials, schedules, options.
pub fn labels(cart: Cart) -> Vec<SettingLabel> {
    with_settings_type!(cart, S => [S::CREDENTIAL_LABELS, COMMON_LABELS, S::OPTION_LABELS].concat())
}

impl StoreSettings {
    /// A cart's settings with every default (credentials empty, so not yet valid).
    pub fn defaults(cart: Cart) -> StoreSettings {
        with_settings_type!(cart, S => S::default().into())
    }

    /// Parses settings an operator sent, listing every problem at once: each field of the wrong
    /// type and each unknown field, then every rule over the rest; missing fields take SPEC.md's
    /// defaults. Each problem names its field, in Japanese and English.
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
        let (settings, mut p) = parse_cart(cart, value)?;
        // The rules run over the fields that parsed (a bad one reads as its default), so a
        // field of the wrong type hides no other problem; it is named once, for its type.
        let mut rules = Problems::new();
        if let Err(e) = settings.validate() {
            rules.extend(e);
        }
        p.extend_new(rules);
        p.into_result()?;
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
        each_cart!(self, s => s.credential_urls())
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
            .zip(secret_fields.iter().copied())
        {
            if secret.expose() != Secret::MASK {
                continue;
            }
            match changed_url {
                None => *secret = kept.clone(),
                Some(url_field) => p.add_ja_en(
                    field,
                    format!("{url_field} が変わったため、保存済みの秘密情報は使えません。もう一度入力してください"),
                    format!(
                        "{url_field} changed, so the stored secret is not sent there: enter it again"
                    ),
                ),
            }
        }
        p.into_result().map(|()| self)
    }

    /// The JSON paths of the secrets, in `secrets_mut` order (for error messages).
    fn secret_fields(&self) -> &'static [&'static str] {
        fn of<S: CartSettings>(_: &S) -> &'static [&'static str] {
            S::SECRET_FIELDS
        }
        each_cart!(self, s => of(s))
    }
}

/// Parses `cart`'s fields. Each cart instantiates the field-naming parser once, so only the
/// carts this build has (cargo features) get it; another cart's settings are refused.
fn parse_cart(cart: Cart, value: serde_json::Value) -> Result<(StoreSettings, Problems), Error> {
    with_settings_type!(only_built_in cart, S => Ok(parse_fields::<S>(value)))
}

/// The error for settings of a cart this build does not parse (its cargo feature is off).
#[allow(dead_code)]
pub(crate) fn not_built_in(cart: Cart) -> Error {
    Error::ja_en(
        "cart",
        format!(
            "このコンポーネントは{}を組み込まずにビルドされています",
            cart.display_name()
        ),
        format!(
            "this component is built without {} (cargo feature {:?})",
            cart.display_name(),
            cart.slug()
        ),
    )
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
                p.add_ja_en(
                    path,
                    format!("{MAX_SETTING_CHARS}文字以内で入力してください"),
                    format!("is longer than {MAX_SETTING_CHARS} characters"),
                );
            } else if text.chars().any(char::is_control) {
                p.add_ja_en(
                    path,
                    "改行やタブなどの制御文字は使えません",
                    "holds a control character (a line break, a tab, …)",
                );
            }
        }
        serde_json::Value::Array(items) => {
            if items.len() > MAX_SETTING_ITEMS {
                p.add_ja_en(
                    path,
                    format!("{MAX_SETTING_ITEMS}件以内にしてください"),
                    format!("holds more than {MAX_SETTING_ITEMS} entries"),
                );
            } else {
                for (i, item) in items.iter().enumerate() {
                    check_sizes(p, &format!("{path}[{i}]"), item);
                }
            }
        }
        serde_json::Value::Object(fields) => {
            if fields.len() > MAX_SETTING_ITEMS {
                p.add_ja_en(
                    path,
                    format!("項目は{MAX_SETTING_ITEMS}個以内にしてください"),
                    format!("holds more than {MAX_SETTING_ITEMS} fields"),
                );
            } else {
                for (key, item) in fields {
                    check_sizes(p, &at(key), item);
                }
            }
        }
        _ => {}
    }
}

/// Deserializes one cart's fields, naming every field serde refuses: each refused field is
/// reported, taken out (so it takes its default) and the rest parsed again, until all parse.
fn parse_fields<S: DeserializeOwned + Default + Into<StoreSettings>>(
    mut value: serde_json::Value,
) -> (StoreSettings, Problems) {
    let mut p = Problems::new();
    // Each round takes one field out; a settings object holds at most this many.
    for _ in 0..=MAX_SETTING_ITEMS * 4 {
        match serde_path_to_error::deserialize::<_, S>(value.clone()) {
            Ok(settings) => return (settings.into(), p),
            Err(e) => {
                let path: Vec<Segment> = e.path().iter().map(Segment::of).collect();
                let field = field_name(&path);
                let (ja, en) = type_problem(&e.into_inner().to_string());
                p.add_ja_en(if field.is_empty() { "$" } else { &field }, ja, en);
                if !take_out(&mut value, &path) {
                    break;
                }
            }
        }
    }
    (S::default().into(), p)
}

/// One step of the path serde reports.
enum Segment {
    Key(String),
    Index(usize),
    Other,
}

impl Segment {
    fn of(s: &serde_path_to_error::Segment) -> Segment {
        match s {
            serde_path_to_error::Segment::Map { key } => Segment::Key(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Segment::Index(*index),
            _ => Segment::Other,
        }
    }
}

/// `import.days_to_fetch`, `import_statuses[2]`.
fn field_name(path: &[Segment]) -> String {
    let mut name = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if name.is_empty() => name.push_str(key),
            Segment::Key(key) => {
                name.push('.');
                name.push_str(key);
            }
            Segment::Index(i) => name.push_str(&format!("[{i}]")),
            Segment::Other => {}
        }
    }
    name
}

/// Removes the field at `path` so it takes its default; a refused list entry takes the whole
/// list out (its other entries are not checked again). False when nothing could be removed.
fn take_out(value: &mut serde_json::Value, path: &[Segment]) -> bool {
    let keys: Vec<&str> = path
        .iter()
        .map_while(|s| match s {
            Segment::Key(key) => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut at = value;
    for key in parents {
        match at.get_mut(*key) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at.as_object_mut()
        .is_some_and(|object| object.remove(*last).is_some())
}

/// serde's complaint as an operator reads it, by the type serde expected (its message ends with
/// `expected u32`, `expected a boolean`, …).
fn type_problem(serde_message: &str) -> (String, String) {
    let expected = serde_message
        .rsplit_once("expected ")
        .map_or("", |(_, expected)| expected);
    if serde_message.starts_with("unknown field") {
        return (
            "この項目はありません（項目名を確認してください）".into(),
            format!("is not a setting of this cart ({serde_message})"),
        );
    }
    if serde_message.starts_with("unknown variant") {
        return (
            format!("選べない値です（{serde_message}）"),
            format!("is not one of the choices ({serde_message})"),
        );
    }
    if expected.starts_with('u') || expected.starts_with('i') {
        (
            "0以上の整数で入力してください".into(),
            format!("must be a whole number, 0 or more ({serde_message})"),
        )
    } else if expected.starts_with("a boolean") {
        (
            "true（オン）か false（オフ）で指定してください".into(),
            format!("must be true or false ({serde_message})"),
        )
    } else if expected.starts_with("a string") {
        (
            "文字列で入力してください".into(),
            format!("must be text ({serde_message})"),
        )
    } else if expected.starts_with("a sequence") {
        (
            "一覧（配列）で指定してください".into(),
            format!("must be a list ({serde_message})"),
        )
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        (
            "項目のまとまり（オブジェクト）で指定してください".into(),
            format!("must be an object ({serde_message})"),
        )
    } else {
        (
            format!("値が正しくありません（{serde_message}）"),
            serde_message.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! built_in_arms {
        ({ $cart:expr } $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
            match $cart {
                $(Cart::$Variant => cfg!(feature = $slug),)*
            }
        };
    }

    /// Whether this build parses `cart`'s settings (its cargo feature).
    fn built_in(cart: Cart) -> bool {
        crate::for_each_cart!(built_in_arms { cart })
    }

    /// Run also with `--no-default-features --features bcart` to see the other carts refused.
    #[test]
    fn an_operators_settings_parse_only_for_the_carts_built_in() {
        for cart in Cart::ALL {
            let json = format!(r#"{{"cart":"{}","colour":"red"}}"#, cart.slug());
            let e = StoreSettings::from_json(json.as_bytes()).unwrap_err();
            let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
            if built_in(cart) {
                assert!(fields.contains(&"colour"), "{cart:?}: {e:?}");
            } else {
                assert_eq!(fields, ["cart"], "{cart:?}: {e:?}");
                assert!(e.problems[0].message.contains("built without"), "{e:?}");
            }
        }
    }

    /// Run also with `--no-default-features --features bcart` to see the other carts refused.
    #[test]
    fn stored_settings_read_only_for_the_carts_built_in() {
        for cart in Cart::ALL {
            let stored = serde_json::to_string(&StoreSettings::defaults(cart)).unwrap();
            let read = serde_json::from_str::<StoreSettings>(&stored);
            if built_in(cart) {
                assert_eq!(read.unwrap(), StoreSettings::defaults(cart));
            } else {
                let e = read.unwrap_err().to_string();
                assert!(e.contains("built without"), "{cart:?}: {e}");
            }
        }
        for bad in [
            r#"{"import":{}}"#,
            r#"{"cart":"amazon"}"#,
            r#"{"cart":7}"#,
            "[]",
        ] {
            assert!(serde_json::from_str::<StoreSettings>(bad).is_err(), "{bad}");
        }
        let unknown_field = r#"{"cart":"bcart","colour":"red"}"#;
        if built_in(Cart::Bcart) {
            let e = serde_json::from_str::<StoreSettings>(unknown_field).unwrap_err();
            assert!(e.to_string().contains("colour"), "{e}");
        }
    }

    #[test]
    fn each_carts_secret_fields_name_its_secrets_and_its_secret_labels() {
        for cart in Cart::ALL {
            let mut settings = StoreSettings::defaults(cart);
            assert_eq!(settings.cart(), cart);
            let fields = settings.secret_fields();
            assert_eq!(fields.len(), settings.secrets_mut().len(), "{cart:?}");
            let secret_labels: Vec<&str> = labels(cart)
                .iter()
                .filter(|l| l.kind == SettingKind::Secret)
                .map(|l| l.path)
                .collect();
            assert_eq!(secret_labels, fields, "{cart:?}");
        }
    }

    #[test]
    fn each_carts_credential_urls_are_url_fields_of_its_labels() {
        for cart in Cart::ALL {
            let settings = StoreSettings::defaults(cart);
            let url_labels: Vec<&str> = labels(cart)
                .iter()
                .filter(|l| l.kind == SettingKind::Url && l.path.starts_with("credentials."))
                .map(|l| l.path)
                .collect();
            let urls: Vec<&str> = settings
                .credential_urls()
                .into_iter()
                .map(|(field, _)| field)
                .collect();
            assert_eq!(urls, url_labels, "{cart:?}");
        }
    }
}
