//! The provides index: every package of every repository, interned, with lookups from a
//! dependency to the packages that satisfy it.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::arch::{is_debug_name, is_source_arch};
use crate::evr::{Evr, Op, compare_dep_evr, compare_pkg_evr, ranges_overlap};
use crate::intern::{FxHashMap, FxHashSet, Interner, Sym};
use crate::rich::{Atom, Rich, is_rich, parse_rich};

/// A package's index in the pool, equal to the order it was added in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SolvId(pub u32);

impl SolvId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An interned simple dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DepId(pub(crate) u32);

/// An interned requirement (simple or rich).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub(crate) u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(pub u32);

/// What a package is for gathering purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Binary,
    Debug,
    Source,
}

/// One package as the index needs it; build it from a `kiln_rpm::Package` with
/// [`PkgSpec::from_rpm`] or by hand in tests.
#[derive(Debug, Clone, Default)]
pub struct PkgSpec {
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    pub arch: String,
    /// File name of the source package (`foo-1.0-1.src.rpm`); None for source packages.
    pub sourcerpm: Option<String>,
    pub provides: Vec<Atom>,
    pub requires: Vec<Atom>,
    pub conflicts: Vec<Atom>,
    pub obsoletes: Vec<Atom>,
    /// Every file the package owns (only those some requirement names get indexed).
    pub files: Vec<String>,
}

impl PkgSpec {
    /// A package with its self-provide, no deps.
    pub fn new(name: &str, evr: &str, arch: &str) -> Self {
        let e = Evr::parse(evr);
        PkgSpec {
            name: name.to_owned(),
            epoch: e.epoch.unwrap_or(0),
            version: e.version,
            release: e.release.unwrap_or_default(),
            arch: arch.to_owned(),
            ..Default::default()
        }
    }

    pub fn nevra(&self) -> String {
        format!(
            "{}-{}:{}-{}.{}",
            self.name, self.epoch, self.version, self.release, self.arch
        )
    }
}

