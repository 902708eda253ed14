//! The dispatcher component: the HTTP route `/internal/dispatch`, called by an external scheduler
//! (Fermyon Cloud, a Kubernetes CronJob) or by hand, behind the admin token. The cron trigger
//! lives in the `scheduler` component, which runs the same tick.

use mallsync_component::serve_dispatcher;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    serve_dispatcher(request, response_out).await
}
