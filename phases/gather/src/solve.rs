//! Choosing the packages of every variant of one arch, in pungi's order: variants, then addons
//! and layered products, then optionals; a variant named as another's lookaside
//! (`variant_as_lookaside`) before it.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use rayon::prelude::*;

use kiln_depsolve::{GatherOptions, GatherRequest, PkgSpec, PoolBuilder, RepoId, SolvId};
use kiln_variants::VariantKind;

use crate::GatherError;

/// A package of the package set: its header and the file it is read from. The package set's
/// own entries, so the phase solves over the set as it was read, without a copy.
pub type PkgRecord = kiln_artifacts::Entry;

/// `gather_method` for a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// pungi's `deps`: its DNF gather with the plan's options as they are.
    Deps,
    /// Take the inputs as they are, with their sources and debuginfo (pungi's `nodeps`).
    Nodeps,
    /// `deps` over the modular view of the package set: the variant's module builds are inputs
    /// and filter what it sees (pungi's `hybrid`; see [`crate::modules`]).
    Hybrid,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Deps => "deps",
            Method::Nodeps => "nodeps",
            Method::Hybrid => "hybrid",
        }
    }
}

/// What to gather for one variant on one arch.
#[derive(Debug, Clone)]
pub struct VariantPlan {
    pub uid: String,
    pub kind: VariantKind,
    pub parent: Option<String>,
    pub method: Method,
    /// comps group packages (mandatory, default and optional) and `additional_packages`.
    pub includes: Vec<String>,
    /// comps conditional packages: (when this is in, add that).
    pub conditional: Vec<(String, String)>,
    /// `filter_packages`.
    pub excludes: Vec<String>,
    pub options: GatherOptions,
    /// `variant_as_lookaside`: variants whose packages this one never repeats.
    pub lookaside_variants: Vec<String>,
    /// Packages of `gather_lookaside_repos`.
    pub lookaside_packages: Vec<PkgRecord>,
    /// Indices of package-set packages this variant cannot see (modular filtering).
    pub hidden: BTreeSet<usize>,
    /// Where each of `includes` comes from (`comps group core`, `additional_packages`, ...).
    pub origins: BTreeMap<String, String>,
}

/// A chosen package: index into the package set, and pungi's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    pub index: usize,
    pub flags: u16,
}

/// The choice for one variant.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub binary: Vec<Pick>,
    pub debug: Vec<Pick>,
    pub source: Vec<Pick>,
    pub lookaside: Vec<String>,
    pub unresolved: Vec<kiln_depsolve::Unresolved>,
    pub missing: Vec<String>,
    /// Why each picked package (by package-set index) is in.
    pub why: BTreeMap<usize, kiln_artifacts::Reason>,
}

impl Selection {
    fn all(&self) -> impl Iterator<Item = &Pick> {
        self.binary.iter().chain(&self.debug).chain(&self.source)
    }
}

fn rank(kind: VariantKind) -> u8 {
    match kind {
        VariantKind::Variant => 0,
        VariantKind::Addon | VariantKind::LayeredProduct => 1,
        VariantKind::Optional => 2,
    }
}

