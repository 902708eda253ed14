//! The HTTP trigger: Spin's routing (exact routes, `/...` wildcards, the most specific wins) and
//! the `spin-*` headers Spin adds, with a fresh component instance per request.

use crate::app::{App, LoadedComponent};
use crate::runtime::Ctx;
use anyhow::{anyhow, Result};
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use std::{net::SocketAddr, sync::Arc};
use wasmtime::Store;
use wasmtime_wasi_http::{p2::bindings::http::types::Scheme, WasiHttpView};

pub type ResponseBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// One `[[trigger.http]]` route.
#[derive(Debug, Clone)]
pub struct Route {
    /// As written in spin.toml, e.g. `/bcart/...`.
    pub raw: String,
    /// The fixed part, without the `/...` wildcard and without a trailing `/` (`/bcart`).
    pub prefix: String,
    pub wildcard: bool,
    pub component: usize,
}

impl Route {
    pub fn parse(raw: &str, component: usize) -> Route {
        let (prefix, wildcard) = match raw.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None => (raw, false),
        };
        Route {
            raw: raw.to_string(),
            prefix: prefix.trim_end_matches('/').to_string(),
            wildcard,
            component,
        }
    }

    /// The path below the route (`spin-path-info`) if `path` matches.
    fn path_info<'p>(&self, path: &'p str) -> Option<&'p str> {
        let path_trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        if !self.wildcard {
            return (path_trimmed == self.prefix || (self.prefix.is_empty() && path == "/"))
                .then_some("");
        }
        let rest = path.strip_prefix(&self.prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}

/// Picks the route for `path`: an exact route first, else the wildcard with the longest prefix.
pub fn find_route<'r, 'p>(routes: &'r [Route], path: &'p str) -> Option<(&'r Route, &'p str)> {
    routes
        .iter()
        .filter_map(|r| r.path_info(path).map(|info| (r, info)))
        .max_by_key(|(r, _)| (!r.wildcard, r.prefix.len()))
}

pub async fn serve(
    app: Arc<App>,
    request: hyper::Request<Incoming>,
    client: SocketAddr,
) -> hyper::Response<ResponseBody> {
    let path = request.uri().path().to_string();
    let Some((route, path_info)) = find_route(&app.routes, &path) else {
        return text_response(404, "Not Found");
    };
    let route = route.clone();
    let path_info = path_info.to_string();
    let component = &app.components[route.component];
    match handle(&app, component, &route, &path_info, request, client).await {
        Ok(response) => response,
        Err(error) => {
            eprintln!(
                "component {} failed on {path}: {error:?}",
                component.config.id
            );
            text_response(500, "Internal Server Error")
        }
    }
}

async fn handle(
    app: &App,
    component: &LoadedComponent,
    route: &Route,
    path_info: &str,
    request: hyper::Request<Incoming>,
    client: SocketAddr,
) -> Result<hyper::Response<ResponseBody>> {
    let proxy_pre = component.proxy.as_ref().ok_or_else(|| {
        anyhow!(
            "component {} does not export wasi:http/incoming-handler",
            component.config.id
        )
    })?;
    let (mut parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| app.listen_addr.to_string());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let full_url = format!("http://{host}{path_and_query}");
    parts.uri = full_url.parse()?;
    let spin_headers = [
        ("spin-full-url", full_url.clone()),
        ("spin-path-info", path_info.to_string()),
        ("spin-matched-route", route.raw.clone()),
        ("spin-raw-component-route", route.raw.clone()),
        ("spin-component-route", route.prefix.clone()),
        ("spin-base-path", "/".to_string()),
        ("spin-client-addr", client.to_string()),
    ];
    for (name, value) in spin_headers {
        parts.headers.insert(name, value.parse()?);
    }
    let request = hyper::Request::from_parts(parts, body);

    let mut store = Store::new(
        crate::runtime::engine(),
        Ctx::new(component.config.clone(), app.backends.clone()),
    );
    let request = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, request)?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let outparam = store.data_mut().http().new_response_outparam(sender)?;
    let proxy = proxy_pre.instantiate_async(&mut store).await?;
    // The guest keeps running after it sets the response, to stream the body; a trap before that
    // point surfaces through the task's result.
    // Tracked, so shutdown waits for it.
    let guest = app.tasks.spawn(async move {
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, request, outparam)
            .await
    });
    match receiver.await {
        Ok(Ok(response)) => {
            Ok(response.map(|body| body.map_err(|e| format!("{e:?}").into()).boxed_unsync()))
        }
        Ok(Err(code)) => Err(anyhow!("component answered with error code {code:?}")),
        Err(_) => match guest.await {
            Ok(Ok(())) => Err(anyhow!("component returned without setting a response")),
            Ok(Err(trap)) => Err(trap.into()),
            Err(join) => Err(anyhow!("component task failed: {join}")),
        },
    }
}

pub fn text_response(status: u16, text: &'static str) -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<Route> {
        vec![
            Route::parse("/bcart/...", 0),
            Route::parse("/bcart/special", 1),
            Route::parse("/bcart/deep/...", 2),
            Route::parse("/internal/dispatch", 3),
        ]
    }

    fn matched(path: &str) -> Option<(usize, String)> {
        let routes = routes();
        find_route(&routes, path).map(|(r, info)| (r.component, info.to_string()))
    }

    #[test]
    fn a_wildcard_route_matches_its_prefix_and_everything_below_with_the_rest_as_path_info() {
        assert_eq!(matched("/bcart/health"), Some((0, "/health".into())));
        assert_eq!(matched("/bcart"), Some((0, "".into())));
        assert_eq!(matched("/bcartx/health"), None);
    }

    #[test]
    fn an_exact_route_beats_a_wildcard_and_the_longest_wildcard_wins() {
        assert_eq!(matched("/bcart/special"), Some((1, "".into())));
        assert_eq!(matched("/bcart/deep/x/y"), Some((2, "/x/y".into())));
    }

    #[test]
    fn an_exact_route_matches_only_its_own_path() {
        assert_eq!(matched("/internal/dispatch"), Some((3, "".into())));
        assert_eq!(matched("/internal/dispatch/more"), None);
        assert_eq!(matched("/internal"), None);
    }
}
