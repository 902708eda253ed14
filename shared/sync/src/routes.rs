//! Every route of every component, in one table: a cart component's under `/<cart>/` (spin.toml
//! gives each cart `/<cart>/...`), its health and test probes included, and the dispatcher's
//! `/internal/dispatch`. Handlers return `Result<_, ApiError>`; `handle_then` turns errors into
//! responses in one place. The Spin shell (`functions/common`) only reads the body and sends.

use chrono::{Duration, NaiveDate};
use mallsync_rules::{Cart, ImportWindow, StoreSettings, Trigger};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::api_error::ApiError;
use crate::auth;
use crate::io::Io;
#[cfg(feature = "base")]
use crate::oauth;
use crate::response::json;
use crate::shops::{self, Store};
use crate::{import, orders, runlog, schedule, schema, with_cart, write_back};

/// The platform probes (health, the test routes): handlers in this table like the others.
mod probes;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

/// The largest request body any route reads: 10 MiB (a full webhook batch of 1,000 orders is
/// well under 2 MiB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The answer to a body over `MAX_BODY_BYTES`.
pub fn too_large() -> ApiError {
    ApiError::TooLarge(format!(
        "the request body is over {MAX_BODY_BYTES} bytes: send at most {} orders per webhook \
         / リクエスト本文が上限 ({MAX_BODY_BYTES} バイト) を超えています",
        orders::MAX_BATCH
    ))
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the OpenAPI document; the OAuth callback proves itself by its state).
    Public,
    /// `Authorization: Bearer <admin_token>`.
    Admin,
    /// `Authorization: Bearer <the shop's api_token>`.
    Shop,
    /// `X-Mallsync-Signature: t=<unix>,v1=<HMAC of "<t>.<body>" with the shop's webhook secret>`.
    Signed,
    /// A platform probe (`/__test/...`): only while the `test_routes_enabled` variable is "true",
    /// so a deployed app never exposes them by accident; otherwise no such route.
    Probe,
}

/// The component a request reached: a cart's (`/<cart>/...`) or the dispatcher
/// (`/internal/dispatch`, the scheduled work for every cart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Cart(Cart),
    Dispatcher,
}

impl From<Cart> for Component {
    fn from(cart: Cart) -> Component {
        Component::Cart(cart)
    }
}

impl Component {
    /// The component's route in spin.toml, without the trailing `/...`.
    fn prefix(self) -> String {
        match self {
            Component::Cart(cart) => format!("/{}", cart.slug()),
            Component::Dispatcher => DISPATCHER_ROUTE.to_string(),
        }
    }

    /// For the log.
    pub fn name(self) -> &'static str {
        match self {
            Component::Cart(cart) => cart.slug(),
            Component::Dispatcher => "dispatcher",
        }
    }
}

/// The dispatcher component's one route (spin.toml).
pub const DISPATCHER_ROUTE: &str = "/internal/dispatch";

