//! The dispatcher component: the HTTP route `/internal/dispatch`, called by an external scheduler
//! (Fermyon Cloud, a Kubernetes CronJob) or by hand. The cron trigger lives in the `scheduler`
//! component, which runs the same work.

use mallsync_component::{read_limited, serve_dispatcher, MAX_BODY_BYTES};
use spin_sdk::http::{IncomingRequest, Response};

#[spin_sdk::http_component]
fn handle(request: IncomingRequest) -> Response {
    // The body is read up to the limit only (413 past it), as in the cart components.
    match read_limited(request, MAX_BODY_BYTES) {
        Ok(request) => serve_dispatcher(request),
        Err(response) => response,
    }
}
