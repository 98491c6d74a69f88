//! `kiln why COMPOSE PKG`: the chain that put a package into a variant, from the reasons gather
//! recorded while it solved (no second solve); and for a package that is not there, why not.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, GatherResult, GatheredPackage, PackageSet};

use crate::InspectError;

/// What `kiln why` found for one variant and arch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The package is in a tree of the variant: each step says why the package before it is in.
    In {
        variant: String,
        arch: String,
        tree: &'static str,
        steps: Vec<String>,
    },
    /// It is not: why not.
    NotIn {
        variant: String,
        arch: String,
        because: String,
    },
}

impl Finding {
    pub fn render(&self) -> String {
        match self {
            Finding::In {
                variant,
                arch,
                tree,
                steps,
            } => {
                let mut out = format!("{variant}.{arch} ({tree}):\n");
                for s in steps {
                    let _ = writeln!(out, "  {s}");
                }
                out
            }
            Finding::NotIn {
                variant,
                arch,
                because,
            } => format!("{variant}.{arch}: not shipped: {because}\n"),
        }
    }
}

fn results(dir: &Path) -> Result<Vec<(PathBuf, GatherResult)>, InspectError> {
    let work = dir.join("work");
    let mut paths = Vec::new();
    let arches = std::fs::read_dir(&work).map_err(|source| InspectError::Read {
        path: work.clone(),
        source,
    })?;
    for a in arches.flatten() {
        let Ok(files) = std::fs::read_dir(a.path().join("gather")) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "json") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(InspectError::NotACompose {
            path: dir.to_owned(),
            why: "no gather results under work/<arch>/gather/".into(),
        });
    }
    paths
        .into_iter()
        .map(|p| {
            GatherResult::load(&p)
                .map(|r| (p.clone(), r))
                .map_err(|e| InspectError::NotACompose {
                    path: p,
                    why: e.to_string(),
                })
        })
        .collect()
}

/// `name-version-release.arch` of a gathered package, from its `name-epoch:version-release.arch`.
fn nvra(p: &GatheredPackage) -> String {
    match p.nevra.split_once(':') {
        Some((name_epoch, vra)) => match name_epoch.rsplit_once('-') {
            Some((name, _epoch)) => format!("{name}-{vra}"),
            None => p.nevra.clone(),
        },
        None => p.nevra.clone(),
    }
}

/// Whether a gathered package is `wanted` (a name, `name.arch`, NVRA or NEVRA).
fn is(p: &GatheredPackage, wanted: &str) -> bool {
    let nvra = nvra(p);
    let arch = nvra.rsplit_once('.').map_or("", |(_, a)| a);
    // The name is what is left of the NVRA without its last two `-` fields.
    let name = nvra.rsplitn(3, '-').nth(2).unwrap_or(nvra.as_str());
    names(name, arch, &nvra, &p.nevra, wanted)
}

/// Whether a package-set header is `wanted` (a name, `name.arch`, NVRA or NEVRA).
fn matches(p: &kiln_rpm::Package, wanted: &str) -> bool {
    names(&p.name, &p.arch, &p.nvra(), &p.nevra(), wanted)
}

/// Whether `wanted` is the package's name, `name.arch`, NVRA or NEVRA.
fn names(name: &str, arch: &str, nvra: &str, nevra: &str, wanted: &str) -> bool {
    name == wanted
        || wanted
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|a| a == arch)
        || nvra == wanted
        || nevra == wanted
}

/// The packages of a result, by NEVRA, with the tree each is in.
fn all(result: &GatherResult) -> Vec<(&'static str, &GatheredPackage)> {
    result
        .trees()
        .into_iter()
        .flat_map(|(kind, t)| t.packages.iter().map(move |p| (kind, p)))
        .collect()
}

fn tree_name(kind: &str) -> &'static str {
    match kind {
        "binary" => "os",
        "debug" => "debug",
        _ => "source",
    }
}

/// The steps from `start` back to an input.
fn chain(result: &GatherResult, start: &GatheredPackage) -> Vec<String> {
    let packages = all(result);
    let mut steps = Vec::new();
    let mut seen = BTreeSet::new();
    let mut at = start;
    loop {
        let name = nvra(at);
        if !seen.insert(at.nevra.clone()) {
            steps.push(format!("{name}: (the chain loops here)"));
            break;
        }
        let Some(why) = &at.why else {
            steps.push(format!(
                "{name}: no reason was recorded (a compose made before kiln recorded them)"
            ));
            break;
        };
        let by = why.by.as_deref().unwrap_or("?");
        let by_short = packages
            .iter()
            .find(|(_, p)| p.nevra == by)
            .map(|(_, p)| nvra(p))
            .unwrap_or_else(|| by.to_owned());
        let what = why.what.as_deref().unwrap_or("");
        let line = match why.kind.as_str() {
            "input" => {
                let origin = result
                    .inputs
                    .get(what)
                    .map(|o| format!(" from {o}"))
                    .unwrap_or_default();
                format!("{name}: an input (pattern {what}){origin}")
            }
            "prepopulate" => format!("{name}: gather_prepopulate lists {what}"),
            "requires" => format!("{name}: required by {by_short} ({what})"),
            "conditional" => format!("{name}: comps installs it along with {by_short}"),
            "fulltree" => format!("{name}: built from the same source as {by_short} (fulltree)"),
            "multilib" => format!("{name}: the multilib copy of {by_short}"),
            "langpack" => format!("{name}: a comps langpack of {by_short}"),
            "source" => format!("{name}: the source of {by_short}"),
            "debuginfo" => format!("{name}: the debuginfo of {by_short}"),
            other => format!("{name}: {other} {by_short} {what}"),
        };
        steps.push(line);
        if why.kind == "input" || why.kind == "prepopulate" {
            break;
        }
        match packages.iter().find(|(_, p)| p.nevra == by) {
            Some((_, p)) => at = p,
            None => {
                steps.push(format!(
                    "{by_short}: from a lookaside (another variant or repository)"
                ));
                break;
            }
        }
    }
    steps
}

