//! Shops and their stores. A shop sees only its own stores: every store lookup names the shop.

use chrono::{DateTime, Utc};
use mallsync_rules::{Cart, StoreSettings};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::auth::{self, sha256_hex};
use crate::crypto::{self, Keys};
use crate::io::{random_hex, Io, IoError, Row, Value};
use crate::secret_places::{settings_place, token_key, webhook_secret_place};
use crate::time;

/// A shop as the admin sees it. Its API token and webhook secret are shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shop {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// What creating a shop returns: the only time its API token and webhook secret are shown.
#[derive(Debug, Clone, Serialize)]
pub struct NewShop {
    #[serde(flatten)]
    pub shop: Shop,
    pub api_token: String,
    pub webhook_secret: String,
}

/// One store of a shop on one cart, with its settings (credentials included: never returned as is).
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub id: String,
    pub shop_id: String,
    pub cart: Cart,
    pub name: String,
    pub settings: StoreSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A store as routes return it: secrets masked, with the settings' warnings.
#[derive(Debug, Clone, Serialize)]
pub struct StoreView {
    pub id: String,
    pub cart: Cart,
    pub name: String,
    pub settings: StoreSettings,
    pub warnings: Vec<mallsync_rules::Warning>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    pub fn view(&self) -> StoreView {
        StoreView {
            id: self.id.clone(),
            cart: self.cart,
            name: self.name.clone(),
            settings: self.settings.masked(),
            warnings: self.settings.warnings(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Longest shop or store name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A shop or store name: trimmed, 1 to `MAX_NAME_CHARS` characters, no control characters.
pub fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let name = name.trim();
    if name.is_empty() {
        Err(ApiError::invalid_ja_en(
            field,
            "名前を入力してください（例: BASE 1号店）",
            "is required, e.g. \"BASE 1号店\"",
        ))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(ApiError::invalid_ja_en(
            field,
            format!("{MAX_NAME_CHARS}文字以内で入力してください"),
            format!("is longer than {MAX_NAME_CHARS} characters"),
        ))
    } else if name.chars().any(char::is_control) {
        Err(ApiError::invalid_ja_en(
            field,
            "改行やタブなどの制御文字は使えません",
            "holds a control character (a line break, a tab, …)",
        ))
    } else {
        Ok(())
    }
}

pub fn create_shop(io: &impl Io, name: &str) -> Result<NewShop, ApiError> {
    check_name("name", name)?;
    let name = name.trim();
    let id = format!("shop_{}", random_hex(io, 8)?);
    let api_token = format!("mst_{}", random_hex(io, 32)?);
    let webhook_secret = format!("whsec_{}", random_hex(io, 32)?);
    let now = io.now();
    let sealed_secret = crypto::seal(io, webhook_secret.as_bytes(), &webhook_secret_place(&id))?;
    io.sql(
        "INSERT INTO shops (id, name, token_hash, webhook_secret, created_at) VALUES (?, ?, ?, ?, ?)",
        &[
            id.clone().into(),
            name.into(),
            sha256_hex(&api_token).into(),
            sealed_secret.into(),
            now.timestamp().into(),
        ],
    )?;
    Ok(NewShop {
        shop: Shop {
            id,
            name: name.to_string(),
            created_at: time::from_seconds(now.timestamp()),
        },
        api_token,
        webhook_secret,
    })
}

pub fn list_shops(io: &impl Io) -> Result<Vec<Shop>, IoError> {
    io.sql(
        "SELECT id, name, created_at FROM shops ORDER BY created_at, id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Shop {
            id: r.text("id")?.to_string(),
            name: r.text("name")?.to_string(),
            created_at: time::from_seconds(r.int("created_at")?),
        })
    })
    .collect()
}

/// The shop whose API token the request carries (`Authorization: Bearer <token>`).
pub fn authenticate_shop(
    io: &impl Io,
    request: &http::Request<Vec<u8>>,
) -> Result<String, ApiError> {
    let token = auth::bearer(request).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the shop's API token as Authorization: Bearer <api_token>".into(),
        )
    })?;
    // Looked up by its SHA-256: the stored hash reveals nothing, and the lookup time depends on
    // the hash, not on how much of the token was right.
    let rows = io.sql(
        "SELECT id FROM shops WHERE token_hash = ?",
        &[sha256_hex(token).into()],
    )?;
    match rows.first() {
        Some(row) => Ok(row.text("id")?.to_string()),
        None => Err(ApiError::Unauthorized(
            "the API token is not a shop's token: use the api_token given when the shop was created"
                .into(),
        )),
    }
}

pub fn webhook_secret(io: &impl Io, shop_id: &str) -> Result<String, ApiError> {
    let rows = io.sql(
        "SELECT webhook_secret FROM shops WHERE id = ?",
        &[shop_id.into()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal(format!("store's shop {shop_id} is gone")))?;
    Ok(crypto::open_text(
        io,
        row.text("webhook_secret")?,
        &webhook_secret_place(shop_id),
    )?)
}

const STORE_COLUMNS: &str = "id, shop_id, cart, name, settings, created_at, updated_at";

fn store_from_row(keys: &Keys, row: Row<'_>) -> Result<Store, IoError> {
    let id = row.text("id")?;
    let cart_slug = row.text("cart")?;
    let cart = Cart::from_slug(cart_slug)
        .ok_or_else(|| IoError(format!("store {id}: unknown cart {cart_slug:?}")))?;
    let opened = keys.open(row.text("settings")?, &settings_place(id))?;
    let settings: StoreSettings = serde_json::from_slice(&opened)
        .map_err(|e| IoError(format!("store {id}: stored settings do not parse: {e}")))?;
    Ok(Store {
        id: id.to_string(),
        shop_id: row.text("shop_id")?.to_string(),
        cart,
        name: row.text("name")?.to_string(),
        settings,
        created_at: time::from_seconds(row.int("created_at")?),
        updated_at: time::from_seconds(row.int("updated_at")?),
    })
}

fn not_found(store_id: &str, cart: Cart) -> ApiError {
    ApiError::NotFound(format!(
        "no store {store_id} on {} in this shop",
        cart.display_name()
    ))
}

/// The shop's store on `cart`; another shop's store, or one on another cart, is "not found".
pub fn shop_store(
    io: &impl Io,
    shop_id: &str,
    cart: Cart,
    store_id: &str,
) -> Result<Store, ApiError> {
    let rows = io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ? AND shop_id = ? AND cart = ?"),
        &[store_id.into(), shop_id.into(), cart.slug().into()],
    )?;
    match rows.first() {
        Some(row) => Ok(store_from_row(&Keys::from_variables(io)?, row)?),
        None => Err(not_found(store_id, cart)),
    }
}