/// What serves a route: a cart's handler (it knows its cart) or the dispatcher's (every cart).
pub enum Handler<I> {
    Cart(fn(&Ctx<'_, I>) -> Result<Response, ApiError>),
    Dispatcher(fn(&I, &Request) -> Result<Response, ApiError>),
}

pub struct Route<I> {
    pub method: &'static str,
    /// Below the component's route (`/<cart>` or `/internal/dispatch`); `{name}` matches one path
    /// segment.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    handler: Handler<I>,
}

impl<I> Route<I> {
    /// Whether `openapi.json` documents the route (the health check and the probes are the
    /// platform's, not the API's).
    pub fn in_openapi(&self) -> bool {
        self.access != Access::Probe && !self.is_health()
    }

    /// The route's path as `openapi.json` keys it: below `/<cart>` for a cart's, whole for the
    /// dispatcher's (whose path item names its own server).
    pub fn openapi_path(&self) -> String {
        match self.handler {
            Handler::Cart(_) => self.path.to_string(),
            Handler::Dispatcher(_) => format!("{DISPATCHER_ROUTE}{}", self.path),
        }
    }

    fn is_health(&self) -> bool {
        self.path == "/health"
    }

    fn serves(&self, component: Component) -> bool {
        matches!(
            (&self.handler, component),
            (Handler::Cart(_), Component::Cart(_))
                | (Handler::Dispatcher(_), Component::Dispatcher)
        )
    }

    /// Whether the route reads or writes the service's tables (so the schema must exist first).
    fn uses_tables(&self) -> bool {
        !(self.access == Access::Probe
            || self.is_health()
            || ["/openapi.json", "/settings/schema"].contains(&self.path))
    }
}

const fn route<I: Io>(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    handler: fn(&Ctx<'_, I>) -> Result<Response, ApiError>,
) -> Route<I> {
    Route {
        method,
        path,
        access,
        summary,
        handler: Handler::Cart(handler),
    }
}

const fn dispatcher_route<I: Io>(
    method: &'static str,
    summary: &'static str,
    handler: fn(&I, &Request) -> Result<Response, ApiError>,
) -> Route<I> {
    Route {
        method,
        path: "",
        access: Access::Admin,
        summary,
        handler: Handler::Dispatcher(handler),
    }
}

/// Every route of every component: a cart component's, then the dispatcher's.
pub fn table<I: Io>() -> Vec<Route<I>> {
    let mut routes = cart_table();
    routes.extend(dispatcher_table());
    routes
}

/// The dispatcher component's routes. A table of its own, so that the dispatcher links none of
/// the cart routes' code and a cart component none of its.
fn dispatcher_table<I: Io>() -> Vec<Route<I>> {
    vec![
        // GET /internal/dispatch: how many ticks so far, and the last one
        dispatcher_route("GET", "The recorded ticks and the last one", recorded_ticks),
        // POST /internal/dispatch: the scheduled work now (an external scheduler's call)
        dispatcher_route(
            "POST",
            "Run the scheduled work of every cart's stores now",
            run_recorded_tick,
        ),
    ]
}

/// A cart component's routes, under `/<cart>`.
fn cart_table<I: Io>() -> Vec<Route<I>> {
    use Access::*;
    vec![
        // GET /<cart>/health
        route(
            "GET",
            "/health",
            Public,
            "Whether the component reaches its variables, key-value store and database",
            probes::health,
        ),
        // GET /<cart>/__test/kv/<key>
        route(
            "GET",
            "/__test/kv/{key}",
            Probe,
            "Read a probe key-value entry",
            probes::read_key_value,
        ),
        // PUT /<cart>/__test/kv/<key>
        route(
            "PUT",
            "/__test/kv/{key}",
            Probe,
            "Write a probe key-value entry",
            probes::write_key_value,
        ),
        // GET /<cart>/__test/sqlite/<key>
        route(
            "GET",
            "/__test/sqlite/{key}",
            Probe,
            "Read a probe SQLite row",
            probes::read_row,
        ),
        // PUT /<cart>/__test/sqlite/<key>
        route(
            "PUT",
            "/__test/sqlite/{key}",
            Probe,
            "Write a probe SQLite row",
            probes::write_row,
        ),
        // GET /<cart>/__test/outbound?url=<absolute URL>
        route(
            "GET",
            "/__test/outbound",
            Probe,
            "One outbound GET, as the platform allows it",
            probes::outbound,
        ),
        // GET /<cart>/__test/panic: traps on purpose, to show the host survives a crashed request
        route(
            "GET",
            "/__test/panic",
            Probe,
            "Panic on purpose",
            probes::panic,
        ),
        // GET /<cart>/openapi.json (on Spin the console component answers it: see crate::openapi)
        #[cfg(feature = "openapi")]
        route(
            "GET",
            "/openapi.json",
            Public,
            "This API as an OpenAPI 3 document",
            openapi,
        ),
        // GET /<cart>/settings/schema
        route(
            "GET",
            "/settings/schema",
            Public,
            "This cart's store settings as a JSON Schema, with Japanese and English labels and defaults",
            settings_schema,
        ),
        // POST /<cart>/shops
        route(
            "POST",
            "/shops",
            Admin,
            "Create a shop; returns its API token and webhook secret once",
            create_shop,
        ),
        // GET /<cart>/shops
        route("GET", "/shops", Admin, "List the shops", list_shops),
        // POST /<cart>/dispatch
        route(
            "POST",
            "/dispatch",
            Admin,
            "Run the scheduled work of this cart's stores now",
            run_cart_tick,
        ),
        // POST /<cart>/secrets/reseal
        route(
            "POST",
            "/secrets/reseal",
            Admin,
            "Seal every stored secret again with the current encryption key (after a key rotation)",
            reseal_secrets,
        ),
        // GET /<cart>/notifications/destinations
        route(
            "GET",
            "/notifications/destinations",
            Shop,
            "The shop's notification destinations, with how their deliveries went",
            list_destinations,
        ),
        // POST /<cart>/notifications/destinations
        route(
            "POST",
            "/notifications/destinations",
            Shop,
            "Add a notification destination (signed webhook or chat); a webhook's signing secret is returned once",
            create_destination,
        ),
        // DELETE /<cart>/notifications/destinations/{destination_id}
        route(
            "DELETE",
            "/notifications/destinations/{destination_id}",
            Shop,
            "Remove a notification destination and its undelivered notifications",
            delete_destination,
        ),
        // POST /<cart>/notifications/destinations/{destination_id}/test
        route(
            "POST",
            "/notifications/destinations/{destination_id}/test",
            Shop,
            "Send a test notification now and say whether it arrived",
            test_destination,
        ),
        // POST /<cart>/stores
        route(
            "POST",
            "/stores",
            Shop,
            "Create a store on this cart (settings validated, every problem listed)",
            create_store,
        ),
        // GET /<cart>/stores
        route(
            "GET",
            "/stores",
            Shop,
            "List the shop's stores on this cart (secrets masked)",
            list_stores,
        ),
        // GET /<cart>/stores/{store_id}
        route(
            "GET",
            "/stores/{store_id}",
            Shop,
            "Read a store (secrets masked)",
            get_store,
        ),
        // PUT /<cart>/stores/{store_id}
        route(
            "PUT",
            "/stores/{store_id}",
            Shop,
            "Replace a store's name and settings (a masked secret keeps its value)",
            update_store,
        ),
        // DELETE /<cart>/stores/{store_id}
        route(
            "DELETE",
            "/stores/{store_id}",
            Shop,
            "Delete a store and everything kept for it",
            delete_store,
        ),
        // POST /<cart>/stores/{store_id}/connection-test
        route(
            "POST",
            "/stores/{store_id}/connection-test",
            Shop,
            "Call the cart with the stored credentials",
            connection_test,
        ),
        // POST /<cart>/stores/{store_id}/orders
        route(
            "POST",
            "/stores/{store_id}/orders",
            Signed,
            "OMS webhook: a batch of orders; written back at once when auto-export is on",
            receive_orders,
        ),
        // POST /<cart>/stores/{store_id}/write-back
        route(
            "POST",
            "/stores/{store_id}/write-back",
            Shop,
            "Update shipping info now (manual write-back) for the last period_days days",
            manual_write_back,
        ),
        // POST /<cart>/stores/{store_id}/write-back/preview
        route(
            "POST",
            "/stores/{store_id}/write-back/preview",
            Shop,
            "Dry run: what a manual write-back would send, and why the rest is left out",
            preview,
        ),
        // POST /<cart>/stores/{store_id}/import
        route(
            "POST",
            "/stores/{store_id}/import",
            Shop,
            "Import the cart's orders over a date range (default: days to fetch)",
            run_import,
        ),
        // GET /<cart>/stores/{store_id}/imported-orders
        route(
            "GET",
            "/stores/{store_id}/imported-orders",
            Shop,
            "Imported orders after a cursor, oldest first",
            imported_orders,
        ),
        // POST /<cart>/stores/{store_id}/cart-webhook
        route(
            "POST",
            "/stores/{store_id}/cart-webhook",
            Public,
            "Bカート only: an order.created / order.updated webhook, verified by its Secret, imported at once",
            cart_webhook,
        ),
        // GET /<cart>/stores/{store_id}/runs
        route(
            "GET",
            "/stores/{store_id}/runs",
            Shop,
            "The store's run log, newest first",
            list_runs,
        ),
        // GET /<cart>/stores/{store_id}/runs/{run_id}
        route(
            "GET",
            "/stores/{store_id}/runs/{run_id}",
            Shop,
            "One run with every order's outcome",
            get_run,
        ),
        // GET /<cart>/stores/{store_id}/oauth/start
        route(
            "GET",
            "/stores/{store_id}/oauth/start",
            Shop,
            "BASE: redirect to BASE's authorization page for this store",
            oauth_start,
        ),
        // GET /<cart>/oauth/callback
        route(
            "GET",
            "/oauth/callback",
            Public,
            "BASE: the redirect back from BASE; stores the store's tokens",
            oauth_callback,
        ),
    ]
}

/// One request on its way through a handler.
pub struct Ctx<'a, I> {
    pub cart: Cart,
    pub io: &'a I,
    pub request: &'a Request,
    params: Vec<(&'static str, String)>,
    /// Work a handler leaves for after its response (the webhook's write-back).
    follow_up: std::cell::RefCell<Option<FollowUp>>,
}

/// Work that goes on after the response: the OMS gets its answer as soon as the batch is stored,
/// and the write-back runs in the same invocation right after (wasi-http lets a handler set its
/// response and keep working; Spin runs it to the end within its 30 s).
#[derive(Debug, Clone)]
pub enum FollowUp {
    /// Write back the orders a webhook changed, in the run already opened in the log.
    WriteBack {
        store_id: String,
        run_id: i64,
        order_ids: Vec<String>,
    },
    /// Deliver the store's notifications (a manual run's failures) after its answer.
    Notify { store_id: String },
}

impl FollowUp {
    /// Runs the work; its outcome is in the run log (and returned for callers that wait).
    pub fn run(self, cart: Cart, io: &impl Io) -> Result<serde_json::Value, ApiError> {
        match self {
            FollowUp::Notify { store_id } => {
                let until = io.now() + Duration::seconds(crate::notify::FOLLOW_UP_SECS);
                Ok(json!(crate::notify::deliver_due(
                    io,
                    Some(&store_id),
                    until
                )?))
            }
            FollowUp::WriteBack {
                store_id,
                run_id,
                order_ids,
            } => {
                let store = shops::store(io, cart, &store_id)?;
                let ids: Vec<&str> = order_ids.iter().map(String::as_str).collect();
                let orders = orders::by_ids(io, &store.id, &ids)?;
                let deadline = io.now() + Duration::seconds(write_back::RUN_BUDGET_SECS);
                let report = with_cart!(store.cart, C => write_back::run_logged::<C>(io, &store, Trigger::Webhook, &orders, deadline, run_id))?;
                // The run's notices go out now, after its work; what fails waits for a tick.
                let until = io.now() + Duration::seconds(crate::notify::FOLLOW_UP_SECS);
                if let Err(e) = crate::notify::watch_store(io, &store)
                    .and_then(|_| crate::notify::deliver_due(io, Some(&store.id), until))
                {
                    eprintln!("mallsync webhook: store {store_id}: notifications: {e}");
                }
                Ok(json!(report))
            }
        }
    }
}

impl<I: Io> Ctx<'_, I> {
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub(crate) fn query(&self, name: &str) -> Option<String> {
        query_param(self.request.uri().query().unwrap_or(""), name)
    }

    /// The shop's store named in the path, after checking the shop's token.
    fn shop_store(&self) -> Result<Store, ApiError> {
        let shop_id = shops::authenticate_shop(self.io, self.request)?;
        shops::shop_store(self.io, &shop_id, self.cart, self.param("store_id"))
    }
}

/// Serves one request for `cart`, all of a cart component's routes, doing any follow-up work
/// before it returns: the webhook's answer then carries the write-back's report (native callers
/// and tests; the Spin shell answers first, see [`handle_then`]).
pub fn handle(cart: Cart, io: &impl Io, request: Request) -> Response {
    let (mut response, follow_up) = handle_then(cart, io, request);
    if let Some(follow_up @ FollowUp::Notify { .. }) = follow_up {
        if let Err(e) = follow_up.run(cart, io) {
            eprintln!("mallsync: notifications after the answer: {}", e.message());
        }
    } else if let Some(follow_up) = follow_up {
        let report = follow_up
            .run(cart, io)
            .unwrap_or_else(|e| json!({ "error": e.message() }));
        if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(response.body()) {
            body["write_back"] = report;
            *response.body_mut() = body.to_string().into_bytes();
        }
    }
    response
}

/// Serves one request for `component` (a `Cart` converts) and hands back the work that should go
/// on after the response is sent.
pub fn handle_then(
    component: impl Into<Component>,
    io: &impl Io,
    request: Request,
) -> (Response, Option<FollowUp>) {
    match component.into() {
        Component::Cart(cart) => handle_cart_then(cart, io, request),
        Component::Dispatcher => (handle_dispatcher(io, request), None),
    }
}

/// [`handle_then`] for a cart component (the Spin shell calls this one, so a cart component
/// links only the cart routes).
pub fn handle_cart_then(
    cart: Cart,
    io: &impl Io,
    request: Request,
) -> (Response, Option<FollowUp>) {
    let cell = std::cell::RefCell::new(None);
    let response = serve(Component::Cart(cart), io, &request, cart_table(), &cell)
        .unwrap_or_else(ApiError::into_response);
    (response, cell.into_inner())
}

/// [`handle_then`] for the dispatcher component: `/internal/dispatch` leaves no work for after.
pub fn handle_dispatcher(io: &impl Io, request: Request) -> Response {
    let cell = std::cell::RefCell::new(None);
    serve(
        Component::Dispatcher,
        io,
        &request,
        dispatcher_table(),
        &cell,
    )
    .unwrap_or_else(ApiError::into_response)
}

fn serve<I: Io>(
    component: Component,
    io: &I,
    request: &Request,
    routes: Vec<Route<I>>,
    follow_up: &std::cell::RefCell<Option<FollowUp>>,
) -> Result<Response, ApiError> {
    let path = request.uri().path();
    let prefix = component.prefix();
    let below = path
        .strip_prefix(&prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(path);
    let segments: Vec<&str> = below.split('/').filter(|s| !s.is_empty()).collect();
    let probes_on = io.variable("test_routes_enabled").as_deref() == Some("true");
    let table: Vec<Route<I>> = routes
        .into_iter()
        .filter(|r| r.serves(component) && (probes_on || r.access != Access::Probe))
        .collect();
    let found = table.iter().find_map(|r| {
        (r.method == request.method().as_str())
            .then(|| match_path(r.path, &segments))
            .flatten()
            .map(|params| (r, params))
    });
    let Some((route, params)) = found else {
        let allowed: Vec<&'static str> = table
            .iter()
            .filter(|r| match_path(r.path, &segments).is_some())
            .map(|r| r.method)
            .collect();
        if !allowed.is_empty() {
            return Err(ApiError::MethodNotAllowed(allowed));
        }
        return Err(ApiError::NotFound("no such route".into()));
    };
    // The Spin shell stops reading at this limit; this holds for any other caller too.
    if request.body().len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    if route.uses_tables() {
        schema::ensure(io)?;
    }
    if route.access == Access::Admin {
        auth::require_admin(io, request)?;
    }
    let (handler, cart) = match (&route.handler, component) {
        (Handler::Dispatcher(handler), _) => return handler(io, request),
        (Handler::Cart(handler), Component::Cart(cart)) => (handler, cart),
        // `serves` kept cart routes away from the dispatcher.
        (Handler::Cart(_), Component::Dispatcher) => {
            return Err(ApiError::NotFound("no such route".into()))
        }
    };
    let ctx = Ctx {
        cart,
        io,
        request,
        params,
        follow_up: std::cell::RefCell::new(None),
    };
    let response = handler(&ctx)?;
    *follow_up.borrow_mut() = ctx.follow_up.into_inner();
    Ok(response)
}

fn match_path(pattern: &'static str, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => params.push((name, percent_decode(segment))),
            None if part == segment => {}
            None => return None,
        }
    }
    Some(params)
}

fn ok(body: impl serde::Serialize) -> Result<Response, ApiError> {
    Ok(json(200, &json!(body)))
}

/// The body as `T`; an empty body reads as `{}`. A bad field is named by its path.
fn body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = if request.body().iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        request.body()
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    T::deserialize(&mut de).map_err(|e| {
        // The path from serde_json's position: no second, path-tracking copy of every body type.
        let path = mallsync_carts::json_path::of_error(bytes, &e);
        let field = if path == "." { "$".to_string() } else { path };
        ApiError::invalid(field, e.to_string())
    })
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(feature = "openapi")]
fn openapi<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let document = crate::openapi::document(ctx.cart)?;
    Ok(json(200, &document))
}

