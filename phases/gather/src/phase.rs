//! The engine's view of gather: reads the package set and the per-variant comps, solves every
//! variant of every arch, writes results, links trees, writes rpms.json.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kiln_config::Config;
use kiln_depsolve::{GatherOptions, Greedy, Multilib, MultilibMethod};
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_fs::link::LinkKind;
use kiln_modulemd::ModuleIndex;
use kiln_productmd::rpms::Rpms;
use kiln_variants::Variant;
use rayon::prelude::*;

use crate::comps::{group_inputs, read_groups};
use crate::output::{add_to_rpms, build_result, link_result};
use crate::solve::{Method, PkgRecord, VariantPlan, solve_arch};
use kiln_artifacts::{Artifact, FileStat, GatherResult, PackageSet};

/// The phase.
pub struct Gather;

/// `gather_method` of a variant.
pub fn method_for(config: &Config, variant: &str) -> Result<Method, PhaseError> {
    match config.gather_method.for_variant(variant) {
        "deps" => Ok(Method::Deps),
        "nodeps" => Ok(Method::Nodeps),
        "hybrid" => Ok(Method::Hybrid),
        other => Err(PhaseError::msg(format!(
            "unknown gather_method {other:?} for variant {variant} (deps, nodeps, hybrid)"
        ))),
    }
}

pub fn link_kind(config: &Config) -> LinkKind {
    use kiln_config::LinkType as L;
    match config.link_type {
        L::Hardlink => LinkKind::Hardlink,
        L::Copy => LinkKind::Copy,
        L::HardlinkOrCopy => LinkKind::HardlinkOrCopy,
        L::Symlink => LinkKind::Symlink,
        L::AbspathSymlink => LinkKind::AbspathSymlink,
        L::Reflink => LinkKind::Reflink,
    }
}

fn per_arch(map: &BTreeMap<String, Vec<String>>, arch: &str) -> Vec<String> {
    map.iter()
        .filter(|(k, _)| kiln_config::matches_arch(k, arch))
        .flat_map(|(_, v)| v.iter().cloned())
        .collect()
}

/// The depsolve options of a variant/arch from the config.
pub fn options_for(
    config: &Config,
    variant: &str,
    arch: &str,
) -> Result<GatherOptions, PhaseError> {
    let greedy = Greedy::parse(&config.greedy_method).ok_or_else(|| {
        PhaseError::msg(format!(
            "greedy_method {:?} is not none, all or build",
            config.greedy_method
        ))
    })?;
    let mut methods = Vec::new();
    for m in config.multilib.list_for(variant, arch) {
        methods.push(MultilibMethod::parse(&m).ok_or_else(|| {
            PhaseError::msg(format!(
                "multilib method {m:?} for {variant}.{arch} is not one of none, all, runtime, devel"
            ))
        })?);
    }
    Ok(GatherOptions {
        arch: arch.to_owned(),
        resolve_deps: true,
        fulltree: config.gather_fulltree,
        selfhosting: config.gather_selfhosting,
        greedy,
        multilib: Multilib {
            methods,
            blacklist: per_arch(&config.multilib_blacklist, arch),
            whitelist: per_arch(&config.multilib_whitelist, arch),
        },
        ..Default::default()
    })
}

/// `work/<arch>/modules/<V>.<arch>.yaml`: the module metadata createrepo puts into the
/// variant's repository.
pub fn modules_yaml_path(topdir: &Path, variant: &str, arch: &str) -> PathBuf {
    topdir
        .join("work")
        .join(arch)
        .join("modules")
        .join(format!("{variant}.{arch}.yaml"))
}

/// The `name.arch` entries init's copy of `gather_prepopulate` lists for a variant on an arch;
/// an arch the tree cannot hold is an error, as in pungi.
fn prepopulate_for(
    ctx: &PhaseContext,
    variant: &str,
    arch: &str,
) -> Result<Vec<String>, PhaseError> {
    let path = ctx.compose.paths.prepopulate_file();
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let data = kiln_config::read_prepopulate(&path).map_err(PhaseError::msg)?;
    let allowed = kiln_depsolve::arch::all_arches(arch);
    let mut out = Vec::new();
    for entry in data
        .get(variant)
        .and_then(|a| a.get(arch))
        .into_iter()
        .flat_map(|builds| builds.values().flatten())
    {
        let pkg_arch = entry.rsplit_once('.').map_or("", |(_, a)| a);
        if !allowed.iter().any(|a| a == pkg_arch) {
            return Err(PhaseError::msg(format!(
                "gather_prepopulate: {entry} ({variant}.{arch}) has arch {pkg_arch}, which a \
                 {arch} tree cannot hold"
            )));
        }
        out.push(entry.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The module defaults init copied from `module_defaults_dir`.
fn configured_module_defaults(ctx: &PhaseContext) -> Result<ModuleIndex, PhaseError> {
    let dir = ctx.compose.paths.module_defaults_dir();
    let mut index = ModuleIndex::default();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(index);
    };
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| PhaseError::with(format!("cannot read {}", f.display()), e))?;
        index.extend(
            ModuleIndex::parse(&text, &f.display().to_string())
                .map_err(|e| PhaseError::with("module_defaults_dir", e))?,
        );
    }
    Ok(index)
}

