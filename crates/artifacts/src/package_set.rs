//! The package set: what an arch may use, as pkgset read it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kiln_compose::Paths;
use kiln_rpm::Package;
use serde::{Deserialize, Serialize};

use crate::{Artifact, ArtifactError, GatheredPackage, Stamp};

/// One package of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute path of the RPM file.
    pub path: PathBuf,
    /// Its full header, file checksum included: nobody reads the file's header again.
    pub package: Package,
    /// Size and mtime of the file when pkgset read it, when it is a regular file (not a
    /// symlink): what a hard link to it has too, so the engine records gather's links without a
    /// stat each. Only in the set pkgset shares in-process, not in the file: its other readers
    /// (a resumed compose) stat for themselves.
    #[serde(skip)]
    pub stat: Option<FileStat>,
}

/// A file's size and mtime (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i128,
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

    /// The bytes `serde_json::to_vec` gives (and a newline), with the entries encoded on every
    /// core: tens of megabytes of headers.
    fn to_json(&self) -> Vec<u8> {
        use rayon::prelude::*;
        let entries: Vec<Vec<u8>> = self
            .packages
            .par_iter()
            .map(|e| serde_json::to_vec(e).unwrap_or_default())
            .collect();
        let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 1).sum::<usize>() + 256);
        // Serialising plain data into a Vec cannot fail.
        fn field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) {
            out.extend_from_slice(name.as_bytes());
            let _ = serde_json::to_writer(out, value);
        }
        field(&mut out, "{\"artifact\":", &self.artifact);
        field(&mut out, ",\"arch\":", &self.arch);
        out.extend_from_slice(b",\"packages\":[");
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(e);
        }
        out.push(b']');
        if !self.modulemd.is_empty() {
            field(&mut out, ",\"modulemd\":", &self.modulemd);
        }
        out.extend_from_slice(b"}\n");
        out
    }
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

    /// The package set of each of `arches`, for a phase that resolves gather results.
    pub fn load_all(
        paths: &Paths,
        arches: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, Arc<PackageSet>>, ArtifactError> {
        arches
            .into_iter()
            .map(|arch| {
                let set = PackageSet::load_shared(&PackageSet::path(paths, &arch))?;
                Ok((arch, set))
            })
            .collect()
    }

    /// Its headers by file, for the readers of gather results.
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            arch: &self.arch,
            by_path: self
                .packages
                .iter()
                .map(|e| (e.path.as_path(), &e.package))
                .collect(),
        }
    }

    /// `work/<arch>/repo/<tag>/`: the package set of Koji tags as a repository (pungi's
    /// per-arch package-set repo, named after its tag; tags kiln merges into one set join with
    /// `+`), for the tools that read packages from a repository (lorax).
    pub fn repo_dir(paths: &Paths, arch: &str, tags: &[String]) -> PathBuf {
        paths.work_dir(arch).join("repo").join(tags.join("+"))
    }
}

/// The headers of one arch's package set by file: what a [`GatheredPackage`] points at.
pub struct Headers<'a> {
    arch: &'a str,
    by_path: HashMap<&'a Path, &'a Package>,
}

impl<'a> Headers<'a> {
    /// The header of a gathered package. One the set lacks, or holds with another checksum,
    /// means the gather results are older than the package set: an error, not a guess.
    pub fn of(&self, p: &GatheredPackage) -> Result<&'a Package, ArtifactError> {
        self.by_path
            .get(p.source.as_path())
            .copied()
            .filter(|h| names_checksum(&p.checksum, h))
            .ok_or_else(|| ArtifactError::NotInPackageSet {
                arch: self.arch.to_owned(),
                nevra: p.nevra.clone(),
                source_file: p.source.clone(),
                checksum: p.checksum.clone(),
            })
    }
}

/// Whether `<kind>:<hex>` is the header's file checksum (without building the string: it is
/// asked once per package of every tree).
fn names_checksum(checksum: &str, h: &Package) -> bool {
    checksum.split_once(':') == Some((h.checksum.kind.as_str(), h.checksum.hex.as_str()))
}

