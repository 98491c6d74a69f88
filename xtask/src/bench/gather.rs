//! `cargo xtask bench gather`: kiln's gather closure and repoclosure against libsolv
//! (Debian's python3-solv) on the same synthetic corpus and the same comps groups.
//!
//! Both sides read the same createrepo_c repodata (primary + filelists), resolve the packages
//! of every `bulk-NN` group without weak dependencies, and check every package's requirements.
//! Times are wall-clock medians of a few runs, loading reported apart from solving.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use kiln_depsolve::{ClosureScope, GatherOptions, GatherRequest, PkgSpec, PoolBuilder};

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
loads, solves, closures, sizes, problems = [], [], [], [], []
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
print(m(loads), m(solves), m(closures), sizes[0], problems[0])
"#;

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
    let comps = std::fs::read_to_string(&corpus.comps)?;
    let names = group_packages(&comps);
    println!(
        "groups: {} package names from the bulk-NN groups",
        names.len()
    );

    let (mut loads, mut solves, mut closures) = (vec![], vec![], vec![]);
    let mut size = 0;
    let mut problems = 0;
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        let mut b = PoolBuilder::new();
        let repo = b.add_repo("corpus", false);
        for item in kiln_repodata::RepoReader::open(&corpus.repo)? {
            let (p, _) = item?;
            b.add(repo, PkgSpec::from_rpm(&p));
        }
        // The corpus leaves libc to the system; both sides get the same stand-in.
        let mut glibc = PkgSpec::new("bench-glibc", "1-1", "x86_64");
        glibc
            .provides
            .push(kiln_depsolve::atom("libc.so.6()(64bit)"));
        b.add(repo, glibc);
        let pool = b.build()?;
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
        problems = probs.iter().map(|p| p.unresolved.len()).sum();
        if std::env::var_os("KILN_BENCH_DEBUG").is_some() {
            let mut c: std::collections::BTreeMap<&str, usize> = Default::default();
            for p in &probs {
                for u in &p.unresolved {
                    *c.entry(u.as_str()).or_default() += 1;
                }
            }
            let mut v: Vec<_> = c.into_iter().collect();
            v.sort_by_key(|x| std::cmp::Reverse(x.1));
            eprintln!("{:?}", &v[..v.len().min(6)]);
        }
    }
    let kiln = (median(loads), median(solves), median(closures));

    let names_file = out.join("bench-gather-names.txt");
    std::fs::write(&names_file, names.join("\n"))?;
    let py = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(LIBSOLV)
        .arg(&corpus.repo)
        .arg(&names_file)
        .arg(args.runs.max(1).to_string())
        .output()
        .context("running python3 with python3-solv")?;
    if !py.status.success() {
        bail!(
            "libsolv side failed: {}",
            String::from_utf8_lossy(&py.stderr)
        );
    }
    let text = String::from_utf8_lossy(&py.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    let num = |i: usize| -> Result<f64> { Ok(f.get(i).context("libsolv output")?.parse()?) };
    let solv = (num(0)?, num(1)?, num(2)?);
    let (solv_size, solv_problems) = (num(3)? as usize, num(4)? as usize);

    println!(
        "\n{:<28} {:>10} {:>10} {:>8}",
        "step (median)", "kiln", "libsolv", "ratio"
    );
    let row = |what: &str, k: f64, s: f64| {
        println!(
            "{what:<28} {:>8.1}ms {:>8.1}ms {:>7.2}x",
            k * 1e3,
            s * 1e3,
            s / k
        );
    };
    row("load repodata + index", kiln.0, solv.0);
    row("closure of the groups", kiln.1, solv.1);
    row("repoclosure (all pkgs)", kiln.2, solv.2);
    row("closure + repoclosure", kiln.1 + kiln.2, solv.1 + solv.2);
    println!(
        "\npackages chosen: kiln {size}, libsolv {solv_size} (kiln follows pungi's one-best-provider \
         rule without conflict checks; libsolv solves an installable, conflict-free set)"
    );
    println!("unresolved requirements: kiln {problems}, libsolv {solv_problems}");
    println!("ratio = libsolv time / kiln time (above 1: kiln is faster)");
    Ok(())
}