/// Parses `name`, `name >= evr` or a rich `(...)` written as text (tests, CLI, comps).
pub fn atom(text: &str) -> Atom {
    let mut parts = text.split_whitespace();
    let name = parts.next().unwrap_or_default().to_owned();
    match (parts.next().and_then(Op::parse), parts.next()) {
        (Some(op), Some(evr)) if !is_rich(&name) => Atom {
            name,
            op,
            evr: Some(Evr::parse(evr)),
        },
        _ => Atom {
            name: if is_rich(text.trim()) {
                text.trim().to_owned()
            } else {
                name
            },
            op: Op::Any,
            evr: None,
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IDep {
    pub name: Sym,
    pub op: Op,
    pub epoch: Option<u32>,
    pub version: Option<Sym>,
    pub release: Option<Sym>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Req {
    Simple(DepId),
    Rich(Rich<DepId>),
}

#[derive(Debug)]
pub(crate) struct Solvable {
    pub name: Sym,
    pub epoch: u32,
    pub version: Sym,
    pub release: Sym,
    pub arch: Sym,
    pub repo: RepoId,
    pub kind: Kind,
    pub sourcerpm: Option<Sym>,
    /// This package's range of [`Pool::requires`].
    pub requires: (u32, u32),
    pub obsoletes: Box<[DepId]>,
    pub conflicts: Box<[DepId]>,
    pub runtime_lib: bool,
}

/// A repository of the pool; lookaside repositories resolve dependencies but never ship.
#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub lookaside: bool,
}

/// A bad dependency string in a package header.
#[derive(Debug, thiserror::Error)]
#[error("{package}: {source}")]
pub struct PoolError {
    pub package: String,
    #[source]
    pub source: crate::rich::RichError,
}

/// Collects packages, then [`PoolBuilder::build`] interns and indexes them.
///
/// Packages are held borrowed or owned: a compose solving several variants over one package set
/// builds one pool per variant from the same specs, whose file lists are larger than the rest.
#[derive(Default)]
pub struct PoolBuilder<'a> {
    repos: Vec<Repo>,
    pkgs: Vec<(Cow<'a, PkgSpec>, RepoId)>,
}

impl<'a> PoolBuilder<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_repo(&mut self, name: &str, lookaside: bool) -> RepoId {
        self.repos.push(Repo {
            name: name.to_owned(),
            lookaside,
        });
        RepoId(u32::try_from(self.repos.len() - 1).unwrap_or(u32::MAX))
    }

    /// Adds a package; its [`SolvId`] is the number of packages added before it.
    pub fn add(&mut self, repo: RepoId, spec: PkgSpec) -> SolvId {
        self.push(repo, Cow::Owned(spec))
    }

    /// [`PoolBuilder::add`] without a copy of the spec.
    pub fn add_ref(&mut self, repo: RepoId, spec: &'a PkgSpec) -> SolvId {
        self.push(repo, Cow::Borrowed(spec))
    }

    fn push(&mut self, repo: RepoId, spec: Cow<'a, PkgSpec>) -> SolvId {
        self.pkgs.push((spec, repo));
        SolvId(u32::try_from(self.pkgs.len() - 1).unwrap_or(u32::MAX))
    }

    pub fn len(&self) -> usize {
        self.pkgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pkgs.is_empty()
    }

    /// Interns and indexes everything. Fails on a rich dependency that does not parse.
    pub fn build(self) -> Result<Pool, PoolError> {
        let mut pool = Pool {
            strings: Interner::default(),
            repos: self.repos,
            solvables: Vec::with_capacity(self.pkgs.len()),
            deps: Vec::new(),
            dep_map: FxHashMap::default(),
            reqs: Vec::new(),
            req_map: FxHashMap::default(),
            requires: Vec::new(),
            provides: SymIndex::default(),
            file_owners: SymIndex::default(),
            providers: SymIndex::default(),
            by_name: SymIndex::default(),
            by_sourcerpm: SymIndex::default(),
            src_by_nvr: FxHashMap::default(),
            whatprovides_cache: Vec::new(),
            nevra_keys: Vec::with_capacity(self.pkgs.len()),
            empty: Sym(0),
        };
        // (key, value) pairs in package order, grouped into the indexes at the end.
        let mut provides: Vec<(Sym, (SolvId, DepId))> = Vec::new();
        let mut file_owners: Vec<(Sym, SolvId)> = Vec::new();
        let mut providers: Vec<(Sym, SolvId)> = Vec::new();
        let mut by_name: Vec<(Sym, SolvId)> = Vec::with_capacity(self.pkgs.len());
        let mut by_sourcerpm: Vec<(Sym, SolvId)> = Vec::with_capacity(self.pkgs.len());
        pool.empty = pool.strings.intern("");
        // Only paths that some dependency names are indexed (libsolv's addfileprovides): the
        // file lists are far larger than everything else put together.
        let mut wanted_files: FxHashSet<String> = FxHashSet::default();
        let mut parsed: Vec<Vec<Req>> = Vec::with_capacity(self.pkgs.len());
        for (spec, _) in &self.pkgs {
            let mut reqs = Vec::with_capacity(spec.requires.len());
            for a in &spec.requires {
                if a.name.starts_with("rpmlib(") {
                    continue;
                }
                if is_rich(&a.name) {
                    let rich = parse_rich(&a.name).map_err(|source| PoolError {
                        package: spec.nevra(),
                        source,
                    })?;
                    let mut atoms = Vec::new();
                    rich.atoms(&mut atoms);
                    for at in atoms {
                        if at.name.starts_with('/') {
                            wanted_files.insert(at.name.clone());
                        }
                    }
                    let r = rich.map(&mut |a| pool.intern_dep(&a));
                    reqs.push(Req::Rich(r));
                } else {
                    if a.name.starts_with('/') {
                        wanted_files.insert(a.name.clone());
                    }
                    reqs.push(Req::Simple(pool.intern_dep(a)));
                }
            }
            parsed.push(reqs);
        }

        for (idx, ((spec, repo), reqs)) in self.pkgs.into_iter().zip(parsed).enumerate() {
            let id = SolvId(u32::try_from(idx).unwrap_or(u32::MAX));
            let name = pool.strings.intern(&spec.name);
            let version = pool.strings.intern(&spec.version);
            let release = pool.strings.intern(&spec.release);
            let arch = pool.strings.intern(&spec.arch);
            let kind = if is_source_arch(&spec.arch) {
                Kind::Source
            } else if is_debug_name(&spec.name) {
                Kind::Debug
            } else {
                Kind::Binary
            };
            let sourcerpm = spec
                .sourcerpm
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| pool.strings.intern(s));
            // The implicit `name = epoch:version-release` provide rpm always adds.
            let self_dep = pool.intern_idep(IDep {
                name,
                op: Op::Eq,
                epoch: Some(spec.epoch),
                version: Some(version),
                release: Some(release),
            });
            let mut provs = vec![self_dep];
            for p in &spec.provides {
                let d = pool.intern_dep(p);
                if !provs.contains(&d) {
                    provs.push(d);
                }
            }
            // Source packages are never installed, so they satisfy nothing (libsolv agrees).
            if kind == Kind::Source {
                provs.clear();
            }
            // This package's entries are the tail of `providers` from here: a name it provides
            // twice (two versions, or a provide that is also one of its paths) enters once.
            let own = providers.len();
            let add_provider = |providers: &mut Vec<(Sym, SolvId)>, name: Sym| {
                if !providers[own..].iter().any(|&(n, _)| n == name) {
                    providers.push((name, id));
                }
            };
            for d in provs {
                let pname = pool.deps[d.0 as usize].name;
                provides.push((pname, (id, d)));
                add_provider(&mut providers, pname);
            }
            let own_files = file_owners.len();
            for f in spec.files.iter().filter(|_| kind != Kind::Source) {
                if wanted_files.contains(f.as_str()) {
                    let fs = pool.strings.intern(f);
                    if !file_owners[own_files..].iter().any(|&(n, _)| n == fs) {
                        file_owners.push((fs, id));
                    }
                    add_provider(&mut providers, fs);
                }
            }
            let start = index(pool.requires.len());
            for r in reqs {
                let r = pool.intern_req(r);
                pool.requires.push(r);
            }
            let requires = (start, index(pool.requires.len()));
            let obsoletes = spec.obsoletes.iter().map(|a| pool.intern_dep(a)).collect();
            let conflicts = spec.conflicts.iter().map(|a| pool.intern_dep(a)).collect();
            by_name.push((name, id));
            match kind {
                Kind::Source => pool
                    .src_by_nvr
                    .entry((name, version, release))
                    .or_default()
                    .push(id),
                _ => {
                    if let Some(s) = sourcerpm {
                        by_sourcerpm.push((s, id));
                    }
                }
            }
            pool.nevra_keys.push(nevra_prefix(spec.as_ref()));
            pool.solvables.push(Solvable {
                name,
                epoch: spec.epoch,
                version,
                release,
                arch,
                repo,
                kind,
                sourcerpm,
                requires,
                obsoletes,
                conflicts,
                runtime_lib: crate::multilib::has_runtime_library(
                    spec.files.iter().map(String::as_str),
                ),
            });
        }
        let keys = pool.strings.len();
        pool.provides = SymIndex::new(keys, &provides);
        pool.file_owners = SymIndex::new(keys, &file_owners);
        pool.providers = SymIndex::new(keys, &providers);
        pool.by_name = SymIndex::new(keys, &by_name);
        pool.by_sourcerpm = SymIndex::new(keys, &by_sourcerpm);
        pool.whatprovides_cache = (0..pool.deps.len()).map(|_| OnceLock::new()).collect();
        Ok(pool)
    }
}

