//! kiln's side of `cargo xtask bench gather`, as a standalone binary so that the bench can build
//! it in release: the workspace's dev profile compiles kiln's own crates unoptimised, which
//! would compare a debug build with libsolv's optimised C.
//!
//! `bench-gather REPO NAMES_FILE RUNS` prints one line of medians in seconds:
//! `load gather repoclosure binary_count unresolved_count`.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use kiln_depsolve::{ClosureScope, GatherOptions, GatherRequest, PkgSpec, Pool, PoolBuilder};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Reads primary + filelists and builds the index (libsolv's add_rpmmd + createwhatprovides).
fn load(repo: &Path) -> Result<Pool, Box<dyn Error>> {
    let mut b = PoolBuilder::new();
    let r = b.add_repo("corpus", false);
    for item in kiln_repodata::RepoReader::open(repo)? {
        let (p, _) = item?;
        b.add(r, PkgSpec::from_rpm(&p));
    }
    // The corpus leaves libc to the system; both sides get the same stand-in.
    let mut glibc = PkgSpec::new("bench-glibc", "1-1", "x86_64");
    glibc
        .provides
        .push(kiln_depsolve::atom("libc.so.6()(64bit)"));
    b.add(r, glibc);
    Ok(b.build()?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, repo, names, runs] = args.as_slice() else {
        return Err("usage: bench-gather REPO NAMES_FILE RUNS".into());
    };
    let names: Vec<String> = std::fs::read_to_string(names)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let runs: usize = runs.parse::<usize>()?.max(1);
    let (mut loads, mut solves, mut closures) = (vec![], vec![], vec![]);
    let (mut size, mut problems) = (0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let pool = load(Path::new(repo))?;
        loads.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let outcome = kiln_depsolve::gather(
            &pool,
            &GatherOptions {
                arch: "x86_64".into(),
                resolve_deps: true,
                exclude_debug: true,
                exclude_source: true,
                ..Default::default()
            },
            &GatherRequest {
                includes: names.clone(),
                ..Default::default()
            },
        );
        solves.push(t.elapsed().as_secs_f64());
        size = outcome.binary.len();

        let t = Instant::now();
        let probs = kiln_depsolve::repoclosure(
            &pool,
            &ClosureScope {
                arches: vec!["x86_64".into(), "i686".into(), "noarch".into()],
                ..Default::default()
            },
        );
        closures.push(t.elapsed().as_secs_f64());
        problems = probs.iter().map(|p| p.unresolved.len()).sum::<usize>();
    }
    println!(
        "{} {} {} {size} {problems}",
        median(loads),
        median(solves),
        median(closures)
    );
    Ok(())
}
