//! Benchmarks against peer tools: `cargo xtask bench <name>`.

pub mod createrepo;
pub mod gather;
pub mod media;