/// A cached [`Pool::whatprovides`] answer for a versioned dependency.
#[derive(Debug)]
enum Answer {
    /// Most versioned requirements have a single provider, kept inline.
    One(SolvId),
    Many(Box<[SolvId]>),
}

impl Answer {
    fn as_slice(&self) -> &[SolvId] {
        match self {
            Answer::One(id) => std::slice::from_ref(id),
            Answer::Many(ids) => ids,
        }
    }
}

/// A multimap from interned strings to values, stored as one array grouped by key, as libsolv
/// lays out its whatprovides: a lookup is an index and a slice, with no hashing, and building
/// costs two allocations instead of one per key.
#[derive(Debug)]
pub(crate) struct SymIndex<T> {
    /// The values of key `k` are `values[starts[k]..starts[k + 1]]`.
    starts: Vec<u32>,
    values: Vec<T>,
}

impl<T> Default for SymIndex<T> {
    fn default() -> Self {
        SymIndex {
            starts: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<T: Copy> SymIndex<T> {
    /// Groups `pairs` by key (a counting sort), keeping their order within each key. `keys`
    /// bounds the symbols.
    fn new(keys: usize, pairs: &[(Sym, T)]) -> Self {
        let mut starts = vec![0u32; keys + 1];
        for (k, _) in pairs {
            starts[k.0 as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut slots: Vec<Option<T>> = vec![None; pairs.len()];
        for &(k, v) in pairs {
            let at = &mut next[k.0 as usize];
            slots[*at as usize] = Some(v);
            *at += 1;
        }
        SymIndex {
            starts,
            values: slots.into_iter().flatten().collect(),
        }
    }

    pub(crate) fn get(&self, k: Sym) -> &[T] {
        let i = k.0 as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.values[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Every key with values, in symbol order.
    fn iter(&self) -> impl Iterator<Item = (Sym, &[T])> + '_ {
        self.starts
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] < w[1])
            .map(|(k, w)| (Sym(k as u32), &self.values[w[0] as usize..w[1] as usize]))
    }
}

/// The index. Immutable once built; lookups are cached per dependency and thread-safe.
#[derive(Debug)]
pub struct Pool {
    pub(crate) strings: Interner,
    pub(crate) repos: Vec<Repo>,
    pub(crate) solvables: Vec<Solvable>,
    pub(crate) deps: Vec<IDep>,
    dep_map: FxHashMap<IDep, DepId>,
    pub(crate) reqs: Vec<Req>,
    req_map: FxHashMap<Req, ReqId>,
    /// Every package's requirements back to back, in package order: one allocation, and the
    /// closure, which reads them for every package it takes, finds them in few cache lines.
    requires: Vec<ReqId>,
    /// Every provide with its package, by provided name, in package order.
    provides: SymIndex<(SolvId, DepId)>,
    /// Packages owning a path, by path (only paths some requirement names).
    file_owners: SymIndex<SolvId>,
    /// Every package that provides a name or owns it as a path, ascending, each once: the
    /// whole answer for an unversioned requirement (libsolv's createwhatprovides).
    providers: SymIndex<SolvId>,
    pub(crate) by_name: SymIndex<SolvId>,
    pub(crate) by_sourcerpm: SymIndex<SolvId>,
    pub(crate) src_by_nvr: FxHashMap<(Sym, Sym, Sym), Vec<SolvId>>,
    whatprovides_cache: Vec<OnceLock<Answer>>,
    /// Each package's NEVRA sort key (see [`nevra_prefix`]), so that sorting results reads
    /// one small array instead of every package's strings.
    nevra_keys: Vec<u128>,
    empty: Sym,
}

impl Pool {
    fn intern_idep(&mut self, d: IDep) -> DepId {
        if let Some(&id) = self.dep_map.get(&d) {
            return id;
        }
        let id = DepId(u32::try_from(self.deps.len()).unwrap_or(u32::MAX));
        self.deps.push(d);
        self.dep_map.insert(d, id);
        id
    }

    fn intern_dep(&mut self, a: &Atom) -> DepId {
        let name = self.strings.intern(&a.name);
        let (op, epoch, version, release) = match (&a.evr, a.op) {
            (Some(evr), op) if op != Op::Any && !evr.version.is_empty() => (
                op,
                evr.epoch,
                Some(self.strings.intern(&evr.version)),
                evr.release
                    .as_deref()
                    .filter(|r| !r.is_empty())
                    .map(|r| self.strings.intern(r)),
            ),
            _ => (Op::Any, None, None, None),
        };
        self.intern_idep(IDep {
            name,
            op,
            epoch,
            version,
            release,
        })
    }

    fn intern_req(&mut self, r: Req) -> ReqId {
        if let Some(&id) = self.req_map.get(&r) {
            return id;
        }
        let id = ReqId(u32::try_from(self.reqs.len()).unwrap_or(u32::MAX));
        self.reqs.push(r.clone());
        self.req_map.insert(r, id);
        id
    }

    pub fn len(&self) -> usize {
        self.solvables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.solvables.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = SolvId> + '_ {
        (0..self.solvables.len()).map(|i| SolvId(i as u32))
    }

    pub(crate) fn s(&self, id: SolvId) -> &Solvable {
        &self.solvables[id.index()]
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.strings.resolve(sym)
    }

    pub fn name(&self, id: SolvId) -> &str {
        self.str(self.s(id).name)
    }

    pub fn arch(&self, id: SolvId) -> &str {
        self.str(self.s(id).arch)
    }

    pub fn kind(&self, id: SolvId) -> Kind {
        self.s(id).kind
    }

    pub fn repo(&self, id: SolvId) -> RepoId {
        self.s(id).repo
    }

    pub fn repo_info(&self, repo: RepoId) -> &Repo {
        &self.repos[repo.0 as usize]
    }

    pub fn is_lookaside(&self, id: SolvId) -> bool {
        self.repos
            .get(self.s(id).repo.0 as usize)
            .is_some_and(|r| r.lookaside)
    }

    pub fn sourcerpm(&self, id: SolvId) -> Option<&str> {
        self.s(id).sourcerpm.map(|s| self.str(s))
    }

    /// `name-version-release.arch`, as dnf prints packages.
    pub fn nvra(&self, id: SolvId) -> String {
        let s = self.s(id);
        format!(
            "{}-{}-{}.{}",
            self.str(s.name),
            self.str(s.version),
            self.str(s.release),
            self.str(s.arch)
        )
    }

    /// `name-epoch:version-release.arch`, as productmd keys packages.
    pub fn nevra(&self, id: SolvId) -> String {
        let s = self.s(id);
        format!(
            "{}-{}:{}-{}.{}",
            self.str(s.name),
            s.epoch,
            self.str(s.version),
            self.str(s.release),
            self.str(s.arch)
        )
    }

    /// Sorts packages as their [`Pool::nevra`] strings would sort (stable), without building
    /// the strings: formatting one per package cost more than the whole closure did.
    pub fn sort_by_nevra(&self, ids: &mut [SolvId]) {
        // The first 16 bytes, as one integer, decide most comparisons; ties (long common
        // prefixes such as `python3-`) fall back to the full byte-wise comparison.
        let mut keyed: Vec<(u128, SolvId)> = ids
            .iter()
            .map(|&id| (self.nevra_keys[id.index()], id))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| self.cmp_nevra(a.1, b.1)));
        for (slot, (_, id)) in ids.iter_mut().zip(keyed) {
            *slot = id;
        }
    }

    /// Orders two packages exactly as their [`Pool::nevra`] strings would sort.
    pub fn cmp_nevra(&self, a: SolvId, b: SolvId) -> std::cmp::Ordering {
        let (mut ea, mut eb) = ([0u8; 10], [0u8; 10]);
        cmp_concat(&self.nevra_parts(a, &mut ea), &self.nevra_parts(b, &mut eb))
    }

    /// The pieces of `name-epoch:version-release.arch`; `buf` holds the epoch's digits.
    fn nevra_parts<'a>(&'a self, id: SolvId, buf: &'a mut [u8; 10]) -> [&'a [u8]; 9] {
        let s = self.s(id);
        [
            self.str(s.name).as_bytes(),
            b"-",
            epoch_digits(s.epoch, buf),
            b":",
            self.str(s.version).as_bytes(),
            b"-",
            self.str(s.release).as_bytes(),
            b".",
            self.str(s.arch).as_bytes(),
        ]
    }

    /// Full EVR ordering of two packages.
    pub fn cmp_evr(&self, a: SolvId, b: SolvId) -> std::cmp::Ordering {
        let (x, y) = (self.s(a), self.s(b));
        compare_pkg_evr(
            (x.epoch, self.str(x.version), self.str(x.release)),
            (y.epoch, self.str(y.version), self.str(y.release)),
        )
    }

    /// Same name, epoch, version and release.
    pub fn same_nevr(&self, a: SolvId, b: SolvId) -> bool {
        let (x, y) = (self.s(a), self.s(b));
        x.name == y.name && x.epoch == y.epoch && x.version == y.version && x.release == y.release
    }

    /// Packages of a name, in pool order.
    pub fn by_name(&self, name: &str) -> &[SolvId] {
        self.strings.get(name).map_or(&[], |s| self.by_name.get(s))
    }

    /// Every distinct package name, with its packages.
    pub fn names(&self) -> impl Iterator<Item = (&str, &[SolvId])> + '_ {
        self.by_name
            .iter()
            .map(|(k, v)| (self.strings.resolve(k), v))
    }

