//! Each cart's rules and client tied together, so the service is written once for all five:
//! `with_cart!(cart, C => generic_fn::<C>(…))` picks the cart's types.

use chrono::{DateTime, Utc};
use mallsync_carts::{AccessToken, Api, CartError, Connector, ImportQuery};
use mallsync_rules::{
    base::BaseSettings, bcart::BcartSettings, cscart::CscartSettings,
    futureshop::FutureshopSettings, shopserve::ShopserveSettings, CartSettings, Ledger, Order,
    Plan, StoreSettings, Trigger,
};

use crate::api_error::ApiError;
use crate::io::{Io, IoError};

/// One cart: its client (`Connector`), its settings and its planner.
pub trait CartBinding: Connector {
    /// Whether every shop calls the same public API (Bカート, BASE, ショップサーブ), so the
    /// `api_origin` variable may move it (tests point it at a fake); CS-Cart and futureshop take
    /// their URL from the store's credentials.
    const SHARED_API: bool;
    type Settings: CartSettings;
    /// The store's settings for this cart; `None` for another cart's settings.
    fn settings(settings: &StoreSettings) -> Option<&Self::Settings>;
    fn credentials(settings: &Self::Settings) -> Self::Credentials;
    fn plan(
        settings: &Self::Settings,
        orders: &[Order],
        trigger: Trigger,
        ledger: &Ledger,
        now: DateTime<Utc>,
    ) -> Plan<Self::Update>;
    /// The cart-side import filters (cart statuses, option price) taken from the settings.
    fn import_filters(_settings: &Self::Settings) -> (Vec<String>, bool) {
        (Vec::new(), false)
    }
}

/// Implements `CartBinding` for a cart whose settings carry `credentials` and whose rules module
/// has `plan_write_back`; the body may override `import_filters`.
macro_rules! bind {
    ($connector:ty, $variant:ident, $settings:ty, $rules:ident, $shared:expr $(, $extra:item)*) => {
        impl CartBinding for $connector {
            const SHARED_API: bool = $shared;
            type Settings = $settings;
            fn settings(settings: &StoreSettings) -> Option<&$settings> {
                match settings {
                    StoreSettings::$variant(s) => Some(s),
                    _ => None,
                }
            }
            fn credentials(settings: &$settings) -> Self::Credentials {
                settings.credentials.clone()
            }
            fn plan(
                settings: &$settings,
                orders: &[Order],
                trigger: Trigger,
                ledger: &Ledger,
                now: DateTime<Utc>,
            ) -> Plan<Self::Update> {
                mallsync_rules::$rules::plan_write_back(settings, orders, trigger, ledger, now)
            }
            $($extra)*
        }
    };
}

bind!(
    mallsync_carts::bcart::Bcart,
    Bcart,
    BcartSettings,
    bcart,
    true
);
bind!(mallsync_carts::base::Base, Base, BaseSettings, base, true);
bind!(
    mallsync_carts::shopserve::Shopserve,
    Shopserve,
    ShopserveSettings,
    shopserve,
    true
);
bind!(
    mallsync_carts::cscart::Cscart,
    Cscart,
    CscartSettings,
    cscart,
    false,
    fn import_filters(settings: &CscartSettings) -> (Vec<String>, bool) {
        let statuses = settings
            .import_statuses
            .iter()
            .map(|s| s.code().to_string());
        (statuses.collect(), false)
    }
);
bind!(
    mallsync_carts::futureshop::Futureshop,
    Futureshop,
    FutureshopSettings,
    futureshop,
    false,
    fn import_filters(settings: &FutureshopSettings) -> (Vec<String>, bool) {
        (Vec::new(), settings.option_price)
    }
);

/// Runs `$e` with `$C` standing for the cart's `CartBinding` type.
#[macro_export]
#[doc(hidden)]
macro_rules! with_cart {
    ($cart:expr, $C:ident => $e:expr) => {
        match $cart {
            mallsync_rules::Cart::Bcart => {
                type $C = mallsync_carts::bcart::Bcart;
                $e
            }
            mallsync_rules::Cart::Base => {
                type $C = mallsync_carts::base::Base;
                $e
            }
            mallsync_rules::Cart::Shopserve => {
                type $C = mallsync_carts::shopserve::Shopserve;
                $e
            }
            mallsync_rules::Cart::Cscart => {
                type $C = mallsync_carts::cscart::Cscart;
                $e
            }
            mallsync_rules::Cart::Futureshop => {
                type $C = mallsync_carts::futureshop::Futureshop;
                $e
            }
        }
    };
}

