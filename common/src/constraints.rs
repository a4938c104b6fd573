//! Swift's constraints (`swift/common/constraints.py`): the defaults and
//! swift.conf's `[swift-constraints]` overrides, read alike by the proxy
//! (which checks requests against them) and the storage nodes.

use crate::config::{ConfigError, Section};
use crate::ini::Ini;

/// The section of swift.conf they are read from.
pub const SECTION: &str = "swift-constraints";

/// The limits of names, metadata, bodies and listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraints {
    pub max_file_size: u64,
    pub max_meta_name_length: usize,
    pub max_meta_value_length: usize,
    pub max_meta_count: usize,
    pub max_meta_overall_size: usize,
    pub max_header_size: usize,
    pub max_object_name_length: usize,
    pub container_listing_limit: usize,
    pub account_listing_limit: usize,
    pub max_account_name_length: usize,
    pub max_container_name_length: usize,
    pub extra_header_count: usize,
}

impl Default for Constraints {
    fn default() -> Constraints {
        Constraints {
            max_file_size: 5368709122,
            max_meta_name_length: 128,
            max_meta_value_length: 256,
            max_meta_count: 90,
            max_meta_overall_size: 4096,
            max_header_size: 8192,
            max_object_name_length: 1024,
            container_listing_limit: 10000,
            account_listing_limit: 10000,
            max_account_name_length: 256,
            max_container_name_length: 256,
            extra_header_count: 0,
        }
    }
}

impl Constraints {
    /// Swift's defaults with swift.conf's `[swift-constraints]` on top.
    pub fn from_ini(ini: &Ini) -> Result<Constraints, ConfigError> {
        let s = Section { ini, name: SECTION };
        let d = Constraints::default();
        let count = |k: &str, def: usize| s.parse(k, def, "a number", |v| v.parse().ok());
        Ok(Constraints {
            max_file_size: s.positive("max_file_size", d.max_file_size)?,
            max_meta_name_length: s.positive("max_meta_name_length", d.max_meta_name_length)?,
            max_meta_value_length: s.positive("max_meta_value_length", d.max_meta_value_length)?,
            max_meta_count: s.positive("max_meta_count", d.max_meta_count)?,
            max_meta_overall_size: s.positive("max_meta_overall_size", d.max_meta_overall_size)?,
            max_header_size: s.positive("max_header_size", d.max_header_size)?,
            max_object_name_length: s.positive("max_object_name_length", d.max_object_name_length)?,
            container_listing_limit: s.positive("container_listing_limit", d.container_listing_limit)?,
            account_listing_limit: s.positive("account_listing_limit", d.account_listing_limit)?,
            max_account_name_length: s.positive("max_account_name_length", d.max_account_name_length)?,
            max_container_name_length: s.positive("max_container_name_length", d.max_container_name_length)?,
            extra_header_count: count("extra_header_count", d.extra_header_count)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_conf_overrides_defaults() {
        let c = Constraints::from_ini(&Ini::parse(b"[swift-constraints]\nmax_file_size = 100\n")).unwrap();
        assert_eq!(c.max_file_size, 100);
        assert_eq!(c.max_meta_count, 90);
        let e = Constraints::from_ini(&Ini::parse(b"[swift-constraints]\nmax_meta_count = x\n")).unwrap_err();
        assert!(e.to_string().contains("max_meta_count"));
    }
}
