//! Shops and their stores. A shop sees only its own stores: every store lookup names the shop.

use chrono::{DateTime, Utc};
use mallsync_rules::{Cart, StoreSettings};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::auth::{self, sha256_hex};
use crate::io::{random_hex, Io, IoError, Row, Value};

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

pub fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

pub fn create_shop(io: &impl Io, name: &str) -> Result<NewShop, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "is required"));
    }
    let id = format!("shop_{}", random_hex(io, 8)?);
    let api_token = format!("mst_{}", random_hex(io, 32)?);
    let webhook_secret = format!("whsec_{}", random_hex(io, 32)?);
    let now = io.now();
    io.sql(
        "INSERT INTO shops (id, name, token_hash, webhook_secret, created_at) VALUES (?, ?, ?, ?, ?)",
        &[
            id.clone().into(),
            name.into(),
            sha256_hex(&api_token).into(),
            webhook_secret.clone().into(),
            now.timestamp().into(),
        ],
    )?;
    Ok(NewShop {
        shop: Shop {
            id,
            name: name.to_string(),
            created_at: time(now.timestamp()),
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
            created_at: time(r.int("created_at")?),
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
    Ok(row.text("webhook_secret")?.to_string())
}

const STORE_COLUMNS: &str = "id, shop_id, cart, name, settings, created_at, updated_at";

fn store_from_row(row: Row<'_>) -> Result<Store, IoError> {
    let id = row.text("id")?;
    let cart_slug = row.text("cart")?;
    let cart = Cart::from_slug(cart_slug)
        .ok_or_else(|| IoError(format!("store {id}: unknown cart {cart_slug:?}")))?;
    let settings: StoreSettings = serde_json::from_str(row.text("settings")?)
        .map_err(|e| IoError(format!("store {id}: stored settings do not parse: {e}")))?;
    Ok(Store {
        id: id.to_string(),
        shop_id: row.text("shop_id")?.to_string(),
        cart,
        name: row.text("name")?.to_string(),
        settings,
        created_at: time(row.int("created_at")?),
        updated_at: time(row.int("updated_at")?),
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
        Some(row) => Ok(store_from_row(row)?),
        None => Err(not_found(store_id, cart)),
    }
}

/// A store by id alone, for callers that prove themselves otherwise (a signed webhook, the
/// dispatcher, an OAuth state).
pub fn store(io: &impl Io, cart: Cart, store_id: &str) -> Result<Store, ApiError> {
    let rows = io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ? AND cart = ?"),
        &[store_id.into(), cart.slug().into()],
    )?;
    match rows.first() {
        Some(row) => Ok(store_from_row(row)?),
        None => Err(not_found(store_id, cart)),
    }
}

pub fn shop_stores(io: &impl Io, shop_id: &str, cart: Cart) -> Result<Vec<Store>, IoError> {
    io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE shop_id = ? AND cart = ? ORDER BY created_at, id"),
        &[shop_id.into(), cart.slug().into()],
    )?
    .iter()
    .map(store_from_row)
    .collect()
}

/// A store's id with the store, or why its row no longer parses.
pub type StoreRow = (String, Result<Store, IoError>);

/// Every store (of `cart`, or of all carts) in id order after `after`: the dispatcher's walk.
/// A store whose row no longer parses comes back as its id and the error, so one bad row does
/// not stop the others.
pub fn stores_after(
    io: &impl Io,
    cart: Option<Cart>,
    after: &str,
) -> Result<Vec<StoreRow>, IoError> {
    let cart = cart.map(|c| Value::text(c.slug()));
    let rows = io.sql(
        &format!("SELECT {STORE_COLUMNS} FROM stores WHERE id > ? AND (? IS NULL OR cart = ?) ORDER BY id"),
        &[after.into(), cart.clone().unwrap_or(Value::Null), cart.unwrap_or(Value::Null)],
    )?;
    rows.iter()
        .map(|row| Ok((row.text("id")?.to_string(), store_from_row(row))))
        .collect()
}

fn settings_json(settings: &StoreSettings) -> Result<String, ApiError> {
    serde_json::to_string(settings)
        .map_err(|e| ApiError::Internal(format!("settings do not serialize: {e}")))
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
        created_at: time(now),
        updated_at: time(now),
    };
    io.sql(
        &format!("INSERT INTO stores ({STORE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        &[
            store.id.clone().into(),
            shop_id.into(),
            store.cart.slug().into(),
            name.into(),
            settings_json(&store.settings)?.into(),
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
            settings_json(&store.settings)?.into(),
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
    io.kv_delete(&crate::carts::token_key(&store.id))?;
    Ok(())
}