/// Why `package` (a name, NVRA or NEVRA) is or is not in each variant and arch of the compose at
/// `dir` (only `variant`/`arch` when given).
pub fn why(
    dir: &Path,
    package: &str,
    variant: Option<&str>,
    arch: Option<&str>,
) -> Result<Vec<Finding>, InspectError> {
    let config = crate::diff::read_config(dir)?;
    let filters: Option<kiln_config::VariantArchMap<Vec<String>>> = config
        .get("filter_packages")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let mut out = Vec::new();
    let all_results = results(dir)?;
    let mut pkgsets: std::collections::BTreeMap<String, Option<PackageSet>> = Default::default();
    for (_, result) in &all_results {
        if variant.is_some_and(|v| v != result.variant) || arch.is_some_and(|a| a != result.arch) {
            continue;
        }
        let found: Vec<(&'static str, &GatheredPackage)> = all(result)
            .into_iter()
            .filter(|(_, p)| is(p, package))
            .collect();
        if !found.is_empty() {
            for (kind, p) in found {
                out.push(Finding::In {
                    variant: result.variant.clone(),
                    arch: result.arch.clone(),
                    tree: tree_name(kind),
                    steps: chain(result, p),
                });
            }
            continue;
        }
        let set = pkgsets.entry(result.arch.clone()).or_insert_with(|| {
            PackageSet::load(&dir.join(format!("work/global/pkgset/{}.json", result.arch))).ok()
        });
        let mut because = why_not(result, set.as_ref(), filters.as_ref(), package);
        let elsewhere: Vec<&str> = all_results
            .iter()
            .filter(|(_, r)| r.arch == result.arch && r.variant != result.variant)
            .filter(|(_, r)| all(r).iter().any(|(_, p)| is(p, package)))
            .map(|(_, r)| r.variant.as_str())
            .collect();
        if !elsewhere.is_empty() {
            because.push_str(&format!("; {} ships it", elsewhere.join(", ")));
        }
        out.push(Finding::NotIn {
            variant: result.variant.clone(),
            arch: result.arch.clone(),
            because,
        });
    }
    Ok(out)
}

fn why_not(
    result: &GatherResult,
    set: Option<&PackageSet>,
    filters: Option<&kiln_config::VariantArchMap<Vec<String>>>,
    package: &str,
) -> String {
    let name = package;
    if let Some(f) = filters {
        for pattern in f.list_for(&result.variant, &result.arch) {
            let base = pattern.split('.').next().unwrap_or(&pattern);
            if kiln_comps::fnmatch(name, &pattern) || kiln_comps::fnmatch(name, base) {
                return format!("filter_packages removes it (pattern {pattern})");
            }
        }
    }
    if let Some(l) = result.lookaside.iter().find(|n| {
        n.rsplit_once('-')
            .and_then(|(h, _)| h.rsplit_once('-'))
            .is_some_and(|(n, _)| n == name)
    }) {
        return format!("a lookaside provides it ({l}): the variant uses it, another ships it");
    }
    let Some(set) = set else {
        return "nothing in the variant requires it and no input names it (the package set \
                could not be read to say more)"
            .into();
    };
    let candidates: Vec<&kiln_rpm::Package> = set
        .packages
        .iter()
        .map(|e| &e.package)
        .filter(|p| matches(p, package))
        .collect();
    if candidates.is_empty() {
        // Another version of it? (`PKG` given as an NVRA or NEVRA.)
        let same_name: Vec<String> = set
            .packages
            .iter()
            .map(|e| &e.package)
            .filter(|p| {
                package
                    .strip_prefix(p.name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
                    && p.version.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && package[p.name.len() + 1..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
            })
            .map(|p| p.nvra())
            .collect();
        if !same_name.is_empty() {
            return format!(
                "the package set has another version ({}); it keeps the newest of each name \
                 unless pkgset_all_versions is set",
                same_name.join(", ")
            );
        }
        return format!(
            "no package of the {} package set is named {package}",
            result.arch
        );
    }
    // Every candidate is of the tree's multilib arches: only multilib rules bring those in.
    let multilib = kiln_depsolve::arch::multilib_arches(&result.arch);
    if candidates
        .iter()
        .all(|p| multilib.contains(&p.arch.as_str()))
    {
        let list: Vec<String> = candidates.iter().map(|p| p.nvra()).collect();
        return format!(
            "{} is of a multilib arch of {}: only the `multilib` methods bring such packages in, \
             and none chose it",
            list.join(", "),
            result.arch
        );
    }
    let list: Vec<String> = candidates.iter().map(|p| p.nvra()).collect();
    format!(
        "nothing in the variant requires it and no input names it (the package set has {})",
        list.join(", ")
    )
}
