//! Each cart's rules and client tied together, so the service is written once for all carts:
//! `with_cart!(cart, C => generic_fn::<C>(…))` picks the cart's types. Both the bindings and
//! `with_cart!` are generated from the one cart list, `mallsync_rules::for_each_cart!`; what a
//! cart does differently is declared by its client (`Connector::CAPABILITIES`) and its settings
//! (`CartSettings`), never branched on here.

use chrono::{DateTime, Utc};
use mallsync_carts::{AccessToken, Api, CartError, Connector, ImportQuery};
use mallsync_rules::{CartSettings, Ledger, Order, Plan, SharedSettings, StoreSettings, Trigger};

use crate::alerts;
use crate::api_error::ApiError;
use crate::io::{random_hex, Io, IoError};
use crate::lease;
use crate::pacing::Pacer;
use crate::secret_places::token_key;

/// One cart: its client (`Connector`), its settings and its planner.
pub trait CartBinding: Connector {
    type Settings: CartSettings;
    /// The store's settings for this cart; `None` for another cart's settings.
    fn settings(settings: &StoreSettings) -> Option<&Self::Settings>;
    fn credentials(settings: &Self::Settings) -> Self::Credentials;
    /// What names the cart account the store calls (its credentials as JSON): stores sharing
    /// an account share its request budget.
    fn account_identity(settings: &Self::Settings) -> Result<String, ApiError>;
    fn plan(
        settings: &Self::Settings,
        orders: &[Order],
        trigger: Trigger,
        ledger: &Ledger,
        now: DateTime<Utc>,
    ) -> Plan<Self::Update>;
}

