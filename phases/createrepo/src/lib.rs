//! The createrepo phase: repodata for every variant/arch `os` tree, `debug/tree` and the
//! variant's `source/tree`, written natively from the package headers the gather result
//! carries (never re-reading an RPM file).
//!
//! Inputs: `work/<arch>/gather/<V>.<arch>.json` (gather), `work/<arch>/comps/comps-<V>.<arch>.xml`
//! (init; os trees only), `work/<arch>/modules/<V>.<arch>.yaml` when present (module
//! metadata, os trees only), the `product_id` certificates. Outputs: `<repo>/repodata/`, and
//! `work/<arch>/createrepo/<V>.<arch>.<tree>.json`, the fingerprint of what went in, used to
//! copy an earlier compose's repodata (`createrepo_reuse_from`) when nothing changed.

mod options;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, GatherResult, GatheredPackage, PackageSet};
use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_modulemd::ModuleIndex;
use kiln_productmd::{ModuleEntry, ModuleMetadata, Modules};
use kiln_repodata::{ExtraFile, Location, RepoOptions};
use kiln_variants::Variant;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use kiln_media::tree_metadata;
pub use options::repo_options;

pub struct Createrepo;

/// Everything that decides a repository's bytes, stored next to the work files so a later
/// compose can tell that its repodata would come out the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub repo: PathBuf,
    pub options: String,
    /// `href checksum file_time` per package, in repository order.
    pub packages: Vec<String>,
    /// `kind name checksum` per extra document.
    pub extras: Vec<String>,
}

struct Job<'s> {
    kind: &'static str,
    variant: String,
    arch: String,
    tree: PathBuf,
    repo: PathBuf,
    /// Path in the tree and header (in the arch's package set, not a copy).
    packages: Vec<(String, &'s kiln_rpm::Package)>,
    extras: Vec<ExtraFile>,
}

fn fail(e: impl std::fmt::Display) -> PhaseError {
    PhaseError::msg(e.to_string())
}

/// `<uid>-<arch>-*.pem` from the product_id source (a folder, or a file's folder).
fn product_cert(config: &Config, v: &Variant, arch: &str) -> Result<Option<Vec<u8>>, PhaseError> {
    let Some(scm) = &config.product_id else {
        return Ok(None);
    };
    if scm.scm != "file" {
        return Err(fail(format!(
            "product_id: only scm \"file\" is supported by kiln, not {:?}",
            scm.scm
        )));
    }
    let prefix = format!("{}-{arch}-", v.uid);
    let mut found = Vec::new();
    for p in scm.file.to_vec().into_iter().chain(scm.dir.to_vec()) {
        let p = PathBuf::from(p);
        let dir = if p.is_dir() {
            p
        } else {
            p.parent().map(Path::to_owned).unwrap_or_default()
        };
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && n.ends_with(".pem") {
                found.push(e.path());
            }
        }
    }
    found.sort();
    found.dedup();
    match found.as_slice() {
        [] if config.product_id_allow_missing => Ok(None),
        [] => Err(fail(format!("product_id: no {prefix}*.pem certificate"))),
        [one] => std::fs::read(one)
            .map(Some)
            .map_err(|e| fail(format!("{}: {e}", one.display()))),
        many => Err(fail(format!(
            "product_id: several certificates for {}.{arch}: {many:?}",
            v.uid
        ))),
    }
}

