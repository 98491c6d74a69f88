//! The package set: what an arch may use, as pkgset read it.

use std::path::PathBuf;

use kiln_compose::Paths;
use kiln_rpm::Package;
use serde::{Deserialize, Serialize};

use crate::{Artifact, Stamp};

/// One package of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute path of the RPM file.
    pub path: PathBuf,
    /// Its full header, file checksum included: nobody reads the file's header again.
    pub package: Package,
}

/// Every binary, debug and source package an arch may use, sorted by name, arch, then version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageSet {
    pub artifact: Stamp<PackageSet>,
    pub arch: String,
    pub packages: Vec<Entry>,
    /// The `modules.yaml` documents of the arch's repositories, in `pkgset_repos` order, as they
    /// were written (gather selects the streams variants ask for and passes their text on).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modulemd: String,
}

impl Artifact for PackageSet {
    const KIND: &'static str = "package-set";
    const VERSION: u32 = 1;
    const WRITER: &'static str = "pkgset";
    // Thousands of full headers: compact.
    const PRETTY: bool = false;
}

impl PackageSet {
    pub fn new(arch: String, packages: Vec<Entry>) -> PackageSet {
        PackageSet {
            artifact: Stamp::default(),
            arch,
            packages,
            modulemd: String::new(),
        }
    }

    /// `work/global/pkgset/<arch>.json`.
    pub fn path(paths: &Paths, arch: &str) -> PathBuf {
        paths
            .work_dir("global")
            .join("pkgset")
            .join(format!("{arch}.json"))
    }

    /// `work/<arch>/repo/<tag>/`: the package set of Koji tags as a repository (pungi's
    /// per-arch package-set repo, named after its tag; tags kiln merges into one set join with
    /// `+`), for the tools that read packages from a repository (lorax).
    pub fn repo_dir(paths: &Paths, arch: &str, tags: &[String]) -> PathBuf {
        paths.work_dir(arch).join("repo").join(tags.join("+"))
    }
}
