//! The dispatcher component: one component with two entry points, the cron trigger's
//! `handle-cron-event` (local `spin up` with plugin trigger-cron 0.4) and the HTTP route
//! `/internal/dispatch` (Fermyon Cloud, where an external scheduler calls it).

use mallsync_component::{dispatch, read_limited, serve_dispatcher, Trigger, MAX_BODY_BYTES};
use spin_sdk::http::{IncomingRequest, Response};

mod cron {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "spin-cron",
        path: "wit/cron.wit",
    });
}
use cron::fermyon::spin_cron::cron_types::{Error, Metadata};

struct Dispatcher;

impl cron::Guest for Dispatcher {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        dispatch(Trigger::Cron, metadata.timestamp)
            .map(drop)
            .map_err(|e| Error::Other(format!("dispatch failed: {e:?}")))
    }
}
cron::export!(Dispatcher with_types_in cron);

#[spin_sdk::http_component]
fn handle(request: IncomingRequest) -> Response {
    // The body is read up to the limit only (413 past it), as in the cart components.
    match read_limited(request, MAX_BODY_BYTES) {
        Ok(request) => serve_dispatcher(request),
        Err(response) => response,
    }
}
