//! sd_notify over the hub's unix datagram socket: `READY=1` once every
//! worker listens, `STOPPING=1` when SIGTERM arrives. A no-op without
//! `$NOTIFY_SOCKET` (`@name` is an abstract socket, as systemd passes it).

use std::io;

/// Sends `state` to `$NOTIFY_SOCKET`; `Ok(false)` if it is not set. Call
/// it on a hub.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(false) };
    let path = path.to_string_lossy().into_owned();
    if path.is_empty() {
        return Ok(false);
    }
    let sock = hub::UnixDatagram::unbound()?;
    sock.send_to(state.as_bytes(), &path)?;
    Ok(true)
}

/// `notify`, logging a failure instead of returning it.
pub fn notify_or_log(state: &str) {
    if let Err(e) = notify(state) {
        crate::log::error(&format!("sd_notify {state:?} failed: {e}"));
    }
}
