//! The operator console component: serves the console's web app (`/console/...`), whose files are
//! compiled in, so it works offline and needs no store, variable or outbound host. The app runs in
//! the browser and talks to the carts' JSON routes on the same origin with the shop's token.
//! It also serves each cart's OpenAPI document (`/<cart>/openapi.json`), a static file as well.

use spin_sdk::http::{Method, Request, Response};

/// One file the component serves.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// A cart's OpenAPI document, `GET /<cart>/openapi.json` (spin.toml routes that exact path here,
/// ahead of the cart's `/<cart>/...`): written by build.rs, so no cart component carries it.
macro_rules! openapi {
    ($slug:literal) => {
        Asset {
            path: concat!("/", $slug, "/openapi.json"),
            content_type: "application/json",
            body: include_bytes!(concat!(env!("OUT_DIR"), "/openapi.", $slug, ".json")),
        }
    };
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/console/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        path: "/console/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        path: "/console/i18n.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/i18n.js"),
    },
    Asset {
        path: "/console/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/style.css"),
    },
    openapi!("bcart"),
    openapi!("base"),
    openapi!("shopserve"),
    openapi!("cscart"),
    openapi!("futureshop"),
];

/// Only the app's own files run, nothing inline, nothing from elsewhere; it may call only its
/// own origin and may not be framed. `form-action 'none'`: a form posted before the script loads
/// must not put the token in a URL.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// A response as plain parts, so it can be tested without the platform.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'static [u8],
}

#[spin_sdk::http_component]
fn handle(request: Request) -> Response {
    let method = match request.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        _ => "OTHER",
    };
    let if_none_match = request.header("if-none-match").and_then(|v| v.as_str());
    let reply = serve(method, request.path(), if_none_match);
    let mut response = Response::builder();
    response.status(reply.status);
    for (name, value) in reply.headers {
        response.header(name, value);
    }
    response.body(reply.body.to_vec()).build()
}

/// The answer to `method path`. Files revalidate on every load (`no-cache` + ETag), because their
/// names carry no version and a new deployment must take effect at once.
pub fn serve(method: &str, path: &str, if_none_match: Option<&str>) -> Reply {
    let mut headers = vec![
        (
            "content-security-policy",
            CONTENT_SECURITY_POLICY.to_string(),
        ),
        ("x-content-type-options", "nosniff".to_string()),
        ("x-frame-options", "DENY".to_string()),
        ("referrer-policy", "no-referrer".to_string()),
        ("cross-origin-opener-policy", "same-origin".to_string()),
    ];
    if path == "/console" {
        headers.push(("location", "/console/".to_string()));
        return text(308, headers, b"/console/\n");
    }
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return text(404, headers, b"not found\n");
    };
    if method != "GET" && method != "HEAD" {
        headers.push(("allow", "GET, HEAD".to_string()));
        return text(405, headers, b"method not allowed: GET or HEAD\n");
    }
    let etag = format!("\"{:016x}\"", fnv1a(asset.body));
    headers.push(("cache-control", "no-cache".to_string()));
    headers.push(("etag", etag.clone()));
    if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
        return Reply {
            status: 304,
            headers,
            body: b"",
        };
    }
    headers.push(("content-type", asset.content_type.to_string()));
    Reply {
        status: 200,
        headers,
        body: if method == "HEAD" { b"" } else { asset.body },
    }
}

fn text(status: u16, mut headers: Vec<(&'static str, String)>, body: &'static [u8]) -> Reply {
    headers.push(("content-type", "text/plain; charset=utf-8".to_string()));
    headers.push(("cache-control", "no-store".to_string()));
    Reply {
        status,
        headers,
        body,
    }
}

/// A content hash for the ETag (not for security: the files are public).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
        reply
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_file_is_served_with_its_type_and_the_strict_policy() {
        for asset in ASSETS {
            let reply = serve("GET", asset.path, None);
            assert_eq!(reply.status, 200, "{}", asset.path);
            assert_eq!(header(&reply, "content-type"), Some(asset.content_type));
            assert_eq!(
                header(&reply, "content-security-policy"),
                Some(CONTENT_SECURITY_POLICY)
            );
            assert_eq!(header(&reply, "x-content-type-options"), Some("nosniff"));
            assert!(!reply.body.is_empty());
        }
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_other_origin() {
        let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split("; ").collect();
        for expected in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(directives.contains(&expected), "{expected}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = String::from_utf8_lossy(ASSETS[0].body);
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            if tag.starts_with("script") {
                assert!(tag.contains("src="), "inline script: <{tag}>");
            }
            assert!(!tag.starts_with("style"), "inline style block: <{tag}>");
            assert!(!tag.contains(" style="), "inline style attribute: <{tag}>");
            let handler = tag.split_whitespace().any(|attr| {
                attr.strip_prefix("on").is_some_and(|rest| {
                    rest.split('=').next().is_some_and(|name| {
                        rest.contains('=') && name.chars().all(|c| c.is_ascii_alphabetic())
                    })
                })
            });
            assert!(!handler, "inline handler: <{tag}>");
        }
    }

    #[test]
    fn the_scripts_never_turn_a_string_into_html_or_code() {
        let scripts = ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/javascript"));
        for asset in scripts {
            let js = String::from_utf8_lossy(asset.body);
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!js.contains(sink), "{} uses {sink}", asset.path);
            }
        }
    }

    #[test]
    fn an_unchanged_file_is_not_sent_again() {
        let first = serve("GET", "/console/app.js", None);
        let etag = header(&first, "etag").unwrap_or_default().to_string();
        let again = serve("GET", "/console/app.js", Some(&etag));
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        let other = serve("GET", "/console/app.js", Some("\"0\""));
        assert_eq!(other.status, 200);
    }

    #[test]
    fn each_carts_openapi_document_is_served_as_built_from_the_checked_in_documents() {
        for slug in mallsync_openapi::CARTS {
            let reply = serve("GET", &format!("/{slug}/openapi.json"), None);
            assert_eq!(reply.status, 200, "{slug}");
            assert_eq!(header(&reply, "content-type"), Some("application/json"));
            let served: serde_json::Value = serde_json::from_slice(reply.body).unwrap();
            assert_eq!(served, mallsync_openapi::document(slug).unwrap());
            assert_eq!(served["servers"][0]["url"], format!("/{slug}"));
        }
        assert_eq!(serve("GET", "/amazon/openapi.json", None).status, 404);
        assert_eq!(serve("GET", "/base/openapi.json/x", None).status, 404);
    }

    #[test]
    fn the_bare_path_redirects_and_unknown_paths_and_methods_are_refused() {
        let bare = serve("GET", "/console", None);
        assert_eq!(bare.status, 308);
        assert_eq!(header(&bare, "location"), Some("/console/"));
        assert_eq!(serve("GET", "/console/../bcart/stores", None).status, 404);
        assert_eq!(serve("GET", "/console/secret.txt", None).status, 404);
        let post = serve("OTHER", "/console/", None);
        assert_eq!(post.status, 405);
        assert_eq!(header(&post, "allow"), Some("GET, HEAD"));
        assert!(serve("HEAD", "/console/", None).body.is_empty());
    }
}
