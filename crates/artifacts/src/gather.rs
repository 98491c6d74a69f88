//! The gather phase's output under `work/<arch>/gather/<V>.<arch>.json`, read by createrepo and
//! repoclosure: what each tree of a variant holds. A package names its header in the arch's
//! package set (file and checksum) instead of carrying a copy: the headers are stored once per
//! compose, and no later phase re-reads an RPM file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Artifact, Stamp};

/// One package placed in a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatheredPackage {
    /// Path inside the tree, `/`-separated: `Packages/m/mini-bash-5.1-1.mini36.x86_64.rpm`.
    pub path: String,
    /// The package set file it was linked from.
    pub source: PathBuf,
    /// `name-epoch:version-release.arch`.
    pub nevra: String,
    /// `<kind>:<hex>` of the file as the package set read it: with `source`, what names its
    /// header there ([`crate::Headers::of`]).
    pub checksum: String,
    /// pungi's flags: why it is in (`input`, `fulltree`, `multilib`, `self_hosting`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Why gather took it (the first reason it met while solving); `kiln why` reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Reason>,
}

/// Why a package is in a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `input`, `prepopulate`, `requires`, `conditional`, `fulltree`, `multilib`, `langpack`,
    /// `source` or `debuginfo`.
    pub kind: String,
    /// The package it came with or for (N-E:V-R.A); none for `input` and `prepopulate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The requirement (`requires`), or the pattern (`input`, `prepopulate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// One tree (os, debug or source) of a variant and arch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Directory the package paths are relative to, relative to the compose top directory:
    /// `compose/BaseOS/x86_64/os`. An addon shares its parent's tree.
    pub tree: PathBuf,
    /// Where this tree's repodata goes (relative to the top directory): the tree itself, or
    /// `.../os/addons/<id>` for an addon, whose packages still live under the parent's tree.
    pub repo: PathBuf,
    /// Sorted by path.
    pub packages: Vec<GatheredPackage>,
}

/// A requirement that nothing satisfied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnresolvedDep {
    /// `name-version-release.arch` of the package that requires it.
    pub package: String,
    pub requirement: String,
}

/// The gather result of one variant and arch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatherResult {
    pub artifact: Stamp<GatherResult>,
    pub variant: String,
    pub arch: String,
    /// `deps` or `nodeps`.
    pub method: String,
    pub os: Tree,
    pub debug: Tree,
    /// This arch's share of `compose/<V>/source/tree`; the source tree of a variant is the
    /// union of the `source` lists of all its arches.
    pub source: Tree,
    /// Lookaside packages the solve used (N-E:V-R.A), not shipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookaside: Vec<String>,
    pub unresolved: Vec<UnresolvedDep>,
    /// Input patterns that matched no package.
    pub missing: Vec<String>,
    /// Where each input pattern came from: `comps group core`, `additional_packages`, `module
    /// nodejs:20:...`, `gather_prepopulate`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub inputs: std::collections::BTreeMap<String, String>,
}

impl Artifact for GatherResult {
    const KIND: &'static str = "gather-result";
    /// 2: packages name their header in the package set instead of carrying it.
    const VERSION: u32 = 2;
    const WRITER: &'static str = "gather";
    const PRETTY: bool = true;
}

impl GatherResult {
    /// `work/<arch>/gather/<V>.<arch>.json` under the compose top directory.
    pub fn path(topdir: &Path, variant_uid: &str, arch: &str) -> PathBuf {
        topdir
            .join("work")
            .join(arch)
            .join("gather")
            .join(format!("{variant_uid}.{arch}.json"))
    }

    /// Deterministic JSON bytes (see [`Artifact::to_json`]).
    pub fn to_json(&self) -> Vec<u8> {
        Artifact::to_json(self)
    }

    /// Every tree with its kind.
    pub fn trees(&self) -> [(&'static str, &Tree); 3] {
        [
            ("binary", &self.os),
            ("debug", &self.debug),
            ("source", &self.source),
        ]
    }
}
