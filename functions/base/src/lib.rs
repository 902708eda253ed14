//! The base cart component: every request goes to the shared cart shell.

use mallsync_component::{serve_cart, Cart};
use spin_sdk::http::{Request, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(request: Request, response_out: ResponseOutparam) {
    serve_cart(Cart::Base, request, response_out).await
}
