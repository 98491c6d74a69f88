//! `cargo xtask bench compose`: a whole compose at scale. The synthetic corpus (N binary
//! packages with their sources and debuginfo, comps groups pulling most of them) is composed into
//! two variants by the release `kiln` binary: deps gather, createrepo, repoclosure, DVDs,
//! checksums. Printed: wall clock per phase and in all, peak RSS, bytes read by kiln and the tools
//! it ran per byte of package; and the peer tools doing the same steps in the same run, one after
//! another — createrepo_c on every tree kiln made, xorriso + implantisomd5 on its graft points,
//! sha256sum over the ISOs — with kiln's time as a ratio of their sum. (The depsolve's peer,
//! libsolv, is measured by `cargo xtask bench gather`.)

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::workspace_root;

pub struct Args {
    pub count: usize,
    pub seed: u64,
    /// KiB of package bytes per source and main binary package, on average (0: the corpus's
    /// packages are all metadata, a few KiB each).
    pub payload_kib: usize,
    pub dir: Option<PathBuf>,
}

const VARIANTS: [&str; 2] = ["Alpha", "Beta"];

/// The phase that runs last in this compose (test needs imagechecksum, which needs every image).
const LAST_PHASE: &str = "test";

/// `[phase] done in 1.2s` lines of kiln's output.
fn phase_times(err: &str) -> Vec<(String, f64)> {
    err.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix('[')?.split_once(']')?;
            let secs = rest.trim().strip_prefix("done in ")?.strip_suffix('s')?;
            Some((name.trim().to_owned(), secs.parse().ok()?))
        })
        .collect()
}