fn settings_schema<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    Ok(json(200, &crate::openapi::settings_schema(ctx.cart)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopInput {
    name: String,
}

fn create_shop<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let input: ShopInput = body(ctx.request)?;
    let shop = shops::create_shop(ctx.io, &input.name)?;
    Ok(json(201, &json!(shop)))
}

fn list_shops<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ok(json!({ "shops": shops::list_shops(ctx.io)? }))
}

fn run_cart_tick<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ok(schedule::tick_cart(ctx.io, ctx.cart)?)
}

fn run_recorded_tick<I: Io>(io: &I, _request: &Request) -> Result<Response, ApiError> {
    let at = io.now().timestamp();
    ok(schedule::record_tick(io, schedule::TickSource::Http, at)?)
}

fn recorded_ticks<I: Io>(io: &I, _request: &Request) -> Result<Response, ApiError> {
    ok(schedule::recorded_ticks(io)?)
}

/// After a key rotation: every secret sealed with the current key, so the previous key can go.
fn reseal_secrets<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ok(crate::reseal::reseal_all(ctx.io)?)
}

/// Parses a store's name and settings for `cart`, listing every problem at once (a field of the
/// wrong type included), each in Japanese and English.
fn parse_store_input(cart: Cart, request: &Request) -> Result<(String, StoreSettings), ApiError> {
    use mallsync_rules::FieldError;
    let mut input: serde_json::Map<String, serde_json::Value> = body(request)?;
    let mut problems = Vec::new();
    let name = match input.remove("name") {
        Some(serde_json::Value::String(name)) => name.trim().to_string(),
        None | Some(serde_json::Value::Null) => String::new(),
        Some(_) => {
            problems.push(FieldError::ja_en(
                "name",
                "文字列で入力してください",
                "must be text",
            ));
            "-".to_string()
        }
    };
    if let Err(ApiError::Invalid(name_problems)) = shops::check_name("name", &name) {
        problems.extend(name_problems);
    }
    let settings = input.remove("settings");
    for unknown in input.keys() {
        problems.push(FieldError::ja_en(
            unknown.clone(),
            "この項目はありません（name と settings だけを送ってください）",
            "is not a field of a store: send name and settings",
        ));
    }
    let mut settings = match settings {
        Some(serde_json::Value::Object(map)) => map,
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(_) => {
            problems.push(FieldError::ja_en(
                "settings",
                "設定はオブジェクトで指定してください",
                "must be an object",
            ));
            return Err(ApiError::Invalid(problems));
        }
    };
    match settings.get("cart").and_then(|c| c.as_str()) {
        None => {
            settings.insert("cart".into(), json!(cart.slug()));
        }
        Some(given) if given != cart.slug() => {
            problems.push(mallsync_rules::FieldError::ja_en(
                "settings.cart",
                format!(
                    "{given:?} の設定は /{given}/stores で作成してください（ここは {} です）",
                    cart.slug()
                ),
                format!(
                    "is {given:?}, but this is the {} route: use /{given}/stores",
                    cart.slug()
                ),
            ));
            return Err(ApiError::Invalid(problems));
        }
        Some(_) => {}
    }
    let bytes = serde_json::to_vec(&settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    match StoreSettings::from_json(&bytes) {
        Ok(settings) if problems.is_empty() => Ok((name, settings)),
        Ok(_) => Err(ApiError::Invalid(problems)),
        Err(e) => {
            problems.extend(e.within("settings").problems);
            Err(ApiError::Invalid(problems))
        }
    }
}

fn create_store<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let (name, settings) = parse_store_input(ctx.cart, ctx.request)?;
    let store = shops::create_store(ctx.io, &shop_id, &name, settings)?;
    Ok(json(201, &json!(store.view())))
}

