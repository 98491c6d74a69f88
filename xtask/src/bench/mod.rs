//! Benchmarks against peer tools: `cargo xtask bench <name>`.

pub mod build;
pub mod compose;
pub mod createrepo;
pub mod gather;
pub mod media;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Bytes this process has read through read(2) so far (`rchar` of /proc/self/io): pipes and
/// files alike, page cache or not, and (Linux adds them when it reaps a child) what the tools it
/// ran have read.
pub(crate) fn bytes_read() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("rchar: ")
                    .and_then(|n| n.trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Builds kiln's side of a bench, an example of one of its crates, in release (xtask itself is
/// not optimised), and returns the binary's path.
pub(crate) fn build_example(package: &str, example: &str) -> Result<PathBuf> {
    let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            package,
            "--example",
            example,
        ])
        .current_dir(workspace_root())
        .status()
        .context("cargo build")?;
    if !st.success() {
        bail!("building the {example} example of {package} failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join("release/examples").join(example))
}
