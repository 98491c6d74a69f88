//! `cargo xtask <task>`: fixtures and benchmarks.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "xtask", about = "kiln project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the mini distro into examples/mini/input and run a real compose of examples/mini.
    Example {
        /// Where composes go.
        #[arg(long, default_value = "composes")]
        target_dir: PathBuf,
    },
    /// Build fixture RPMs: the mini distro, and a synthetic corpus with --scale.
    Fixtures {
        /// Output directory (the mini distro goes to DIR/mini, the corpus to DIR/corpus-SEED-N).
        #[arg(long)]
        out: PathBuf,
        /// Seed of the synthetic corpus.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also build a synthetic corpus of about N binary packages.
        #[arg(long)]
        scale: Option<usize>,
    },
    /// Benchmarks against peer tools (`gather`: kiln's closure and repoclosure vs libsolv).
    Bench {
        /// Which bench: build, compose, gather, media, createrepo.
        name: String,
        /// Binary packages in the synthetic corpus.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Runs per side; medians are printed.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Where corpora are kept (default: target/fixtures).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// media: total size of the synthetic trees, MiB.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
        /// build: also time the old profile (every dependency at opt-level 2) and print ratios.
        #[arg(long)]
        old_profile: bool,
        /// compose: KiB of package bytes per source and main binary package, on average (0:
        /// packages of a few KiB, all metadata).
        #[arg(long, default_value_t = 0)]
        payload_kib: usize,
    },
    /// Install the tools kiln drives and the tests judge with (apt-get, when root), or print the
    /// commands that would.
    Deps {
        /// Only what `cargo xtask example` needs (xorriso, isomd5sum, git).
        #[arg(long)]
        example: bool,
        /// Only check; install nothing.
        #[arg(long)]
        check: bool,
    },
    /// Check the workspace's layering: no phase crate depends on another, libraries stay below
    /// the engine (ARCHITECTURE.md, "Layers").
    CheckLayout,
    /// The end-to-end tests too slow for CI (`#[ignore]`d in tests/it): real KIWI builds of
    /// bootable Debian images, booted under qemu, and the Kubernetes runner against the one-node
    /// test cluster (built the first time; stopped afterwards).
    SlowTests,
    /// The Kubernetes runner's one-node test cluster (xtask/cluster/kiln-cluster.sh): build
    /// (once, about 10 minutes, kept in /var/tmp/kiln-k8s), start, stop, status.
    Cluster {
        /// build, start, stop or status.
        action: String,
    },
}

/// Errors end as one line (no backtrace, even under `RUST_BACKTRACE=1`): what failed, and for
/// the example, how to get the missing tools.
fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let is_example = matches!(cli.task, Task::Example { .. });
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if is_example {
                eprintln!(
                    "hint: `cargo xtask deps` installs the tools kiln drives and the tests use \
                     (as root), or prints the commands; or install the one named above"
                );
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.task {
        Task::Example { target_dir } => example(&target_dir)?,
        Task::Fixtures { out, seed, scale } => {
            let started = std::time::Instant::now();
            let mini = xtask::fixtures::mini_distro(&out.join("mini"))?;
            println!(
                "mini distro: {} RPMs in {} (comps {}, variants {}, repodata: {})",
                mini.files.len(),
                mini.repo.display(),
                mini.comps.display(),
                mini.variants.display(),
                if mini.has_repodata {
                    "yes"
                } else {
                    "no, createrepo_c not found"
                }
            );
            if let Some(n) = scale {
                let dir = out.join(format!("corpus-{seed}-{n}"));
                let c = xtask::fixtures::corpus(&dir, seed, n)?;
                println!(
                    "corpus: {} binary + {} source RPMs in {}",
                    c.binary_count,
                    c.source_count,
                    c.repo.display()
                );
            }
            println!("done in {:.2} s", started.elapsed().as_secs_f64());
        }
        Task::Bench {
            name,
            count,
            seed,
            runs,
            dir,
            size_mib,
            old_profile,
            payload_kib,
        } => match name.as_str() {
            "gather" => xtask::bench::gather::run(xtask::bench::gather::Args {
                count,
                seed,
                runs,
                dir,
            })?,
            // This bench runs kiln's phases inside xtask, so xtask itself must be optimised:
            // a dev build re-runs itself in release.
            "media" if cfg!(debug_assertions) => {
                let status = std::process::Command::new(env!("CARGO"))
                    .args(["run", "--release", "-q", "-p", "xtask", "--"])
                    .args(std::env::args().skip(1))
                    .status()
                    .map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
                anyhow::ensure!(status.success(), "the release bench failed with {status}");
            }
            "media" => xtask::bench::media::run(xtask::bench::media::Args {
                size_mib,
                runs,
                dir,
            })?,
            "createrepo" => xtask::bench::createrepo::run(xtask::bench::createrepo::Args {
                count,
                seed,
                runs,
                dir,
                workers: None,
            })?,
            "compose" => xtask::bench::compose::run(xtask::bench::compose::Args {
                count,
                seed,
                payload_kib,
                dir,
            })?,
            "build" => xtask::bench::build::run(xtask::bench::build::Args {
                dir,
                against_old_profile: old_profile,
            })?,
            other => {
                anyhow::bail!("unknown bench {other:?} (build, compose, gather, media, createrepo)")
            }
        },
        Task::Deps { example, check } => {
            let set = if example {
                xtask::deps::Set::Example
            } else {
                xtask::deps::Set::Tests
            };
            xtask::deps::ensure(set, !check)?
        }
        Task::SlowTests => {
            let status = std::process::Command::new(env!("CARGO"))
                .current_dir(xtask::layout::workspace_root()?)
                .args(["test", "--test", "it", "--", "--ignored"])
                .status()
                .map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
            xtask::fixtures::kubernetes::cluster("stop", None)?;
            anyhow::ensure!(status.success(), "the slow tests failed ({status})");
        }
        Task::Cluster { action } => match action.as_str() {
            "build" | "start" | "stop" | "status" => {
                xtask::fixtures::kubernetes::cluster(&action, None)?
            }
            other => anyhow::bail!("unknown cluster action {other:?} (build, start, stop, status)"),
        },
        Task::CheckLayout => {
            let members = xtask::layout::members(&xtask::layout::workspace_root()?)?;
            let violations = xtask::layout::check(&members);
            for v in &violations {
                eprintln!("layout: {v}");
            }
            anyhow::ensure!(
                violations.is_empty(),
                "{} layering rule(s) broken",
                violations.len()
            );
            println!("layout: {} crates, no layering rule broken", members.len());
        }
    }
    Ok(())
}

/// `cargo xtask example`: the README's first command. The compose runs through the real `kiln`
/// binary on the example config, exactly as a user would run it. It is the dev build, the same
/// one `cargo test --workspace` uses, so a fresh clone builds the workspace once, not twice.
fn example(target_dir: &std::path::Path) -> Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| anyhow::anyhow!("xtask is not inside the workspace"))?
        .to_owned();
    xtask::deps::ensure(xtask::deps::Set::Example, true)?;
    let mini = xtask::fixtures::mini_distro(&root.join("examples/mini/input/mini"))?;
    println!(
        "mini distro: {} RPMs in {}",
        mini.files.len(),
        mini.repo.display()
    );
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["run", "--quiet", "--bin", "kiln", "--", "compose"])
        .arg(root.join("examples/mini/kiln.yaml"))
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--no-label")
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
    anyhow::ensure!(
        status.success(),
        "the example compose failed (kiln exited with {status}); its message is above"
    );
    Ok(())
}