    /// Binary and debug packages built from the same source RPM file name.
    pub fn built_from(&self, sourcerpm: &str) -> &[SolvId] {
        self.strings
            .get(sourcerpm)
            .map_or(&[], |s| self.by_sourcerpm.get(s))
    }

    /// The source packages a binary package was built from (parsed from its sourcerpm).
    pub fn source_of(&self, id: SolvId) -> &[SolvId] {
        let Some(src) = self.sourcerpm(id) else {
            return &[];
        };
        let Some((n, v, r)) = split_srpm(src) else {
            return &[];
        };
        match (
            self.strings.get(n),
            self.strings.get(v),
            self.strings.get(r),
        ) {
            (Some(n), Some(v), Some(r)) => {
                self.src_by_nvr.get(&(n, v, r)).map_or(&[], Vec::as_slice)
            }
            _ => &[],
        }
    }

    /// Ships a shared library in a library directory (python-multilib's runtime rule).
    pub fn has_runtime_lib(&self, id: SolvId) -> bool {
        self.s(id).runtime_lib
    }

    pub fn requires(&self, id: SolvId) -> &[ReqId] {
        let (start, end) = self.s(id).requires;
        self.requires
            .get(start as usize..end as usize)
            .unwrap_or(&[])
    }

    pub fn obsoletes(&self, id: SolvId) -> &[DepId] {
        &self.s(id).obsoletes
    }

