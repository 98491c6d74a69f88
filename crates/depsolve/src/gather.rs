//! pungi's DNF gather closure (`gather_dnf.Gather`): a fixpoint of passes over the provides
//! index that picks one best provider per requirement, never a SAT solve.
//!
//! Passes run in pungi's order and the loop restarts after any pass that added something:
//! conditional (comps `requires=`) packages, binary deps, source deps (selfhosting), source
//! packages, debug packages, debug deps, fulltree, multilib.

use std::collections::BTreeMap;

use crate::arch::{all_arches, is_debug_name, multilib_arches, native_arches};
use crate::intern::{FxHashMap, FxHashSet, Sym};
use crate::multilib::Multilib;
use crate::pool::{DepId, Kind, Pool, Req, ReqId, SolvId, index};
use crate::rich::Rich;
use kiln_comps::{fnmatch, is_glob};

/// `greedy_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Greedy {
    /// One best provider per requirement.
    #[default]
    None,
    /// Every provider.
    All,
    /// The best provider plus the other providers built from the same source RPM.
    Build,
}

impl Greedy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "all" => Self::All,
            "build" => Self::Build,
            _ => return None,
        })
    }
}

/// Why a package is in the result (pungi's `PkgFlag`s).
pub mod flags {
    pub const LOOKASIDE: u16 = 1;
    pub const INPUT: u16 = 2;
    pub const GREEDY_BUILD: u16 = 4;
    pub const PREPOPULATE: u16 = 8;
    pub const CONDITIONAL: u16 = 16;
    pub const SELF_HOSTING: u16 = 32;
    pub const FULLTREE: u16 = 64;
    pub const MULTILIB: u16 = 128;
    pub const LANGPACK: u16 = 256;
    pub const FULLTREE_EXCLUDE: u16 = 512;

    /// pungi's names, in its order.
    pub const NAMES: [(u16, &str); 10] = [
        (LOOKASIDE, "lookaside"),
        (INPUT, "input"),
        (GREEDY_BUILD, "greedy_build"),
        (PREPOPULATE, "prepopulate"),
        (CONDITIONAL, "conditional"),
        (SELF_HOSTING, "self_hosting"),
        (FULLTREE, "fulltree"),
        (MULTILIB, "multilib"),
        (LANGPACK, "langpack"),
        (FULLTREE_EXCLUDE, "fulltree_exclude"),
    ];

    pub fn names(bits: u16) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Options of one gather run (one variant, one arch).
#[derive(Debug, Clone, Default)]
pub struct GatherOptions {
    /// Compose arch (`x86_64`): decides native, multilib and noarch packages.
    pub arch: String,
    /// `false` = pungi's `--nodeps`: inputs only.
    pub resolve_deps: bool,
    pub fulltree: bool,
    /// Source package names for which fulltree does not apply.
    pub fulltree_excludes: Vec<String>,
    pub selfhosting: bool,
    pub greedy: Greedy,
    pub multilib: Multilib,
    pub exclude_source: bool,
    pub exclude_debug: bool,
    /// `name.arch` entries of `gather_prepopulate`.
    pub prepopulate: Vec<String>,
    /// comps `<langpacks>` matches: a package name and the langpack pattern it pulls in
    /// (`foo-langpack-%s`). Empty: no langpacks.
    pub langpacks: Vec<(String, String)>,
}

/// What to gather.
#[derive(Debug, Clone, Default)]
pub struct GatherRequest {
    /// Package patterns: names, globs, `name.arch`, `name.+` (multilib), debuginfo names.
    pub includes: Vec<String>,
    /// Exclusion patterns (`filter_packages`): globs, `name.+`, `name.src`, `name.arch`.
    pub excludes: Vec<String>,
    /// comps conditional packages: `(when this name is in, also install this name)`.
    pub conditional: Vec<(String, String)>,
}

/// Why a package is in the result: the first reason that brought it in. Packages are named by
/// their ids in the pool the result came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// An include pattern matched it.
    Input(String),
    /// A `gather_prepopulate` entry (`name.arch`).
    Prepopulate(String),
    /// `by` requires `requirement`, which it provides (for a source package `by`, a
    /// BuildRequires: selfhosting).
    Requires { by: SolvId, requirement: String },
    /// comps: when `when` is in, this comes too.
    Conditional { when: SolvId },
    /// Built from the same source as `sibling` (fulltree).
    Fulltree { sibling: SolvId },
    /// The multilib copy of `of`.
    Multilib { of: SolvId },
    /// A comps langpack of `of`.
    Langpack { of: SolvId },
    /// The source package of `binary`.
    SourceOf { binary: SolvId },
    /// The debuginfo of `binary`.
    DebugOf { binary: SolvId },
}

/// A requirement no visible package satisfies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unresolved {
    /// `name-version-release.arch` of the package that requires it.
    pub package: String,
    pub requirement: String,
}

/// The outcome of a gather run. Package lists are sorted by NEVRA and exclude lookaside
/// packages (which are resolvable but never shipped).
#[derive(Debug, Clone, Default)]
pub struct GatherOutcome {
    pub binary: Vec<SolvId>,
    pub debug: Vec<SolvId>,
    pub source: Vec<SolvId>,
    /// Packages chosen from lookaside repositories (not to be linked).
    pub lookaside: Vec<SolvId>,
    pub flags: BTreeMap<SolvId, u16>,
    /// Why each package of the lists above is there.
    pub why: BTreeMap<SolvId, Why>,
    pub unresolved: Vec<Unresolved>,
    /// Include patterns that matched nothing ("Could not find a match for ...").
    pub missing: Vec<String>,
}

