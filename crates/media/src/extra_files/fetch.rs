//! Getting extra files from their source: a path, a git repository, or a package of the
//! package set (read from the RPM payload natively).

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use kiln_config::{Config, ExtraFile};
use kiln_engine::{PhaseContext, PhaseError};

/// A file to put in a tree: its path below the entry's target, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub rel: String,
    pub bytes: Vec<u8>,
}

/// A relative path that stays where it is put: no root, no `..`.
pub fn check_relative(p: &str, what: &str) -> Result<(), PhaseError> {
    let path = Path::new(p);
    if path.is_absolute() {
        return Err(PhaseError::msg(format!(
            "{what} {p:?} is absolute; it must be relative to the tree"
        )));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(PhaseError::msg(format!(
            "{what} {p:?} contains `..`, which would leave the tree"
        )));
    }
    Ok(())
}

fn read(p: &Path) -> Result<Vec<u8>, PhaseError> {
    std::fs::read(p)
        .map_err(|e| PhaseError::with(format!("cannot read extra file {}", p.display()), e))
}

fn file_name(p: &str) -> Result<String, PhaseError> {
    Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| PhaseError::msg(format!("extra file {p:?} has no file name")))
}

/// Every file under `dir`, relative to it, sorted.
fn dir_files(dir: &Path) -> Result<Vec<Fetched>, PhaseError> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.map_err(|e| {
            PhaseError::msg(format!(
                "cannot read extra files dir {}: {e}",
                dir.display()
            ))
        })?;
        if e.path_is_symlink() || !e.file_type().is_file() {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(dir)
            .unwrap_or(e.path())
            .to_string_lossy()
            .into_owned();
        if rel.starts_with(".git/") {
            continue;
        }
        out.push(Fetched {
            rel,
            bytes: read(e.path())?,
        });
    }
    Ok(out)
}

/// Files and dirs named by the entry, from a local root (config dir paths are already absolute,
/// git paths are relative to the checkout).
fn from_root(root: Option<&Path>, entry: &ExtraFile) -> Result<Vec<Fetched>, PhaseError> {
    let resolve = |p: &str| match root {
        Some(r) => r.join(p.trim_start_matches('/')),
        None => PathBuf::from(p),
    };
    let mut out = Vec::new();
    for f in entry.file.to_vec() {
        out.push(Fetched {
            rel: file_name(&f)?,
            bytes: read(&resolve(&f))?,
        });
    }
    for d in entry.dir.to_vec() {
        out.extend(dir_files(&resolve(&d))?);
    }
    Ok(out)
}