    pub fn conflicts(&self, id: SolvId) -> &[DepId] {
        &self.s(id).conflicts
    }

    pub fn req(&self, r: ReqId) -> &Req {
        &self.reqs[r.0 as usize]
    }

    /// All packages whose provides (or files, for a path) satisfy `dep`, sorted. Unversioned
    /// requirements are answered from the name index; versioned ones are computed once and
    /// cached per dependency, as libsolv does for its relations.
    pub fn whatprovides(&self, dep: DepId) -> &[SolvId] {
        let d = &self.deps[dep.0 as usize];
        if d.op == Op::Any {
            return self.providers.get(d.name);
        }
        self.whatprovides_cache[dep.0 as usize]
            .get_or_init(|| self.compute_whatprovides(*d))
            .as_slice()
    }

    fn compute_whatprovides(&self, d: IDep) -> Answer {
        let files = self.file_owners.get(d.name);
        // The first match is kept apart so that the usual single provider allocates nothing.
        let mut first = None;
        let mut more: Vec<SolvId> = Vec::new();
        for &(id, pd) in self.provides.get(d.name) {
            if more.last().copied().or(first) != Some(id)
                && self.provide_matches(self.deps[pd.0 as usize], d)
            {
                match first {
                    None => first = Some(id),
                    Some(_) => more.push(id),
                }
            }
        }
        match (first, files.is_empty()) {
            (None, true) => Answer::Many(Box::default()),
            (Some(id), true) if more.is_empty() => Answer::One(id),
            _ => {
                more.extend(first);
                // A path is owned whatever version the requirement names.
                more.extend_from_slice(files);
                more.sort_unstable();
                more.dedup();
                Answer::Many(more.into_boxed_slice())
            }
        }
    }

