//! The bcart cart component: every request goes to the shared cart shell.

use mallsync_component::{serve_cart, Cart};
use spin_sdk::http::{IncomingRequest, Response};

#[spin_sdk::http_component]
fn handle(request: IncomingRequest) -> Response {
    serve_cart(Cart::Bcart, request)
}