/// pungi's per-variant comps file, written by init.
pub fn variant_comps_path(topdir: &Path, variant: &str, arch: &str) -> PathBuf {
    topdir
        .join("work")
        .join(arch)
        .join("comps")
        .join(format!("comps-{variant}.{arch}.xml"))
}

/// Packages of `gather_lookaside_repos` for a variant/arch: local repositories, or http(s) ones
/// whose metadata pkgset's download cache mirrors (their packages are never fetched).
fn lookaside_packages(
    ctx: &PhaseContext,
    variant: &str,
    arch: &str,
) -> Result<Vec<PkgRecord>, PhaseError> {
    let config = ctx.config;
    let cancelled = || ctx.check_cancelled().is_err();
    let mut out = Vec::new();
    for url in config.gather_lookaside_repos.list_for(variant, arch) {
        let url = url.replace("$basearch", arch);
        let local =
            kiln_remote::local_repo(config, &ctx.compose.paths, &url, &cancelled).map_err(|e| {
                PhaseError::msg(format!(
                    "gather_lookaside_repos {url} for {variant}.{arch}: {e}"
                ))
            })?;
        let path = local.to_string_lossy();
        let path = path.as_ref();
        let reader = kiln_repodata::RepoReader::open(Path::new(path))
            .map_err(|e| PhaseError::with(format!("lookaside repository {path}"), e))?;
        for item in reader {
            let (package, _) =
                item.map_err(|e| PhaseError::with(format!("lookaside repository {path}"), e))?;
            out.push(PkgRecord {
                path: Path::new(path).join(package.file_name()),
                package,
                stat: None,
            });
        }
    }
    Ok(out)
}

