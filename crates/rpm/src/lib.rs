//! RPM package headers read once (never the payload), their checksums, and RPM
//! version comparison.
//!
//! [`Package`] is the type every other crate codes against: the package set
//! caches it as JSON, gather selects over it, createrepo writes repodata from it.

mod error;
pub mod evr;
#[cfg(test)]
mod fuzz;
mod hash;
mod package;
mod raw;
mod read;
pub mod sigkey;

pub use error::RpmError;
pub use hash::{Hasher, checksum_bytes};
pub use package::{
    Changelog, Checksum, ChecksumKind, Cmp, Dependency, FileEntry, FileKind, Package,
};
pub use read::{read_package, read_package_from};
