//! A provides index with RPM dependency semantics, pungi's gather closure and repoclosure.
//!
//! - [`PoolBuilder`] collects packages ([`PkgSpec`], convertible from `kiln_rpm::Package`) per
//!   repository (a repository may be a lookaside) and [`PoolBuilder::build`] interns every
//!   string and indexes every name's providers (provides, and files by path), as libsolv's
//!   `createwhatprovides` does, in arrays grouped by symbol. Only paths that some requirement
//!   names are indexed, as libsolv's `addfileprovides` does.
//! - [`Pool::whatprovides`] answers an unversioned dependency from that index, and a versioned
//!   one with RPM's range-overlap rule (a missing epoch is 0, a release is compared only when
//!   both sides carry one), cached per interned dependency.
//! - [`gather()`] is pungi's `gather_dnf` fixpoint (one best provider per requirement, pungi's
//!   tie-breaks, greedy, fulltree, selfhosting, multilib, comps conditionals, debuginfo and
//!   sources). Weak dependencies are never followed, as pungi does not.
//! - [`repoclosure()`] checks that every requirement of a set of repositories has a provider.
//!
//! Invariant: a [`SolvId`] is the index of the package in the order it was added, so callers
//! keep their own package records in a `Vec` and map results back by index.

pub mod arch;
pub mod evr;
pub mod gather;
mod intern;
pub mod multilib;
pub mod pool;
pub mod repoclosure;
pub mod rich;

pub use evr::{Evr, Op};
pub use gather::{
    GatherOptions, GatherOutcome, GatherRequest, Greedy, Unresolved, Why, flags, gather,
};
pub use multilib::{Multilib, MultilibMethod};
pub use pool::{
    DepId, Kind, PkgSpec, Pool, PoolBuilder, PoolError, RepoId, Req, ReqId, SolvId, atom,
    required_paths,
};
pub use repoclosure::{ClosureProblem, ClosureScope, format_dnf, repoclosure};
pub use rich::{Atom, Rich};

#[cfg(test)]
mod tests;
