//! sd_notify over the hub's unix datagram socket (the object server's
//! `notify.rs` does the same; they belong in a shared crate once one
//! exists): `READY=1` once every worker listens, `STOPPING=1` on SIGTERM.

use std::io;

/// Sends `state` to `$NOTIFY_SOCKET`; `Ok(false)` if it is not set.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(false) };
    let path = path.to_string_lossy().into_owned();
    if path.is_empty() {
        return Ok(false);
    }
    hub::UnixDatagram::unbound()?.send_to(state.as_bytes(), &path)?;
    Ok(true)
}

pub fn notify_or_log(state: &str) {
    if let Err(e) = notify(state) {
        crate::log::error(&format!("sd_notify {state:?} failed: {e}"));
    }
}
