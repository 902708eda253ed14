//! The one list of carts. Everything that lists the carts is derived from the lines below:
//! [`Cart`] with `Cart::ALL`, its slugs and names (here), `StoreSettings` with its dispatch,
//! defaults, parsing and labels (`store_settings.rs`), the settings schemas (`schema.rs`), and the
//! service's cart dispatch, `with_cart!`, and its bindings (mallsync-sync's `carts.rs`). What a cart
//! does differently is declared in its own files (its `CartSettings` impl in the rules, its
//! `Connector` and `Capabilities` in mallsync-carts), never branched on by name.
//!
//! This module names no other module (the list holds only names), so the cart modules can use
//! `Cart` without an import circle.

/// Calls `$callback! { { …extra… } <one line per cart> }`, each line
/// `Variant module "slug" "display name" SettingsType;`:
///
/// - `Variant`: the `Cart` variant, and the unit struct of the cart's client,
///   `mallsync_carts::<module>::<Variant>`;
/// - `module`: the cart's module in mallsync-rules and in mallsync-carts, and its component
///   folder `functions/<slug>`;
/// - `"slug"`: the stored and serialized name (routes, rows, JSON `"cart"`, cargo feature); it is
///   the variant in lower case, as serde writes `Cart` (a test checks);
/// - `"display name"`: what operators read;
/// - `SettingsType`: the store settings type in `mallsync_rules::<module>`.
///
/// E.g. `for_each_cart!(list { 1 })` expands to
/// `list! { { 1 } Bcart bcart "bcart" "Bカート" BcartSettings; Base base "base" "BASE" BaseSettings; … }`.
/// Adding a cart: one line here (see the README, "Adding a cart").
#[macro_export]
macro_rules! for_each_cart {
    ($($callback:ident)::+ { $($extra:tt)* }) => {
        $($callback)::+! {
            { $($extra)* }
            // Variant   module      slug          display name                settings
            Bcart      bcart      "bcart"      "Bカート"                   BcartSettings;
            Base       base       "base"       "BASE"                      BaseSettings;
            Shopserve  shopserve  "shopserve"  "Eストアー ショップサーブ"  ShopserveSettings;
            Cscart     cscart     "cscart"     "CS-Cart"                   CscartSettings;
            Futureshop futureshop "futureshop" "futureshop"                FutureshopSettings;
        }
    };
}

macro_rules! define_cart {
    ({} $($Variant:ident $module:ident $slug:literal $name:literal $Settings:ident;)*) => {
        /// The carts, one per line of [`for_each_cart!`]. The slug names the component, routes
        /// and stored rows.
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum Cart {
            $($Variant,)*
        }

        impl Cart {
            pub const ALL: [Cart; [$($slug),*].len()] = [$(Cart::$Variant),*];

            pub fn slug(self) -> &'static str {
                match self {
                    $(Cart::$Variant => $slug,)*
                }
            }

            pub fn display_name(self) -> &'static str {
                match self {
                    $(Cart::$Variant => $name,)*
                }
            }

            /// The name of the cart's settings type, which names its schema in the OpenAPI
            /// document (`BaseSettings`).
            pub fn settings_type_name(self) -> &'static str {
                match self {
                    $(Cart::$Variant => stringify!($Settings),)*
                }
            }
        }
    };
}

crate::for_each_cart!(define_cart {});

impl Cart {
    pub fn from_slug(slug: &str) -> Option<Cart> {
        Cart::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

#[cfg(test)]
mod tests {
    use super::Cart;

    #[test]
    fn each_slug_is_the_name_serde_stores() {
        for cart in Cart::ALL {
            assert_eq!(
                serde_json::to_value(cart).unwrap(),
                serde_json::json!(cart.slug())
            );
            assert_eq!(Cart::from_slug(cart.slug()), Some(cart));
        }
        assert_eq!(
            Cart::ALL.map(Cart::slug),
            ["bcart", "base", "shopserve", "cscart", "futureshop"]
        );
    }
}
