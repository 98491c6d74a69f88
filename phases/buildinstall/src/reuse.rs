//! A lorax tree taken from the old compose (`buildinstall_allow_reuse`, pungi's option) instead
//! of running lorax again: lorax takes minutes per variant and arch, and a tree it makes again
//! is never the same bytes, so without reuse no bootable DVD of a nightly could be reused either.
//!
//! With the option on, every lorax run leaves `work/<arch>/buildinstall/<V>-reuse.json`
//! ([`Metadata`]): lorax's version, its arguments but for the paths that change from compose to
//! compose, and the packages lorax installed (the names of its `pkglists/`), each as every build
//! of that name in the package set. The old compose's tree is reused when all of that is the same now, as
//! pungi decides it (pungi compares paths; kiln also compares checksums). What this cannot see,
//! as pungi cannot: a package lorax did not install before that it would pick now (a new
//! provider of something it needs).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kiln_artifacts::{PackageSet, checksum_of};
use kiln_engine::{PhaseContext, PhaseError};
use serde::{Deserialize, Serialize};

/// What decides a lorax tree, as the run that made it left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// `lorax -V`, first line.
    pub lorax: String,
    /// lorax's arguments but its sources (the packages are compared instead), log file and
    /// output folder (both inside the compose).
    pub argv: Vec<String>,
    /// The packages lorax installed, by name, sorted.
    pub installed: Vec<String>,
    /// Every build of those names in the package set, sorted by path.
    pub builds: Vec<Build>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    pub name: String,
    pub path: PathBuf,
    /// `<kind>:<hex>` of the file.
    pub checksum: String,
}

/// `work/<arch>/buildinstall/<V>-reuse.json`, beside the tree `outdir`.
pub fn metadata_path(outdir: &Path) -> PathBuf {
    let name = outdir.file_name().map(|n| n.to_string_lossy().into_owned());
    outdir.with_file_name(format!("{}-reuse.json", name.unwrap_or_default()))
}

/// lorax's arguments without `--source=`, `--logfile=` and the output folder (the last one).
pub fn comparable_argv(argv: &[OsString]) -> Vec<String> {
    let mut args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.starts_with("--source=") && !a.starts_with("--logfile="))
        .collect();
    args.pop();
    args
}

/// The names of the packages lorax says it installed: one file per package in `pkglists/`
/// beside its log file. None when lorax left no such folder.
pub fn installed_names(pkglists: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(pkglists)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Some(names)
}

/// Every build in `set` of a package named in `names`, sorted by path.
pub fn builds_of(set: &PackageSet, names: &[String]) -> Vec<Build> {
    let mut builds: Vec<Build> = set
        .packages
        .iter()
        .filter(|e| names.binary_search(&e.package.name).is_ok())
        .map(|e| Build {
            name: e.package.name.clone(),
            path: e.path.clone(),
            checksum: checksum_of(&e.package),
        })
        .collect();
    builds.sort_by(|a, b| a.path.cmp(&b.path));
    builds
}

/// The old compose's tree to reuse, or why there is none.
pub fn old_tree(
    ctx: &PhaseContext,
    outdir: &Path,
    lorax: &str,
    argv: &[String],
    set: &PackageSet,
) -> Result<(PathBuf, Metadata), String> {
    let Some(old_tree) = ctx.compose.old_path(outdir) else {
        return Err("there is no old compose".into());
    };
    let old_meta = metadata_path(&old_tree);
    let text =
        std::fs::read(&old_meta).map_err(|e| format!("cannot read {}: {e}", old_meta.display()))?;
    let old: Metadata = serde_json::from_slice(&text)
        .map_err(|e| format!("cannot read {}: {e}", old_meta.display()))?;
    if old.lorax != lorax {
        return Err(format!("lorax is {lorax:?} now, was {:?}", old.lorax));
    }
    if old.argv != argv {
        return Err("lorax's arguments differ".into());
    }
    if old.installed.is_empty() {
        return Err("the old lorax run listed no installed packages".into());
    }
    let now = builds_of(set, &old.installed);
    if now != old.builds {
        return Err(format!(
            "packages lorax installed changed: {}",
            changed_names(&old.builds, &now).join(", ")
        ));
    }
    if !old_tree.join("images").is_dir() {
        return Err(format!("{} is gone", old_tree.display()));
    }
    Ok((old_tree, old))
}