/// What gather does for one variant on one arch, and the module builds it ships (indices into
/// `modules.streams`; hybrid only).
fn plan_for(
    ctx: &PhaseContext,
    v: &Variant,
    arch: &str,
    pkgset: &[PkgRecord],
    modules: &ModuleIndex,
) -> Result<(VariantPlan, Vec<usize>), PhaseError> {
    let config = ctx.config;
    let method = method_for(config, &v.uid)?;
    if !v.modules.is_empty() && method != Method::Hybrid {
        let module = config
            .gather_method
            .source_method(&v.uid, "module")
            .map(|m| format!(" (its module source is {m})"))
            .unwrap_or_default();
        return Err(PhaseError::msg(format!(
            "variant {} lists modules, so its gather_method must be hybrid{module}: kiln gathers \
             a variant in one run, not one per source",
            v.uid
        )));
    }
    let comps_path = variant_comps_path(ctx.compose.paths.topdir(), &v.uid, arch);
    let comps = if comps_path.is_file() {
        Some(
            read_groups(&comps_path, &v.uid, arch)
                .map_err(|e| PhaseError::with(format!("{}.{arch}", v.uid), e))?,
        )
    } else {
        None
    };
    let (mut includes, conditional) =
        if let Some(groups) = comps.as_ref().filter(|_| !v.groups.is_empty()) {
            let (names, cond, missing) = group_inputs(groups, &v.groups);
            for g in missing {
                tracing::warn!(
                    "{}.{arch}: group {g} is not in {}",
                    v.uid,
                    comps_path.display()
                );
            }
            (names, cond)
        } else {
            if !v.groups.is_empty() {
                tracing::warn!(
                    "{}.{arch}: no comps file at {}",
                    v.uid,
                    comps_path.display()
                );
            }
            (Vec::new(), Vec::new())
        };
    // Where each input comes from, for `kiln why`.
    let mut origins: BTreeMap<String, String> = BTreeMap::new();
    if let Some(groups) = comps.as_ref() {
        for g in &v.groups {
            let (names, _, _) = group_inputs(groups, std::slice::from_ref(g));
            for n in names {
                origins
                    .entry(n)
                    .or_insert_with(|| format!("comps group {}", g.name));
            }
        }
    }
    // pungi's json gather source.
    if let Some(path) = &config.gather_source_mapping {
        let mapping = kiln_config::read_source_mapping(path).map_err(PhaseError::msg)?;
        for (name, arches) in mapping
            .get(&v.uid)
            .and_then(|a| a.get(arch))
            .into_iter()
            .flatten()
        {
            for a in arches {
                let pattern = match a {
                    Some(a) => format!("{name}.{a}"),
                    None => name.clone(),
                };
                origins
                    .entry(pattern.clone())
                    .or_insert_with(|| "gather_source_mapping".into());
                includes.push(pattern);
            }
        }
    }
    for p in config.additional_packages.list_for(&v.uid, arch) {
        origins
            .entry(p.clone())
            .or_insert_with(|| "additional_packages".into());
        includes.push(p);
    }
    let (enabled, hidden) = if method == Method::Hybrid {
        let enabled = crate::modules::enable(modules, arch, &v.uid, &v.modules)
            .map_err(|e| PhaseError::with("gather", e))?;
        let (hidden, inputs) = crate::modules::filter(pkgset, modules, &enabled);
        let names: Vec<String> = enabled.iter().map(|&i| modules.streams[i].nsvc()).collect();
        for i in &inputs {
            origins
                .entry(i.clone())
                .or_insert_with(|| format!("module {}", names.join(", ")));
        }
        includes.extend(inputs);
        (enabled, hidden)
    } else {
        (Vec::new(), BTreeSet::new())
    };
    let lookaside_variants = config
        .variant_as_lookaside
        .iter()
        .filter(|(a, _)| a == &v.uid)
        .map(|(_, b)| b.clone())
        .collect();
    let plan = VariantPlan {
        uid: v.uid.clone(),
        kind: v.kind,
        parent: v.parent.clone(),
        method,
        includes,
        conditional,
        excludes: config.filter_packages.list_for(&v.uid, arch),
        options: GatherOptions {
            prepopulate: prepopulate_for(ctx, &v.uid, arch)?,
            // pungi's deps method always hands the variant's comps langpacks to its gather.
            langpacks: comps
                .map(|c| c.langpacks.into_iter().collect())
                .unwrap_or_default(),
            ..options_for(config, &v.uid, arch)?
        },
        lookaside_variants,
        lookaside_packages: lookaside_packages(ctx, &v.uid, arch)?,
        hidden,
        origins,
    };
    Ok((plan, enabled))
}

/// Removes package files a tree's `Packages/` holds but no result wants (a re-run with another
/// config must not keep shipping what it no longer chose). Only trees in `existed`, whose
/// `Packages/` was there before this run, can hold such files: a new compose's are not walked.
fn prune(
    topdir: &Path,
    wanted: &BTreeMap<PathBuf, HashSet<PathBuf>>,
    existed: &HashSet<PathBuf>,
) -> Result<(), PhaseError> {
    for (tree, files) in wanted {
        let dir = topdir.join(tree).join("Packages");
        if !existed.contains(&dir) {
            continue;
        }
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                let ft = e.file_type()?;
                if ft.is_dir() {
                    stack.push(p);
                } else if !files.contains(&p) {
                    std::fs::remove_file(&p)?;
                }
            }
        }
    }
    Ok(())
}

/// Each variant's result on `arch`, and the key saying what they are made of: the old
/// compose's results when its key is the same (see `reuse`), else solved now.
fn arch_results(
    ctx: &PhaseContext,
    arch: &str,
    pkgset: &[PkgRecord],
    variants: &[&Variant],
    plans: &[VariantPlan],
) -> Result<(BTreeMap<String, GatherResult>, Vec<u8>), PhaseError> {
    let compose = ctx.compose;
    let key = crate::reuse::key(
        ctx,
        &kiln_artifacts::PackageSet::path(&compose.paths, arch),
        variants,
        plans,
    )?;
    if let Some((old, results)) = crate::reuse::old_results(ctx, arch, &key, variants) {
        tracing::info!(
            "{arch}: the package set and the variants' inputs are those of {}: its gather \
             results are reused",
            old.display()
        );
        return Ok((results, key));
    }
    let selections =
        solve_arch(pkgset, plans).map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    let results = variants
        .par_iter()
        .zip(plans)
        .filter_map(|(v, plan)| {
            let sel = selections.get(&v.uid)?;
            let mut result = build_result(
                &compose.paths,
                v,
                arch,
                plan.method,
                sel,
                pkgset,
                ctx.config.hashed_directories,
            );
            result.inputs = plan.origins.clone();
            for p in &plan.options.prepopulate {
                result
                    .inputs
                    .entry(p.clone())
                    .or_insert_with(|| "gather_prepopulate".into());
            }
            Some((v.uid.clone(), result))
        })
        .collect();
    Ok((results, key))
}

