//! Repoclosure on the provides index: every requirement of every package in the checked
//! repositories must have a provider among the checked and lookaside repositories.
//!
//! Like `dnf repoclosure`, only requirements are checked (not conflicts or obsoletes),
//! `rpmlib(...)` requirements are skipped, and an `--arch` list limits both the packages checked
//! and the providers considered. Rich dependencies are evaluated as expressions; libsolv's
//! `whatprovides`, which dnf uses, instead takes the union of the operands' providers, so
//! `(a and missing)` is a problem here but not for dnf.

use crate::intern::FxHashSet;
use crate::pool::{DepId, Pool, RepoId, Req, SolvId};
use crate::rich::Rich;

/// One package with requirements nothing provides.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClosureProblem {
    /// `name-version-release.arch`
    pub package: String,
    pub repo: String,
    pub unresolved: Vec<String>,
}

/// Which packages a repoclosure looks at.
#[derive(Debug, Clone, Default)]
pub struct ClosureScope {
    /// Repositories whose packages are checked (empty = all).
    pub check: Vec<RepoId>,
    /// Arches of the packages checked (empty = all); providers may be of any arch.
    pub arches: Vec<String>,
    /// Only the newest EVR per name and arch is checked and provides (`--newest`).
    pub newest: bool,
}

/// Runs repoclosure; problems are sorted by package.
pub fn repoclosure(pool: &Pool, scope: &ClosureScope) -> Vec<ClosureProblem> {
    let arch_ok: Vec<bool> = pool
        .ids()
        .map(|id| scope.arches.is_empty() || scope.arches.iter().any(|a| a == pool.arch(id)))
        .collect();
    let mut available = vec![true; pool.len()];
    if scope.newest {
        let mut newest: crate::intern::FxHashMap<(&str, &str), SolvId> = Default::default();
        for id in pool.ids().filter(|i| available[i.index()]) {
            let e = newest.entry((pool.name(id), pool.arch(id))).or_insert(id);
            if pool.cmp_evr(id, *e) == std::cmp::Ordering::Greater {
                *e = id;
            }
        }
        let keep: FxHashSet<SolvId> = newest.into_values().collect();
        for id in pool.ids() {
            if !keep.contains(&id) {
                available[id.index()] = false;
            }
        }
    }
    let checked = |id: SolvId| {
        arch_ok[id.index()]
            && available[id.index()]
            && (scope.check.is_empty() || scope.check.contains(&pool.repo(id)))
    };
    let has = |d: DepId| pool.whatprovides(d).iter().any(|p| available[p.index()]);
    let mut out = Vec::new();
    for id in pool.ids().filter(|&i| checked(i)) {
        let mut bad = Vec::new();
        for &r in pool.requires(id) {
            let ok = match pool.req(r) {
                Req::Simple(d) => has(*d),
                Req::Rich(rich) => sat(pool, rich, &available),
            };
            if !ok {
                bad.push(pool.req_str(r));
            }
        }
        if !bad.is_empty() {
            bad.sort();
            bad.dedup();
            out.push(ClosureProblem {
                package: pool.nvra(id),
                repo: pool.repo_info(pool.repo(id)).name.clone(),
                unresolved: bad,
            });
        }
    }
    out.sort();
    out
}

fn providers(pool: &Pool, r: &Rich<DepId>, avail: &[bool]) -> Vec<SolvId> {
    match r {
        Rich::Atom(d) => pool
            .whatprovides(*d)
            .iter()
            .copied()
            .filter(|p| avail[p.index()])
            .collect(),
        Rich::Or(v) => {
            let mut out: Vec<SolvId> = v.iter().flat_map(|x| providers(pool, x, avail)).collect();
            out.sort_unstable();
            out.dedup();
            out
        }
        Rich::And(v) | Rich::With(v) => {
            let mut it = v.iter();
            let mut out = it
                .next()
                .map(|x| providers(pool, x, avail))
                .unwrap_or_default();
            for x in it {
                let other = providers(pool, x, avail);
                out.retain(|i| other.binary_search(i).is_ok());
            }
            out
        }
        Rich::Without(a, b) => {
            let minus = providers(pool, b, avail);
            let mut out = providers(pool, a, avail);
            out.retain(|i| minus.binary_search(i).is_err());
            out
        }
        Rich::If(a, _, _) | Rich::Unless(a, _, _) => providers(pool, a, avail),
    }
}

/// Can the expression be met by the available packages? `A if B` needs A when B exists.
fn sat(pool: &Pool, r: &Rich<DepId>, avail: &[bool]) -> bool {
    match r {
        Rich::Atom(_) | Rich::With(_) | Rich::Without(..) => !providers(pool, r, avail).is_empty(),
        Rich::And(v) => v.iter().all(|x| sat(pool, x, avail)),
        Rich::Or(v) => v.iter().any(|x| sat(pool, x, avail)),
        Rich::If(a, c, e) => {
            if sat(pool, c, avail) {
                sat(pool, a, avail)
            } else {
                e.as_ref().is_none_or(|e| sat(pool, e, avail))
            }
        }
        Rich::Unless(a, c, e) => {
            if sat(pool, c, avail) {
                e.as_ref().is_none_or(|e| sat(pool, e, avail))
            } else {
                sat(pool, a, avail)
            }
        }
    }
}

/// Formats problems as `dnf repoclosure` prints them.
pub fn format_dnf(problems: &[ClosureProblem]) -> String {
    let mut s = String::new();
    for p in problems {
        s.push_str(&format!(
            "package: {} from {}\n  unresolved deps:\n",
            p.package, p.repo
        ));
        for u in &p.unresolved {
            s.push_str(&format!("    {u}\n"));
        }
    }
    s
}
