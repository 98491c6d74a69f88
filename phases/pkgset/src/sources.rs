//! Where the package files come from: a repository (its repodata names the files and their
//! checksums, which are verified), local or remote (http/https, mirrored into the download cache
//! by [`crate::remote`]), or a plain folder of RPMs.

use std::path::{Path, PathBuf};

use kiln_engine::PhaseError;
use kiln_rpm::Package;

use kiln_remote::download::{self as remote, Downloader};
use kiln_remote::url::Url;

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

/// How remote repositories are fetched: the downloader and the cache folder.
pub struct RemoteCtx<'a> {
    pub downloader: &'a Downloader<'a>,
    /// `<target>/.kiln-cache` or `pkgset_cache_dir`; downloads go to `downloads/` in it.
    pub cache: &'a Path,
    /// Called after each package download.
    pub done: &'a (dyn Fn() + Sync),
}

/// Where a package set's files come from. Each `pkgset_repos` entry is one source; a Koji source
/// (a tag at an event, its builds listed over XML-RPC, its files on the Koji volume) implements the
/// same trait without the phase changing.
pub trait PackageSource {
    /// The entry as the user wrote it, for messages.
    fn describe(&self) -> &str;
    /// Every package file the source offers, on local disk (fetched first if need be), with what
    /// the source's metadata says about each file when it has metadata; and its `modules.yaml`
    /// text when its metadata has one.
    fn list(&self, remote: &RemoteCtx) -> Result<Listing, PhaseError>;
}

/// What a source offers.
pub struct Listing {
    pub files: Vec<(PathBuf, Option<Expected>)>,
    pub modules: Option<String>,
}

/// A local repository: its primary names the files and their checksums.
struct LocalRepo {
    entry: String,
    root: PathBuf,
}

/// A local folder of RPMs without repodata.
struct RpmFolder {
    entry: String,
    root: PathBuf,
}

/// An http(s) repository, mirrored into the download cache.
struct HttpRepo {
    entry: String,
}

impl PackageSource for LocalRepo {
    fn describe(&self) -> &str {
        &self.entry
    }
    fn list(&self, _remote: &RemoteCtx) -> Result<Listing, PhaseError> {
        Ok(Listing {
            files: from_repodata(&self.root)?,
            modules: read_modules(&self.root)
                .map_err(|e| PhaseError::msg(format!("pkgset_repos entry {}: {e}", self.entry)))?,
        })
    }
}

impl PackageSource for RpmFolder {
    fn describe(&self) -> &str {
        &self.entry
    }
    fn list(&self, _remote: &RemoteCtx) -> Result<Listing, PhaseError> {
        let mut out = Vec::new();
        walk(&self.root, &mut out)
            .map_err(|e| PhaseError::with(format!("reading {}", self.entry), e))?;
        // Any fixed order does (the set is sorted by name and version); bytes compare fastest.
        out.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        Ok(Listing {
            files: out.into_iter().map(|p| (p, None)).collect(),
            // A folder of RPMs has no metadata, so no modules.
            modules: None,
        })
    }
}

impl PackageSource for HttpRepo {
    fn describe(&self) -> &str {
        &self.entry
    }
    fn list(&self, remote: &RemoteCtx) -> Result<Listing, PhaseError> {
        from_remote(&self.entry, remote)
            .map_err(|e| PhaseError::msg(format!("pkgset_repos entry {}: {e}", self.entry)))
    }
}

/// The text of the `modules` record of `<root>/repodata/repomd.xml`, if it has one.
fn read_modules(root: &Path) -> Result<Option<String>, String> {
    let md_path = root.join("repodata/repomd.xml");
    let file = std::fs::File::open(&md_path).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let md = kiln_repodata::repomd::RepoMd::parse(
        std::io::BufReader::new(file),
        &md_path.display().to_string(),
    )
    .map_err(|e| e.to_string())?;
    let Some(rec) = md.record("modules") else {
        return Ok(None);
    };
    let path = root.join(&rec.href);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut kiln_repodata::compress::open_read(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        &mut text,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(text))
}

/// The source a `pkgset_repos` entry names: an http(s) URL, a repository, or a folder of RPMs.
pub fn source_for(repo: &str) -> Result<Box<dyn PackageSource>, PhaseError> {
    if Url::is_remote(repo) {
        return Ok(Box::new(HttpRepo {
            entry: repo.to_owned(),
        }));
    }
    let local = repo.strip_prefix("file://").unwrap_or(repo);
    if local.contains("://") {
        return Err(PhaseError::msg(format!(
            "pkgset_repos entry {repo}: only local folders and http(s) URLs are supported"
        )));
    }
    let root = PathBuf::from(local);
    if !root.is_dir() {
        return Err(PhaseError::msg(format!(
            "pkgset_repos entry {repo} is not a folder"
        )));
    }
    let entry = repo.to_owned();
    if root.join("repodata/repomd.xml").is_file() {
        Ok(Box::new(LocalRepo { entry, root }))
    } else {
        Ok(Box::new(RpmFolder { entry, root }))
    }
}

/// Mirrors the repository's primary and the packages the cache lacks; every download is
/// verified against primary's checksum before it takes its name.
fn from_remote(repo: &str, remote: &RemoteCtx) -> Result<Listing, String> {
    let dl = remote.downloader;
    let mirror = remote::mirror_metadata(dl, repo, remote.cache, &["primary", "modules"])
        .map_err(|e| e.to_string())?;
    let modules = read_modules(&mirror.root)?;
    let packages = remote::packages(&mirror, remote.cache).map_err(|e| e.to_string())?;
    let jobs: Vec<remote::Job> = packages
        .iter()
        // A file under its final name was verified when it got that name; the header read
        // checks its checksum again against primary.
        .filter(|p| {
            std::fs::metadata(&p.dest)
                .map(|m| m.len() != p.package.size_package)
                .unwrap_or(true)
        })
        .map(|p| remote::Job {
            url: p.url.clone(),
            dest: p.dest.clone(),
            checksum: p.package.checksum.clone(),
            mtime: p.package.file_time,
        })
        .collect();
    tracing::info!(
        "{repo}: {} packages, {} to download",
        packages.len(),
        jobs.len()
    );
    for job in &jobs {
        let _ = std::fs::remove_file(&job.dest);
    }
    let errors = dl.fetch_all(&jobs, remote.done);
    if !errors.is_empty() {
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(msgs.join("\n"));
    }
    let files = packages
        .into_iter()
        .map(|p| {
            let expected = Expected {
                nevra: p.package.nevra(),
                checksum_kind: p.package.checksum.kind.as_str().to_owned(),
                checksum: p.package.checksum.hex.clone(),
            };
            (p.dest, Some(expected))
        })
        .collect();
    Ok(Listing { files, modules })
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