/// A variant's result on an arch, to be written and linked.
struct Made {
    /// Its file, `work/<arch>/gather/<V>.<arch>.json`.
    path: PathBuf,
    /// `<V>.<arch>`, for messages.
    label: String,
    result: GatherResult,
}

/// rpms.json of every result, from the headers of its arch's package set.
fn rpms_of(made: &[Made], sets: &BTreeMap<String, Arc<PackageSet>>) -> Result<Rpms, PhaseError> {
    let mut rpms = Rpms::default();
    for (arch, set) in sets {
        let headers: HashMap<&Path, &kiln_rpm::Package> = set
            .packages
            .iter()
            .map(|r| (r.path.as_path(), &r.package))
            .collect();
        for m in made.iter().filter(|m| &m.result.arch == arch) {
            add_to_rpms(&mut rpms, &m.result, &headers)
                .map_err(|e| PhaseError::with(format!("gather {}", m.label), e))?;
        }
    }
    Ok(rpms)
}

/// Links every result's packages into its trees and records them; `wanted` learns each tree's
/// files.
fn link_all(
    ctx: &PhaseContext,
    made: &[Made],
    sets: &BTreeMap<String, Arc<PackageSet>>,
    kind: LinkKind,
    wanted: &mut BTreeMap<PathBuf, HashSet<PathBuf>>,
) -> Result<(), PhaseError> {
    let topdir = ctx.compose.paths.topdir();
    // What pkgset's stat of each package said, when it shared its set with this process.
    let stats: HashMap<&Path, FileStat> = sets
        .values()
        .flat_map(|set| &set.packages)
        .filter_map(|e| Some((e.path.as_path(), e.stat?)))
        .collect();
    for m in made {
        let linked = link_result(topdir, &m.result, kind)
            .map_err(|e| PhaseError::with(format!("linking {}", m.label), e))?;
        for l in linked {
            // The packages' sha256 came from their one header read: record them with it rather
            // than have the engine read every package again; a new hard link has the stat
            // pkgset took of its source, so not even a stat.
            match l.package.checksum.strip_prefix("sha256:") {
                Some(hex) => match stats.get(l.package.source.as_path()).filter(|_| l.fresh) {
                    Some(s) => ctx.produced_hard_link(&l.path, hex, s.size, s.mtime_ns),
                    None => ctx.produced_with_sha256(&l.path, hex),
                },
                None => ctx.produced(&l.path),
            }
            if let Some(set) = wanted.get_mut(l.tree) {
                set.insert(l.path);
            }
        }
    }
    Ok(())
}

