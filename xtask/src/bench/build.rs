//! `cargo xtask bench build`: how long a fresh clone waits before the example runs and the suite
//! has passed. A clean `cargo build --workspace --all-targets` (what both `cargo xtask example` and
//! `cargo test --workspace` need) in its own, emptied target dir, then the suite's run time on that
//! build. With `--old-profile` the same is timed with every dependency at opt-level 2 (the profile
//! the workspace had before) and ratios are printed; that side takes about 14 minutes on 2 cores.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::workspace_root;

pub struct Args {
    /// Where the bench's target dirs go (default: target/bench-build).
    pub dir: Option<PathBuf>,
    pub against_old_profile: bool,
}

struct Timing {
    build: Duration,
    suite: Duration,
}

pub fn run(args: Args) -> Result<()> {
    let root = workspace_root();
    let dir = args.dir.unwrap_or_else(|| root.join("target/bench-build"));
    let current = time_side(&root, &dir.join("current"), &[])?;
    report("current profile", &current);
    if args.against_old_profile {
        let old = time_side(
            &root,
            &dir.join("old-profile"),
            &["--config", "profile.dev.package.\"*\".opt-level=2"],
        )?;
        report("old profile (every dependency at opt-level 2)", &old);
        println!(
            "ratio current/old: build {:.2}x, suite {:.2}x",
            current.build.as_secs_f64() / old.build.as_secs_f64(),
            current.suite.as_secs_f64() / old.suite.as_secs_f64()
        );
    }
    Ok(())
}

fn report(label: &str, t: &Timing) {
    println!(
        "{label}: clean build {:.1} s, then the suite {:.1} s",
        t.build.as_secs_f64(),
        t.suite.as_secs_f64()
    );
}

/// Empties `target`, builds into it, then runs the suite from it; `extra` goes to both cargo calls.
fn time_side(root: &Path, target: &Path, extra: &[&str]) -> Result<Timing> {
    if target.exists() {
        std::fs::remove_dir_all(target)
            .with_context(|| format!("emptying {}", target.display()))?;
    }
    let build = timed(
        root,
        target,
        extra,
        &["build", "--workspace", "--all-targets"],
    )?;
    let suite = timed(root, target, extra, &["test", "--workspace", "-q"])?;
    Ok(Timing { build, suite })
}

fn timed(root: &Path, target: &Path, extra: &[&str], args: &[&str]) -> Result<Duration> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let status = Command::new(&cargo)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .args(extra)
        .args(args)
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed with {status}", args.join(" "));
    }
    Ok(started.elapsed())
}