struct Arches {
    /// Index in preference order for every arch the compose arch takes.
    order: FxHashMap<Sym, usize>,
    multilib: FxHashSet<Sym>,
}

/// What the closure asks about every candidate package, one byte per package: read from a
/// small array rather than the pool's large package records, whose cache misses were most of
/// the closure's time.
mod class {
    /// Of an arch the compose arch takes (and not hidden by an exclude), or a source package.
    pub const VISIBLE: u8 = 1;
    pub const BINARY: u8 = 2;
    pub const DEBUG: u8 = 4;
    pub const SOURCE: u8 = 8;
    pub const NOARCH: u8 = 16;
    /// The compose arch's own arches, or noarch.
    pub const NATIVE: u8 = 32;
    /// pungi's multilib queue: the multilib arches, or noarch.
    pub const MULTILIB: u8 = 64;
}

struct Gather<'p> {
    pool: &'p Pool,
    opts: &'p GatherOptions,
    arches: Arches,
    /// [`class`] bits of every package.
    class: Vec<u8>,
    has_lookaside: bool,
    in_binary: Vec<bool>,
    in_debug: Vec<bool>,
    in_source: Vec<bool>,
    binary: Vec<SolvId>,
    debug: Vec<SolvId>,
    source: Vec<SolvId>,
    flags: Vec<u16>,
    why: Vec<Option<Why>>,
    done_binary_deps: Vec<bool>,
    done_debug_deps: Vec<bool>,
    done_source_deps: Vec<bool>,
    done_source: Vec<bool>,
    done_debug: Vec<bool>,
    done_fulltree: Vec<bool>,
    done_multilib: Vec<bool>,
    done_conditional: Vec<bool>,
    /// How far each pass has walked its append-only list: a pass only looks at what is new,
    /// so the fixpoint costs O(packages), not O(packages × passes of the loop).
    cursors: [usize; 9],
    /// The best providers chosen for each simple requirement, binary `[0]` and debuginfo
    /// `[1]`, as ranges of `req_store` indexed by [`ReqId`] (sized on first use). One arena
    /// instead of a `Vec` per requirement: allocations were most of the closure's cost.
    req_cache: [Vec<(u32, u32)>; 2],
    req_store: Vec<SolvId>,
    /// Reused buffers: the candidates of one requirement, the deps of one package.
    cands_buf: Vec<SolvId>,
    deps_buf: Vec<SolvId>,
    /// The requirement each entry of `deps_buf` satisfies.
    deps_req_buf: Vec<ReqId>,
    /// Requirements whose meaning depends on the result (`if`/`unless`), re-checked each pass.
    pending_cond: Vec<(SolvId, ReqId, bool)>,
    conditional: FxHashMap<&'p str, Vec<&'p str>>,
    unresolved: FxHashSet<(SolvId, ReqId)>,
}

/// A requirement whose best providers are not chosen yet (see `Gather::req_cache`).
const UNCACHED: (u32, u32) = (u32::MAX, u32::MAX);

/// `pattern` without any trailing `.+` (`str::trim_end_matches` with a string pattern costs
/// a substring search).
fn strip_multilib_suffixes(mut pattern: &str) -> &str {
    while let Some(base) = pattern.strip_suffix(".+") {
        pattern = base;
    }
    pattern
}

/// Runs pungi's gather over `pool`.
pub fn gather(pool: &Pool, opts: &GatherOptions, req: &GatherRequest) -> GatherOutcome {
    let mut g = Gather::new(pool, opts);
    for (when, what) in &req.conditional {
        g.conditional
            .entry(when.as_str())
            .or_default()
            .push(what.as_str());
    }
    g.apply_excludes(&req.excludes);
    let mut missing = Vec::new();
    let (added, added_debug) = g.initial(&req.includes, &mut missing);
    for id in added {
        g.add_binary(id, flags::INPUT);
    }
    for id in added_debug {
        g.add_debug(id, flags::INPUT);
    }
    g.prepopulate();
    loop {
        if g.pass_conditional()
            || g.pass_binary_deps()
            || g.pass_source_deps()
            || g.pass_source()
            || g.pass_debug()
            || g.pass_debug_deps()
            || g.pass_fulltree()
            || g.pass_langpacks()
            || g.pass_multilib()
        {
            continue;
        }
        break;
    }
    g.finish(missing)
}