    fn provide_matches(&self, p: IDep, r: IDep) -> bool {
        if r.op == Op::Any || p.op == Op::Any {
            return true;
        }
        let part = |d: IDep| {
            (
                d.epoch,
                self.str(d.version.unwrap_or(self.empty)),
                d.release.map(|r| self.str(r)),
            )
        };
        let sense = compare_dep_evr(part(p), part(r));
        ranges_overlap(p.op, r.op, sense)
    }

    /// Does package `id` itself provide `dep`?
    pub fn provides_dep(&self, id: SolvId, dep: DepId) -> bool {
        self.whatprovides(dep).binary_search(&id).is_ok()
    }

    /// The text of a dependency as rpm prints it: `name >= 1:2-3`.
    pub fn dep_str(&self, dep: DepId) -> String {
        let d = self.deps[dep.0 as usize];
        let mut s = self.str(d.name).to_owned();
        if d.op != Op::Any {
            s.push(' ');
            s.push_str(d.op.as_str());
            s.push(' ');
            // libsolv (and so dnf) prints no `0:` epoch.
            if let Some(e) = d.epoch.filter(|e| *e != 0) {
                s.push_str(&format!("{e}:"));
            }
            s.push_str(self.str(d.version.unwrap_or(self.empty)));
            if let Some(r) = d.release {
                s.push('-');
                s.push_str(self.str(r));
            }
        }
        s
    }

