//! Project tasks as a library, so tests can build fixtures on the fly:
//! `xtask::fixtures::mini_distro_cached()` in `tests/it`.

pub mod bench;
pub mod deps;
pub mod fixtures;
pub mod layout;
