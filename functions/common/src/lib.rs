//! The Spin shell of every mallsync component, and the only code that knows Spin: it implements
//! the service's `Io` on Spin ([`SpinIo`]), reads a request's body up to the service's limit,
//! hands the request to the service's one route table (`mallsync_sync::routes`), sends the answer
//! and then runs the work the route left for after it (the webhook's write-back).
//!
//! A component is one call: `serve_cart(Cart::Bcart, request, response_out)` for a cart,
//! `serve_dispatcher(…)` for `/internal/dispatch`, [`scheduled_tick`] for the cron event. (Two
//! functions rather than one taking the component: each links only its own routes.)

mod body;
mod spin_io;

pub use mallsync_rules::Cart;
pub use spin_io::SpinIo;

use mallsync_sync::routes::{FollowUp, Response};
use mallsync_sync::schedule::{record_tick, TickSource};
use spin_sdk::http::{IncomingRequest, OutgoingResponse, ResponseOutparam};

/// Serves one request for `cart` as it streams in: the body is read up to the service's limit
/// (413 past it, the rest unread), the route answers, the answer is sent and finished, and only
/// then does the work it left (a webhook's write-back) run, in the same invocation.
pub async fn serve_cart(cart: Cart, request: IncomingRequest, response_out: ResponseOutparam) {
    let io = SpinIo::default();
    let (response, follow_up) = match body::read_limited(request) {
        Ok(request) => mallsync_sync::routes::handle_cart_then(cart, &io, request),
        Err(e) => (e.into_response(), None),
    };
    send(response_out, response).await;
    if let Some(work) = follow_up {
        follow(cart, work, &io);
    }
}

/// Serves one request to `/internal/dispatch` (the body read up to the same limit).
pub async fn serve_dispatcher(request: IncomingRequest, response_out: ResponseOutparam) {
    let io = SpinIo::default();
    let response = match body::read_limited(request) {
        Ok(request) => mallsync_sync::routes::handle_dispatcher(&io, request),
        Err(e) => e.into_response(),
    };
    send(response_out, response).await;
}

/// Runs the work a cart route left for after its answer.
fn follow(cart: Cart, work: FollowUp, io: &SpinIo) {
    if let Err(e) = work.run(cart, io) {
        // The outcome is in the run log too; this line is for the component log.
        eprintln!(
            "mallsync {}: follow-up work failed: {}",
            cart.slug(),
            e.message()
        );
    }
}

/// The cron event's work (the `scheduler` component): one tick over every cart, recorded as
/// started by cron at the event's time.
pub fn scheduled_tick(timestamp: u64) -> Result<(), String> {
    let at = i64::try_from(timestamp).map_err(|_| format!("timestamp {timestamp} out of range"))?;
    record_tick(&SpinIo::default(), TickSource::Cron, at)
        .map(drop)
        .map_err(|e| format!("the scheduled tick failed: {e}"))
}

/// Sends `response` and finishes its body, so the caller has its whole answer before any
/// follow-up work starts.
async fn send(response_out: ResponseOutparam, response: Response) {
    let (parts, body) = response.into_parts();
    let mut builder = spin_sdk::http::Response::builder();
    builder.status(parts.status.as_u16());
    for (name, value) in &parts.headers {
        builder.header(name.as_str(), value.to_str().unwrap_or_default());
    }
    let response = builder.build();
    match OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(e) = response_out.set_with_body(outgoing, body).await {
                eprintln!("could not send the response: {e}");
            }
        }
        Err(e) => eprintln!("could not convert the response: {e}"),
    }
}