fn list_stores<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let stores = shops::shop_stores(ctx.io, &shop_id, ctx.cart)?
        .iter()
        .map(|store| {
            let mut view = crate::summary::view(ctx.io, store)?;
            crate::notify::add_store_state(ctx.io, store, &mut view)?;
            Ok(view)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    ok(json!({ "stores": stores }))
}

/// The store with its standing alerts (e.g. "needs reconnection") and how many orders wait.
fn get_store<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let mut view = crate::summary::view(ctx.io, &store)?;
    view["alerts"] = json!(crate::alerts::list(ctx.io, &store.id)?);
    view["pending_orders"] = json!(crate::pending::count(ctx.io, &store.id)?);
    crate::notify::add_store_state(ctx.io, &store, &mut view)?;
    ok(view)
}

fn update_store<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let mut store = ctx.shop_store()?;
    let (name, settings) = parse_store_input(ctx.cart, ctx.request)?;
    store.name = name;
    store.settings = settings
        .keeping_masked_secrets_from(&store.settings)
        .map_err(|e| ApiError::from(e.within("settings")))?;
    store.updated_at = ctx.io.now();
    shops::update_store(ctx.io, &store)?;
    ok(store.view())
}

fn delete_store<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    shops::delete_store(ctx.io, &store)?;
    ok(json!({ "deleted": store.id }))
}

