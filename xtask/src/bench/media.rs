//! `cargo xtask bench media`: kiln's createiso against the same xorriso work done bare, and
//! kiln's imagechecksum against `sha256sum`, `sha1sum` and `md5sum` run one after another.
//!
//! The tree is synthetic: incompressible files laid out as an os tree (`Packages/x/*.rpm`,
//! `repodata/`), split over two variants so there are two DVDs to checksum. kiln runs through
//! its engine (createiso, then imagechecksum with pungi's default md5+sha1+sha256); the bare
//! side runs pungi's createiso script (xorriso, implantisomd5, the manifest listing) on the same
//! graft points, then the three coreutils tools over the same ISOs. Every side reads files the
//! previous one just wrote, so all run from the page cache; medians of `runs` runs are printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use kiln_compose::{Compose, ComposeInfo, ComposeType, Paths, Release};
use kiln_engine::{
    CancelToken, Executor, LocalRunner, Observer, Options, Phase, PhaseContext, PhaseError,
};

pub struct Args {
    /// Total size of the trees, MiB.
    pub size_mib: u64,
    pub runs: usize,
    pub dir: Option<PathBuf>,
}

const TIMESTAMP: i64 = 1_795_251_170;
const VARIANTS: [&str; 2] = ["Alpha", "Beta"];

/// Stand-in for createrepo: the trees exist, it only writes their metadata.
struct Trees;

