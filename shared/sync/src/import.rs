//! Import (取込): fetch the cart's orders in a window and keep each one once, in the store's
//! target status, for the OMS to read through its cursor.

use chrono::Duration;
use mallsync_carts::drive;
use mallsync_rules::{imported_order, CartSettings, ImportWindow};
use serde::Serialize;

use crate::api_error::ApiError;
use crate::carts::{self, CartBinding};
use crate::io::Io;
use crate::orders;
use crate::runlog;
use crate::shops::Store;
use crate::write_back::RUN_BUDGET_SECS;

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub run_id: i64,
    pub window: ImportWindow,
    /// Orders the cart returned.
    pub fetched: usize,
    /// Of those, orders the store did not have yet (now readable through the cursor).
    pub imported: usize,
}

/// Imports the window; the run log records it, including a failure.
pub fn run<C: CartBinding>(
    io: &impl Io,
    store: &Store,
    window: ImportWindow,
    trigger: &str,
) -> Result<ImportReport, ApiError> {
    let settings = carts::settings_for::<C>(store)?;
    let run_id = runlog::start(io, &store.id, "import", trigger)?;
    let deadline = io.now() + Duration::seconds(RUN_BUDGET_SECS);
    let fetched = carts::api_without_token::<C>(io, settings)
        .and_then(|unconnected| carts::pacer::<C>(settings, &unconnected))
        .and_then(|mut pacer| {
            let api = carts::api::<C>(io, &store.id, settings, &mut pacer, deadline)?;
        let query = carts::import_query::<C>(settings, window);
            let orders = drive(C::list_orders(&api, &query), |request| {
                pacer.send(io, deadline, request)
            });
            if let Err(error) = &orders {
                pacer.note_refusal(io, error)?;
            }
            orders.map_err(ApiError::from)
        });
    let fetched = match fetched {
        Ok(orders) => orders,
        Err(e) => {
            runlog::finish(io, run_id, runlog::Counts::default(), Some(&e.message()))?;
            return Err(e);
        }
    };
    let mut imported = 0;
    for order in &fetched {
        let order = imported_order(order.clone(), settings.import());
        if orders::keep_imported(io, &store.id, &order)? {
            imported += 1;
        }
    }
    let counts = runlog::Counts {
        imported,
        ..runlog::Counts::default()
    };
    runlog::finish(io, run_id, counts, None)?;
    Ok(ImportReport {
        run_id,
        window,
        fetched: fetched.len(),
        imported,
    })
}