fn connection_test<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let io = ctx.io;
    with_cart!(store.cart, C => {
        let settings = crate::carts::settings_for::<C>(&store)?;
        // The test is a request like any other: it counts against the account's budget.
        let deadline = io.now() + Duration::seconds(write_back::RUN_BUDGET_SECS);
        let mut pacer = crate::carts::pacer::<C>(settings, &crate::carts::api_without_token::<C>(io, settings)?)?;
        let api = crate::carts::api::<C>(io, &store.id, settings, &mut pacer, deadline)?;
        mallsync_carts::drive(<C as mallsync_carts::Connector>::connection_test(&api), |r| pacer.send(io, deadline, r))?;
    });
    ok(json!({ "ok": true, "cart": store.cart }))
}

/// The OMS webhook. The signature (format, time, then HMAC) is checked before anything else is
/// read, and an unknown store gets the same 401 as a wrong signature, so the route tells nothing
/// to a caller without the shop's secret. A delivery is accepted once.
fn receive_orders<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let header = auth::signature_header(ctx.request)?;
    let now = ctx.io.now().timestamp();
    header.check_time(now)?;
    let store = match shops::store(ctx.io, ctx.cart, ctx.param("store_id")) {
        Ok(store) => Some(store),
        Err(ApiError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let secret = match &store {
        Some(store) => shops::webhook_secret(ctx.io, &store.shop_id)?,
        // Still computes an HMAC, so the answer takes as long as for a real store.
        None => crate::io::random_hex(ctx.io, 32)?,
    };
    let matched = header.matches(&secret, ctx.request.body());
    let (Some(store), true) = (store, matched) else {
        return Err(auth::signature_mismatch());
    };
    orders::record_delivery(ctx.io, &store.id, &header)?;
    let batch = orders::parse_batch(ctx.request.body())?;
    let received = batch.len();
    let upserted = orders::upsert_received(ctx.io, &store.id, batch)?;
    let changed = &upserted.changed;
    // Every new version has shipping work until a run settles it (the schedule's safety net).
    let changed_ids: Vec<&str> = changed.iter().map(|o| o.order_id.as_str()).collect();
    crate::pending::mark_due(ctx.io, &store.id, &changed_ids)?;
    // The OMS is answered now; the write-back follows in the same invocation, in a run the
    // log already shows as started.
    let write_back = if store.settings.export().auto_export && !changed.is_empty() {
        let run_id = runlog::start(ctx.io, &store.id, "write_back", "webhook")?;
        *ctx.follow_up.borrow_mut() = Some(FollowUp::WriteBack {
            store_id: store.id.clone(),
            run_id,
            order_ids: changed.iter().map(|o| o.order_id.clone()).collect(),
        });
        Some(json!({ "run_id": run_id, "status": "started" }))
    } else {
        None
    };
    let body = json!({
        "received": received,
        "changed": changed.len(),
        "stale": upserted.stale,
        "conflicts": upserted.conflicts,
        "write_back": write_back,
    });
    // Equal times with different data: the caller must know those orders were not taken.
    let status = if upserted.conflicts.is_empty() {
        200
    } else {
        409
    };
    Ok(json(status, &body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBackInput {
    period_days: Option<i64>,
}

/// A manual run's trigger: the period given, else the store's, else the default look-back.
fn manual_trigger(store: &Store, request: &Request) -> Result<Trigger, ApiError> {
    let input: WriteBackInput = body(request)?;
    let days = input.period_days.unwrap_or_else(|| {
        i64::from(
            store
                .settings
                .period_days()
                .unwrap_or(write_back::DEFAULT_LOOKBACK_DAYS),
        )
    });
    Ok(Trigger::manual(days)?)
}

fn manual_write_back<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let trigger = manual_trigger(&store, ctx.request)?;
    let io = ctx.io;
    let orders = write_back::orders_for(io, &store, trigger)?;
    let deadline = io.now() + Duration::seconds(write_back::RUN_BUDGET_SECS);
    let report =
        with_cart!(store.cart, C => write_back::run::<C>(io, &store, trigger, &orders, deadline))?;
    if report.failed > 0 || report.deferred > 0 {
        *ctx.follow_up.borrow_mut() = Some(FollowUp::Notify { store_id: store.id });
    }
    ok(report)
}

fn preview<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let trigger = manual_trigger(&store, ctx.request)?;
    let io = ctx.io;
    ok(with_cart!(store.cart, C => write_back::preview::<C>(io, &store, trigger))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportInput {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

fn run_import<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let input: ImportInput = body(ctx.request)?;
    let now = ctx.io.now();
    let window = match (input.from, input.to) {
        (None, None) => ImportWindow::from_days(store.settings.import().days_to_fetch, now)?,
        (Some(from), to) => {
            ImportWindow::between(from, to.unwrap_or(mallsync_rules::time::today(now)), now)?
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_ja_en(
                "from",
                "終了日を指定するときは開始日も指定してください",
                "is required when to is given",
            ))
        }
    };
    let io = ctx.io;
    ok(
        with_cart!(store.cart, C => import::run::<C>(io, &store, window, import::ImportTrigger::Manual))?,
    )
}

fn cart_webhook<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = shops::store(ctx.io, ctx.cart, ctx.param("store_id"))?;
    if !with_cart!(store.cart, C => <C as mallsync_carts::Connector>::CAPABILITIES.order_webhooks) {
        return Err(ApiError::NotFound(format!(
            "{} sends no order webhooks; only Bカート does",
            store.cart.display_name()
        )));
    }
    // Bカート's is the one cart webhook (its client declares `order_webhooks`). In a component
    // without Bカート the check above is a constant no, so the receiver is not linked in.
    let delivery = crate::bcart_webhook::receive(ctx.io, &store, ctx.request)?;
    ok(serde_json::to_value(delivery)
        .map_err(|e| ApiError::Internal(format!("a delivery does not serialize: {e}")))?)
}

/// Most imported orders one read returns.
const MAX_PAGE: u32 = 1_000;

fn imported_orders<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let after = match ctx.query("after") {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "after",
                format!("{v:?} is not a cursor: pass the last seq you read"),
            )
        })?,
    };
    let limit = match ctx.query("limit") {
        None => 100,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                ApiError::invalid("limit", format!("must be 1 to {MAX_PAGE}, not {v:?}"))
            })?,
    };
    let page = orders::imported_after(ctx.io, &store.id, after, limit)?;
    let next = page.last().map_or(after, |o| o.seq);
    ok(json!({ "orders": page, "next_after": next }))
}