/// The order variants are gathered in; fails on a `variant_as_lookaside` cycle.
pub fn order(plans: &[VariantPlan]) -> Result<Vec<usize>, GatherError> {
    let mut idx: Vec<usize> = (0..plans.len()).collect();
    idx.sort_by_key(|&i| rank(plans[i].kind));
    let known: BTreeSet<&str> = plans.iter().map(|p| p.uid.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < plans.len() {
        let next = idx.iter().copied().find(|&i| {
            let p = &plans[i];
            !done.contains(p.uid.as_str())
                && p.lookaside_variants
                    .iter()
                    .chain(p.parent.as_ref())
                    .all(|l| !known.contains(l.as_str()) || done.contains(l.as_str()))
        });
        match next {
            Some(i) => {
                done.insert(plans[i].uid.as_str());
                out.push(i);
            }
            None => {
                let left: Vec<&str> = plans
                    .iter()
                    .map(|p| p.uid.as_str())
                    .filter(|u| !done.contains(u))
                    .collect();
                return Err(GatherError::Config(format!(
                    "variant_as_lookaside forms a cycle between {}",
                    left.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// Gathers every variant of one arch over the package set.
pub fn solve_arch(
    pkgset: &[PkgRecord],
    plans: &[VariantPlan],
) -> Result<BTreeMap<String, Selection>, GatherError> {
    // The specs carry only the files some requirement names: the pools index no others, and
    // the file lists are most of the package set.
    let paths = kiln_depsolve::required_paths(
        pkgset
            .iter()
            .chain(plans.iter().flat_map(|p| &p.lookaside_packages))
            .map(|r| &r.package),
    );
    let keep = |f: &str| paths.contains(f);
    let specs: Vec<PkgSpec> = pkgset
        .par_iter()
        .map(|r| PkgSpec::from_rpm_keeping(&r.package, &keep))
        .collect();
    let by_uid: BTreeMap<&str, &VariantPlan> = plans.iter().map(|p| (p.uid.as_str(), p)).collect();
    let mut results: BTreeMap<String, Selection> = BTreeMap::new();
    let mut shared: Option<(BTreeSet<usize>, Rc<kiln_depsolve::Pool>)> = None;
    for i in order(plans)? {
        let plan = &plans[i];
        // Variants whose packages this one must not repeat.
        let mut look_uids: Vec<&str> = plan.lookaside_variants.iter().map(String::as_str).collect();
        let mut includes = plan.includes.clone();
        let mut conditional = plan.conditional.clone();
        let mut opts = plan.options.clone();
        if let Some(parent) = plan.parent.as_deref() {
            look_uids.push(parent);
            if let Some(pp) = by_uid.get(parent) {
                includes.extend(pp.includes.iter().cloned());
                conditional.extend(pp.conditional.iter().cloned());
            }
            match plan.kind {
                VariantKind::Optional => {
                    // Optional repeats neither its parent nor the parent's addons.
                    for sib in plans.iter().filter(|p| {
                        p.parent.as_deref() == Some(parent) && p.kind == VariantKind::Addon
                    }) {
                        look_uids.push(&sib.uid);
                        includes.extend(sib.includes.iter().cloned());
                    }
                    if plan.method != Method::Nodeps {
                        opts.fulltree = true;
                        opts.selfhosting = true;
                    }
                }
                VariantKind::Addon | VariantKind::LayeredProduct => {
                    if plan.method != Method::Nodeps {
                        opts.fulltree = true;
                    }
                    if let Some(sel) = results.get(parent) {
                        for p in &sel.source {
                            opts.fulltree_excludes
                                .push(pkgset[p.index].package.name.clone());
                        }
                    }
                }
                VariantKind::Variant => {}
            }
        }
        if plan.method == Method::Nodeps {
            opts.resolve_deps = false;
            opts.fulltree = false;
            opts.selfhosting = false;
            opts.multilib.methods.clear();
            opts.langpacks.clear();
            opts.prepopulate.clear();
        }

        // Pool ids count what the variant sees; `seen[id]` is the package-set index.
        let seen: Vec<usize> = (0..specs.len())
            .filter(|i| !plan.hidden.contains(i))
            .collect();
        let lookasides: Vec<(&str, &Selection)> = look_uids
            .iter()
            .filter_map(|uid| Some((*uid, results.get(*uid)?)))
            .collect();
        let parent_nevras: BTreeSet<String> = lookasides
            .iter()
            .flat_map(|(_, sel)| sel.all())
            .map(|p| pkgset[p.index].package.nevra())
            .collect();
        // Variants that see the same packages and no lookaside share one pool: building it
        // is most of a solve.
        let plain = lookasides.is_empty() && plan.lookaside_packages.is_empty();
        let pool = match shared
            .as_ref()
            .filter(|(hidden, _)| plain && *hidden == plan.hidden)
        {
            Some((_, pool)) => Rc::clone(pool),
            None => {
                let mut b = PoolBuilder::new();
                let main = b.add_repo("pkgset", false);
                for &i in &seen {
                    b.add_ref(main, &specs[i]);
                }
                for (uid, sel) in &lookasides {
                    let repo: RepoId = b.add_repo(&format!("lookaside-{uid}"), true);
                    for p in sel.all() {
                        b.add_ref(repo, &specs[p.index]);
                    }
                }
                if !plan.lookaside_packages.is_empty() {
                    let repo = b.add_repo("gather_lookaside_repos", true);
                    for r in &plan.lookaside_packages {
                        b.add(repo, PkgSpec::from_rpm_keeping(&r.package, &keep));
                    }
                }
                let pool = Rc::new(b.build().map_err(|e| GatherError::Package(e.to_string()))?);
                if plain {
                    shared = Some((plan.hidden.clone(), Rc::clone(&pool)));
                }
                pool
            }
        };
        let request = GatherRequest {
            includes,
            excludes: plan.excludes.clone(),
            conditional,
        };
        let out = kiln_depsolve::gather(&pool, &opts, &request);
        let pick = |ids: &[SolvId]| -> Vec<Pick> {
            ids.iter()
                .filter_map(|&id| seen.get(id.index()).map(|&index| (id, index)))
                .filter(|&(_, index)| {
                    parent_nevras.is_empty()
                        || !parent_nevras.contains(&pkgset[index].package.nevra())
                })
                .map(|(id, index)| Pick {
                    index,
                    flags: out.flags.get(&id).copied().unwrap_or(0),
                })
                .collect()
        };
        let why = out
            .why
            .iter()
            .filter_map(|(&id, w)| {
                let index = *seen.get(id.index())?;
                Some((index, reason(&pool, w)))
            })
            .collect();
        let sel = Selection {
            why,
            binary: pick(&out.binary),
            debug: pick(&out.debug),
            source: pick(&out.source),
            lookaside: out.lookaside.iter().map(|&id| pool.nevra(id)).collect(),
            unresolved: out.unresolved.clone(),
            missing: out.missing.clone(),
        };
        results.insert(plan.uid.clone(), sel);
    }
    trim(pkgset, plans, &mut results);
    Ok(results)
}

/// The depsolver's reason with the packages it names spelled out.
fn reason(pool: &kiln_depsolve::pool::Pool, w: &kiln_depsolve::Why) -> kiln_artifacts::Reason {
    use kiln_depsolve::Why as W;
    let (kind, by, what) = match w {
        W::Input(p) => ("input", None, Some(p.clone())),
        W::Prepopulate(p) => ("prepopulate", None, Some(p.clone())),
        W::Requires { by, requirement } => ("requires", Some(*by), Some(requirement.clone())),
        W::Conditional { when } => ("conditional", Some(*when), None),
        W::Fulltree { sibling } => ("fulltree", Some(*sibling), None),
        W::Multilib { of } => ("multilib", Some(*of), None),
        W::Langpack { of } => ("langpack", Some(*of), None),
        W::SourceOf { binary } => ("source", Some(*binary), None),
        W::DebugOf { binary } => ("debuginfo", Some(*binary), None),
    };
    kiln_artifacts::Reason {
        kind: kind.to_owned(),
        by: by.map(|id| pool.nevra(id)),
        what,
    }
}

/// Names per list (binary, debug, source).
type Names = [BTreeSet<String>; 3];

/// pungi's `_trim_variants`, after every variant is solved:
/// - an addon's package that came in only because its source is the parent's (`fulltree_exclude`
///   and not `input`) moves to the parent: addons cannot depend on an optional variant;
/// - a layered product drops the binary packages an addon ships (it keeps their sources and
///   debuginfo, which its users may have no other way to get), then moves as addons do;
/// - an optional variant drops everything an addon or a layered product ships.
fn trim(pkgset: &[PkgRecord], plans: &[VariantPlan], results: &mut BTreeMap<String, Selection>) {
    let name = |p: &Pick| pkgset[p.index].package.name.clone();
    let mut addon_names: Names = Default::default();
    for kind in [
        VariantKind::Addon,
        VariantKind::LayeredProduct,
        VariantKind::Optional,
    ] {
        let mut kept: Names = Default::default();
        for plan in plans.iter().filter(|p| p.kind == kind) {
            let Some(parent) = plan.parent.as_deref() else {
                continue;
            };
            let Some(mut sel) = results.remove(&plan.uid) else {
                continue;
            };
            let mut moved: [Vec<Pick>; 3] = Default::default();
            for (list, picks) in [&mut sel.binary, &mut sel.debug, &mut sel.source]
                .into_iter()
                .enumerate()
            {
                picks.retain(|p| {
                    let n = name(p);
                    let removed = match kind {
                        VariantKind::LayeredProduct => list == 0 && addon_names[0].contains(&n),
                        VariantKind::Optional => addon_names[list].contains(&n),
                        _ => false,
                    };
                    if removed {
                        return false;
                    }
                    let fulltree_only = p.flags & kiln_depsolve::flags::FULLTREE_EXCLUDE != 0
                        && p.flags & kiln_depsolve::flags::INPUT == 0;
                    if kind != VariantKind::Optional && fulltree_only {
                        moved[list].push(*p);
                        return false;
                    }
                    kept[list].insert(n);
                    true
                });
            }
            if let Some(parent_sel) = results.get_mut(parent) {
                for (list, picks) in moved.into_iter().enumerate() {
                    let target = match list {
                        0 => &mut parent_sel.binary,
                        1 => &mut parent_sel.debug,
                        _ => &mut parent_sel.source,
                    };
                    if picks.is_empty() {
                        continue;
                    }
                    for p in picks {
                        if !target.iter().any(|t| t.index == p.index) {
                            target.push(p);
                        }
                        if let Some(w) = sel.why.get(&p.index) {
                            parent_sel.why.entry(p.index).or_insert_with(|| w.clone());
                        }
                    }
                    target.sort_by_cached_key(|t| pkgset[t.index].package.nevra());
                }
            }
            results.insert(plan.uid.clone(), sel);
        }
        if kind != VariantKind::Optional {
            for (all, new) in addon_names.iter_mut().zip(kept) {
                all.extend(new);
            }
        }
    }
}