/// The names of the builds in one list and not in the other.
fn changed_names(old: &[Build], now: &[Build]) -> Vec<String> {
    let mut names: Vec<String> = old
        .iter()
        .filter(|b| !now.contains(b))
        .chain(now.iter().filter(|b| !old.contains(b)))
        .map(|b| b.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Puts the old compose's tree `from` at `to`: hard links (copies across file systems), but a
/// copy of the FAT images, which the relabelling edits in place.
pub fn link_tree(from: &Path, to: &Path) -> Result<(), PhaseError> {
    place_tree(from, to, &|p| !edited_in_place(p))
}

fn edited_in_place(p: &Path) -> bool {
    p.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "images")
        && p.file_name()
            .is_some_and(|n| n == "efiboot.img" || n == "macboot.img")
}

/// Copies the old compose's lorax log folder (lorax.log, pkglists/), when there is one, into
/// `to`: this compose's logs are files of its own.
pub fn copy_logs(from: &Path, to: &Path) -> Result<(), PhaseError> {
    if !from.is_dir() {
        return Ok(());
    }
    place_tree(from, to, &|_| false)
}

/// Every file of `from` at the same place under `to`: hard-linked where `link` says so and the
/// file system allows, else copied; symlinks as symlinks.
fn place_tree(from: &Path, to: &Path, link: &dyn Fn(&Path) -> bool) -> Result<(), PhaseError> {
    let mut stack = vec![from.to_owned()];
    while let Some(dir) = stack.pop() {
        let rel = dir.strip_prefix(from).unwrap_or(&dir);
        std::fs::create_dir_all(to.join(rel))?;
        for e in std::fs::read_dir(&dir)?.flatten() {
            let src = e.path();
            let dst = to.join(src.strip_prefix(from).unwrap_or(&src));
            let kind = e.file_type()?;
            if kind.is_dir() {
                stack.push(src);
            } else if kind.is_symlink() {
                kiln_fs::symlink_atomic(&std::fs::read_link(&src)?, &dst)?;
            } else if !link(&src) || std::fs::hard_link(&src, &dst).is_err() {
                kiln_fs::copy_atomic(&src, &dst)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compared_arguments_leave_out_sources_log_and_output() {
        let argv: Vec<OsString> = [
            "--product=Mini Linux",
            "--source=file:///a",
            "--source=file:///b",
            "--variant=BaseOS",
            "--volid=Mini-36 BaseOS.x86_64",
            "--logfile=/c/Mini-36-1/logs/x86_64/buildinstall-BaseOS-logs/lorax.log",
            "/c/Mini-36-1/work/x86_64/buildinstall/BaseOS",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            comparable_argv(&argv),
            [
                "--product=Mini Linux",
                "--variant=BaseOS",
                "--volid=Mini-36 BaseOS.x86_64"
            ]
        );
    }

    #[test]
    fn the_metadata_lies_beside_the_tree() {
        assert_eq!(
            metadata_path(Path::new("/c/work/x86_64/buildinstall/BaseOS")),
            Path::new("/c/work/x86_64/buildinstall/BaseOS-reuse.json")
        );
    }

    #[test]
    fn a_linked_tree_shares_its_files_but_the_esp_images() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("old");
        std::fs::create_dir_all(from.join("images/pxeboot")).unwrap();
        std::fs::write(from.join("images/install.img"), b"stage2").unwrap();
        std::fs::write(from.join("images/efiboot.img"), b"fat").unwrap();
        std::fs::write(from.join("images/pxeboot/vmlinuz"), b"kernel").unwrap();
        std::os::unix::fs::symlink("pxeboot/vmlinuz", from.join("images/vmlinuz")).unwrap();
        let to = dir.path().join("new");
        link_tree(&from, &to).unwrap();
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        for f in ["images/install.img", "images/pxeboot/vmlinuz"] {
            assert_eq!(ino(&from.join(f)), ino(&to.join(f)), "{f}");
        }
        assert_ne!(
            ino(&from.join("images/efiboot.img")),
            ino(&to.join("images/efiboot.img"))
        );
        assert_eq!(
            std::fs::read(to.join("images/efiboot.img")).unwrap(),
            b"fat"
        );
        assert_eq!(
            std::fs::read_link(to.join("images/vmlinuz")).unwrap(),
            Path::new("pxeboot/vmlinuz")
        );
    }
}