fn list_runs<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    ok(json!({ "runs": runlog::list(ctx.io, &store.id, 100)? }))
}

fn get_run<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let store = ctx.shop_store()?;
    let raw = ctx.param("run_id");
    let run_id = raw
        .parse::<i64>()
        .map_err(|_| ApiError::invalid("run_id", format!("{raw:?} is not a run id")))?;
    match runlog::read(ctx.io, &store.id, run_id)? {
        Some(run) => ok(run),
        None => Err(ApiError::NotFound(format!(
            "no run {run_id} for store {}",
            store.id
        ))),
    }
}

fn list_destinations<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let views = crate::notify::list(ctx.io, &shop_id)?
        .iter()
        .map(|d| crate::notify::view(ctx.io, d))
        .collect::<Result<Vec<_>, _>>()?;
    ok(json!({ "destinations": views }))
}

fn create_destination<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let input: crate::notify::DestinationInput = body(ctx.request)?;
    let created = crate::notify::create(ctx.io, &shop_id, &input)?;
    Ok(json(201, &json!(created)))
}

fn delete_destination<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let id = ctx.param("destination_id");
    crate::notify::delete(ctx.io, &shop_id, id)?;
    ok(json!({ "deleted": id }))
}

fn test_destination<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let shop_id = shops::authenticate_shop(ctx.io, ctx.request)?;
    let destination = crate::notify::get(ctx.io, &shop_id, ctx.param("destination_id"))?;
    ok(crate::notify::send_test(ctx.io, &destination, ctx.cart)?)
}