/// A store by id alone, for callers that prove themselves otherwise (a signed webhook, the
/// scheduled tick, an OAuth state).
pub fn store(io: &impl Io, cart: Cart, store_id: &str) -> Result<Store, ApiError> {
    let rows = io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ? AND cart = ?"),
        &[store_id.into(), cart.slug().into()],
    )?;
    match rows.first() {
        Some(row) => Ok(store_from_row(&Keys::from_variables(io)?, row)?),
        None => Err(not_found(store_id, cart)),
    }
}

pub fn shop_stores(io: &impl Io, shop_id: &str, cart: Cart) -> Result<Vec<Store>, IoError> {
    let keys = Keys::from_variables(io)?;
    io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE shop_id = ? AND cart = ? ORDER BY created_at, id"),
        &[shop_id.into(), cart.slug().into()],
    )?
    .iter()
    .map(|row| store_from_row(&keys, row))
    .collect()
}

/// A store's id with the store, or why its row no longer parses.
pub type StoreRow = (String, Result<Store, IoError>);

/// Every store (of `cart`, or of all carts) in id order after `after`: the schedule's walk.
/// A store whose row no longer parses comes back as its id and the error, so one bad row does
/// not stop the others.
pub fn stores_after(
    io: &impl Io,
    cart: Option<Cart>,
    after: &str,
) -> Result<Vec<StoreRow>, IoError> {
    let keys = Keys::from_variables(io)?;
    let cart = cart.map(|c| Value::text(c.slug()));
    let rows = io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE id > ? AND (? IS NULL OR cart = ?) ORDER BY id"),
        &[after.into(), cart.clone().unwrap_or(Value::Null), cart.unwrap_or(Value::Null)],
    )?;
    rows.iter()
        .map(|row| Ok((row.text("id")?.to_string(), store_from_row(&keys, row))))
        .collect()
}

/// The settings as stored: JSON sealed with the encryption key (they hold the credentials).
fn sealed_settings(
    io: &impl Io,
    store_id: &str,
    settings: &StoreSettings,
) -> Result<String, ApiError> {
    let json = serde_json::to_vec(settings)
        .map_err(|e| ApiError::Internal(format!("settings do not serialize: {e}")))?;
    Ok(crypto::seal(io, &json, &settings_place(store_id))?)
}

pub fn create_store(
    io: &impl Io,
    shop_id: &str,
    name: &str,
    settings: StoreSettings,
) -> Result<Store, ApiError> {
    let now = io.now().timestamp();
    let store = Store {
        id: format!("st_{}", random_hex(io, 8)?),
        shop_id: shop_id.to_string(),
        cart: settings.cart(),
        name: name.to_string(),
        settings,
        created_at: time::from_seconds(now),
        updated_at: time::from_seconds(now),
    };
    io.sql(
        &format!("INSERT INTO stores ({STORE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        &[
            store.id.clone().into(),
            shop_id.into(),
            store.cart.slug().into(),
            name.into(),
            sealed_settings(io, &store.id, &store.settings)?.into(),
            now.into(),
            now.into(),
        ],
    )?;
    Ok(store)
}

pub fn update_store(io: &impl Io, store: &Store) -> Result<(), ApiError> {
    io.sql(
        "UPDATE stores SET name = ?, settings = ?, updated_at = ? WHERE id = ? AND shop_id = ?",
        &[
            store.name.clone().into(),
            sealed_settings(io, &store.id, &store.settings)?.into(),
            store.updated_at.timestamp().into(),
            store.id.clone().into(),
            store.shop_id.clone().into(),
        ],
    )?;
    Ok(())
}

/// Deletes the store and everything kept for it. Its run log goes too: the shop asked for it.
pub fn delete_store(io: &impl Io, store: &Store) -> Result<(), ApiError> {
    let id: Value = store.id.clone().into();
    for table in [
        "orders",
        "ledger",
        "claims",
        "imported_orders",
        "cursors",
        "oauth_states",
        "webhook_deliveries",
        "notification_outbox",
    ] {
        io.sql(
            &format!("DELETE FROM {table} WHERE store_id = ?"),
            std::slice::from_ref(&id),
        )?;
    }
    io.sql(
        "DELETE FROM run_orders WHERE run_id IN (SELECT id FROM runs WHERE store_id = ?)",
        std::slice::from_ref(&id),
    )?;
    io.sql(
        "DELETE FROM runs WHERE store_id = ?",
        std::slice::from_ref(&id),
    )?;
    io.sql("DELETE FROM stores WHERE id = ?", &[id])?;
    io.kv_delete(&token_key(&store.id))?;
    Ok(())
}
