//! CS-Cart authentication: HTTP Basic with the administrator's e-mail and API key.

use mallsync_rules::cscart::CscartCredentials;

use crate::{wire, Api};

/// The `Authorization` value for every CS-Cart call.
pub fn authorization(api: &Api<CscartCredentials>) -> String {
    wire::basic(&api.credentials.admin_email, &api.credentials.api_key)
}

/// The store URL as the API's base: the admin URL without `admin.php` (or `index.php`), no
/// trailing `/`. The shop's paths are `/api/…` under it.
pub fn store_base_url(credentials: &CscartCredentials) -> String {
    let url = credentials.store_url.trim().trim_end_matches('/');
    let url = url
        .strip_suffix("admin.php")
        .or_else(|| url.strip_suffix("index.php"))
        .unwrap_or(url);
    url.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mallsync_rules::Secret;

    fn creds(store_url: &str) -> CscartCredentials {
        CscartCredentials {
            store_url: store_url.into(),
            admin_email: "a@example.jp".into(),
            api_key: Secret::new("k"),
        }
    }

    #[test]
    fn the_store_url_loses_its_trailing_slash_and_any_admin_script() {
        for url in [
            "https://shop.example.jp/",
            "https://shop.example.jp",
            " https://shop.example.jp/admin.php ",
        ] {
            assert_eq!(store_base_url(&creds(url)), "https://shop.example.jp");
        }
        assert_eq!(
            store_base_url(&creds("https://example.jp/store/")),
            "https://example.jp/store"
        );
    }
}
