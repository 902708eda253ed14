//! The OpenAPI 3 document of every route (checked in as `openapi.json`, served at
//! `GET /<cart>/openapi.json`).

use mallsync_rules::Cart;

use crate::api_error::ApiError;

/// The checked-in document, as written.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The document for one cart's component: its server prefix is `/<cart>`.
pub fn document(cart: Cart) -> Result<serde_json::Value, ApiError> {
    let mut document: serde_json::Value = serde_json::from_str(DOCUMENT)
        .map_err(|e| ApiError::Internal(format!("openapi.json does not parse: {e}")))?;
    document["servers"] = serde_json::json!([{ "url": format!("/{}", cart.slug()) }]);
    Ok(document)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;
    use crate::routes::table;

    #[test]
    fn every_route_in_the_route_table_is_in_the_openapi_document_and_nothing_else() {
        let document = document(Cart::Base).unwrap();
        let paths = document["paths"].as_object().unwrap();
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = table::<NativeIo>()
            .iter()
            .filter(|r| r.in_openapi())
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