impl Phase for Trees {
    fn name(&self) -> &'static str {
        "createrepo"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        for v in &ctx.compose.variants.all {
            for (p, b) in kiln_phase_createiso::tree_metadata(ctx, v, "x86_64")? {
                ctx.write(&p, &b)?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Timer(Mutex<Vec<(String, f64)>>);

impl Observer for Timer {
    fn phase_finished(&self, phase: &str, _outcome: &str, seconds: f64) {
        if let Ok(mut v) = self.0.lock() {
            v.push((phase.to_owned(), seconds));
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Deterministic incompressible bytes (xorshift), so sizes on the ISO equal sizes on disk.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn make_trees(topdir: &Path, size_mib: u64) -> Result<()> {
    let per_variant = size_mib * 1024 * 1024 / VARIANTS.len() as u64;
    // A spread of package sizes like a real DVD: many small, some large.
    let sizes = [64 << 10, 256 << 10, 1 << 20, 4 << 20];
    for (vi, v) in VARIANTS.iter().enumerate() {
        let tree = topdir.join("compose").join(v).join("x86_64/os");
        let pk = tree.join("Packages/p");
        std::fs::create_dir_all(&pk)?;
        std::fs::create_dir_all(tree.join("repodata"))?;
        std::fs::write(tree.join("repodata/repomd.xml"), "<repomd/>\n")?;
        let mut used = 0u64;
        let mut i = 0usize;
        while used < per_variant {
            let len = sizes[i % sizes.len()];
            std::fs::write(
                pk.join(format!("pkg-{i:05}-1.0-1.x86_64.rpm")),
                noise((vi * 1_000_000 + i) as u64, len),
            )?;
            used += len as u64;
            i += 1;
        }
    }
    Ok(())
}

fn compose_for(topdir: &Path) -> Result<(kiln_config::Config, Compose)> {
    let yaml = r#"
release_name: Bench Linux
release_short: Bench
release_version: "1"
variants:
  - id: Alpha
    arches: [x86_64]
  - id: Beta
    arches: [x86_64]
createiso_skip: [[".*", {"src": true}]]
pkgset_repos: {x86_64: ["."]}
"#;
    let config = kiln_config::load_str(yaml, &topdir.join("kiln.yaml"), topdir)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let variants = kiln_variants::Variants::from_defs(&config.variants)?;
    let release = Release {
        name: config.release_name.clone(),
        short: config.release_short.clone(),
        version: config.release_version.clone(),
        release_type: "ga".into(),
        internal: false,
        base_product: None,
    };
    let compose = Compose {
        info: ComposeInfo {
            id: "Bench-1-20261121.0".into(),
            date: "20261121".into(),
            compose_type: ComposeType::Production,
            respin: 0,
            label: None,
            release,
        },
        paths: Paths::new(topdir),
        variants,
        timestamp: TIMESTAMP,
        old: None,
    };
    Ok((config, compose))
}

fn sh(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(())
}

/// One kiln run: (createiso seconds, imagechecksum seconds, ISO paths, bytes kiln read).
fn kiln_run(topdir: &Path) -> Result<(f64, f64, Vec<PathBuf>, u64)> {
    let (config, compose) = compose_for(topdir)?;
    for d in ["work", "logs", "STATUS"] {
        let p = topdir.join(d);
        let _ = std::fs::remove_dir_all(&p);
        let _ = std::fs::remove_file(&p);
    }
    let timer = Timer::default();
    let runner = LocalRunner;
    let ex = Executor {
        phases: vec![
            Box::new(Trees),
            Box::new(kiln_phase_createiso::CreateIso),
            Box::new(kiln_phase_imagechecksum::ImageChecksum),
        ],
        config: &config,
        compose: &compose,
        runner: &runner,
        observer: &timer,
        cancel: CancelToken::new(),
    };
    let before = super::bytes_read();
    let report = ex
        .run(&Options::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let read = super::bytes_read().saturating_sub(before);
    if report.outcome != kiln_engine::Outcome::Finished {
        bail!("kiln compose did not finish: {:?}", report.results);
    }
    let times = timer.0.into_inner().unwrap_or_default();
    let t = |p: &str| times.iter().find(|(n, _)| n == p).map_or(0.0, |(_, s)| *s);
    let isos = VARIANTS
        .iter()
        .map(|v| {
            topdir.join(format!(
                "compose/{v}/x86_64/iso/Bench-1-20261121.0-{v}-x86_64-dvd1.iso"
            ))
        })
        .collect();
    Ok((t("createiso"), t("imagechecksum"), isos, read))
}

/// pungi's createiso script, bare, on kiln's graft points: (xorriso alone, whole script).
fn bare_run(topdir: &Path, out: &Path) -> Result<(f64, f64)> {
    std::fs::create_dir_all(out)?;
    let (mut xorriso_s, mut total_s) = (0.0, 0.0);
    for v in VARIANTS {
        let name = format!("Bench-1-20261121.0-{v}-x86_64-dvd1.iso");
        let graft = topdir.join(format!("work/x86_64/iso/{name}-graft-points"));
        let iso = out.join(&name);
        let _ = std::fs::remove_file(&iso);
        let t = Instant::now();
        sh(Command::new("xorriso")
            .args(["-as", "mkisofs", "-untranslated-filenames", "-volid"])
            .arg(format!("Bench-1 {v}.x86_64"))
            .args([
                "-J",
                "-joliet-long",
                "-rational-rock",
                "-input-charset",
                "utf-8",
                "-x",
                "./lost+found",
                "-o",
            ])
            .arg(&iso)
            .args(["-graft-points", "-path-list"])
            .arg(&graft))?;
        xorriso_s += t.elapsed().as_secs_f64();
        sh(Command::new("implantisomd5").arg(&iso))?;
        let listing = Command::new("xorriso")
            .arg("-indev")
            .arg(&iso)
            .arg("-find")
            .output()?;
        let mut lines: Vec<String> = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .skip(1)
            .map(|l| l.replace('\'', "")[1..].to_owned())
            .collect();
        lines.sort();
        std::fs::write(out.join(format!("{name}.manifest")), lines.join("\n"))?;
        total_s += t.elapsed().as_secs_f64();
    }
    Ok((xorriso_s, total_s))
}

fn coreutils_run(isos: &[PathBuf]) -> Result<f64> {
    let t = Instant::now();
    for tool in ["sha256sum", "sha1sum", "md5sum"] {
        sh(Command::new(tool).args(isos))?;
    }
    Ok(t.elapsed().as_secs_f64())
}

pub fn run(args: Args) -> Result<()> {
    for tool in ["xorriso", "implantisomd5", "checkisomd5", "sha256sum"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            bail!("{tool} is not installed (apt-get install xorriso isomd5sum coreutils)");
        }
    }
    let base = args
        .dir
        .unwrap_or_else(|| crate::fixtures::default_dir().join("bench-media"));
    let topdir = base.join(format!("tree-{}M", args.size_mib));
    if !topdir.join(".complete").is_file() {
        let _ = std::fs::remove_dir_all(&topdir);
        make_trees(&topdir, args.size_mib)?;
        std::fs::write(topdir.join(".complete"), "")?;
    }
    let runs = args.runs.max(1);
    let (mut kc, mut ki, mut bx, mut bt, mut cu) = (vec![], vec![], vec![], vec![], vec![]);
    let mut read = Vec::new();
    for _ in 0..runs {
        let (c, i, isos, r) = kiln_run(&topdir)?;
        read.push(r as f64);
        let (x, t) = bare_run(&topdir, &base.join("bare"))?;
        let u = coreutils_run(&isos)?;
        kc.push(c);
        ki.push(i);
        bx.push(x);
        bt.push(t);
        cu.push(u);
    }
    let iso_bytes: u64 = VARIANTS
        .iter()
        .map(|v| {
            std::fs::metadata(topdir.join(format!(
                "compose/{v}/x86_64/iso/Bench-1-20261121.0-{v}-x86_64-dvd1.iso"
            )))
            .map(|m| m.len())
            .unwrap_or(0)
        })
        .sum::<u64>();
    let iso_mib = iso_bytes >> 20;
    // Each image reaches kiln once through the pipe xorriso writes it to, and xorriso reads the
    // trees once; what is read beyond those is kiln reading finished images (and metadata).
    let tree_bytes: u64 = walkdir::WalkDir::new(topdir.join("compose"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().to_string_lossy().contains("/os/"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let reread =
        (median(read) - (iso_bytes + tree_bytes) as f64).max(0.0) / iso_bytes.max(1) as f64;
    let (kc, ki, bx, bt, cu) = (median(kc), median(ki), median(bx), median(bt), median(cu));
    println!(
        "media bench: {} MiB of trees in 2 variants, {iso_mib} MiB of ISOs, medians of {runs} run(s)",
        args.size_mib
    );
    println!(
        "createiso    kiln {kc:.2} s | pungi's createiso script (xorriso + implantisomd5 + \
         manifest) {bt:.2} s -> kiln/pungi {:.2}x | xorriso alone {bx:.2} s",
        kc / bt
    );
    println!(
        "checksums    kiln imagechecksum {ki:.2} s (digests handed over by createiso) | \
         sha256sum; sha1sum; md5sum {cu:.2} s"
    );
    println!(
        "whole media path: kiln {:.2} s | pungi's script + coreutils {:.2} s -> kiln/pungi {:.2}x",
        kc + ki,
        bt + cu,
        (kc + ki) / (bt + cu)
    );
    println!(
        "bytes kiln read of finished ISOs, per byte of ISO: {reread:.2} (the digest pass; the \
         implant and the manifest need none)"
    );
    Ok(())
}
