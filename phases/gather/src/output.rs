//! From a selection to files: the result JSON, the links in the trees, rpms.json.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use kiln_compose::Paths;
use kiln_depsolve::flags;
use kiln_fs::link::{LinkKind, link_into};
use kiln_productmd::rpms::{RpmCategory, RpmEntry, Rpms, srpm_nevra};
use kiln_variants::Variant;
use rayon::prelude::*;

use crate::GatherError;
use crate::solve::{Method, Pick, PkgRecord, Selection};
use kiln_artifacts::{GatherResult, GatheredPackage, Tree, UnresolvedDep};

fn rel(topdir: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(topdir).unwrap_or(p).to_owned()
}

fn tree(
    topdir: &Path,
    dir: PathBuf,
    repo: PathBuf,
    picks: &[Pick],
    why: &std::collections::BTreeMap<usize, kiln_artifacts::Reason>,
    pkgset: &[PkgRecord],
    hashed: bool,
) -> Tree {
    let mut packages: Vec<GatheredPackage> = picks
        .par_iter()
        .map(|p| {
            let r = &pkgset[p.index];
            let file = r.package.file_name();
            let dir = Paths::packages_dir(Path::new(""), &r.package.name, hashed);
            let path = dir.join(file).to_string_lossy().replace('\\', "/");
            GatheredPackage {
                path,
                source: r.path.clone(),
                nevra: r.package.nevra(),
                checksum: kiln_artifacts::checksum_of(&r.package),
                flags: flags::names(p.flags)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                why: why.get(&p.index).cloned(),
            }
        })
        .collect();
    packages.sort_by(|a, b| a.path.cmp(&b.path));
    packages.dedup_by(|a, b| a.path == b.path);
    Tree {
        tree: rel(topdir, &dir),
        repo: rel(topdir, &repo),
        packages,
    }
}

/// The result record of one variant and arch.
pub fn build_result(
    paths: &Paths,
    variant: &Variant,
    arch: &str,
    method: Method,
    sel: &Selection,
    pkgset: &[PkgRecord],
    hashed: bool,
) -> GatherResult {
    let top = paths.topdir();
    let os = paths.os_tree(variant, arch);
    let debug = paths.debug_tree(variant, arch);
    let source = paths.source_tree(variant);
    GatherResult {
        artifact: Default::default(),
        variant: variant.uid.clone(),
        arch: arch.to_owned(),
        method: method.as_str().to_owned(),
        os: tree(
            top,
            os,
            paths.os_repo(variant, arch),
            &sel.binary,
            &sel.why,
            pkgset,
            hashed,
        ),
        debug: tree(
            top,
            debug.clone(),
            debug,
            &sel.debug,
            &sel.why,
            pkgset,
            hashed,
        ),
        source: tree(
            top,
            source.clone(),
            source,
            &sel.source,
            &sel.why,
            pkgset,
            hashed,
        ),
        lookaside: sel.lookaside.clone(),
        unresolved: sel
            .unresolved
            .iter()
            .map(|u| UnresolvedDep {
                package: u.package.clone(),
                requirement: u.requirement.clone(),
            })
            .collect(),
        missing: sel.missing.clone(),
        inputs: Default::default(),
    }
}

/// A package linked into its tree.
pub struct Linked<'r> {
    /// The tree, relative to the compose's topdir.
    pub tree: &'r Path,
    /// Where the link is.
    pub path: PathBuf,
    pub package: &'r GatheredPackage,
    /// A new hard link made here: the source's own inode.
    pub fresh: bool,
}

/// Links every package of a result into its tree, in the result's order.
pub fn link_result<'r>(
    topdir: &Path,
    result: &'r GatherResult,
    kind: LinkKind,
) -> Result<Vec<Linked<'r>>, GatherError> {
    let mut jobs: Vec<Linked<'r>> = result
        .trees()
        .into_iter()
        .flat_map(|(_, t)| {
            let dir = topdir.join(&t.tree);
            t.packages.iter().map(move |p| Linked {
                tree: &t.tree,
                path: dir.join(&p.path),
                package: p,
                fresh: false,
            })
        })
        .collect();
    // A link's cost is the kernel's: a directory update, which two threads in one directory take
    // turns on. So the cores share the directories, each linked by one thread.
    let mut by_dir: BTreeMap<&Path, Vec<usize>> = BTreeMap::new();
    for (i, j) in jobs.iter().enumerate() {
        by_dir
            .entry(j.path.parent().unwrap_or(Path::new(".")))
            .or_default()
            .push(i);
    }
    let mut by_dir: Vec<_> = by_dir.into_iter().collect();
    by_dir.sort_by_key(|(_, jobs)| std::cmp::Reverse(jobs.len()));
    let fresh: Vec<Vec<(usize, bool)>> = by_dir
        .par_iter()
        .with_max_len(1)
        .map(|(dir, indices)| {
            let entries: Vec<(&Path, &OsStr)> = indices
                .iter()
                .map(|&i| {
                    let j = &jobs[i];
                    (
                        j.package.source.as_path(),
                        j.path.file_name().unwrap_or_default(),
                    )
                })
                .collect();
            let fresh = link_into(dir, &entries, kind).map_err(GatherError::Link)?;
            Ok(indices.iter().copied().zip(fresh).collect())
        })
        .collect::<Result<_, GatherError>>()?;
    for (i, f) in fresh.into_iter().flatten() {
        jobs[i].fresh = f;
    }
    Ok(jobs)
}

/// Adds a result's packages to rpms.json; paths are relative to `compose/`. `headers` are the
/// package set's by file, which the result was built from.
pub fn add_to_rpms(
    rpms: &mut Rpms,
    result: &GatherResult,
    headers: &HashMap<&Path, &kiln_rpm::Package>,
) -> Result<(), GatherError> {
    let by_srpm = rpms.arch_mut(&result.variant, &result.arch);
    for (cat, t) in result.trees() {
        let category = match cat {
            "binary" => RpmCategory::Binary,
            "debug" => RpmCategory::Debug,
            _ => RpmCategory::Source,
        };
        let tree = t.tree.strip_prefix("compose").unwrap_or(&t.tree);
        let tree = tree.to_string_lossy().replace('\\', "/");
        for p in &t.packages {
            let pkg = headers.get(p.source.as_path()).ok_or_else(|| {
                GatherError::Package(format!("{} is not in the package set", p.nevra))
            })?;
            let srpm = match (&pkg.sourcerpm, category) {
                (_, RpmCategory::Source) | (None, _) => p.nevra.clone(),
                (Some(s), _) => srpm_nevra(s, pkg.epoch).unwrap_or_else(|| p.nevra.clone()),
            };
            let path = if tree.is_empty() {
                p.path.clone()
            } else {
                format!("{tree}/{}", p.path)
            };
            by_srpm.entry(srpm).or_default().insert(
                p.nevra.clone(),
                RpmEntry {
                    category,
                    path,
                    sigkey: pkg.sigkey.clone(),
                },
            );
        }
    }
    Ok(())
}