impl Phase for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["pkgset", "init"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "gather_method",
            "gather_prepopulate",
            "gather_source_mapping",
            "gather_fulltree",
            "gather_selfhosting",
            "greedy_method",
            "multilib",
            "multilib_whitelist",
            "multilib_blacklist",
            "filter_packages",
            "additional_packages",
            "gather_lookaside_repos",
            "variant_as_lookaside",
            "check_deps",
            "link_type",
            "hashed_directories",
        ]
    }
    /// createrepo and repoclosure have read the results gather shared with them.
    fn dependents_done(&self) {
        GatherResult::release_shared();
    }

    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let compose = ctx.compose;
        let topdir = compose.paths.topdir();
        let mut failures = Vec::new();
        // Asked only whether they hold a path: hashed, not ordered (ordering paths compares them
        // component by component, a tenth of a re-compose's CPU when these were B-trees).
        let mut wanted: BTreeMap<PathBuf, HashSet<PathBuf>> = BTreeMap::new();
        let mut existed: HashSet<PathBuf> = HashSet::new();
        let kind = link_kind(ctx.config);
        let mut made: Vec<Made> = Vec::new();
        let mut keys: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut sets: BTreeMap<String, Arc<PackageSet>> = BTreeMap::new();
        for arch in compose.variants.arches() {
            let _arch = ctx.arch_span(&arch);
            ctx.check_cancelled()?;
            let variants: Vec<&Variant> = compose
                .variants
                .all
                .iter()
                .filter(|v| !v.is_empty && v.arches.contains(&arch))
                .collect();
            if variants.is_empty() {
                continue;
            }
            let (set, modules) = crate::pkgset::load(ctx, &arch)?;
            let pkgset: &[PkgRecord] = &set.packages;
            let (plans, enabled): (Vec<VariantPlan>, Vec<Vec<usize>>) = variants
                .iter()
                .map(|v| plan_for(ctx, v, &arch, pkgset, &modules))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .unzip();
            let module_defaults = configured_module_defaults(ctx)?;
            for (v, enabled) in variants.iter().zip(&enabled) {
                let path = modules_yaml_path(topdir, &v.uid, &arch);
                if enabled.is_empty() {
                    // A re-run whose variant no longer ships modules must not keep the old file.
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                for &i in enabled {
                    tracing::info!("{}.{arch}: module {}", v.uid, modules.streams[i].nsvc());
                }
                let text = crate::modules::yaml(&modules, enabled, &module_defaults);
                ctx.write(&path, text.as_bytes())?;
            }
            let (mut results, key) = arch_results(ctx, &arch, pkgset, &variants, &plans)?;
            for v in &variants {
                let Some(result) = results.remove(&v.uid) else {
                    continue;
                };
                tracing::info!(
                    "{}.{arch} ({}): {} binary, {} debug, {} source packages; {} from lookasides",
                    v.uid,
                    result.method,
                    result.os.packages.len(),
                    result.debug.packages.len(),
                    result.source.packages.len(),
                    result.lookaside.len()
                );
                for m in &result.missing {
                    tracing::warn!("{}.{arch}: could not find a match for {m}", v.uid);
                }
                for u in &result.unresolved {
                    tracing::warn!(
                        "{}.{arch}: unresolvable dependency {} in {}",
                        v.uid,
                        u.requirement,
                        u.package
                    );
                }
                if ctx.config.check_deps && !result.unresolved.is_empty() {
                    failures.push(format!(
                        "{}.{arch}: {} unresolved dependencies (check_deps is on):\n  {}",
                        v.uid,
                        result.unresolved.len(),
                        result
                            .unresolved
                            .iter()
                            .map(|u| format!("{} requires {}", u.package, u.requirement))
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ));
                }
                for (_, t) in result.trees() {
                    // Every tree, even one left empty, is pruned of what it no longer ships.
                    wanted.entry(t.tree.clone()).or_default();
                    let dir = topdir.join(&t.tree).join("Packages");
                    if dir.exists() {
                        existed.insert(dir);
                    }
                }
                made.push(Made {
                    path: GatherResult::path(topdir, &v.uid, &arch),
                    label: format!("{}.{arch}", v.uid),
                    result,
                });
            }
            keys.push((crate::reuse::key_path(topdir, &arch), key));
            sets.insert(arch.clone(), set);
        }
        // Linking is the kernel's work on every core; the result files and rpms.json are
        // encoded meanwhile.
        let (linked, written) = rayon::join(
            || -> Result<(), PhaseError> {
                link_all(ctx, &made, &sets, kind, &mut wanted)?;
                prune(topdir, &wanted, &existed)
            },
            || -> Result<(), PhaseError> {
                for m in &made {
                    let json = m
                        .result
                        .encode_for(ctx.phase())
                        .map_err(|e| PhaseError::with("gather result", e))?;
                    ctx.write(&m.path, &json)?;
                }
                let rpms = rpms_of(&made, &sets)?;
                ctx.write(
                    &compose.paths.metadata_dir().join("rpms.json"),
                    rpms.render(&kiln_engine::compose_ref(compose)).as_bytes(),
                )
            },
        );
        linked?;
        written?;
        for m in made {
            // createrepo and repoclosure, later in this process, read it without parsing.
            GatherResult::share(&m.path, m.result);
        }
        for (path, key) in keys {
            ctx.write(&path, &key)?;
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PhaseError::msg(failures.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run killed while linking leaves files no record names; the next run in the same
    /// compose removes the ones it does not want, and leaves trees it has just made alone.
    #[test]
    fn prune_removes_unwanted_files_of_trees_that_were_there() {
        let top = tempfile::tempdir().expect("tempdir");
        let tree = PathBuf::from("compose/A/x86_64/os");
        let packages = top.path().join(&tree).join("Packages/a");
        std::fs::create_dir_all(&packages).expect("mkdir");
        let keep = packages.join("a-1-1.x86_64.rpm");
        let stale = packages.join("a-old-1-1.x86_64.rpm");
        for f in [&keep, &stale] {
            std::fs::write(f, b"rpm").expect("write");
        }
        let wanted = BTreeMap::from([(tree.clone(), HashSet::from([keep.clone()]))]);
        prune(top.path(), &wanted, &HashSet::new()).expect("prune");
        assert!(stale.exists(), "a tree this run made is not walked");
        let existed = HashSet::from([top.path().join(&tree).join("Packages")]);
        prune(top.path(), &wanted, &existed).expect("prune");
        assert!(keep.exists());
        assert!(!stale.exists(), "the unwanted file of an older run stays");
    }
}
