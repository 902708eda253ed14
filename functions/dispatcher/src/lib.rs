//! The dispatcher component: the HTTP route `/internal/dispatch`, called by an external scheduler
//! (Fermyon Cloud, a Kubernetes CronJob) or by hand. The cron trigger lives in the `scheduler`
//! component, which runs the same work.

use mallsync_component::serve_dispatcher;
use spin_sdk::http::{Request, Response};

#[spin_sdk::http_component]
fn handle(request: Request) -> Response {
    serve_dispatcher(request)
}