fn git(
    ctx: &PhaseContext,
    entry: &ExtraFile,
    arch: &str,
    variant: &str,
) -> Result<Vec<Fetched>, PhaseError> {
    let repo = entry
        .repo
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            PhaseError::msg(format!(
                "extra_files for {variant}.{arch}: scm git needs a repo"
            ))
        })?;
    let key = format!("{repo}\u{0}{}", entry.branch.as_deref().unwrap_or(""));
    let checkout = ctx
        .compose
        .paths
        .work_dir("global")
        .join("tmp")
        .join(format!(
            "extra-files-git-{:016x}-{arch}-{variant}",
            fnv(key.as_bytes())
        ));
    let _ = std::fs::remove_dir_all(&checkout);
    if let Some(parent) = checkout.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let log = ctx.log_file(arch, &format!("extra-files-git-{variant}"));
    let mut clone = Command::new("git");
    clone.args(["clone", "--quiet", repo]).arg(&checkout);
    ctx.run(&clone, &log)?;
    if let Some(branch) = entry.branch.as_deref().filter(|b| !b.is_empty()) {
        let mut co = Command::new("git");
        co.arg("-C")
            .arg(&checkout)
            .args(["checkout", "--quiet", branch]);
        ctx.run(&co, &log)?;
    }
    if let Some(command) = &entry.command {
        let mut sh = Command::new("sh");
        sh.args(["-c", command]).current_dir(&checkout);
        ctx.run(&sh, &log)?;
    }
    let files = from_root(Some(&checkout), entry);
    let _ = std::fs::remove_dir_all(&checkout);
    files
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// The package of the package set named `name` for `arch` (its newest version), or `name`
/// itself when it is a path to an RPM.
pub fn find_package(config: &Config, name: &str, arch: &str) -> Result<PathBuf, PhaseError> {
    if name.ends_with(".rpm") && Path::new(name).is_file() {
        return Ok(PathBuf::from(name));
    }
    let mut found: Vec<(String, String, PathBuf)> = Vec::new();
    for (key, repos) in &config.pkgset_repos {
        if !kiln_config::matches_arch(key, arch) {
            continue;
        }
        for repo in repos.iter().filter(|r| !r.contains("://")) {
            for e in walkdir::WalkDir::new(repo).into_iter().flatten() {
                let fname = e.file_name().to_string_lossy();
                if !fname.starts_with(&format!("{name}-"))
                    || !fname.ends_with(".rpm")
                    || fname.ends_with(".src.rpm")
                {
                    continue;
                }
                let Ok(meta) = rpm::PackageMetadata::open(e.path()) else {
                    continue;
                };
                if meta.get_name().ok() != Some(name) {
                    continue;
                }
                let v = meta.get_version().unwrap_or_default().to_owned();
                let r = meta.get_release().unwrap_or_default().to_owned();
                found.push((v, r, e.path().to_owned()));
            }
        }
    }
    found.sort_by(|a, b| {
        kiln_rpm::evr::vercmp(&a.0, &b.0)
            .then_with(|| kiln_rpm::evr::vercmp(&a.1, &b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    found.pop().map(|(_, _, p)| p).ok_or_else(|| {
        PhaseError::msg(format!(
            "extra_files: package {name:?} is not in the package set for {arch} (pkgset_repos)"
        ))
    })
}

/// Files out of an RPM payload: each `file` (a path inside the package) by its base name,
/// each `dir` with everything below it.
pub fn from_rpm(
    rpm_path: &Path,
    files: &[String],
    dirs: &[String],
) -> Result<Vec<Fetched>, PhaseError> {
    let pkg = rpm::Package::open(rpm_path)
        .map_err(|e| PhaseError::msg(format!("cannot read {}: {e}", rpm_path.display())))?;
    let entries = pkg.files().map_err(|e| {
        PhaseError::msg(format!(
            "cannot read the payload of {}: {e}",
            rpm_path.display()
        ))
    })?;
    let mut by_file: Vec<Option<Fetched>> = vec![None; files.len()];
    let mut from_dirs = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| PhaseError::msg(format!("bad payload in {}: {e}", rpm_path.display())))?;
        let path = entry.metadata.path().to_string_lossy().into_owned();
        let Some(content) = entry.content() else {
            continue;
        };
        if let Some(i) = files.iter().position(|f| f == &path) {
            by_file[i] = Some(Fetched {
                rel: file_name(&path)?,
                bytes: content.to_vec(),
            });
        }
        for d in dirs {
            let prefix = format!("{}/", d.trim_end_matches('/'));
            if let Some(rel) = path.strip_prefix(&prefix) {
                check_relative(rel, &format!("file in {}", rpm_path.display()))?;
                from_dirs.push(Fetched {
                    rel: rel.to_owned(),
                    bytes: content.to_vec(),
                });
            }
        }
    }
    let mut out = Vec::new();
    for (f, got) in files.iter().zip(by_file) {
        out.push(
            got.ok_or_else(|| PhaseError::msg(format!("{} has no file {f}", rpm_path.display())))?,
        );
    }
    from_dirs.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.extend(from_dirs);
    Ok(out)
}

/// The files of one `extra_files` entry.
pub fn fetch(
    ctx: &PhaseContext,
    entry: &ExtraFile,
    variant: &str,
    arch: &str,
) -> Result<Vec<Fetched>, PhaseError> {
    match entry.scm.as_str() {
        "file" => from_root(None, entry),
        "git" => git(ctx, entry, arch, variant),
        "rpm" => {
            let name = entry
                .repo
                .as_deref()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    PhaseError::msg(format!(
                        "extra_files for {variant}.{arch}: scm rpm needs repo = a package name"
                    ))
                })?;
            let path = find_package(ctx.config, name, arch)?;
            from_rpm(&path, &entry.file.to_vec(), &entry.dir.to_vec())
        }
        other => Err(PhaseError::msg(format!(
            "extra_files for {variant}.{arch}: unknown scm {other:?} (file, git or rpm)"
        ))),
    }
}
