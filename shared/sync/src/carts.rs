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
    ($connector:ty, $variant:ident, $settings:ty, $rules:ident $(, $extra:item)*) => {
        impl CartBinding for $connector {
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

bind!(mallsync_carts::bcart::Bcart, Bcart, BcartSettings, bcart);
bind!(mallsync_carts::base::Base, Base, BaseSettings, base);
bind!(
    mallsync_carts::shopserve::Shopserve,
    Shopserve,
    ShopserveSettings,
    shopserve
);
bind!(
    mallsync_carts::cscart::Cscart,
    Cscart,
    CscartSettings,
    cscart,
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

/// The Spin variable that points a cart at another base URL (a fake cart in tests).
pub fn base_url_variable(cart: mallsync_rules::Cart) -> String {
    format!("{}_base_url", cart.slug())
}

pub fn load_token(io: &impl Io, store_id: &str) -> Result<Option<AccessToken>, IoError> {
    match io.kv_get(&token_key(store_id))? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| IoError(format!("stored token of {store_id} does not parse: {e}"))),
    }
}

pub fn save_token(io: &impl Io, store_id: &str, token: &AccessToken) -> Result<(), IoError> {
    let bytes =
        serde_json::to_vec(token).map_err(|e| IoError(format!("token does not serialize: {e}")))?;
    io.kv_set(&token_key(store_id), &bytes)
}

/// The store's API handle, with a fresh access token where the cart needs one (a new or rotated
/// token is saved before it is used, so a rotation is never lost).
pub fn api<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    settings: &C::Settings,
) -> Result<Api<C::Credentials>, ApiError> {
    let mut api = C::api(C::credentials(settings), load_token(io, store_id)?);
    if let Some(base_url) = io.variable(&base_url_variable(C::CART)) {
        api = api.with_base_url(base_url);
    }
    let now = io.now();
    if let Some(request) = C::token_request(&api, now)? {
        let response = io.send(request).map_err(CartError::from)?;
        let token = C::parse_token(response, now)?;
        save_token(io, store_id, &token)?;
        api.access_token = Some(token);
    }
    Ok(api)
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
