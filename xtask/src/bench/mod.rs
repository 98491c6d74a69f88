//! Benchmarks against peer tools: `cargo xtask bench <name>`.

pub mod gather;
pub mod media;