/// The store's settings for `C`, or a 500: a stored store always matches its cart.
pub fn settings_for<C: CartBinding>(store: &crate::shops::Store) -> Result<&C::Settings, ApiError> {
    C::settings(&store.settings).ok_or_else(|| {
        ApiError::Internal(format!(
            "store {} holds settings for {} but is on {}",
            store.id,
            store.settings.cart().slug(),
            C::CART.slug()
        ))
    })
}

/// Where the store's access token lives (BASE, futureshop): small, hot, in key-value.
pub fn token_key(store_id: &str) -> String {
    format!("token:{store_id}")
}

/// The component variable (spin.toml) holding the cart's API origin, `scheme://host[:port]`. A
/// component serving several carts (the dispatcher) names it per cart: `bcart_api_origin`, …
pub const API_ORIGIN_VARIABLE: &str = "api_origin";

/// `url` with its origin replaced by `origin`, keeping the path (`https://api.bcart.jp/api/v1`
/// → `http://127.0.0.1:4000/api/v1`).
fn with_origin(url: &str, origin: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path = url[after_scheme..]
        .find('/')
        .map_or("", |i| &url[after_scheme + i..]);
    format!("{}{path}", origin.trim_end_matches('/'))
}

/// The store's access token, opened with the encryption key (it is stored sealed).
pub fn load_token(io: &impl Io, store_id: &str) -> Result<Option<AccessToken>, IoError> {
    let key = token_key(store_id);
    match io.kv_get(&key)? {
        None => Ok(None),
        Some(bytes) => {
            let opened = crate::crypto::open_text(io, &String::from_utf8_lossy(&bytes), &key)?;
            serde_json::from_str(&opened)
                .map(Some)
                .map_err(|e| IoError(format!("stored token of {store_id} does not parse: {e}")))
        }
    }
}

/// Saves the token sealed with the encryption key, bound to its key-value key.
pub fn save_token(io: &impl Io, store_id: &str, token: &AccessToken) -> Result<(), IoError> {
    let key = token_key(store_id);
    let bytes =
        serde_json::to_vec(token).map_err(|e| IoError(format!("token does not serialize: {e}")))?;
    io.kv_set(&key, crate::crypto::seal(io, &bytes, &key)?.as_bytes())
}

/// The store's API handle, with a fresh access token where the cart needs one (a new or rotated
/// token is saved before it is used, so a rotation is never lost).
pub fn api<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    settings: &C::Settings,
) -> Result<Api<C::Credentials>, ApiError> {
    let mut api = api_without_token::<C>(io, settings)?;
    api.access_token = load_token(io, store_id)?;
    let now = io.now();
    if let Some(request) = C::token_request(&api, now)? {
        let response = io.send(request).map_err(CartError::from)?;
        let token = C::parse_token(response, now)?;
        save_token(io, store_id, &token)?;
        api.access_token = Some(token);
    }
    Ok(api)
}

/// The store's API handle before any token: the cart's URL, moved to `api_origin` where set,
/// and checked against this cart's own allowed origins before any request is built. The
/// dispatcher may reach every cart's hosts, so this check, not the platform's allow-list, is
/// what keeps a store's credentials on its own cart's origins.
pub fn api_without_token<C: CartBinding>(
    io: &impl Io,
    settings: &C::Settings,
) -> Result<Api<C::Credentials>, ApiError> {
    let api = C::api(C::credentials(settings), None);
    let origin = io
        .variable(&format!("{}_{API_ORIGIN_VARIABLE}", C::CART.slug()))
        .or_else(|| io.variable(API_ORIGIN_VARIABLE));
    let api = match &origin {
        Some(origin) if C::SHARED_API => {
            let url = with_origin(&api.base_url, origin);
            api.with_base_url(url)
        }
        _ => api,
    };
    let allowed = origin.unwrap_or_else(|| default_origin(C::CART).to_string());
    if !origin_allows(&allowed, &api.base_url) {
        return Err(ApiError::Cart(CartError::InvalidRequest {
            what: format!(
                "{} is not an allowed {} origin ({allowed}): the store's credentials are sent only \
                 there; fix the store's URL or the {}_{API_ORIGIN_VARIABLE} variable \
                 / ストアの URL が許可されたオリジン外のため送信しません",
                origin_of(&api.base_url),
                C::CART.display_name(),
                C::CART.slug(),
            ),
        }));
    }
    Ok(api)
}