impl Createrepo {
    /// `sets`: each arch's package set, which holds the headers the gather results name.
    fn jobs<'s>(
        &self,
        ctx: &PhaseContext,
        sets: &'s BTreeMap<String, std::sync::Arc<PackageSet>>,
    ) -> Result<Vec<Job<'s>>, PhaseError> {
        let topdir = ctx.compose.paths.topdir();
        let mut jobs = Vec::new();
        for v in &ctx.compose.variants.all {
            if v.is_empty {
                continue;
            }
            let mut source: BTreeMap<String, &kiln_rpm::Package> = BTreeMap::new();
            let mut source_tree: Option<(PathBuf, PathBuf)> = None;
            for arch in &v.arches {
                let path = GatherResult::path(topdir, &v.uid, arch);
                let r = GatherResult::load_shared(&path).map_err(fail)?;
                let set = sets
                    .get(arch)
                    .ok_or_else(|| fail(format!("no package set for {arch}")))?;
                let headers = set.headers();
                let resolve = |packages: &[GatheredPackage]| {
                    packages
                        .iter()
                        .map(|g| Ok((g.path.clone(), headers.of(g).map_err(fail)?)))
                        .collect::<Result<Vec<_>, PhaseError>>()
                };
                let mut os_extras = Vec::new();
                let comps = topdir
                    .join("work")
                    .join(arch)
                    .join("comps")
                    .join(format!("comps-{}.{arch}.xml", v.uid));
                if comps.exists() {
                    let data = std::fs::read(&comps)
                        .map_err(|e| fail(format!("{}: {e}", comps.display())))?;
                    let name = comps
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    os_extras.push(ExtraFile::new("group", &name, data));
                }
                let modules = topdir
                    .join("work")
                    .join(arch)
                    .join("modules")
                    .join(format!("{}.{arch}.yaml", v.uid));
                if modules.exists() {
                    let data = std::fs::read(&modules)
                        .map_err(|e| fail(format!("{}: {e}", modules.display())))?;
                    os_extras.push(ExtraFile::new("modules", "modules.yaml", data));
                }
                if let Some(cert) = product_cert(ctx.config, v, arch)? {
                    os_extras.push(ExtraFile::new("productid", "productid", cert));
                }
                for (kind, tree, extras) in
                    [("os", &r.os, os_extras), ("debug", &r.debug, Vec::new())]
                {
                    if tree.tree.as_os_str().is_empty() {
                        continue;
                    }
                    jobs.push(Job {
                        kind,
                        variant: v.uid.clone(),
                        arch: arch.clone(),
                        tree: topdir.join(&tree.tree),
                        repo: topdir.join(&tree.repo),
                        packages: resolve(&tree.packages)?,
                        extras,
                    });
                }
                if !r.source.tree.as_os_str().is_empty() {
                    source_tree.get_or_insert((r.source.tree.clone(), r.source.repo.clone()));
                    for p in &r.source.packages {
                        if !source.contains_key(&p.path) {
                            let header = headers.of(p).map_err(fail)?;
                            source.insert(p.path.clone(), header);
                        }
                    }
                }
            }
            if let Some((tree, repo)) = source_tree {
                jobs.push(Job {
                    kind: "source",
                    variant: v.uid.clone(),
                    arch: "src".into(),
                    tree: topdir.join(tree),
                    repo: topdir.join(repo),
                    packages: source.into_iter().collect(),
                    extras: Vec::new(),
                });
            }
        }
        Ok(jobs)
    }

    fn one(&self, ctx: &PhaseContext, job: &Job, opts: &RepoOptions) -> Result<(), PhaseError> {
        let topdir = ctx.compose.paths.topdir();
        // Locations are relative to the tree; an addon's repodata lives below it.
        let rel_base = pathdiff(&job.tree, &job.repo);
        let mut pkgs: Vec<(&kiln_rpm::Package, Location)> = job
            .packages
            .iter()
            .map(|(path, header)| {
                (
                    *header,
                    Location {
                        href: format!("{rel_base}{path}"),
                        base: None,
                    },
                )
            })
            .collect();
        // createrepo_c's order: by file name, whatever the folder.
        pkgs.sort_by(|(_, a), (_, b)| {
            let name = |h: &str| h.rsplit('/').next().unwrap_or(h).to_owned();
            name(&a.href)
                .cmp(&name(&b.href))
                .then_with(|| a.href.cmp(&b.href))
        });
        let fp = Fingerprint {
            repo: ctx.compose.paths.relative_to_compose(&job.repo).to_owned(),
            options: format!("{opts:?}"),
            packages: pkgs
                .iter()
                .map(|(p, l)| format!("{} {} {}", l.href, p.checksum.hex, p.file_time))
                .collect(),
            extras: job
                .extras
                .iter()
                .map(|x| {
                    format!(
                        "{} {} {}",
                        x.kind,
                        x.name,
                        kiln_rpm::checksum_bytes(opts.checksum, &x.data).hex
                    )
                })
                .collect(),
        };
        let fp_name = format!("{}.{}.{}.json", job.variant, job.arch, job.kind);
        let fp_path = topdir
            .join("work")
            .join(&job.arch)
            .join("createrepo")
            .join(&fp_name);
        let mut fp_bytes = serde_json::to_vec_pretty(&fp).map_err(fail)?;
        fp_bytes.push(b'\n');
        let repodata = job.repo.join("repodata");
        // An explicit createrepo_reuse_from wins over the compose's old compose.
        let old_top = ctx
            .config
            .createrepo_reuse_from
            .as_ref()
            .or(ctx.compose.old.as_ref());
        if let Some(old_top) = old_top
            && reuse(
                old_top, topdir, &job.arch, &fp_name, &fp_bytes, &job.repo, &repodata,
            )?
        {
            tracing::info!(
                "{}.{} {}: repodata reused from {}",
                job.variant,
                job.arch,
                job.kind,
                old_top.display()
            );
        } else {
            std::fs::create_dir_all(&job.repo)
                .map_err(|e| fail(format!("{}: {e}", job.repo.display())))?;
            kiln_repodata::write_repo(&job.repo, &pkgs, &job.extras, opts)
                .map_err(|e| fail(format!("{}.{} {}: {e}", job.variant, job.arch, job.kind)))?;
        }
        ctx.produced(&repodata);
        ctx.write(&fp_path, &fp_bytes)?;
        Ok(())
    }
}