/// The OAuth routes answer only for a cart that declares browser OAuth (BASE).
fn oauth_only(cart: Cart) -> Result<(), ApiError> {
    if with_cart!(cart, C => <C as mallsync_carts::Connector>::CAPABILITIES.browser_oauth) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "{} connects with its stored credentials; OAuth is for BASE only",
            cart.display_name()
        )))
    }
}

fn oauth_start<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    oauth_only(ctx.cart)?;
    // The OAuth flow is BASE's code: linked only into a build with BASE (cargo feature).
    #[cfg(not(feature = "base"))]
    return Err(crate::carts::not_built_in(ctx.cart));
    #[cfg(feature = "base")]
    {
        let store = ctx.shop_store()?;
        let return_to = ctx.query("return_to");
        let url = oauth::start(ctx.io, &store, return_to.as_deref())?;
        // The console fetches this with the shop's token and opens the URL itself: a fetch cannot
        // follow a redirect to BASE.
        if let Some(return_to) = return_to {
            return ok(json!({ "authorize_url": url, "return_to": return_to }));
        }
        let mut response = json(302, &json!({ "authorize_url": url }));
        if let Ok(location) = http::HeaderValue::from_str(&url) {
            response
                .headers_mut()
                .insert(http::header::LOCATION, location);
        }
        Ok(response)
    }
}

