//! sd_notify (`hub::sd_notify`): `READY=1` once every worker listens,
//! `STOPPING=1` when SIGTERM arrives; a failure is logged, not fatal.

/// Sends `state` to systemd if it started us, logging a failure.
pub fn notify_or_log(state: &str) {
    if let Err(e) = hub::sd_notify(state) {
        crate::log::error(&format!("sd_notify {state:?} failed: {e}"));
    }
}