    /// The text of a requirement as rpm prints it (rich ones re-assembled).
    pub fn req_str(&self, r: ReqId) -> String {
        match self.req(r) {
            Req::Simple(d) => self.dep_str(*d),
            Req::Rich(rich) => self.rich_str(rich),
        }
    }

    fn rich_str(&self, r: &Rich<DepId>) -> String {
        let inner = |x: &Rich<DepId>| match x {
            Rich::Atom(d) => self.dep_str(*d),
            other => self.rich_str(other),
        };
        let join = |v: &[Rich<DepId>], op: &str| {
            v.iter()
                .map(inner)
                .collect::<Vec<_>>()
                .join(&format!(" {op} "))
        };
        let body = match r {
            Rich::Atom(d) => return self.dep_str(*d),
            Rich::And(v) => join(v, "and"),
            Rich::Or(v) => join(v, "or"),
            Rich::With(v) => join(v, "with"),
            Rich::Without(a, b) => format!("{} without {}", inner(a), inner(b)),
            Rich::If(a, b, c) | Rich::Unless(a, b, c) => {
                let kw = if matches!(r, Rich::If(..)) {
                    "if"
                } else {
                    "unless"
                };
                let mut s = format!("{} {kw} {}", inner(a), inner(b));
                if let Some(c) = c {
                    s.push_str(&format!(" else {}", inner(c)));
                }
                s
            }
        };
        format!("({body})")
    }
}

/// The first 16 bytes of a package's NEVRA string, big-endian, zero-padded: a shorter string
/// sorts first, as with strings (NEVRAs hold no NUL bytes; if one did, the full comparison that
/// breaks ties would still be exact).
fn nevra_prefix(p: &PkgSpec) -> u128 {
    let mut key = [0u8; 16];
    let mut at = 0;
    // Byte by byte: the pieces are short, and a memcpy call per piece cost more.
    let mut put = |part: &[u8]| {
        for &b in part {
            if at == key.len() {
                return true;
            }
            key[at] = b;
            at += 1;
        }
        at == key.len()
    };
    let mut epoch = [0u8; 10];
    // Short-circuits: most names fill the key on their own.
    let _full = put(p.name.as_bytes())
        || put(b"-")
        || put(epoch_digits(p.epoch, &mut epoch))
        || put(b":")
        || put(p.version.as_bytes())
        || put(b"-")
        || put(p.release.as_bytes())
        || put(b".")
        || put(p.arch.as_bytes());
    u128::from_be_bytes(key)
}

/// A position in one of the pool's (or a gather run's) arrays, which stay far below
/// `u32::MAX` entries.
pub(crate) fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The decimal digits of an epoch, written into `buf`.
fn epoch_digits(mut e: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (e % 10) as u8;
        e /= 10;
        if e == 0 {
            return &buf[at..];
        }
    }
}

