//! Where each stored secret lives. The place is also what its seal is bound to (`crypto`), so a
//! sealed value copied into another row or key does not open.

/// Where a shop's sealed webhook secret lives (the `shops` row).
pub fn webhook_secret_place(shop_id: &str) -> String {
    format!("shops.webhook_secret:{shop_id}")
}

/// Where a store's sealed settings live (the `stores` row).
pub fn settings_place(store_id: &str) -> String {
    format!("stores.settings:{store_id}")
}

/// Where the store's access token lives (BASE, futureshop): small, hot, in key-value.
pub fn token_key(store_id: &str) -> String {
    format!("token:{store_id}")
}
