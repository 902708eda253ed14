//! Outbound HTTP allowed only to a component's `allowed_outbound_hosts`, as Spin does: each entry
//! is `scheme://host[:port]`, `*` may stand for the scheme, the host, a leading host label
//! (`*.example.com`) or the port; a missing port means the scheme's default port.

use anyhow::{anyhow, bail, Result};
use std::{future::Future, sync::Arc};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

#[derive(Debug, Clone, PartialEq)]
struct AllowedHost {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

/// A component's outbound allow-list, with templates already expanded.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<AllowedHost>);

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHosts {
    pub fn parse(entries: &[String]) -> Result<AllowedHosts> {
        entries
            .iter()
            .map(|e| parse_entry(e))
            .collect::<Result<_>>()
            .map(AllowedHosts)
    }

    /// Whether a request to `uri` may leave the component.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let Some(port) = uri.port_u16().or_else(|| default_port(scheme)) else {
            return false;
        };
        self.0.iter().any(|allowed| {
            let scheme_ok = allowed.scheme.as_deref().is_none_or(|s| s == scheme);
            let host_ok = allowed.host == "*"
                || allowed.host.eq_ignore_ascii_case(host)
                || allowed.host.strip_prefix("*.").is_some_and(|suffix| {
                    host.len() > suffix.len()
                        && host
                            .to_ascii_lowercase()
                            .ends_with(&format!(".{}", suffix.to_ascii_lowercase()))
                });
            let port_ok = match allowed.port {
                None => true,
                Some(p) => p == port,
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn parse_entry(entry: &str) -> Result<AllowedHost> {
    let (scheme, rest) = entry.split_once("://").ok_or_else(|| {
        anyhow!("allowed_outbound_hosts entry {entry:?} needs a scheme, e.g. https://{entry}")
    })?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        bail!("allowed_outbound_hosts entry {entry:?} has a path; Spin allows only scheme://host[:port]");
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, "*")) => (host, None),
        Some((host, port)) => {
            (
                host,
                Some(port.parse::<u16>().map_err(|_| {
                    anyhow!("allowed_outbound_hosts entry {entry:?} has a bad port")
                })?),
            )
        }
        None if scheme == "*" => (rest, None),
        None => (
            rest,
            Some(default_port(scheme).ok_or_else(|| {
                anyhow!("allowed_outbound_hosts entry {entry:?} needs a port for scheme {scheme}")
            })?),
        ),
    };
    if host.is_empty() {
        bail!("allowed_outbound_hosts entry {entry:?} has no host");
    }
    Ok(AllowedHost {
        scheme: (scheme != "*").then(|| scheme.to_string()),
        host: host.to_string(),
        port,
    })
}

/// wasi-http hooks that refuse requests outside the allow-list with `HttpRequestDenied`.
pub struct OutboundHooks {
    pub allowed: Arc<AllowedHosts>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        _ = fut;
        if !self.allowed.allows(request.uri()) {
            eprintln!(
                "outbound request to {} denied: not in allowed_outbound_hosts",
                request.uri()
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn an_exact_entry_allows_its_origin_on_the_default_port_only() {
        let hosts = allowed(&["https://api.bcart.jp"]);
        assert!(hosts.allows(&uri("https://api.bcart.jp/api/v1/orders")));
        assert!(hosts.allows(&uri("https://api.bcart.jp:443/x")));
        assert!(!hosts.allows(&uri("https://api.bcart.jp:8443/x")));
        assert!(!hosts.allows(&uri("http://api.bcart.jp/x")));
        assert!(!hosts.allows(&uri("https://evil.example/x")));
    }

    #[test]
    fn a_loopback_entry_allows_only_its_own_port() {
        let hosts = allowed(&["http://127.0.0.1:4001"]);
        assert!(hosts.allows(&uri("http://127.0.0.1:4001/x")));
        assert!(!hosts.allows(&uri("http://127.0.0.1:4002/x")));
    }

    #[test]
    fn wildcards_cover_scheme_subdomains_and_ports() {
        let hosts = allowed(&["https://*.example.com", "*://any.test:*"]);
        assert!(hosts.allows(&uri("https://shop.example.com/")));
        assert!(!hosts.allows(&uri("https://example.com/")));
        assert!(hosts.allows(&uri("http://any.test:1234/")));
    }

    #[test]
    fn an_entry_with_a_path_or_no_scheme_is_rejected() {
        assert!(AllowedHosts::parse(&["https://api.bcart.jp/api".into()]).is_err());
        assert!(AllowedHosts::parse(&["api.bcart.jp".into()]).is_err());
    }
}
