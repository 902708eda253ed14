//! The API's documents as the components serve them, from the checked-in `shared/sync/openapi.json`
//! and `shared/sync/settings-schema.json`: a cart component serves its cart's settings schema
//! (`GET /<cart>/settings/schema`, [`settings_schema_text`]); the console component serves each
//! cart's OpenAPI document (`GET /<cart>/openapi.json`, [`document`], built when the console is
//! built), so no cart component carries the 51 KB document (README "Measured figures").
//! Carts are named by slug (`base`); which carts there are comes from the cart registry
//! (`mallsync_rules::for_each_cart!`).

use serde_json::{json, Value};

/// The checked-in `openapi.json`, without its indentation.
pub const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.compact.json"));

macro_rules! slugs {
    ({} $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        /// Every cart's slug, in the order of `mallsync_rules::Cart::ALL`.
        pub const CARTS: [&str; [$($slug),*].len()] = [$($slug),*];
    };
}
mallsync_rules::for_each_cart!(slugs {});

/// The cart's settings schema as checked in (its line of `settings-schema.json`), if this build
/// has it: only the carts whose feature is on are compiled in.
pub fn settings_schema_text(slug: &str) -> Option<&'static str> {
    macro_rules! schema_arms {
        ({ $slug_asked:expr }
         $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
            match $slug_asked {
                $(
                    #[cfg(feature = $slug)]
                    $slug => Some(include_str!(concat!(
                        env!("OUT_DIR"),
                        "/settings-schema.",
                        $slug,
                        ".json"
                    ))),
                )*
                _ => None,
            }
        };
    }
    mallsync_rules::for_each_cart!(schema_arms { slug })
}

/// The name of the cart's settings schema in the document's components (its settings type's
/// name in the cart registry, e.g. `BaseSettings`); `None` for a slug that names no cart.
pub fn settings_schema_name(slug: &str) -> Option<&'static str> {
    mallsync_rules::Cart::from_slug(slug).map(mallsync_rules::Cart::settings_type_name)
}

/// The document for one cart's component: its server prefix is `/<cart>`, its cart's settings
/// schema is in `components.schemas`, and a store's `settings` refer to it (the other carts'
/// schemas, which no route of that component takes, are left out). An error says which
/// checked-in text does not parse, or that this build lacks the cart's schema.
pub fn document(slug: &str) -> Result<Value, String> {
    let mut document: Value =
        serde_json::from_str(DOCUMENT).map_err(|e| format!("openapi.json does not parse: {e}"))?;
    let schema = settings_schema_text(slug)
        .ok_or_else(|| format!("this build has no settings schema for the cart {slug:?}"))?;
    let schema: Value = serde_json::from_str(schema)
        .map_err(|e| format!("settings-schema.json ({slug}) does not parse: {e}"))?;
    let name = settings_schema_name(slug).ok_or_else(|| format!("no cart is named {slug:?}"))?;
    document["servers"] = json!([{ "url": format!("/{slug}") }]);
    document["components"]["schemas"][name] = schema;
    let own = json!({ "$ref": format!("#/components/schemas/{name}") });
    for schema in ["StoreInput", "Store"] {
        let settings = &mut document["components"]["schemas"][schema]["properties"]["settings"];
        let description = settings["description"].take();
        *settings = json!({ "allOf": [own.clone()], "description": description });
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in(name: &str) -> Value {
        let path = format!("{}/../sync/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_embedded_texts_are_the_checked_in_documents() {
        assert_eq!(
            serde_json::from_str::<Value>(DOCUMENT).unwrap(),
            checked_in("openapi.json")
        );
        assert!(!DOCUMENT.contains('\n'), "openapi.json is embedded compact");
        let all = checked_in("settings-schema.json");
        assert_eq!(all.as_object().unwrap().len(), CARTS.len());
        for slug in CARTS {
            let own: Value = serde_json::from_str(settings_schema_text(slug).unwrap()).unwrap();
            assert_eq!(own, all[slug], "{slug}");
        }
        assert_eq!(settings_schema_text("amazon"), None);
    }

    #[test]
    fn a_carts_document_names_its_server_and_only_its_settings_schema() {
        let document = document("cscart").unwrap();
        assert_eq!(document["servers"][0]["url"], "/cscart");
        let settings = &document["components"]["schemas"]["Store"]["properties"]["settings"];
        assert_eq!(
            settings["allOf"][0]["$ref"],
            "#/components/schemas/CscartSettings"
        );
        for other in CARTS.into_iter().filter(|c| *c != "cscart") {
            let name = settings_schema_name(other).unwrap();
            assert!(
                document["components"]["schemas"].get(name).is_none(),
                "{name}"
            );
        }
        assert_eq!(
            settings_schema_name("futureshop"),
            Some("FutureshopSettings")
        );
        assert_eq!(settings_schema_name("amazon"), None);
    }
}
