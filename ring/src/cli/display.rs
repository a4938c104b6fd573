//! The device table and figures `swift-ring-builder` prints.

use crate::builder::RingBuilder;
use crate::device::{bracket_ipv6, Device};

/// Python's `str(timedelta(seconds=n))`: `H:MM:SS`, or `D day(s), H:MM:SS`.
pub fn timedelta(secs: u64) -> String {
    let (days, rest) = (secs / 86400, secs % 86400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// The `Devices:` table for `devs` (sorted by region, zone, ip, device).
pub fn device_table(b: &RingBuilder, devs: &[&Device]) -> String {
    let mut ip_w = 10;
    let mut port_w = 4;
    let mut rip_w = 14;
    let mut rport_w = 4;
    let mut weight_w = 6;
    for d in devs {
        ip_w = ip_w.max(bracket_ipv6(&d.ip).len());
        rip_w = rip_w.max(bracket_ipv6(&d.replication_ip).len());
        port_w = port_w.max(d.port.to_string().len());
        rport_w = rport_w.max(d.replication_port.to_string().len());
        weight_w = weight_w.max(format!("{:.2}", d.weight).len());
    }
    let mut out = format!(
        "Devices:{:>5} {:>6} {:>4} {:>ip_w$}:{:<port_w$} {:>rip_w$}:{:<rport_w$} {:>5} {:>weight_w$} {:>10} {:>7} {:>5} {}\n",
        "id",
        "region",
        "zone",
        "ip address",
        "port",
        "replication ip",
        "port",
        "name",
        "weight",
        "partitions",
        "balance",
        "flags",
        "meta"
    );
    let parts = b.parts_per_dev();
    let balance = b.balance_per_dev();
    let mut sorted: Vec<&&Device> = devs.iter().collect();
    sorted.sort_by(|a, b| (a.region, a.zone, &a.ip, &a.device).cmp(&(b.region, b.zone, &b.ip, &b.device)));
    for d in sorted {
        let i = usize::from(d.id);
        let flags = if b.is_removing(d.id) { "DEL" } else { "" };
        out.push_str(&format!(
            "{:>13} {:>6} {:>4} {:>ip_w$}:{:<port_w$} {:>rip_w$}:{:<rport_w$} {:>5} {:>weight_w$.2} {:>10} {:>7.2} {:>5} {}\n",
            d.id,
            d.region,
            d.zone,
            bracket_ipv6(&d.ip),
            d.port,
            bracket_ipv6(&d.replication_ip),
            d.replication_port,
            d.device,
            d.weight,
            parts.get(i).copied().unwrap_or(0),
            balance.get(i).copied().flatten().unwrap_or(0.0),
            flags,
            d.meta
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedelta_like_python() {
        assert_eq!(timedelta(0), "0:00:00");
        assert_eq!(timedelta(3599), "0:59:59");
        assert_eq!(timedelta(86400 + 61), "1 day, 0:01:01");
        assert_eq!(timedelta(3 * 86400), "3 days, 0:00:00");
    }
}
