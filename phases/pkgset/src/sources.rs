//! Where the package files come from: a repository (its repodata names the files and their
//! checksums, which are verified) or a plain folder of RPMs.

use std::path::{Path, PathBuf};

use kiln_engine::PhaseError;
use kiln_rpm::Package;

/// What a repository's metadata says a package file is.
#[derive(Debug, Clone)]
pub struct Expected {
    pub nevra: String,
    pub checksum_kind: String,
    pub checksum: String,
}

impl Expected {
    /// A file that is not what its repository says (a corrupt or replaced download) is an error
    /// naming both.
    pub fn check(&self, path: &Path, p: &Package) -> Result<(), PhaseError> {
        if p.nevra() != self.nevra {
            return Err(PhaseError::msg(format!(
                "{} is {}, but its repository lists {} there",
                path.display(),
                p.nevra(),
                self.nevra
            )));
        }
        if p.checksum.kind.as_str() == self.checksum_kind && p.checksum.hex != self.checksum {
            return Err(PhaseError::msg(format!(
                "{} ({}) has {} {}, but its repository says {}: the file is corrupt or was replaced",
                path.display(),
                self.nevra,
                self.checksum_kind,
                p.checksum.hex,
                self.checksum
            )));
        }
        Ok(())
    }
}

/// Every package file of one `pkgset_repos` entry.
pub fn list(repo: &str) -> Result<Vec<(PathBuf, Option<Expected>)>, PhaseError> {
    if repo.contains("://") {
        return Err(PhaseError::msg(format!(
            "pkgset_repos entry {repo}: remote repositories are not supported by this kiln yet; \
             mirror it locally (e.g. with dnf reposync) and list the folder"
        )));
    }
    let root = Path::new(repo);
    if !root.is_dir() {
        return Err(PhaseError::msg(format!(
            "pkgset_repos entry {repo} is not a folder"
        )));
    }
    if root.join("repodata/repomd.xml").is_file() {
        from_repodata(root)
    } else {
        let mut out = Vec::new();
        walk(root, &mut out).map_err(|e| PhaseError::with(format!("reading {repo}"), e))?;
        out.sort();
        Ok(out.into_iter().map(|p| (p, None)).collect())
    }
}

fn from_repodata(root: &Path) -> Result<Vec<(PathBuf, Option<Expected>)>, PhaseError> {
    let reader = kiln_repodata::RepoReader::open(root)
        .map_err(|e| PhaseError::with(format!("repository {}", root.display()), e))?;
    let mut out = Vec::new();
    for item in reader {
        let (pkg, loc) =
            item.map_err(|e| PhaseError::with(format!("repository {}", root.display()), e))?;
        let base = loc
            .base
            .as_deref()
            .and_then(|b| b.strip_prefix("file://"))
            .map(PathBuf::from)
            .unwrap_or_else(|| root.to_owned());
        let path = base.join(&loc.href);
        if !path.is_file() {
            return Err(PhaseError::msg(format!(
                "repository {} lists {} at {}, which does not exist",
                root.display(),
                pkg.nevra(),
                path.display()
            )));
        }
        out.push((
            path,
            Some(Expected {
                nevra: pkg.nevra(),
                checksum_kind: pkg.checksum.kind.as_str().to_owned(),
                checksum: pkg.checksum.hex.clone(),
            }),
        ));
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rpm") {
            out.push(p);
        }
    }
    Ok(())
}
