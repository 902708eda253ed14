//! The scheduler component: the cron trigger's `handle-cron-event` (local `spin up` with plugin
//! trigger-cron 0.4.2, and `mallsync-host`), nothing else. It runs the same tick as the
//! dispatcher's `POST /internal/dispatch`. It is a component of its own so that a runtime without
//! the cron trigger (Fermyon Cloud, SpinKube's shim) can leave out exactly this component and keep
//! every HTTP route.

use mallsync_component::scheduled_tick;

mod cron {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "spin-cron",
        path: "wit/cron.wit",
    });
}
use cron::fermyon::spin_cron::cron_types::{Error, Metadata};

struct Scheduler;

impl cron::Guest for Scheduler {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        scheduled_tick(metadata.timestamp).map_err(Error::Other)
    }
}
cron::export!(Scheduler with_types_in cron);