/// Each cart's origin when no variable names one (spin.toml's defaults).
pub fn default_origin(cart: mallsync_rules::Cart) -> &'static str {
    match cart {
        mallsync_rules::Cart::Bcart => "https://api.bcart.jp",
        mallsync_rules::Cart::Base => "https://api.thebase.in",
        mallsync_rules::Cart::Shopserve => "https://management.api.shopserve.jp",
        mallsync_rules::Cart::Cscart => "https://*",
        mallsync_rules::Cart::Futureshop => "https://api.admin.future-shop.net",
    }
}

/// `scheme://host[:port]` of a URL, lowercased, without path (for messages and matching).
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    )
}

/// Splits `scheme://host[:port]` into its parts, the port defaulting by scheme; `:*` (any
/// port) reads as port 0.
fn parts(origin: &str) -> Option<(String, String, u16)> {
    let origin = origin_of(origin.trim());
    let (scheme, authority) = origin.split_once("://")?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 host without a port: its colons are not a port separator.
        Some((host, _)) if authority.starts_with('[') && !host.ends_with(']') => {
            (authority.to_string(), default_port)
        }
        Some((host, "*")) => (host.to_string(), 0),
        Some((host, port)) => (host.to_string(), port.parse::<u16>().ok()?),
        None => (authority.to_string(), default_port),
    };
    Some((scheme.to_string(), host, port))
}

/// Whether `url` lies within one of the comma-separated origins in `allowed`, as Spin's
/// `allowed_outbound_hosts` reads them: `https://host`, `https://*.example.jp`, `https://*`,
/// `http://127.0.0.1:4000`.
pub fn origin_allows(allowed: &str, url: &str) -> bool {
    let Some((scheme, host, port)) = parts(url) else {
        return false;
    };
    allowed
        .split(',')
        .filter_map(parts)
        .any(|(a_scheme, a_host, a_port)| {
            a_scheme == scheme
                && (a_port == 0 || a_port == port)
                && (a_host == "*"
                    || a_host == host
                    || a_host
                        .strip_prefix("*.")
                        .is_some_and(|suffix| host.ends_with(&format!(".{suffix}"))))
        })
}

/// What the import asks the cart for.
pub fn import_query<C: CartBinding>(
    settings: &C::Settings,
    window: mallsync_rules::ImportWindow,
) -> ImportQuery {
    let (cart_statuses, option_price) = C::import_filters(settings);
    ImportQuery {
        from: window.from,
        to: window.to,
        cart_statuses,
        option_price,
        target_status: settings.import().target_status.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_origin;

    #[test]
    fn a_url_is_allowed_only_within_the_carts_origins() {
        use super::origin_allows;
        assert!(origin_allows(
            "https://api.bcart.jp",
            "https://api.bcart.jp/api/v1"
        ));
        assert!(origin_allows(
            "https://api.bcart.jp",
            "https://API.bcart.jp:443/x"
        ));
        assert!(!origin_allows(
            "https://api.bcart.jp",
            "http://api.bcart.jp/"
        ));
        assert!(!origin_allows(
            "https://api.bcart.jp",
            "https://api.bcart.jp.evil.example/"
        ));
        assert!(!origin_allows(
            "https://api.bcart.jp",
            "https://api.bcart.jp:8443/"
        ));
        assert!(origin_allows("https://*", "https://shop.example.jp/api"));
        assert!(!origin_allows("https://*", "http://shop.example.jp/api"));
        assert!(origin_allows(
            "https://*.future-shop.net",
            "https://api.admin.future-shop.net/"
        ));
        assert!(!origin_allows(
            "https://*.future-shop.net",
            "https://future-shop.net.evil.example/"
        ));
        assert!(origin_allows(
            "http://127.0.0.1:4001",
            "http://127.0.0.1:4001/api"
        ));
        assert!(!origin_allows(
            "http://127.0.0.1:4001",
            "http://127.0.0.1:4002/api"
        ));
        assert!(origin_allows(
            "https://a.example, http://127.0.0.1:4001",
            "http://127.0.0.1:4001/"
        ));
        assert!(!origin_allows("https://*", "not a url"));
    }

    #[test]
    fn moving_a_cart_to_another_origin_keeps_its_path() {
        assert_eq!(
            with_origin("https://api.bcart.jp/api/v1", "http://127.0.0.1:4000/"),
            "http://127.0.0.1:4000/api/v1"
        );
        assert_eq!(
            with_origin("https://api.thebase.in", "http://127.0.0.1:4000"),
            "http://127.0.0.1:4000"
        );
    }
}
