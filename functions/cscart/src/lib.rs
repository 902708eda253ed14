//! The cscart cart component: every request goes to the Spin shell, which serves it from the
//! service's route table.

use mallsync_component::{serve_cart, Cart};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    serve_cart(Cart::Cscart, request, response_out).await
}
