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
}

fn main() -> Result<()> {
    match Cli::parse().task {
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
    }
    Ok(())
}