fn oauth_callback<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    oauth_only(ctx.cart)?;
    #[cfg(not(feature = "base"))]
    return Err(crate::carts::not_built_in(ctx.cart));
    #[cfg(feature = "base")]
    {
        let state = ctx.query("state").unwrap_or_default();
        if let Some(return_to) = oauth::return_to_of(&state) {
            return oauth_back_to_console(ctx, &state, &return_to);
        }
        if let Some(error) = ctx.query("error") {
            return Err(ApiError::invalid(
                "error",
                format!("BASE did not authorize: {error}"),
            ));
        }
        let code = ctx
            .query("code")
            .ok_or_else(|| ApiError::invalid("code", "is missing"))?;
        let state = ctx
            .query("state")
            .ok_or_else(|| ApiError::invalid("state", "is missing"))?;
        let store_id = oauth::callback(ctx.io, &code, &state)?;
        ok(json!({ "connected": store_id }))
    }
}

/// The callback of a flow the console started: the browser goes back to the console with the
/// outcome in the query (`oauth=connected&store=…` or `oauth=error&reason=…&store=…`). Only an
/// unknown or used state is answered here (it names no store and no console page).
#[cfg(feature = "base")]
fn oauth_back_to_console<I: Io>(
    ctx: &Ctx<'_, I>,
    state: &str,
    return_to: &str,
) -> Result<Response, ApiError> {
    let taken = oauth::take_state(ctx.io, state)?;
    let outcome = if taken.expired {
        Err("expired")
    } else if ctx.query("error").is_some() {
        Err("denied")
    } else if let Some(code) = ctx.query("code") {
        oauth::exchange(ctx.io, &taken.store_id, &code).map_err(|e| {
            eprintln!("mallsync BASE OAuth code exchange failed: {}", e.message());
            "exchange_failed"
        })
    } else {
        Err("missing_code")
    };
    let query = match outcome {
        Ok(()) => format!("oauth=connected&store={}", taken.store_id),
        Err(reason) => format!("oauth=error&reason={reason}&store={}", taken.store_id),
    };
    let separator = if return_to.contains('?') { '&' } else { '?' };
    let location = format!("{return_to}{separator}{query}");
    let mut response = json(303, &json!({ "location": location }));
    let value = http::HeaderValue::from_str(&location)
        .map_err(|e| ApiError::Internal(format!("return_to does not make a header: {e}")))?;
    response.headers_mut().insert(http::header::LOCATION, value);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query_param("a=1&state=ab%2Fc+d", "state").as_deref(),
            Some("ab/c d")
        );
        assert_eq!(query_param("a=1", "b"), None);
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn a_path_pattern_captures_its_parameters_and_nothing_else_matches() {
        let segments = ["stores", "st_1", "runs", "7"];
        let params = match_path("/stores/{store_id}/runs/{run_id}", &segments).unwrap();
        assert_eq!(
            params,
            vec![
                ("store_id", "st_1".to_string()),
                ("run_id", "7".to_string())
            ]
        );
        assert!(match_path("/stores/{store_id}/runs", &segments).is_none());
        assert!(match_path("/stores/{store_id}/orders/{run_id}", &segments).is_none());
    }
}