/// `<kind>:<hex>`, as a [`GatheredPackage`] names its file.
pub fn checksum_of(p: &Package) -> String {
    format!("{}:{}", p.checksum.kind.as_str(), p.checksum.hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, hex: &str) -> Entry {
        let mut package = Package {
            name: "mini-bash".into(),
            version: "5.1".into(),
            release: "1".into(),
            arch: "x86_64".into(),
            ..Package::default()
        };
        package.checksum.hex = hex.into();
        Entry {
            path: PathBuf::from(path),
            package,
            stat: None,
        }
    }

    fn gathered(source: &str, checksum: String) -> GatheredPackage {
        GatheredPackage {
            path: "Packages/m/mini-bash-5.1-1.x86_64.rpm".into(),
            source: PathBuf::from(source),
            nevra: "mini-bash-0:5.1-1.x86_64".into(),
            checksum,
            flags: Vec::new(),
            why: None,
        }
    }

    #[test]
    fn a_gathered_package_finds_its_header_only_with_the_same_file_and_checksum() {
        let set = PackageSet::new("x86_64".into(), vec![entry("/repo/a.rpm", "ab12")]);
        let headers = set.headers();
        let same = checksum_of(&set.packages[0].package);
        assert_eq!(
            headers
                .of(&gathered("/repo/a.rpm", same.clone()))
                .unwrap()
                .name,
            "mini-bash"
        );
        // The file was rebuilt since gather ran: its header is not that one.
        let stale = same.replace("ab12", "cd34");
        let err = headers
            .of(&gathered("/repo/a.rpm", stale))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mini-bash-0:5.1-1.x86_64") && err.contains("/repo/a.rpm"),
            "{err}"
        );
        assert!(headers.of(&gathered("/repo/b.rpm", same)).is_err());
    }

    /// A set is parsed once per process while its file stays the same, and parsed again once
    /// the file is written anew; a set shared by its writer is not parsed at all.
    #[test]
    fn shared_sets_follow_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x86_64.json");
        let write = |set: &PackageSet| {
            let tmp = dir.path().join("tmp.json");
            std::fs::write(&tmp, set.encode_for("pkgset").unwrap()).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        };
        let one = PackageSet::new("x86_64".into(), vec![entry("/r/a.rpm", "aa")]);
        write(&one);
        let first = PackageSet::load_shared(&path).unwrap();
        assert_eq!(*first, one);
        let again = PackageSet::load_shared(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the same file is parsed once");
        let two = PackageSet::new("x86_64".into(), vec![entry("/r/b.rpm", "bb")]);
        write(&two);
        let after = PackageSet::load_shared(&path).unwrap();
        assert_eq!(*after, two, "a rewritten file is read again");
        let three = PackageSet::new("x86_64".into(), vec![entry("/r/c.rpm", "cc")]);
        write(&three);
        let shared = PackageSet::share(&path, three.clone());
        let read = PackageSet::load_shared(&path).unwrap();
        assert!(Arc::ptr_eq(&shared, &read), "the writer's set is handed on");
        assert_eq!(*read, three);
        crate::GatherResult::release_shared();
        assert!(
            Arc::ptr_eq(&shared, &PackageSet::load_shared(&path).unwrap()),
            "releasing another kind keeps the sets"
        );
        PackageSet::release_shared();
        let fresh = PackageSet::load_shared(&path).unwrap();
        assert!(
            !Arc::ptr_eq(&shared, &fresh),
            "a released set is read again"
        );
        assert_eq!(*fresh, three);
    }

    /// The parallel encoding is the derived one, byte for byte, with and without modules.
    #[test]
    fn package_set_bytes_are_serde_json_s() {
        let mut set = PackageSet::new(
            "x86_64".into(),
            vec![entry("/r/a.rpm", "aa"), entry("/r/b \"q\".rpm", "bb")],
        );
        let derived = |set: &PackageSet| {
            let mut v = serde_json::to_vec(set).unwrap();
            v.push(b'\n');
            v
        };
        assert_eq!(set.to_json(), derived(&set));
        set.modulemd = "---\ndocument: modulemd\n".into();
        assert_eq!(set.to_json(), derived(&set));
        set.packages.clear();
        assert_eq!(set.to_json(), derived(&set));
    }
}