/// Compares the concatenation of `a`'s pieces with the concatenation of `b`'s, byte-wise.
fn cmp_concat(a: &[&[u8]], b: &[&[u8]]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.iter().copied(), b.iter().copied());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            match a.next() {
                Some(s) => x = s,
                None => break,
            }
        }
        while y.is_empty() {
            match b.next() {
                Some(s) => y = s,
                None => break,
            }
        }
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            Ordering::Equal => (x, y) = (&x[n..], &y[n..]),
            other => return other,
        }
    }
}

/// Splits `name-version-release.src.rpm` into name, version, release.
pub fn split_srpm(file: &str) -> Option<(&str, &str, &str)> {
    let base = file.strip_suffix(".rpm").unwrap_or(file);
    let (nvr, _arch) = base.rsplit_once('.')?;
    let (nv, r) = nvr.rsplit_once('-')?;
    let (n, v) = nv.rsplit_once('-')?;
    Some((n, v, r))
}

fn dep_from_rpm(d: &kiln_rpm::Dependency) -> Atom {
    let op = match d.flags {
        None => Op::Any,
        Some(kiln_rpm::Cmp::EQ) => Op::Eq,
        Some(kiln_rpm::Cmp::LT) => Op::Lt,
        Some(kiln_rpm::Cmp::LE) => Op::Le,
        Some(kiln_rpm::Cmp::GT) => Op::Gt,
        Some(kiln_rpm::Cmp::GE) => Op::Ge,
    };
    let evr = (op != Op::Any).then(|| Evr {
        epoch: d.epoch.as_deref().and_then(|e| e.parse().ok()),
        version: d.version.clone().unwrap_or_default(),
        release: d.release.clone().filter(|r| !r.is_empty()),
    });
    Atom {
        name: d.name.clone(),
        op,
        evr,
    }
}

/// The paths some requirement of `packages` names, inside rich dependencies too: the only files
/// a pool of those packages indexes, so the only ones their specs need to carry
/// ([`PkgSpec::from_rpm_keeping`]). A rich dependency that does not parse counts every word
/// that looks like a path (the pool reports the dependency itself).
pub fn required_paths<'a>(
    packages: impl IntoIterator<Item = &'a kiln_rpm::Package>,
) -> FxHashSet<String> {
    let mut out = FxHashSet::default();
    for p in packages {
        for r in &p.requires {
            if is_rich(&r.name) {
                match parse_rich(&r.name) {
                    Ok(rich) => {
                        let mut atoms = Vec::new();
                        rich.atoms(&mut atoms);
                        out.extend(
                            atoms
                                .into_iter()
                                .filter(|a| a.name.starts_with('/'))
                                .map(|a| a.name.clone()),
                        );
                    }
                    Err(_) => out.extend(
                        r.name
                            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                            .filter(|w| w.starts_with('/'))
                            .map(str::to_owned),
                    ),
                }
            } else if r.name.starts_with('/') {
                out.insert(r.name.clone());
            }
        }
    }
    out
}

impl PkgSpec {
    /// The index's view of a package header. Weak dependencies are left out on purpose: pungi
    /// never follows them.
    pub fn from_rpm(p: &kiln_rpm::Package) -> Self {
        Self::from_rpm_keeping(p, &|_| true)
    }

    /// [`PkgSpec::from_rpm`] with only the files a pool reads: those `keep` accepts (a pool
    /// indexes only the paths some requirement names, [`required_paths`]) and the shared
    /// libraries the runtime multilib rule looks for. File lists are most of a header.
    pub fn from_rpm_keeping(p: &kiln_rpm::Package, keep: &dyn Fn(&str) -> bool) -> Self {
        PkgSpec {
            name: p.name.clone(),
            epoch: p.epoch,
            version: p.version.clone(),
            release: p.release.clone(),
            arch: p.arch.clone(),
            sourcerpm: p.sourcerpm.clone(),
            provides: p.provides.iter().map(dep_from_rpm).collect(),
            requires: p.requires.iter().map(dep_from_rpm).collect(),
            conflicts: p.conflicts.iter().map(dep_from_rpm).collect(),
            obsoletes: p.obsoletes.iter().map(dep_from_rpm).collect(),
            files: p
                .files
                .iter()
                .filter(|f| keep(&f.path) || crate::multilib::is_runtime_library(&f.path))
                .map(|f| f.path.clone())
                .collect(),
        }
    }
}