fn fmt_phases(phases: &[(String, f64)]) -> String {
    phases
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn timed(cmd: &mut Command) -> Result<f64> {
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Groups of the corpus comps, split between the two variants.
fn variants_xml(comps: &str) -> String {
    let groups: Vec<&str> = comps
        .split("<id>")
        .skip(1)
        .filter_map(|s| s.split_once("</id>").map(|(id, _)| id))
        .filter(|id| id.starts_with("bulk-") && !id.ends_with("environment"))
        .collect();
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE variants PUBLIC \"-//Red Hat, Inc.//DTD Variants info//EN\" \"variants.dtd\">\n<variants>\n",
    );
    for (i, v) in VARIANTS.iter().enumerate() {
        out.push_str(&format!(
            "  <variant id=\"{v}\" name=\"{v}\" type=\"variant\">\n    <arches>\n      <arch>x86_64</arch>\n    </arches>\n    <groups>\n"
        ));
        for g in groups.iter().skip(i).step_by(VARIANTS.len()) {
            out.push_str(&format!("      <group>{g}</group>\n"));
        }
        out.push_str("    </groups>\n  </variant>\n");
    }
    out.push_str("</variants>\n");
    out
}

pub fn run(args: Args) -> Result<()> {
    let dir = args.dir.unwrap_or_else(crate::fixtures::default_dir);
    eprintln!(
        "corpus: {} packages, seed {}, payload {} KiB (built once, then cached)",
        args.count, args.seed, args.payload_kib
    );
    let name = match args.payload_kib {
        0 => format!("{}-{}", args.seed, args.count),
        kib => format!("{}-{}-p{kib}", args.seed, args.count),
    };
    let corpus = crate::fixtures::corpus_with_payload(
        &dir.join(format!("corpus-{name}")),
        args.seed,
        args.count,
        args.payload_kib,
    )?;
    let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-q", "--bin", "kiln"])
        .current_dir(workspace_root())
        .status()?;
    if !st.success() {
        bail!("building kiln in release failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let kiln = target.join("release/kiln");

    let work = dir.join(format!("bench-compose-{name}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let comps = std::fs::read_to_string(&corpus.comps)?;
    std::fs::write(work.join("variants.xml"), variants_xml(&comps))?;
    std::fs::write(
        work.join("kiln.yaml"),
        format!(
            "release_name: Bench Linux\nrelease_short: Bench\nrelease_version: '1'\n\
             variants_file: variants.xml\ncomps_file: {}\npkgset_source: repos\n\
             pkgset_repos:\n  x86_64: [{}]\nsigkeys: [null]\ngather_method: deps\ncheck_deps: false\n\
             repoclosure_strictness:\n  - ['^.*$', {{'*': lenient}}]\nmedia_checksums: [sha256]\n\
             media_checksum_one_file: true\n",
            corpus.comps.display(),
            corpus.repo.display()
        ),
    )?;
    let package_bytes: u64 = walkdir::WalkDir::new(&corpus.repo)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rpm"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();

    // kiln, whole, under /usr/bin/time for the peak RSS; bytes_read covers it and its tools.
    // The last phase fails after doing its work (KILN_FAILPOINT), so the same run also measures
    // what `--resume` costs once everything but that phase is done.
    let before = super::bytes_read();
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "KILNTIME %M"])
        .arg(&kiln)
        .args(["compose", "kiln.yaml", "--target-dir", "t", "--no-label"])
        .env("SOURCE_DATE_EPOCH", "1795219200")
        .env("KILN_FAILPOINT", format!("fail:{LAST_PHASE}"))
        .current_dir(&work)
        .output()?;
    let kiln_secs = t.elapsed().as_secs_f64();
    let read = super::bytes_read().saturating_sub(before);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if !err.contains("failure injected by KILN_FAILPOINT") {
        bail!("kiln compose failed before its last phase ({LAST_PHASE}):\n{err}");
    }
    let top = std::fs::read_dir(work.join("t"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("STATUS").is_file())
        .context("no compose folder")?;
    let before_resume = super::bytes_read();
    let t = Instant::now();
    let resumed = Command::new(&kiln)
        .arg("compose")
        .arg("--resume")
        .arg(&top)
        .env("SOURCE_DATE_EPOCH", "1795219200")
        .current_dir(&work)
        .output()?;
    let resume_secs = t.elapsed().as_secs_f64();
    let resume_read = super::bytes_read().saturating_sub(before_resume);
    if !resumed.status.success() {
        bail!(
            "kiln compose --resume failed:\n{}",
            String::from_utf8_lossy(&resumed.stderr)
        );
    }
    let rss_kib: u64 = err
        .lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("KILNTIME ")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0);
    let phases = phase_times(&err);

    // The peers, on what kiln made.
    let mut createrepo = 0.0;
    let mut iso = 0.0;
    let mut isos = Vec::new();
    for v in VARIANTS {
        for tree in ["x86_64/os", "x86_64/debug/tree", "source/tree"] {
            let t = top.join("compose").join(v).join(tree);
            if t.join("repodata").is_dir() {
                let out = work.join("peer-repo").join(v).join(tree);
                std::fs::create_dir_all(&out)?;
                createrepo += timed(
                    Command::new("createrepo_c")
                        .args(["--quiet", "--no-database", "--outputdir"])
                        .arg(&out)
                        .arg(&t),
                )?;
            }
        }
        let name = format!(
            "{}-{v}-x86_64-dvd1.iso",
            top.file_name().unwrap_or_default().to_string_lossy()
        );
        let graft = top.join(format!("work/x86_64/iso/{name}-graft-points"));
        if graft.is_file() {
            let peer_iso = work.join(&name);
            iso += timed(
                Command::new("xorriso")
                    .args(["-as", "mkisofs", "-untranslated-filenames", "-volid", v])
                    .args(["-J", "-joliet-long", "-rational-rock", "-o"])
                    .arg(&peer_iso)
                    .args(["-graft-points", "-path-list"])
                    .arg(&graft),
            )?;
            iso += timed(Command::new("implantisomd5").arg(&peer_iso))?;
            isos.push(peer_iso);
        }
    }
    let sums = timed(Command::new("sha256sum").args(&isos))?;
    let peers = createrepo + iso + sums;

    println!(
        "compose bench: {} binary + {} source RPMs ({} MiB, payload {} KiB), 2 variants, \
         release build",
        corpus.binary_count,
        corpus.source_count,
        package_bytes >> 20,
        args.payload_kib
    );
    for (name, secs) in &phases {
        println!("  {name:<13} {secs:6.2} s");
    }
    // The images kiln made: what the reads beyond the packages' one read are made of.
    let iso_bytes: u64 = VARIANTS
        .iter()
        .flat_map(|v| ["x86_64/iso", "source/iso"].map(|d| top.join("compose").join(v).join(d)))
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "iso"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "kiln compose: {kiln_secs:.2} s, peak RSS {} MiB, read {:.2} bytes per package byte \
         (kiln and the tools it ran); its ISOs hold {:.2} bytes per package byte, and the reads \
         but one of each package come to {:.2} per ISO byte (xorriso reading the trees, kiln \
         its stream, one digest pass: 3)",
        rss_kib >> 10,
        read as f64 / package_bytes.max(1) as f64,
        iso_bytes as f64 / package_bytes.max(1) as f64,
        read.saturating_sub(package_bytes) as f64 / iso_bytes.max(1) as f64
    );
    println!(
        "--resume after a failure in {LAST_PHASE}: {resume_secs:.2} s = {:.1}% of the compose, \
         read {:.3} bytes per package byte",
        100.0 * resume_secs / kiln_secs.max(1e-9),
        resume_read as f64 / package_bytes.max(1) as f64
    );
    // Nightly re-composes in the same target dir, which start from this compose: nothing
    // changed, then 1% of the source packages rebuilt with a new release.
    let again = |label: &str| -> Result<(f64, Vec<(String, f64)>)> {
        let t = Instant::now();
        let out = Command::new(&kiln)
            .args(["compose", "kiln.yaml", "--target-dir", "t", "--no-label"])
            .env("SOURCE_DATE_EPOCH", "1795219200")
            .current_dir(&work)
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("the {label} re-compose failed:\n{err}");
        }
        Ok((secs, phase_times(&err)))
    };
    let (same_secs, same_phases) = again("unchanged")?;
    let set = crate::fixtures::corpus_set(args.seed, args.count, args.payload_kib);
    let changed: Vec<crate::fixtures::spec::SrcSpec> = set
        .sources
        .iter()
        .step_by(100)
        .map(|s| crate::fixtures::spec::SrcSpec {
            release: format!("{}.1", s.release),
            ..s.clone()
        })
        .collect();
    let updates = work.join("updates");
    let _ = std::fs::remove_dir_all(&updates);
    crate::fixtures::write_set(
        &updates,
        &changed,
        &crate::fixtures::payload_build_opts(args.payload_kib),
    )?;
    let cfg = std::fs::read_to_string(work.join("kiln.yaml"))?;
    std::fs::write(
        work.join("kiln.yaml"),
        cfg.replace(
            &format!("x86_64: [{}]", corpus.repo.display()),
            &format!(
                "x86_64: [{}, {}]",
                corpus.repo.display(),
                updates.join("repo").display()
            ),
        ),
    )?;
    let (one_secs, one_phases) = again("1%")?;
    let without_iso = |phases: &[(String, f64)]| -> f64 {
        phases
            .iter()
            .filter(|(n, _)| n != "createiso")
            .map(|(_, s)| s)
            .sum()
    };
    let full_without_iso = without_iso(&phases);
    println!(
        "re-compose, nothing changed: {same_secs:.2} s = {:.1}% of the compose ({})",
        100.0 * same_secs / kiln_secs.max(1e-9),
        fmt_phases(&same_phases)
    );
    println!(
        "re-compose, {} of {} sources changed: {one_secs:.2} s = {:.1}% of the compose; its phases \
         but createiso {:.2} s = {:.1}% of the compose's ({})",
        changed.len(),
        set.sources.len(),
        100.0 * one_secs / kiln_secs.max(1e-9),
        without_iso(&one_phases),
        100.0 * without_iso(&one_phases) / full_without_iso.max(1e-9),
        fmt_phases(&one_phases)
    );
    println!(
        "peers on the same trees: createrepo_c {createrepo:.2} s + xorriso/implantisomd5 {iso:.2} s \
         + sha256sum {sums:.2} s = {peers:.2} s -> kiln/peers {:.2}x (kiln also gathers, links, \
         checks closure)",
        kiln_secs / peers.max(1e-9)
    );
    Ok(())
}