/// `../../` from `repo` back up to `tree` (empty when they are the same folder).
fn pathdiff(tree: &Path, repo: &Path) -> String {
    match repo.strip_prefix(tree) {
        Ok(rest) => "../".repeat(rest.components().count()),
        Err(_) => String::new(),
    }
}

/// Copy the earlier compose's repodata when its fingerprint equals ours.
fn reuse(
    old_top: &Path,
    topdir: &Path,
    arch: &str,
    fp_name: &str,
    fp: &[u8],
    repo: &Path,
    repodata: &Path,
) -> Result<bool, PhaseError> {
    let old_fp = old_top
        .join("work")
        .join(arch)
        .join("createrepo")
        .join(fp_name);
    if std::fs::read(&old_fp).ok().as_deref() != Some(fp) {
        return Ok(false);
    }
    let Ok(rel) = repodata.strip_prefix(topdir) else {
        return Ok(false);
    };
    let old = old_top.join(rel);
    let Ok(rd) = std::fs::read_dir(&old) else {
        return Ok(false);
    };
    let tmp = repo.join(".repodata.kiln");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| fail(format!("{}: {e}", tmp.display())))?;
    for e in rd.flatten() {
        let to = tmp.join(e.file_name());
        if std::fs::hard_link(e.path(), &to).is_err() {
            std::fs::copy(e.path(), &to).map_err(|x| fail(format!("{}: {x}", to.display())))?;
        }
    }
    let _ = std::fs::remove_dir_all(repodata);
    std::fs::rename(&tmp, repodata).map_err(|e| fail(format!("{}: {e}", repodata.display())))?;
    Ok(true)
}

impl Createrepo {
    /// A tree is complete once its repodata exists: write its .treeinfo, .discinfo and media.repo
    /// now, so a tree is never published without them. Addons are described by their parent's
    /// tree and debug trees carry none, as in pungi.
    fn tree_complete(&self, ctx: &PhaseContext, job: &Job) -> Result<(), PhaseError> {
        let Some(variant) = ctx.compose.variants.get(&job.variant) else {
            return Ok(());
        };
        if job.kind == "debug" || variant.kind == kiln_variants::VariantKind::Addon {
            return Ok(());
        }
        for (path, bytes) in tree_metadata(ctx, variant, &job.arch)? {
            ctx.write(&path, &bytes)?;
        }
        Ok(())
    }
}

