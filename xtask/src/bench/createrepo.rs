//! `cargo xtask bench createrepo`: `kiln createrepo` against `createrepo_c` on
//! the same synthetic corpus, same number of workers, cold (no repodata yet,
//! page cache warm for both) and `--update` (every package unchanged), timed
//! and measured (peak RSS) with `/usr/bin/time`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Args {
    pub count: usize,
    pub seed: u64,
    pub runs: usize,
    pub dir: Option<PathBuf>,
    /// Worker threads for both tools (default: the CPU count).
    pub workers: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    secs: f64,
    max_rss_kib: u64,
}

/// Run under `/usr/bin/time -f "%e %M"` and read the last line of stderr.
fn measure(cmd: &mut Command) -> Result<Sample> {
    let prog = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("KILNTIME %e %M")
        .arg(&prog)
        .args(&args)
        .output()
        .with_context(|| format!("running /usr/bin/time {}", prog.to_string_lossy()))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{} failed: {err}", prog.to_string_lossy());
    }
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with("KILNTIME "))
        .context("no timing line from /usr/bin/time")?;
    let mut it = line.split_whitespace().skip(1);
    let secs = it.next().and_then(|s| s.parse().ok()).context("elapsed")?;
    let max_rss_kib = it.next().and_then(|s| s.parse().ok()).context("max RSS")?;
    Ok(Sample { secs, max_rss_kib })
}

fn median(mut v: Vec<Sample>) -> Sample {
    v.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let secs = v[v.len() / 2].secs;
    let max_rss_kib = v.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
    Sample { secs, max_rss_kib }
}

fn count_packages(out: &Path) -> Result<usize> {
    let md = std::fs::read_to_string(out.join("repodata/repomd.xml"))?;
    let href = md
        .split("<location href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("repomd without primary")?;
    let mut gz = flate2_reader(&out.join(href))?;
    let mut head = vec![0u8; 4096];
    let n = std::io::Read::read(&mut gz, &mut head)?;
    let text = String::from_utf8_lossy(&head[..n]);
    let count = text
        .split("packages=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .context("packages= attribute")?;
    Ok(count)
}

fn flate2_reader(path: &Path) -> Result<impl std::io::Read + use<>> {
    let child = Command::new("zcat")
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("zcat")?;
    child.stdout.context("zcat stdout")
}

pub fn run(args: Args) -> Result<()> {
    let dir = args.dir.unwrap_or_else(crate::fixtures::default_dir);
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runs = args.runs.max(1);
    eprintln!(
        "corpus: {} packages, seed {} (built once, then cached)",
        args.count, args.seed
    );
    let corpus = crate::fixtures::corpus(
        &dir.join(format!("corpus-{}-{}", args.seed, args.count)),
        args.seed,
        args.count,
    )?;
    let kiln = super::build_example("kiln-repodata", "kiln-createrepo")?;
    let work = dir.join(format!("bench-createrepo-{}-{}", args.seed, args.count));
    let total = corpus.binary_count + corpus.source_count;

    let mut results = Vec::new();
    for tool in ["createrepo_c", "kiln"] {
        let out = work.join(tool);
        let cmd = |update: bool| {
            let mut c = if tool == "kiln" {
                let mut c = Command::new(&kiln);
                c.arg("--quiet");
                c
            } else {
                let mut c = Command::new("createrepo_c");
                c.args(["--quiet", "--no-database"]);
                c
            };
            c.arg("--workers")
                .arg(workers.to_string())
                .arg("--outputdir")
                .arg(&out);
            if update {
                c.arg("--update");
            }
            c.arg(&corpus.repo);
            c
        };
        // warm the page cache so both sides read from memory
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        measure(&mut cmd(false))?;
        let mut cold = Vec::new();
        for _ in 0..runs {
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out)?;
            cold.push(measure(&mut cmd(false))?);
        }
        let n = count_packages(&out)?;
        if n != total {
            bail!("{tool} wrote {n} packages, the corpus has {total}");
        }
        let mut update = Vec::new();
        for _ in 0..runs {
            update.push(measure(&mut cmd(true))?);
        }
        results.push((tool, median(cold), median(update)));
    }
    println!(
        "createrepo bench: {total} RPMs ({} binary + {} source), --workers {workers}, median of {runs}",
        corpus.binary_count, corpus.source_count
    );
    println!(
        "{:<14}{:>12}{:>14}{:>12}{:>14}",
        "tool", "cold s", "cold RSS MiB", "update s", "upd RSS MiB"
    );
    for (tool, c, u) in &results {
        println!(
            "{tool:<14}{:>12.2}{:>14.1}{:>12.2}{:>14.1}",
            c.secs,
            c.max_rss_kib as f64 / 1024.0,
            u.secs,
            u.max_rss_kib as f64 / 1024.0
        );
    }
    if let [(_, cc, cu), (_, kc, ku)] = results.as_slice() {
        println!(
            "kiln/createrepo_c wall time: cold {:.2}x, update {:.2}x (goal <= 0.5x); peak RSS cold {:.2}x, update {:.2}x",
            kc.secs / cc.secs,
            ku.secs / cu.secs,
            kc.max_rss_kib as f64 / cc.max_rss_kib as f64,
            ku.max_rss_kib as f64 / cu.max_rss_kib as f64,
        );
    }
    Ok(())
}