impl<'p> Gather<'p> {
    fn new(pool: &'p Pool, opts: &'p GatherOptions) -> Self {
        let n = pool.len();
        let mut order = FxHashMap::default();
        let mut native = FxHashSet::default();
        let mut multilib = FxHashSet::default();
        for (i, a) in all_arches(&opts.arch).iter().enumerate() {
            if let Some(sym) = pool.strings.get(a) {
                order.insert(sym, i);
            }
        }
        let natives: Vec<&str> = if native_arches(&opts.arch).is_empty() {
            vec![opts.arch.as_str()]
        } else {
            native_arches(&opts.arch).to_vec()
        };
        for a in natives {
            if let Some(sym) = pool.strings.get(a) {
                native.insert(sym);
            }
        }
        for a in multilib_arches(&opts.arch) {
            if let Some(sym) = pool.strings.get(a) {
                multilib.insert(sym);
            }
        }
        let noarch = pool.strings.get("noarch");
        // A package a lookaside repository holds too (same NEVRA) is taken from the lookaside:
        // pungi prefers the lookaside copy, and its test matrix expects a repo that is its own
        // lookaside to ship nothing.
        let in_lookaside: FxHashSet<(Sym, u32, Sym, Sym, Sym)> = pool
            .solvables
            .iter()
            .enumerate()
            .filter(|(i, _)| pool.is_lookaside(SolvId(index(*i))))
            .map(|(_, s)| (s.name, s.epoch, s.version, s.release, s.arch))
            .collect();
        let class = pool
            .solvables
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let shadowed = !in_lookaside.is_empty()
                    && !pool.is_lookaside(SolvId(index(i)))
                    && in_lookaside.contains(&(s.name, s.epoch, s.version, s.release, s.arch));
                let noarch = Some(s.arch) == noarch;
                let mut c = match s.kind {
                    Kind::Binary => class::BINARY,
                    Kind::Debug => class::DEBUG,
                    Kind::Source => class::SOURCE,
                };
                if !shadowed && (s.kind == Kind::Source || order.contains_key(&s.arch)) {
                    c |= class::VISIBLE;
                }
                if noarch {
                    c |= class::NOARCH;
                }
                if noarch || native.contains(&s.arch) {
                    c |= class::NATIVE;
                }
                if noarch || multilib.contains(&s.arch) {
                    c |= class::MULTILIB;
                }
                c
            })
            .collect();
        Gather {
            pool,
            opts,
            arches: Arches { order, multilib },
            class,
            has_lookaside: pool.repos.iter().any(|r| r.lookaside),
            in_binary: vec![false; n],
            in_debug: vec![false; n],
            in_source: vec![false; n],
            binary: Vec::new(),
            debug: Vec::new(),
            source: Vec::new(),
            flags: vec![0; n],
            why: vec![None; n],
            done_binary_deps: vec![false; n],
            done_debug_deps: vec![false; n],
            done_source_deps: vec![false; n],
            done_source: vec![false; n],
            done_debug: vec![false; n],
            done_fulltree: vec![false; n],
            done_multilib: vec![false; n],
            done_conditional: vec![false; n],
            cursors: [0; 9],
            req_cache: [Vec::new(), Vec::new()],
            req_store: Vec::new(),
            cands_buf: Vec::new(),
            deps_buf: Vec::new(),
            deps_req_buf: Vec::new(),
            pending_cond: Vec::new(),
            conditional: FxHashMap::default(),
            unresolved: FxHashSet::default(),
        }
    }

    fn has(&self, id: SolvId, bits: u8) -> bool {
        self.class[id.index()] & bits == bits
    }

    fn is_noarch(&self, id: SolvId) -> bool {
        self.has(id, class::NOARCH)
    }

    /// Native per pungi: the compose arch's own arches and noarch.
    fn is_native(&self, id: SolvId) -> bool {
        self.has(id, class::NATIVE)
    }

    /// pungi's multilib queue: multilib arches and noarch.
    fn is_multilib_q(&self, id: SolvId) -> bool {
        self.has(id, class::MULTILIB)
    }

    fn vis(&self, id: SolvId) -> bool {
        self.has(id, class::VISIBLE)
    }

    fn vis_kind(&self, id: SolvId, kind: Kind) -> bool {
        let k = match kind {
            Kind::Binary => class::BINARY,
            Kind::Debug => class::DEBUG,
            Kind::Source => class::SOURCE,
        };
        self.has(id, class::VISIBLE | k)
    }

    /// Records that `by` requires `dep` through the `i`th entry of the last `package_deps`.
    fn because_required(&mut self, dep: SolvId, by: SolvId, i: usize) {
        if self.why[dep.index()].is_none()
            && let Some(&r) = self.deps_req_buf.get(i)
        {
            self.why[dep.index()] = Some(Why::Requires {
                by,
                requirement: self.pool.req_str(r),
            });
        }
    }

    /// Records why `id` is in, unless something brought it in already.
    fn because(&mut self, id: SolvId, why: impl FnOnce() -> Why) {
        let slot = &mut self.why[id.index()];
        if slot.is_none() {
            *slot = Some(why());
        }
    }

    fn set_flag(&mut self, id: SolvId, f: u16) {
        self.flags[id.index()] |= f;
    }

    fn source_name(&self, id: SolvId) -> Option<&'p str> {
        let src = self.pool.sourcerpm(id)?;
        crate::pool::split_srpm(src).map(|(n, _, _)| n)
    }

    fn note_added(&mut self, id: SolvId) {
        if self.pool.is_lookaside(id) {
            self.set_flag(id, flags::LOOKASIDE);
        }
        // Parsing the source RPM name costs more than the rest of adding a package.
        if !self.opts.fulltree_excludes.is_empty()
            && let Some(n) = self.source_name(id)
            && self.opts.fulltree_excludes.iter().any(|e| e == n)
        {
            self.set_flag(id, flags::FULLTREE_EXCLUDE);
        }
    }

    fn add_binary(&mut self, id: SolvId, f: u16) -> bool {
        self.set_flag(id, f);
        if self.in_binary[id.index()] {
            return false;
        }
        self.in_binary[id.index()] = true;
        self.binary.push(id);
        self.note_added(id);
        true
    }

    fn add_debug(&mut self, id: SolvId, f: u16) -> bool {
        self.set_flag(id, f);
        if self.in_debug[id.index()] {
            return false;
        }
        self.in_debug[id.index()] = true;
        self.debug.push(id);
        self.note_added(id);
        true
    }

    /// Packages matching a name pattern among visible packages of `kind`.
    fn match_names(&self, pattern: &str, kind: Kind, out: &mut Vec<SolvId>) {
        if is_glob(pattern) {
            for (name, ids) in self.pool.names() {
                if fnmatch(name, pattern) {
                    out.extend(ids.iter().copied().filter(|&i| self.vis_kind(i, kind)));
                }
            }
        } else {
            out.extend(
                self.pool
                    .by_name(pattern)
                    .iter()
                    .copied()
                    .filter(|&i| self.vis_kind(i, kind)),
            );
        }
    }

    fn apply_excludes(&mut self, excludes: &[String]) {
        let mut hide = Vec::new();
        for pattern in excludes {
            let mut found = Vec::new();
            if let Some(base) = pattern.strip_suffix(".+") {
                self.match_names(base, Kind::Binary, &mut found);
                found.retain(|&i| {
                    !self.is_noarch(i) && self.arches.multilib.contains(&self.pool.s(i).arch)
                });
            } else if let Some(base) = pattern.strip_suffix(".src") {
                self.match_names(base, Kind::Source, &mut found);
            } else if is_debug_name(pattern) {
                self.match_names(pattern, Kind::Debug, &mut found);
            } else {
                self.match_names(pattern, Kind::Binary, &mut found);
                if found.is_empty()
                    && let Some((name, arch)) = pattern.rsplit_once('.')
                    && self.arches.order.keys().any(|a| self.pool.str(*a) == arch)
                {
                    self.match_names(name, Kind::Binary, &mut found);
                    found.retain(|&i| self.pool.arch(i) == arch);
                }
            }
            found.retain(|&i| !self.pool.is_lookaside(i));
            hide.extend(found);
        }
        let ml = &self.opts.multilib;
        if !ml.blacklist.is_empty() {
            for id in self.pool.ids() {
                let s = self.pool.s(id);
                if s.kind == Kind::Binary
                    && self.arches.multilib.contains(&s.arch)
                    && ml.blacklisted(self.pool.str(s.name))
                {
                    hide.push(id);
                }
            }
        }
        for id in hide {
            self.class[id.index()] &= !class::VISIBLE;
        }
    }

    fn initial(
        &mut self,
        includes: &[String],
        missing: &mut Vec<String>,
    ) -> (Vec<SolvId>, Vec<SolvId>) {
        let mut added = Vec::new();
        let mut added_debug = Vec::new();
        let mut found = Vec::new();
        for pattern in includes {
            found.clear();
            let mut debuginfo = false;
            if pattern == "system-release" && self.opts.greedy == Greedy::All {
                if let Some(name) = self.pool.strings.get("system-release") {
                    let deps: Vec<DepId> = self
                        .pool
                        .deps
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| d.name == name && d.op == crate::evr::Op::Any)
                        .map(|(i, _)| DepId(i as u32))
                        .collect();
                    for d in deps {
                        found.extend(
                            self.pool
                                .whatprovides(d)
                                .iter()
                                .copied()
                                .filter(|&i| self.vis_kind(i, Kind::Binary)),
                        );
                    }
                }
            } else if is_debug_name(strip_multilib_suffixes(pattern)) {
                debuginfo = true;
                if let Some(base) = pattern.strip_suffix(".+") {
                    self.match_names(base, Kind::Debug, &mut found);
                    found.retain(|&i| self.is_multilib_q(i));
                } else {
                    self.match_names(pattern, Kind::Debug, &mut found);
                }
            } else if let Some(base) = pattern.strip_suffix(".+") {
                self.match_names(base, Kind::Binary, &mut found);
                found.retain(|&i| self.is_multilib_q(i));
            } else {
                let mut by_arch = None;
                if let Some((name, arch)) = pattern.rsplit_once('.')
                    && crate::arch::all_arches(&self.opts.arch)
                        .iter()
                        .any(|a| a == arch)
                {
                    by_arch = Some((name, arch));
                }
                match by_arch {
                    Some((name, arch)) => {
                        self.match_names(name, Kind::Binary, &mut found);
                        found.retain(|&i| self.pool.arch(i) == arch);
                    }
                    None => self.match_names(pattern, Kind::Binary, &mut found),
                }
            }
            if found.is_empty() {
                missing.push(pattern.clone());
                continue;
            }
            let into = if debuginfo {
                &mut added_debug
            } else {
                &mut added
            };
            let before = into.len();
            let first = self.pool.s(found[0]).name;
            if found.iter().all(|&i| self.pool.s(i).name == first) {
                self.best_into(&found, None, debuginfo, into);
            } else {
                // A glob picks the best package of every name it matched.
                let mut by_name: BTreeMap<Sym, Vec<SolvId>> = BTreeMap::new();
                for &id in &found {
                    by_name.entry(self.pool.s(id).name).or_default().push(id);
                }
                for (_, cands) in by_name {
                    self.best_into(&cands, None, debuginfo, into);
                }
            }
            let picked: Vec<SolvId> = into[before..].to_vec();
            for id in picked {
                self.because(id, || Why::Input(pattern.clone()));
            }
        }
        (added, added_debug)
    }

    fn prepopulate(&mut self) {
        for na in &self.opts.prepopulate {
            let Some((name, arch)) = na.rsplit_once('.') else {
                continue;
            };
            let mut found = Vec::new();
            self.match_names(name, Kind::Binary, &mut found);
            found.retain(|&i| self.pool.arch(i) == arch);
            for id in self.best(&found, None, false) {
                self.because(id, || Why::Prepopulate(na.clone()));
                self.add_binary(id, flags::PREPOPULATE);
            }
        }
    }

    /// hawkey's `latest()`: the newest EVR per name and arch.
    fn latest(&self, cands: impl Iterator<Item = SolvId>) -> Vec<SolvId> {
        let cands: Vec<SolvId> = cands.collect();
        if cands.len() < 2 {
            return cands;
        }
        let mut best: FxHashMap<(Sym, Sym), Vec<SolvId>> = FxHashMap::default();
        for id in cands {
            let s = self.pool.s(id);
            let e = best.entry((s.name, s.arch)).or_default();
            match e.first().map(|&b| self.pool.cmp_evr(id, b)) {
                None | Some(std::cmp::Ordering::Equal) => e.push(id),
                Some(std::cmp::Ordering::Greater) => *e = vec![id],
                Some(std::cmp::Ordering::Less) => {}
            }
        }
        let mut out: Vec<SolvId> = best.into_values().flatten().collect();
        out.sort_unstable();
        out
    }

    /// pungi's `_get_best_package`.
    fn best(&self, cands: &[SolvId], req: Option<ReqId>, debuginfo: bool) -> Vec<SolvId> {
        let mut out = Vec::new();
        self.best_into(cands, req, debuginfo, &mut out);
        out
    }

    /// [`Gather::best`], appending to `out`.
    fn best_into(
        &self,
        cands: &[SolvId],
        req: Option<ReqId>,
        debuginfo: bool,
        out: &mut Vec<SolvId>,
    ) {
        if cands.is_empty() {
            return;
        }
        let kind = if debuginfo { Kind::Debug } else { Kind::Binary };
        // The common case, one provider: every rule below would pick it.
        if let [only] = cands
            && self.vis_kind(*only, kind)
            && (self.is_native(*only) || self.is_multilib_q(*only))
        {
            out.push(*only);
            return;
        }
        let mut list: Vec<SolvId> = cands.to_vec();
        if self.has_lookaside {
            // Only the newest EVR across all candidates, and a lookaside copy of an N-EVR hides
            // the same N-EVR from the main repos.
            let mut newest = list[0];
            for &id in &list[1..] {
                if self.pool.cmp_evr(id, newest) == std::cmp::Ordering::Greater {
                    newest = id;
                }
            }
            list.retain(|&id| self.pool.cmp_evr(id, newest) == std::cmp::Ordering::Equal);
            let in_lookaside: Vec<SolvId> = list
                .iter()
                .copied()
                .filter(|&i| self.pool.is_lookaside(i))
                .collect();
            list.retain(|&id| {
                self.pool.is_lookaside(id)
                    || !in_lookaside.iter().any(|&l| self.pool.same_nevr(l, id))
            });
        }
        let native = self.latest(
            list.iter()
                .copied()
                .filter(|&i| self.vis_kind(i, kind) && self.is_native(i)),
        );
        let multilib = self.latest(
            list.iter()
                .copied()
                .filter(|&i| self.vis_kind(i, kind) && self.is_multilib_q(i)),
        );
        if self.opts.greedy == Greedy::All {
            let mut all = native;
            all.extend(multilib);
            all.sort_unstable();
            all.dedup();
            out.extend(all);
            return;
        }
        let seen_native: Vec<SolvId> = native
            .iter()
            .copied()
            .filter(|&i| self.in_binary[i.index()])
            .collect();
        let seen_multilib: Vec<SolvId> = multilib
            .iter()
            .copied()
            .filter(|&i| self.in_binary[i.index()])
            .collect();
        let mut result = if !seen_native.is_empty() {
            seen_native
        } else if !seen_multilib.is_empty() {
            seen_multilib
        } else if !native.is_empty() {
            native.clone()
        } else {
            multilib.clone()
        };
        if result.is_empty() {
            return;
        }
        let pool = self.pool;
        result.sort_by(|&a, &b| {
            let (sa, sb) = (pool.s(a), pool.s(b));
            let oa = self
                .arches
                .order
                .get(&sa.arch)
                .copied()
                .unwrap_or(usize::MAX);
            let ob = self
                .arches
                .order
                .get(&sb.arch)
                .copied()
                .unwrap_or(usize::MAX);
            let (na, nb) = (pool.str(sa.name), pool.str(sb.name));
            oa.cmp(&ob)
                .then(na.len().cmp(&nb.len()))
                .then(na.cmp(nb))
                .then(a.cmp(&b))
        });
        let pick = result[0];
        if self.opts.greedy == Greedy::Build && req.is_some() {
            let src = pool.s(pick).sourcerpm;
            let from = if self.is_native(pick) {
                native
            } else {
                multilib
            };
            out.extend(from.into_iter().filter(|&i| pool.s(i).sourcerpm == src));
            return;
        }
        out.push(pick);
    }

    fn providers(&self, dep: DepId, kind: Kind) -> Vec<SolvId> {
        self.pool
            .whatprovides(dep)
            .iter()
            .copied()
            .filter(|&i| self.vis_kind(i, kind))
            .collect()
    }

    /// The set of packages that could meet a rich (sub)expression on their own.
    fn rich_providers(&self, r: &Rich<DepId>, kind: Kind) -> Vec<SolvId> {
        match r {
            Rich::Atom(d) => self.providers(*d, kind),
            Rich::Or(v) => {
                let mut out: Vec<SolvId> = v
                    .iter()
                    .flat_map(|x| self.rich_providers(x, kind))
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
            Rich::And(v) | Rich::With(v) => {
                let mut it = v.iter();
                let mut out = it
                    .next()
                    .map(|x| self.rich_providers(x, kind))
                    .unwrap_or_default();
                for x in it {
                    let other = self.rich_providers(x, kind);
                    out.retain(|i| other.binary_search(i).is_ok());
                }
                out
            }
            Rich::Without(a, b) => {
                let minus = self.rich_providers(b, kind);
                let mut out = self.rich_providers(a, kind);
                out.retain(|i| minus.binary_search(i).is_err());
                out
            }
            Rich::If(a, _, _) | Rich::Unless(a, _, _) => self.rich_providers(a, kind),
        }
    }

    /// Is a rich (sub)expression already met by the chosen binary packages?
    fn satisfied(&self, r: &Rich<DepId>, kind: Kind) -> bool {
        match r {
            Rich::Atom(_) | Rich::With(_) | Rich::Without(..) => self
                .rich_providers(r, kind)
                .iter()
                .any(|i| self.in_binary[i.index()]),
            Rich::And(v) => v.iter().all(|x| self.satisfied(x, kind)),
            Rich::Or(v) => v.iter().any(|x| self.satisfied(x, kind)),
            Rich::If(a, c, e) => {
                if self.satisfied(c, kind) {
                    self.satisfied(a, kind)
                } else {
                    e.as_ref().is_none_or(|e| self.satisfied(e, kind))
                }
            }
            Rich::Unless(a, c, e) => {
                if self.satisfied(c, kind) {
                    e.as_ref().is_none_or(|e| self.satisfied(e, kind))
                } else {
                    self.satisfied(a, kind)
                }
            }
        }
    }

    /// Packages to add for a rich requirement; None when it cannot be met.
    fn resolve_rich(&self, r: &Rich<DepId>, req: ReqId, kind: Kind) -> Option<Vec<SolvId>> {
        let debuginfo = kind == Kind::Debug;
        match r {
            Rich::Atom(_) | Rich::With(_) | Rich::Without(..) => {
                let c = self.rich_providers(r, kind);
                if c.is_empty() {
                    None
                } else {
                    Some(self.best(&c, Some(req), debuginfo))
                }
            }
            Rich::And(v) => {
                let mut out = Vec::new();
                for x in v {
                    out.extend(self.resolve_rich(x, req, kind)?);
                }
                Some(out)
            }
            Rich::Or(v) => {
                if v.iter().any(|x| self.satisfied(x, kind)) {
                    return Some(Vec::new());
                }
                v.iter().find_map(|x| self.resolve_rich(x, req, kind))
            }
            Rich::If(a, c, e) => {
                if self.satisfied(c, kind) {
                    self.resolve_rich(a, req, kind)
                } else {
                    e.as_ref()
                        .map_or(Some(Vec::new()), |e| self.resolve_rich(e, req, kind))
                }
            }
            Rich::Unless(a, c, e) => {
                if self.satisfied(c, kind) {
                    e.as_ref()
                        .map_or(Some(Vec::new()), |e| self.resolve_rich(e, req, kind))
                } else {
                    self.resolve_rich(a, req, kind)
                }
            }
        }
    }

    /// pungi's `_get_package_deps`: the best providers of every requirement of `id`, into
    /// `out` (cleared first).
    fn package_deps(&mut self, id: SolvId, debuginfo: bool, out: &mut Vec<SolvId>) {
        out.clear();
        self.deps_req_buf.clear();
        if self.pool.is_lookaside(id) {
            return;
        }
        let kind = if debuginfo { Kind::Debug } else { Kind::Binary };
        let cache = usize::from(debuginfo);
        if self.req_cache[cache].is_empty() {
            self.req_cache[cache] = vec![UNCACHED; self.pool.reqs.len()];
        }
        for &r in self.pool.requires(id) {
            let (start, end) = self.req_cache[cache][r.0 as usize];
            if (start, end) != UNCACHED {
                out.extend_from_slice(&self.req_store[start as usize..end as usize]);
                self.deps_req_buf.resize(out.len(), r);
                continue;
            }
            match self.pool.req(r) {
                Req::Simple(d) => {
                    // The buffers are taken out of `self` while `best_into` borrows it.
                    let mut cands = std::mem::take(&mut self.cands_buf);
                    cands.clear();
                    cands.extend(
                        self.pool
                            .whatprovides(*d)
                            .iter()
                            .copied()
                            .filter(|&i| self.vis_kind(i, kind)),
                    );
                    if cands.is_empty() {
                        self.unresolved.insert((id, r));
                    } else {
                        let mut store = std::mem::take(&mut self.req_store);
                        let start = store.len();
                        self.best_into(&cands, Some(r), debuginfo, &mut store);
                        out.extend_from_slice(&store[start..]);
                        self.deps_req_buf.resize(out.len(), r);
                        self.req_cache[cache][r.0 as usize] = (index(start), index(store.len()));
                        self.req_store = store;
                    }
                    self.cands_buf = cands;
                }
                Req::Rich(rich) => {
                    if rich.is_conditional() {
                        self.pending_cond.push((id, r, debuginfo));
                        continue;
                    }
                    match self.resolve_rich(rich, r, kind) {
                        Some(v) => {
                            out.extend(v);
                            self.deps_req_buf.resize(out.len(), r);
                        }
                        None => {
                            self.unresolved.insert((id, r));
                        }
                    }
                }
            }
        }
    }

    /// The entries of `list` (0 = binary, 1 = debug, 2 = source) pass `pass` has not seen yet.
    fn fresh(&mut self, pass: usize, list: u8) -> Vec<SolvId> {
        let v = match list {
            0 => &self.binary,
            1 => &self.debug,
            _ => &self.source,
        };
        let start = self.cursors[pass].min(v.len());
        self.cursors[pass] = v.len();
        v[start..].to_vec()
    }

    fn pass_conditional(&mut self) -> bool {
        if !self.opts.resolve_deps || self.conditional.is_empty() {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(0, 0);
        for id in snapshot {
            if std::mem::replace(&mut self.done_conditional[id.index()], true) {
                continue;
            }
            let Some(wants) = self.conditional.get(self.pool.name(id)).cloned() else {
                continue;
            };
            for want in wants {
                let mut found = Vec::new();
                self.match_names(want, Kind::Binary, &mut found);
                for dep in self.best(&found, None, false) {
                    self.because(dep, || Why::Conditional { when: id });
                    if self.add_binary(dep, 0) {
                        self.set_flag(id, flags::CONDITIONAL);
                        added = true;
                    }
                }
            }
        }
        added
    }

    fn pass_binary_deps(&mut self) -> bool {
        if !self.opts.resolve_deps {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(1, 0);
        for id in snapshot {
            if std::mem::replace(&mut self.done_binary_deps[id.index()], true) {
                continue;
            }
            let mut deps = std::mem::take(&mut self.deps_buf);
            self.package_deps(id, false, &mut deps);
            for (i, &dep) in deps.iter().enumerate() {
                self.because_required(dep, id, i);
                added |= self.add_binary(dep, 0);
            }
            self.deps_buf = deps;
        }
        added | self.recheck_conditional()
    }

    /// Re-evaluates `if`/`unless` requirements against the grown result.
    fn recheck_conditional(&mut self) -> bool {
        let mut added = false;
        let pending = self.pending_cond.clone();
        for (id, r, debuginfo) in pending {
            let kind = if debuginfo { Kind::Debug } else { Kind::Binary };
            let Req::Rich(rich) = self.pool.req(r) else {
                continue;
            };
            match self.resolve_rich(rich, r, kind) {
                Some(v) => {
                    self.unresolved.remove(&(id, r));
                    for dep in v {
                        self.because(dep, || Why::Requires {
                            by: id,
                            requirement: self.pool.req_str(r),
                        });
                        added |= if debuginfo && !self.in_binary[dep.index()] {
                            self.add_debug(dep, 0)
                        } else {
                            self.add_binary(dep, 0)
                        };
                    }
                }
                None => {
                    self.unresolved.insert((id, r));
                }
            }
        }
        added
    }

    fn pass_source_deps(&mut self) -> bool {
        if !self.opts.resolve_deps || !self.opts.selfhosting || self.opts.exclude_source {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(2, 2);
        for id in snapshot {
            if std::mem::replace(&mut self.done_source_deps[id.index()], true) {
                continue;
            }
            let mut deps = std::mem::take(&mut self.deps_buf);
            self.package_deps(id, false, &mut deps);
            for (i, &dep) in deps.iter().enumerate() {
                self.because_required(dep, id, i);
                if self.add_binary(dep, 0) {
                    added = true;
                    self.set_flag(id, flags::SELF_HOSTING);
                }
            }
            self.deps_buf = deps;
        }
        added
    }

    fn pass_source(&mut self) -> bool {
        if self.opts.exclude_source {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(3, 0);
        for id in snapshot {
            if std::mem::replace(&mut self.done_source[id.index()], true) {
                continue;
            }
            let cands: Vec<SolvId> = self
                .pool
                .source_of(id)
                .iter()
                .copied()
                .filter(|&s| self.vis(s))
                .collect();
            let Some(&first) = cands.first() else {
                continue;
            };
            let repo = self.pool.repo(id);
            let src = cands
                .iter()
                .copied()
                .find(|&s| self.pool.repo(s) == repo)
                .unwrap_or(first);
            if self.pool.is_lookaside(src) || self.pool.is_lookaside(id) {
                self.set_flag(src, flags::LOOKASIDE);
            }
            self.because(src, || Why::SourceOf { binary: id });
            if !self.in_source[src.index()] {
                self.in_source[src.index()] = true;
                self.source.push(src);
                added = true;
            }
        }
        added
    }

    fn pass_debug(&mut self) -> bool {
        if self.opts.exclude_debug {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(4, 0);
        for id in snapshot {
            if std::mem::replace(&mut self.done_debug[id.index()], true) {
                continue;
            }
            let Some(src) = self.pool.s(id).sourcerpm else {
                continue;
            };
            let native = self.is_native(id);
            let arch = self.pool.s(id).arch;
            let want = format!("{}-debuginfo", self.pool.name(id));
            let cands: Vec<SolvId> = self
                .pool
                .by_sourcerpm
                .get(src)
                .iter()
                .copied()
                .filter(|&d| self.vis_kind(d, Kind::Debug))
                .collect();
            for d in cands {
                let in_queue = if native {
                    self.is_native(d)
                } else {
                    self.is_multilib_q(d)
                };
                if !in_queue || self.pool.s(d).arch != arch {
                    continue;
                }
                let name = self.pool.name(d);
                if !name.contains("-debugsource") && name != want {
                    continue;
                }
                self.because(d, || Why::DebugOf { binary: id });
                added |= self.add_debug(d, 0);
            }
        }
        added
    }

    fn pass_debug_deps(&mut self) -> bool {
        if !self.opts.resolve_deps || self.opts.exclude_debug {
            return false;
        }
        let mut added = false;
        let snapshot = self.fresh(5, 1);
        for id in snapshot {
            if std::mem::replace(&mut self.done_debug_deps[id.index()], true) {
                continue;
            }
            let mut deps = std::mem::take(&mut self.deps_buf);
            self.package_deps(id, true, &mut deps);
            for (i, &dep) in deps.iter().enumerate() {
                if !self.in_binary[dep.index()] {
                    self.because_required(dep, id, i);
                    added |= self.add_debug(dep, 0);
                }
            }
            self.deps_buf = deps;
        }
        added
    }

    fn pass_fulltree(&mut self) -> bool {
        if !self.opts.fulltree {
            return false;
        }
        let mut added = false;
        let mut snapshot = self.fresh(6, 0);
        snapshot.sort_unstable();
        for id in snapshot {
            if self.done_fulltree[id.index()] {
                continue;
            }
            self.done_fulltree[id.index()] = true;
            if let Some(n) = self.source_name(id)
                && self.opts.fulltree_excludes.iter().any(|e| e == n)
            {
                continue;
            }
            let Some(src) = self.pool.s(id).sourcerpm else {
                continue;
            };
            let siblings: Vec<SolvId> = self
                .pool
                .by_sourcerpm
                .get(src)
                .iter()
                .copied()
                .filter(|&d| self.vis_kind(d, Kind::Binary))
                .collect();
            let native: Vec<SolvId> = siblings
                .iter()
                .copied()
                .filter(|&d| !self.is_noarch(d) && self.is_native(d))
                .collect();
            let multilib: Vec<SolvId> = siblings
                .iter()
                .copied()
                .filter(|&d| !self.is_noarch(d) && self.is_multilib_q(d))
                .collect();
            let noarch: Vec<SolvId> = siblings
                .iter()
                .copied()
                .filter(|&d| self.is_noarch(d))
                .collect();
            let pull_native = if native.is_empty() {
                false
            } else if native.iter().any(|d| self.in_binary[d.index()]) {
                true
            } else {
                !multilib.iter().any(|d| self.in_binary[d.index()])
            };
            let greedy_all = self.opts.greedy == Greedy::All;
            let mut pull = Vec::new();
            if pull_native || greedy_all {
                pull.extend(native);
            }
            if !pull_native || greedy_all {
                pull.extend(multilib);
            }
            pull.extend(noarch);
            for d in pull {
                self.because(d, || Why::Fulltree { sibling: id });
                if self.add_binary(d, 0) {
                    self.set_flag(d, flags::FULLTREE);
                    added = true;
                }
                // pungi does not run fulltree again from packages fulltree added.
                self.done_fulltree[d.index()] = true;
            }
        }
        added
    }

    /// pungi's `add_langpack_packages`: for every binary package that comps names in a
    /// langpacks match, the best package of each name its pattern matches (`%s` as `*`),
    /// never a `-devel` or `-static` one, nor `man-pages-overrides`.
    fn pass_langpacks(&mut self) -> bool {
        if self.opts.langpacks.is_empty() {
            return false;
        }
        let mut added = false;
        let mut snapshot = self.fresh(8, 0);
        snapshot.sort_unstable();
        for id in snapshot {
            let name = self.pool.name(id);
            let mut found = Vec::new();
            for (_, install) in self.opts.langpacks.iter().filter(|(n, _)| n == name) {
                self.match_names(&install.replace("%s", "*"), Kind::Binary, &mut found);
            }
            found.retain(|&d| {
                let n = self.pool.name(d);
                !n.ends_with("-devel") && !n.ends_with("-static") && n != "man-pages-overrides"
            });
            found.sort_unstable();
            found.dedup();
            let mut by_name: BTreeMap<&str, Vec<SolvId>> = BTreeMap::new();
            for d in found {
                by_name.entry(self.pool.name(d)).or_default().push(d);
            }
            for cands in by_name.into_values() {
                if let Some(&best) = self.best(&cands, None, false).first() {
                    self.because(best, || Why::Langpack { of: id });
                    self.set_flag(best, flags::LANGPACK);
                    added |= self.add_binary(best, 0);
                }
            }
        }
        added
    }

    fn pass_multilib(&mut self) -> bool {
        if !self.opts.multilib.is_enabled() {
            return false;
        }
        let mut added = false;
        let mut snapshot = self.fresh(7, 0);
        snapshot.sort_unstable();
        for id in snapshot {
            if std::mem::replace(&mut self.done_multilib[id.index()], true) {
                continue;
            }
            let s = self.pool.s(id);
            if self.is_noarch(id) || self.arches.multilib.contains(&s.arch) {
                continue;
            }
            let cands: Vec<SolvId> = self
                .pool
                .by_name
                .get(s.name)
                .iter()
                .copied()
                .filter(|&d| {
                    let x = self.pool.s(d);
                    self.vis_kind(d, Kind::Binary)
                        && self.arches.multilib.contains(&x.arch)
                        && x.version == s.version
                        && x.release == s.release
                })
                .collect();
            for d in self.best(&cands, None, false) {
                if self
                    .opts
                    .multilib
                    .reason(self.pool.name(d), self.pool.has_runtime_lib(d))
                    .is_some()
                {
                    self.set_flag(d, flags::MULTILIB);
                    self.because(d, || Why::Multilib { of: id });
                    added |= self.add_binary(d, 0);
                }
            }
        }
        added
    }

    fn finish(self, missing: Vec<String>) -> GatherOutcome {
        let pool = self.pool;
        let flags_of = |id: SolvId| self.flags[id.index()];
        let mut lookaside = Vec::new();
        let mut keep = |v: &[SolvId]| {
            let mut out: Vec<SolvId> = Vec::new();
            for &id in v {
                if flags_of(id) & flags::LOOKASIDE != 0 {
                    lookaside.push(id);
                } else {
                    out.push(id);
                }
            }
            pool.sort_by_nevra(&mut out);
            out
        };
        let binary = keep(&self.binary);
        let debug = keep(&self.debug);
        let source = keep(&self.source);
        pool.sort_by_nevra(&mut lookaside);
        // Collected, the map is sorted once and built in bulk rather than by one search per
        // insert.
        let flag_map: BTreeMap<SolvId, u16> = binary
            .iter()
            .chain(&debug)
            .chain(&source)
            .chain(&lookaside)
            .map(|&id| (id, self.flags[id.index()]))
            .collect();
        let why: BTreeMap<SolvId, Why> = flag_map
            .keys()
            .filter_map(|&id| self.why[id.index()].clone().map(|w| (id, w)))
            .collect();
        let mut unresolved: Vec<Unresolved> = self
            .unresolved
            .iter()
            .map(|&(id, r)| Unresolved {
                package: pool.nvra(id),
                requirement: pool.req_str(r),
            })
            .collect();
        unresolved.sort();
        unresolved.dedup();
        GatherOutcome {
            binary,
            debug,
            source,
            lookaside,
            flags: flag_map,
            why,
            unresolved,
            missing,
        }
    }
}