impl Phase for Createrepo {
    fn name(&self) -> &'static str {
        "createrepo"
    }
    /// The package set holds the headers the gather results point at.
    fn needs(&self) -> &'static [&'static str] {
        &["pkgset", "gather"]
    }
    /// The tree metadata written at the end lists lorax's boot images.
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "release_discinfo_description",
            "treeinfo_version",
            "createrepo_checksum",
            "createrepo_use_xz",
            "createrepo_compress_type",
            "createrepo_extra_args",
            "createrepo_num_workers",
            "createrepo_reuse_from",
            "product_id",
            "product_id_allow_missing",
        ]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let ts = u64::try_from(ctx.compose.timestamp).unwrap_or(0);
        let (opts, ignored) = repo_options(ctx.config, ts).map_err(PhaseError::msg)?;
        for a in ignored {
            tracing::warn!("createrepo_extra_args: {a} has no kiln equivalent, ignored");
        }
        // Each arch's package set, read once: the gather results point at its headers.
        let sets = PackageSet::load_all(&ctx.compose.paths, ctx.compose.variants.arches())
            .map_err(fail)?;
        let jobs = self.jobs(ctx, &sets)?;
        let bar = ctx.progress(jobs.len() as u64, "createrepo");
        // Repositories on every core, the biggest first: one repository's primary.xml is
        // compressed on one thread, so writing them one after the other left cores idle. Once
        // one fails (and may not), no other starts; the first error in the jobs' order is
        // reported, whatever finished first.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].packages.len()));
        let failed = std::sync::atomic::AtomicBool::new(false);
        let mut done: Vec<(usize, Result<(), PhaseError>)> = order
            .into_par_iter()
            .filter(|_| !failed.load(std::sync::atomic::Ordering::Relaxed))
            .map(|i| {
                let job = &jobs[i];
                let _arch = ctx.arch_span(&job.arch);
                let result = ctx.check_cancelled().and_then(|()| {
                    ctx.failable("repo", &job.variant, &job.arch, || {
                        self.one(ctx, job, &opts)?;
                        self.tree_complete(ctx, job)
                    })
                });
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                bar.inc(1);
                (i, result.map(drop))
            })
            .collect();
        bar.finish_and_clear();
        done.sort_by_key(|(i, _)| *i);
        for (_, result) in done {
            result?;
        }
        let modules = modules_manifest(ctx, &jobs)?;
        ctx.write(
            &ctx.compose.paths.metadata_dir().join("modules.json"),
            modules
                .render(&kiln_engine::compose_ref(ctx.compose))
                .as_bytes(),
        )
    }
}

/// pungi's modules.json: the module builds of every os repository written with module metadata,
/// pointing at that repository's modules file.
fn modules_manifest(ctx: &PhaseContext, jobs: &[Job]) -> Result<Modules, PhaseError> {
    let mut out = Modules::default();
    for job in jobs.iter().filter(|j| j.kind == "os") {
        let Some(extra) = job.extras.iter().find(|x| x.kind == "modules") else {
            continue;
        };
        let repomd_path = job.repo.join("repodata/repomd.xml");
        // A failable repository that failed has no repomd.xml: nothing of it is shipped.
        let Ok(file) = std::fs::File::open(&repomd_path) else {
            continue;
        };
        let repomd = kiln_repodata::repomd::RepoMd::parse(
            std::io::BufReader::new(file),
            &repomd_path.display().to_string(),
        )
        .map_err(fail)?;
        let Some(rec) = repomd.record("modules") else {
            continue;
        };
        let path = format!(
            "{}/{}",
            ctx.compose.paths.relative_to_compose(&job.repo).display(),
            rec.href
        );
        let text = String::from_utf8_lossy(&extra.data);
        let index =
            ModuleIndex::parse(&text, &format!("{}.{} modules.yaml", job.variant, job.arch))
                .map_err(fail)?;
        for s in &index.streams {
            out.add(
                &job.variant,
                &job.arch,
                "binary",
                &path,
                ModuleEntry {
                    metadata: ModuleMetadata {
                        uid: s.nsvc(),
                        name: s.name.clone(),
                        stream: s.stream.clone(),
                        version: s.version.to_string(),
                        context: s.context.clone(),
                        koji_tag: "DUMMY".into(),
                    },
                    modulemd_path: Default::default(),
                    rpms: s.artifacts.clone(),
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::pathdiff;
    use std::path::Path;

    #[test]
    fn addon_hrefs_climb_to_the_tree() {
        assert_eq!(pathdiff(Path::new("/c/os"), Path::new("/c/os")), "");
        assert_eq!(
            pathdiff(Path::new("/c/os"), Path::new("/c/os/addons/HA")),
            "../../"
        );
    }
}
