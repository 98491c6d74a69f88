//! `cargo xtask bench gather`: kiln's gather closure and repoclosure against libsolv
//! (Debian's python3-solv) on the same synthetic corpus and the same comps groups.
//!
//! What makes the two sides comparable:
//! - Input: both read the same primary + filelists through a view of the repository whose
//!   repomd.xml lists only those two (kiln's reader would otherwise also parse other.xml, which
//!   libsolv never reads), plus the same libc stand-in package.
//! - Build: kiln's side is a release binary (crates/depsolve/examples/bench-gather.rs); the
//!   workspace dev profile would leave kiln's crates unoptimised against libsolv's C.
//! - Index: building it counts as loading on both sides (kiln's `PoolBuilder::build`, libsolv's
//!   `addfileprovides` + `createwhatprovides`). Versioned requirements are matched lazily during
//!   the closure on both sides (kiln's whatprovides cache, libsolv's relation providers).
//! - Closure: the package names of every `bulk-NN` group in, the package set out; weak
//!   dependencies not followed on either side. Every run starts from a freshly loaded pool.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Options of the bench.
pub struct Args {
    pub count: usize,
    pub seed: u64,
    pub runs: usize,
    pub dir: Option<PathBuf>,
}

fn group_packages(comps: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in comps.lines() {
        let l = line.trim();
        if l.starts_with("<packagereq")
            && let (Some(a), Some(b)) = (l.find('>'), l.rfind("</packagereq>"))
            && a < b
        {
            out.push(l[a + 1..b].to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A directory whose `repodata/repomd.xml` lists only primary and filelists of `repo`, the
/// metadata files themselves being symlinks into `repo/repodata`.
fn primary_filelists_view(repo: &Path, view: &Path) -> Result<()> {
    let md_path = repo.join("repodata/repomd.xml");
    let md = std::fs::read_to_string(&md_path)
        .with_context(|| format!("reading {}", md_path.display()))?;
    let mut kept = String::new();
    let mut rest = md.as_str();
    while let Some(start) = rest.find("<data type=\"") {
        let end = rest[start..]
            .find("</data>")
            .map(|e| start + e + "</data>".len())
            .with_context(|| format!("{}: <data> without </data>", md_path.display()))?;
        let block = &rest[start..end];
        kept.push_str(&rest[..start]);
        if block.starts_with("<data type=\"primary\"")
            || block.starts_with("<data type=\"filelists\"")
        {
            kept.push_str(block);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    let repodata = view.join("repodata");
    if repodata.exists() {
        std::fs::remove_dir_all(&repodata)?;
    }
    std::fs::create_dir_all(&repodata)?;
    std::fs::write(repodata.join("repomd.xml"), kept)?;
    for entry in std::fs::read_dir(repo.join("repodata"))? {
        let entry = entry?;
        let name = entry.file_name();
        let n = name.to_string_lossy();
        if n.ends_with("-primary.xml.gz") || n.ends_with("-filelists.xml.gz") {
            std::os::unix::fs::symlink(entry.path().canonicalize()?, repodata.join(&name))?;
        }
    }
    Ok(())
}

const LIBSOLV: &str = r#"
import sys, time, solv
repo_dir, names_file, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = [l.strip() for l in open(names_file) if l.strip()]
def find(kind):
    import re
    md = open(repo_dir + "/repodata/repomd.xml").read()
    m = re.search(r'<data type="%s">.*?<location href="([^"]+)"' % kind, md, re.S)
    return repo_dir + "/" + m.group(1)
loads, selects, solves, closures, sizes, problems = [], [], [], [], [], []
for _ in range(runs):
    t = time.perf_counter()
    pool = solv.Pool()
    # Debian's libsolv defaults to Debian semantics, where noarch is not an arch.
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    pool.setarch("x86_64")
    repo = pool.add_repo("corpus")
    f = solv.xfopen(find("primary")); repo.add_rpmmd(f, None, 0); f.close()
    f = solv.xfopen(find("filelists")); repo.add_rpmmd(f, None, solv.Repo.REPO_EXTEND_SOLVABLES); f.close()
    glibc = repo.add_solvable()
    glibc.name, glibc.evr, glibc.arch = "bench-glibc", "1-1", "x86_64"
    glibc.add_deparray(solv.SOLVABLE_PROVIDES, pool.Dep("bench-glibc").Rel(solv.REL_EQ, pool.Dep("1-1")))
    glibc.add_deparray(solv.SOLVABLE_PROVIDES, pool.Dep("libc.so.6()(64bit)"))
    repo.internalize()
    pool.addfileprovides(); pool.createwhatprovides()
    loads.append(time.perf_counter() - t)
    t = time.perf_counter()
    jobs = []
    for n in names:
        sel = pool.select(n, solv.Selection.SELECTION_NAME)
        jobs += sel.jobs(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_WEAK)
    selects.append(time.perf_counter() - t)
    t = time.perf_counter()
    solver = pool.Solver()
    solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
    probs = solver.solve(jobs)
    trans = solver.transaction()
    sizes.append(len(trans.newsolvables()))
    solves.append(time.perf_counter() - t)
    t = time.perf_counter()
    bad = 0
    for s in pool.solvables_iter():
        if s.arch in ("src", "nosrc"):
            continue
        for dep in s.lookup_deparray(solv.SOLVABLE_REQUIRES):
            d = str(dep)
            if d.startswith("rpmlib(") or d.startswith("solvable:"):
                continue
            if not pool.whatprovides(dep):
                bad += 1
    problems.append(bad)
    closures.append(time.perf_counter() - t)
m = lambda v: sorted(v)[len(v)//2]
print(m(loads), m(selects), m(solves), m(closures), sizes[0], problems[0])
"#;

/// Runs a side and parses its one line of whitespace-separated numbers.
fn numbers(cmd: &mut Command, what: &str) -> Result<Vec<f64>> {
    let out = cmd
        .output()
        .with_context(|| format!("running the {what} side"))?;
    if !out.status.success() {
        bail!(
            "{what} side failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|f| f.parse().with_context(|| format!("{what} output {f:?}")))
        .collect()
}

pub fn run(args: Args) -> Result<()> {
    let dir = args.dir.unwrap_or_else(crate::fixtures::default_dir);
    let out = dir.join(format!("corpus-{}-{}", args.seed, args.count));
    let t = Instant::now();
    let corpus = crate::fixtures::corpus(&out, args.seed, args.count)?;
    if !corpus.repo.join("repodata/repomd.xml").is_file() {
        crate::fixtures::createrepo(&corpus.repo, Some(&corpus.comps))?;
    }
    println!(
        "corpus: {} binary + {} source RPMs in {} (ready in {:.1} s)",
        corpus.binary_count,
        corpus.source_count,
        corpus.repo.display(),
        t.elapsed().as_secs_f64()
    );
    let view = out.join("bench-gather-view");
    primary_filelists_view(&corpus.repo, &view)?;
    let comps = std::fs::read_to_string(&corpus.comps)?;
    let names = group_packages(&comps);
    println!(
        "groups: {} package names from the bulk-NN groups",
        names.len()
    );
    let names_file = out.join("bench-gather-names.txt");
    std::fs::write(&names_file, names.join("\n"))?;
    let runs = args.runs.max(1).to_string();

    let kiln_bin = super::build_example("kiln-depsolve", "bench-gather")?;
    let k = numbers(
        Command::new(&kiln_bin)
            .arg(&view)
            .arg(&names_file)
            .arg(&runs),
        "kiln",
    )?;
    let s = numbers(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(LIBSOLV)
            .arg(&view)
            .arg(&names_file)
            .arg(&runs),
        "libsolv (python3-solv)",
    )?;
    let (
        [k_load, k_closure, k_repoclosure, k_size, k_problems],
        [s_load, s_select, s_solve, s_repoclosure, s_size, s_problems],
    ) = (k.as_slice(), s.as_slice())
    else {
        bail!("unexpected output: kiln {k:?}, libsolv {s:?}");
    };

    println!(
        "\nmedians of {runs} runs, each from a fresh pool; ratio = libsolv / kiln (above 1: kiln is faster)\n"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>8}",
        "step", "kiln", "libsolv", "ratio"
    );
    let row = |what: &str, k: f64, s: f64| {
        println!(
            "{what:<34} {:>8.1}ms {:>8.1}ms {:>7.2}x",
            k * 1e3,
            s * 1e3,
            s / k
        );
    };
    row("load repodata + build index", *k_load, *s_load);
    row("closure of the groups", *k_closure, s_select + s_solve);
    row("  libsolv's solve alone", *k_closure, *s_solve);
    row("repoclosure (all packages)", *k_repoclosure, *s_repoclosure);
    println!(
        "\nload: primary + filelists parsed and indexed (kiln: RepoReader + PoolBuilder::build; \
         libsolv: add_rpmmd x2, internalize, addfileprovides, createwhatprovides).\n\
         closure: package names in, package set out (kiln: gather(), which matches the names, \
         closes over requirements and sorts the result by NEVRA; libsolv: one pool.select per name \
         in Python, then solve + transaction).\n\
         libsolv's solve alone: solve + transaction with the jobs already built, a lower bound \
         for libsolv that leaves out the name lookups kiln's span includes.\n\
         repoclosure: every requirement of every binary package checked for a provider (kiln: \
         repoclosure(); libsolv: a Python loop over pool.whatprovides, as dnf repoclosure loops \
         in Python, so mostly interpreter time)."
    );
    println!(
        "\npackages chosen: kiln {k_size}, libsolv {s_size} (kiln follows pungi's one-best-provider \
         rule without conflict checks; libsolv solves an installable, conflict-free set)"
    );
    println!("unresolved requirements: kiln {k_problems}, libsolv {s_problems}");
    Ok(())
}
