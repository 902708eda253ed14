//! The cron trigger as plugin trigger-cron 0.4 runs it: a 6-field expression (seconds first) in
//! UTC, a fresh instance per tick calling `handle-cron-event`, no catch-up for missed ticks.

use crate::app::{App, LoadedComponent};
use crate::runtime::Ctx;
use anyhow::{anyhow, Context, Result};
use chrono::Utc;
use std::sync::Arc;
use wasmtime::Store;

wasmtime::component::bindgen!({
    // The same file the scheduler component binds, so guest and host cannot drift apart.
    path: "../../functions/scheduler/wit/cron.wit",
    world: "spin-cron",
    exports: { default: async },
});

/// Parses a schedule the way the plugin does (croner with seconds required and day-of-month AND
/// day-of-week), so an expression that would fail under `spin up` fails here too.
pub fn parse_schedule(expression: &str) -> Result<croner::Cron> {
    croner::Cron::new(expression)
        .with_seconds_required()
        .with_dom_and_dow()
        .parse()
        .map_err(|e| anyhow!("cron_expression {expression:?} is not a 6-field cron expression (sec min hour dom month dow): {e}"))
}

/// Runs `component` on `schedule` until the task is dropped.
pub async fn run_schedule(app: Arc<App>, component: usize, schedule: croner::Cron) {
    loop {
        let now = Utc::now();
        let next = match schedule.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(e) => {
                eprintln!(
                    "cron schedule of {} has no next time: {e}",
                    app.components[component].config.id
                );
                return;
            }
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let timestamp = u64::try_from(next.timestamp()).unwrap_or(0);
        // Each tick runs apart, so a slow tick does not shift the schedule (the plugin does not
        // prevent overlap either).
        let tick_app = app.clone();
        app.tasks.spawn(async move {
            let app = tick_app;
            let loaded = &app.components[component];
            if let Err(e) = tick(&app, loaded, timestamp).await {
                eprintln!("cron tick of {} failed: {e:?}", loaded.config.id);
            }
        });
    }
}

async fn tick(app: &App, component: &LoadedComponent, timestamp: u64) -> Result<()> {
    let pre = component.cron.as_ref().ok_or_else(|| {
        anyhow!(
            "component {} does not export handle-cron-event",
            component.config.id
        )
    })?;
    let mut store = Store::new(
        crate::runtime::engine(),
        Ctx::new(component.config.clone(), app.backends.clone()),
    );
    let instance = pre.instantiate_async(&mut store).await?;
    instance
        .call_handle_cron_event(&mut store, Metadata { timestamp })
        .await
        .map_err(anyhow::Error::from)
        .context("handle-cron-event trapped")?
        .map_err(|e| anyhow!("handle-cron-event returned an error: {e:?}"))
}