/// `CartBinding` for every line of the cart list. For the line
/// `Bcart bcart "bcart" "Bカート" BcartSettings;` it expands to
///
/// ```text
/// impl CartBinding for mallsync_carts::bcart::Bcart {
///     type Settings = mallsync_rules::bcart::BcartSettings;
///     fn settings(s: &StoreSettings) -> Option<&BcartSettings> {
///         match s { StoreSettings::Bcart(s) => Some(s), _ => None }
///     }
///     fn credentials(s: &BcartSettings) -> Self::Credentials { s.credentials.clone() }
///     fn account_identity(s: &BcartSettings) -> … { serde_json::to_string(&s.credentials) … }
///     fn plan(…) -> Plan<Self::Update> { mallsync_rules::bcart::plan_write_back(…) }
/// }
/// ```
///
/// So a cart's settings carry `credentials` (of its client's `Credentials` type) and its rules
/// module has `plan_write_back`.
macro_rules! bind_carts {
    ({} $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {$(
        impl CartBinding for mallsync_carts::$module::$Variant {
            type Settings = mallsync_rules::$module::$Settings;
            fn settings(settings: &StoreSettings) -> Option<&Self::Settings> {
                #[allow(unreachable_patterns)]
                match settings {
                    StoreSettings::$Variant(s) => Some(s),
                    _ => None,
                }
            }
            fn credentials(settings: &Self::Settings) -> Self::Credentials {
                settings.credentials.clone()
            }
            fn account_identity(settings: &Self::Settings) -> Result<String, ApiError> {
                serde_json::to_string(&settings.credentials).map_err(|e| {
                    ApiError::Internal(format!("credentials do not serialize: {e}"))
                })
            }
            fn plan(
                settings: &Self::Settings,
                orders: &[Order],
                trigger: Trigger,
                ledger: &Ledger,
                now: DateTime<Utc>,
            ) -> Plan<Self::Update> {
                mallsync_rules::$module::plan_write_back(settings, orders, trigger, ledger, now)
            }
        }
    )*};
}
mallsync_rules::for_each_cart!(bind_carts {});

/// Runs `$e` with `$C` standing for the cart's `CartBinding` type
/// (`mallsync_carts::<module>::<Variant>`). Only the carts this build has (cargo features, one
/// per cart, named by the slug) have an arm; for another, the enclosing function returns
/// [`not_built_in`]. The arms come from the cart list: see [`with_cart_arms!`].
#[macro_export]
#[doc(hidden)]
macro_rules! with_cart {
    ($cart:expr, $C:ident => $e:expr) => {
        mallsync_rules::for_each_cart!($crate::with_cart_arms { $cart, $C => $e })
    };
}

/// `with_cart!`'s match, one arm per line of the cart list. For `Bcart bcart "bcart" …` the arm is
///
/// ```text
/// #[cfg(feature = "bcart")]
/// mallsync_rules::Cart::Bcart => { type C = mallsync_carts::bcart::Bcart; $e }
/// ```
///
/// (`cfg` is read in the crate that expands it: mallsync-sync, whose features are the slugs).
#[macro_export]
#[doc(hidden)]
macro_rules! with_cart_arms {
    ({ $cart:expr, $C:ident => $e:expr }
     $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        match $cart {
            $(
                #[cfg(feature = $slug)]
                mallsync_rules::Cart::$Variant => {
                    type $C = mallsync_carts::$module::$Variant;
                    $e
                }
            )*
            // A cart this component is not built with (cargo features): a cart component only
            // ever reaches its own cart's stores.
            #[allow(unreachable_patterns)]
            other => return Err($crate::carts::not_built_in(other)),
        }
    };
}

/// Whether this build serves `cart` (its `with_cart!` arm and binding are compiled in).
pub fn built_in(cart: mallsync_rules::Cart) -> Result<(), ApiError> {
    with_cart!(cart, C => {
        debug_assert_eq!(<C as Connector>::CART, cart);
        Ok(())
    })
}

/// What `cart`'s client declares it does differently (its `Connector::CAPABILITIES`).
pub fn capabilities(cart: mallsync_rules::Cart) -> Result<mallsync_carts::Capabilities, ApiError> {
    with_cart!(cart, C => Ok(C::CAPABILITIES))
}

/// The error for a cart this component is not built with.
pub fn not_built_in(cart: mallsync_rules::Cart) -> ApiError {
    ApiError::Internal(format!(
        "this component is built without {} (cargo feature {:?})",
        cart.display_name(),
        cart.slug()
    ))
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

/// How long one instance may hold a store's token refresh; a crashed holder's lapses soon.
const REFRESH_LEASE_SECS: i64 = 15;
/// How often an instance waiting for another's refresh looks at the stored token again.
const REFRESH_POLL_MILLIS: u64 = 200;

/// The store's request budget: one per cart account (the cart, its URL and the credentials), so
/// every run and component calling that account shares it.
pub fn pacer<C: CartBinding>(
    settings: &C::Settings,
    api: &Api<C::Credentials>,
) -> Result<Pacer, ApiError> {
    let identity = C::account_identity(settings)?;
    let digest = crate::auth::sha256_hex(&format!("{}\n{identity}", api.base_url));
    Ok(Pacer::new(
        format!("{}:{}", C::CART.slug(), &digest[..24]),
        C::RATE_LIMIT,
    ))
}

/// The store's API handle, with a fresh access token where the cart needs one (a new or rotated
/// token is saved before it is used, so a rotation is never lost). The token request goes
/// through the account's budget like every other call.
pub fn api<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    settings: &C::Settings,
    pacer: &mut Pacer,
    deadline: DateTime<Utc>,
) -> Result<Api<C::Credentials>, ApiError> {
    let mut api = api_without_token::<C>(io, settings)?;
    fresh_token::<C>(io, store_id, &mut api, pacer, deadline, None)?;
    Ok(api)
}

/// Makes sure `api` holds a usable access token. `rejected` is a token the cart just refused
/// (401 / invalid_token): it is replaced even though mallsync's clock says it still lives.
///
/// One refresh at a time per store (BASE rotates the refresh token: a second refresh with the
/// same one would be a reuse the cart may punish by revoking the grant). The instance holding the
/// lease refreshes; the others wait for the token it saves. A refresh token the cart refuses
/// marks the store "needs reconnection".
pub fn fresh_token<C: CartBinding>(
    io: &impl Io,
    store_id: &str,
    api: &mut Api<C::Credentials>,
    pacer: &mut Pacer,
    deadline: DateTime<Utc>,
    rejected: Option<&AccessToken>,
) -> Result<(), ApiError> {
    let lease_name = format!("token-refresh:{store_id}");
    loop {
        let now = io.now();
        api.access_token = load_token(io, store_id)?;
        if let (Some(current), Some(bad)) = (api.access_token.as_mut(), rejected) {
            if current.token == bad.token {
                // Refused by the cart: treat it as expired, keeping its refresh token.
                current.expires_at = Some(now);
            }
        }
        let request = match C::token_request(api, now) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            // The refresh token lapsed (BASE: 30 days unused) or the store was never connected.
            Err(error @ CartError::CredentialsRejected { .. }) => {
                alerts::raise_needs_reconnection::<C>(io, store_id, &error)?;
                return Err(ApiError::Cart(error));
            }
            Err(error) => return Err(ApiError::Cart(error)),
        };
        let owner = random_hex(io, 8)?;
        if !lease::take(
            io,
            &lease_name,
            &owner,
            now.timestamp() + REFRESH_LEASE_SECS,
        )? {
            if io.now() >= deadline {
                return Err(ApiError::Cart(CartError::Transient {
                    status: None,
                    message: "another run is renewing this store's access token".into(),
                }));
            }
            io.sleep(std::time::Duration::from_millis(REFRESH_POLL_MILLIS));
            continue;
        }
        // Another instance may have saved a new token between our read and the lease.
        let stored = load_token(io, store_id)?;
        if stored.as_ref().map(|t| &t.token) != api.access_token.as_ref().map(|t| &t.token) {
            lease::give_back(io, &lease_name, &owner)?;
            continue;
        }
        let result = pacer
            .send(io, deadline, request)
            .map_err(CartError::from)
            .and_then(|response| C::parse_token(response, now));
        let outcome = match result {
            Ok(token) => {
                let token = token.keeping_refresh_token(api.access_token.as_ref());
                save_token(io, store_id, &token)?;
                alerts::clear(io, store_id, alerts::NEEDS_RECONNECTION)?;
                api.access_token = Some(token);
                Ok(())
            }
            Err(error @ CartError::CredentialsRejected { .. }) => {
                alerts::raise_needs_reconnection::<C>(io, store_id, &error)?;
                Err(ApiError::Cart(error))
            }
            Err(error) => {
                pacer.note_refusal(io, &error)?;
                Err(ApiError::Cart(error))
            }
        };
        lease::give_back(io, &lease_name, &owner)?;
        return outcome;
    }
}

