//! The gather phase: which packages each variant ships on each arch, linked into the trees.
//!
//! # Output contract (read by createrepo, repoclosure, createiso)
//!
//! For every variant `V` and arch `A` it writes `work/<A>/gather/<V>.<A>.json`, a
//! `kiln_artifacts::GatherResult` (load it with `Artifact::load`, locate it with
//! `GatherResult::path`). It holds three [`Tree`]s — `os`, `debug`, `source` — each with:
//! - `tree`: the directory the package paths are relative to (relative to the compose top
//!   directory), e.g. `compose/BaseOS/x86_64/os`; an addon's packages live in its parent's tree;
//! - `repo`: where that tree's repodata belongs (the tree, or `os/addons/<id>` for an addon);
//! - `packages`: sorted by `path` (`Packages/m/mini-bash-5.1-1.x86_64.rpm`), each with the full
//!   `kiln_rpm::Package` header including checksum, size and mtime, so repodata is written
//!   without opening the RPM files again.
//!
//! The source tree `compose/<V>/source/tree` is shared by all arches of a variant: its content
//! is the union of the `source` lists of the variant's results.
//!
//! The phase also links every package into place (`link_type`, `hashed_directories`; a temp
//! name and a rename, so no half-linked file carries a final name) and writes
//! `compose/metadata/rpms.json` exactly as pungi does.

pub mod comps;
pub mod modules;
pub mod output;
pub mod phase;
mod pkgset;
mod reuse;
pub mod solve;

pub use kiln_artifacts::{GatherResult, GatheredPackage, Tree, UnresolvedDep};
pub use phase::Gather;
pub use solve::{Method, PkgRecord, Selection, VariantPlan, solve_arch};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Modulemd(#[from] kiln_modulemd::ModulemdError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Comps(#[from] kiln_comps::CompsError),
    #[error("bad package header: {0}")]
    Package(String),
    #[error("gather: {0}")]
    Config(String),
    #[error(transparent)]
    Link(#[from] kiln_fs::link::LinkError),
    #[error("{variant}.{arch}: {count} unresolved dependencies (check_deps is on):\n{list}")]
    Unresolved {
        variant: String,
        arch: String,
        count: usize,
        list: String,
    },
}