/// How long before a refresh token lapses the schedule renews it (BASE's lapses 30 days after
/// its last use): a store with nothing to sync stays connected.
pub const KEEP_ALIVE_DAYS: i64 = 7;

/// Renews the store's tokens when its refresh token lapses within [`KEEP_ALIVE_DAYS`] (a store
/// that synced recently has a fresh one and is left alone). Returns whether it renewed. A refused
/// renewal marks the store "needs reconnection" (see [`fresh_token`]).
pub fn keep_token_alive<C: CartBinding>(
    io: &impl Io,
    store: &crate::shops::Store,
    deadline: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if !C::CAPABILITIES.issues_tokens {
        return Ok(false);
    }
    let Some(token) = load_token(io, &store.id)? else {
        return Ok(false);
    };
    let Some(lapses) = token.refresh_expires_at else {
        return Ok(false);
    };
    if lapses - io.now() > chrono::Duration::days(KEEP_ALIVE_DAYS) {
        return Ok(false);
    }
    let settings = settings_for::<C>(store)?;
    let mut api = api_without_token::<C>(io, settings)?;
    let mut pacer = pacer::<C>(settings, &api)?;
    // Renewed as if the cart had refused the current access token: the refresh goes out now.
    fresh_token::<C>(io, &store.id, &mut api, &mut pacer, deadline, Some(&token))?;
    Ok(true)
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
        Some(origin) if C::CAPABILITIES.shared_api => {
            let url = with_origin(&api.base_url, origin);
            api.with_base_url(url)
        }
        _ => api,
    };
    let allowed = origin.unwrap_or_else(|| C::CAPABILITIES.default_origin.to_string());
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
    ImportQuery {
        from: window.from,
        to: window.to,
        cart_statuses: settings.import_cart_statuses(),
        option_price: settings.import_option_price(),
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
