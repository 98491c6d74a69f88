//! Images built here by the real KIWI (`kiwi-ng system build`), for the phases that build from
//! a KIWI description: kiwi (pungi's `kiwibuild`) and live (`live_media` blocks that name a
//! description). The description is a local folder or a shallow clone of a git repository; its
//! own repositories are replaced by the block's when it names any (variant UIDs name the
//! compose's own trees, just written). What `kiwi.result.json` lists as images is linked into
//! the compose and filed for images.json and CHECKSUM: a root archive as `container`, a disk as
//! `qcow2`/`raw-xz`, a live ISO as `live` (its MD5 implanted, as livemedia-creator's ISOs have).

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_engine::{PhaseContext, PhaseError};
use kiln_productmd::ImageRecord;
use kiln_variants::Variant;
use serde_json::Value;

/// A KIWI description and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct Description<'a> {
    /// A local folder (or `file://` URL), or a git repository's URL.
    pub scm: &'a str,
    /// The description's folder in `scm`.
    pub path: &'a str,
    pub profile: Option<&'a str>,
    /// `--type`; the description's default type when None.
    pub image_type: Option<&'a str>,
    /// Replace the description's repositories; empty keeps them.
    pub repos: &'a [String],
}

/// Where a build goes and how its images are filed.
pub struct Build<'a> {
    /// The build's folder under `work/<arch>/` and its log's name under `logs/<arch>/`.
    pub name: String,
    /// Where the images are linked (`compose/<V>/<arch>/images/` or `iso/`).
    pub images_dir: PathBuf,
    pub subvariant: &'a str,
}

impl Description<'_> {
    pub fn is_remote(&self) -> bool {
        is_remote(self.scm)
    }

    /// The image types a local description's `config.xml` defines (`<type image="...">`), the
    /// one KIWI builds when no `--type` is given first (the `primary="true"` one, else the
    /// first), or None when the description is not a local folder kiln can read now.
    pub fn local_types(&self) -> Option<Vec<String>> {
        if self.is_remote() {
            return None;
        }
        let root = self.scm.strip_prefix("file://").unwrap_or(self.scm);
        let text =
            std::fs::read_to_string(Path::new(root).join(self.path).join("config.xml")).ok()?;
        let mut types = Vec::new();
        for part in text.split("<type").skip(1) {
            let tag = part.split_once('>').map_or(part, |(t, _)| t);
            if let Some(rest) = tag.split_once("image=\"").map(|(_, r)| r)
                && let Some((t, _)) = rest.split_once('"')
            {
                if tag.contains("primary=\"true\"") {
                    types.insert(0, t.to_owned());
                } else {
                    types.push(t.to_owned());
                }
            }
        }
        (!types.is_empty()).then_some(types)
    }

    /// The KIWI type it builds, when kiln can tell.
    pub fn build_type(&self) -> Option<String> {
        self.image_type
            .map(str::to_owned)
            .or_else(|| self.local_types()?.into_iter().next())
    }

    /// What the build runs here: kiwi-ng, git for a remote description, and what KIWI itself
    /// runs on the build host for the type (found missing only after the root is installed,
    /// minutes in, so kiln asks for it before the compose starts).
    pub fn tools(&self) -> Vec<&'static str> {
        let mut tools = vec!["kiwi-ng"];
        if self.is_remote() {
            tools.push("git");
        }
        tools.extend(match self.build_type().as_deref() {
            Some("oem" | "vmx" | "kis") => {
                &["qemu-img", "sfdisk", "sgdisk", "parted", "mkfs.ext4"][..]
            }
            Some("iso") => &["xorriso", "mksquashfs", "mkfs.vfat", "mcopy"][..],
            _ => &[][..],
        });
        tools
    }
}

fn is_remote(url: &str) -> bool {
    url.contains("://") && !url.starts_with("file://")
}

/// A repository of the block as kiwi's `--add-repo` takes it.
fn repo_source(ctx: &PhaseContext, repo: &str, arch: &str) -> Result<String, PhaseError> {
    if let Some(v) = ctx.compose.variants.get(repo) {
        let tree = ctx.compose.paths.os_tree(v, arch);
        if !tree.join("repodata/repomd.xml").is_file() {
            return Err(PhaseError::msg(format!(
                "KIWI repo {repo}: the compose has no repository at {}",
                tree.display()
            )));
        }
        return Ok(format!("dir://{}", tree.display()));
    }
    if repo.contains("://") {
        return Ok(repo.to_owned());
    }
    Ok(format!("dir://{repo}"))
}

/// The description folder: local, or a shallow clone of the git repository.
fn checkout(
    ctx: &PhaseContext,
    desc: &Description,
    work: &Path,
    log: &Path,
) -> Result<PathBuf, PhaseError> {
    let local = desc.scm.strip_prefix("file://").unwrap_or(desc.scm);
    let root = if desc.is_remote() || Path::new(local).join(".git").exists() {
        let dir = work.join("description_scm");
        let _ = std::fs::remove_dir_all(&dir);
        let mut git = Command::new("git");
        git.args(["clone", "--quiet", "--depth", "1"])
            .arg(if desc.is_remote() {
                desc.scm.to_owned()
            } else {
                format!("file://{local}")
            })
            .arg(&dir);
        ctx.run(&git, log)?;
        dir
    } else {
        PathBuf::from(local)
    };
    let d = root.join(desc.path);
    if !d.is_dir() {
        return Err(PhaseError::msg(format!(
            "KIWI: no description folder {}",
            d.display()
        )));
    }
    Ok(d)
}

/// images.json's type and format of a `kiwi.result.json` entry, or None for what is not an image.
fn image_kind(key: &str, file: &str) -> Option<(&'static str, &'static str)> {
    let ends = |s: &str| file.ends_with(s);
    match key {
        "root_archive" if ends(".tar.xz") => Some(("container", "tar.xz")),
        "root_archive" if ends(".tar.gz") || ends(".tgz") => Some(("container", "tar.gz")),
        "disk_image" | "disk_format_image" if ends(".qcow2") => Some(("qcow2", "qcow2")),
        "disk_image" | "disk_format_image" if ends(".raw.xz") => Some(("raw-xz", "raw.xz")),
        "disk_image" if ends(".raw") => Some(("raw", "raw")),
        "live_image" if ends(".iso") => Some(("live", "iso")),
        "installation_image" if ends(".iso") => Some(("dvd", "iso")),
        _ => None,
    }
}

/// Builds `desc` for `arch` of `variant` and files its images.
pub fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
    desc: &Description,
    out: &Build,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let work = ctx.compose.paths.work_dir(arch).join(&out.name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)
        .map_err(|e| PhaseError::with(format!("cannot create {}", work.display()), e))?;
    let log = ctx.log_file(arch, &format!("{}-{uid}", out.name));
    let _ = std::fs::remove_file(&log);
    let dir = checkout(ctx, desc, &work, &log)?;
    let target = work.join("target");
    let mut kiwi = Command::new("kiwi-ng");
    if let Some(p) = desc.profile {
        kiwi.arg("--profile").arg(p);
    }
    if let Some(t) = desc.image_type {
        kiwi.arg("--type").arg(t);
    }
    kiwi.args(["system", "build", "--description"])
        .arg(&dir)
        .arg("--target-dir")
        .arg(&target);
    if !desc.repos.is_empty() {
        kiwi.arg("--ignore-repos");
        for (i, r) in desc.repos.iter().enumerate() {
            kiwi.arg("--add-repo")
                .arg(format!("{},rpm-md,kiln-{i}", repo_source(ctx, r, arch)?));
        }
    }
    let turn = host_turn(ctx)?;
    ctx.run(&kiwi, &log)?;
    drop(turn);
    let result_path = target.join("kiwi.result.json");
    let result: Value = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            PhaseError::msg(format!(
                "KIWI {uid}.{arch}: kiwi-ng wrote no readable {}",
                result_path.display()
            ))
        })?;
    let mut records = Vec::new();
    for (key, entry) in result.as_object().into_iter().flatten() {
        let Some(file) = entry.get("filename").and_then(Value::as_str) else {
            continue;
        };
        let Some((kind, format)) = image_kind(key, file) else {
            continue;
        };
        let src = Path::new(file);
        if format == "iso" {
            implant(src)?;
        }
        crate::set_mtime(src, ctx.compose.timestamp)?;
        records.extend(crate::place_image(
            ctx,
            src,
            &out.images_dir,
            crate::Placed {
                variant,
                arch,
                kind,
                format,
                subvariant: out.subvariant,
                bootable: matches!(kind, "live" | "dvd" | "qcow2" | "raw" | "raw-xz"),
            },
        )?);
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "KIWI {uid}.{arch}: kiwi-ng made no image kiln knows ({})",
            result_path.display()
        )));
    }
    Ok(records)
}

/// KIWI's package cache is the host's (`/var/cache/kiwi`), and two builds at once make apt or dnf
/// fail on its lock ("Could not get lock ... held by process"), as two composes on one machine
/// would. Each build waits its turn on `kiln.lock` there. Where the folder cannot be written
/// kiwi-ng cannot run either: no lock.
const KIWI_SHARED_CACHE: &str = "/var/cache/kiwi";

/// Whether builds through `runner` share this machine's KIWI cache: local ones, and podman
/// containers that have it mounted (`podman_mounts`); otherwise a container has its own
/// `/var/cache`, a Kubernetes pod or Koji task its own machine.
fn shares_host_cache(runner: &str, podman_mounts: &[PathBuf]) -> bool {
    match runner {
        "local" => true,
        "podman" => podman_mounts
            .iter()
            .any(|m| Path::new(KIWI_SHARED_CACHE).starts_with(m)),
        _ => false,
    }
}

fn host_turn(ctx: &PhaseContext) -> Result<Option<std::fs::File>, PhaseError> {
    let mounts = ctx
        .config
        .runroot_podman
        .as_ref()
        .map(|p| p.mounts.as_slice())
        .unwrap_or_default();
    if !shares_host_cache(ctx.runner_name(), mounts) {
        return Ok(None);
    }
    let lock = Path::new(KIWI_SHARED_CACHE).join("kiln.lock");
    let cancelled = || ctx.check_cancelled().is_err();
    let waiting = || {
        tracing::info!(
            "waiting for another KIWI build on this host to finish (it holds {})",
            lock.display()
        )
    };
    match wait_for_turn(&lock, &cancelled, &waiting) {
        Ok(Turn::Mine(file)) => Ok(Some(file)),
        Ok(Turn::Cancelled) => Err(PhaseError::Cancelled),
        Err(_) => Ok(None),
    }
}

#[derive(Debug)]
enum Turn {
    /// The lock, held until the file is dropped.
    Mine(std::fs::File),
    Cancelled,
}

/// Takes the exclusive lock on `lock` (created when missing), calling `waiting` once if another
/// process holds it and polling `cancelled` while it waits.
fn wait_for_turn(
    lock: &Path,
    cancelled: &dyn Fn() -> bool,
    waiting: &dyn Fn(),
) -> std::io::Result<Turn> {
    if let Some(dir) = lock.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)?;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Turn::Mine(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if cancelled() {
            return Ok(Turn::Cancelled);
        }
        if !told {
            waiting();
            told = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A KIWI ISO gets the implanted MD5 that media checks (`checkisomd5`, `rd.live.check`) read,
/// as livemedia-creator's ISOs have it. One KIWI already tagged keeps its own.
fn implant(iso: &Path) -> Result<(), PhaseError> {
    use kiln_iso::implant::{ImplantError, ImplantFileError, implant_file};
    match implant_file(iso, false) {
        Ok(_) | Err(ImplantFileError::Implant(ImplantError::AppDataUsed)) => Ok(()),
        Err(e) => Err(PhaseError::msg(format!(
            "cannot implant the MD5 into {}: {e}",
            iso.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_type_is_built_when_none_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        std::fs::write(
            dir.path().join("d/config.xml"),
            r#"<image><preferences><type image="tbz"/><type image="iso" primary="true" volid="X"/></preferences></image>"#,
        )
        .unwrap();
        let scm = dir.path().to_string_lossy().into_owned();
        let desc = Description {
            scm: &scm,
            path: "d",
            profile: None,
            image_type: None,
            repos: &[],
        };
        assert_eq!(desc.local_types().unwrap(), ["iso", "tbz"]);
        assert!(desc.tools().contains(&"mksquashfs"));
        let tbz = Description {
            image_type: Some("tbz"),
            ..desc
        };
        assert_eq!(tbz.tools(), ["kiwi-ng"]);
    }

    #[test]
    fn only_local_builds_wait_for_the_hosts_kiwi_cache() {
        assert!(shares_host_cache("local", &[]));
        for elsewhere in ["podman", "kubernetes", "koji"] {
            assert!(!shares_host_cache(elsewhere, &[]), "{elsewhere}");
        }
        let mounted =
            |m: &str| shares_host_cache("podman", &[PathBuf::from("/srv/repos"), PathBuf::from(m)]);
        assert!(mounted("/var/cache"));
        assert!(mounted("/var/cache/kiwi"));
        assert!(!mounted("/var/cache/dnf"));
    }

    /// A build waits while another holds the host's KIWI lock, says so once, and goes on when
    /// it is released; a stopped compose stops waiting.
    #[test]
    fn a_build_waits_its_turn_on_the_host_lock() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("cache/kiln.lock");
        let Ok(Turn::Mine(held)) = wait_for_turn(&lock, &|| false, &|| {}) else {
            panic!("a free lock is taken at once");
        };
        let told = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                wait_for_turn(&lock, &|| false, &|| {
                    told.fetch_add(1, Ordering::SeqCst);
                })
            });
            std::thread::sleep(std::time::Duration::from_millis(600));
            assert!(!waiter.is_finished(), "it went on while the lock was held");
            drop(held);
            let turn = waiter.join().unwrap().unwrap();
            assert!(matches!(turn, Turn::Mine(_)));
            assert_eq!(told.load(Ordering::SeqCst), 1);
            // With the lock held again, a cancelled wait ends.
            let again = s.spawn(|| wait_for_turn(&lock, &|| stop.load(Ordering::SeqCst), &|| {}));
            std::thread::sleep(std::time::Duration::from_millis(300));
            stop.store(true, Ordering::SeqCst);
            assert!(matches!(again.join().unwrap().unwrap(), Turn::Cancelled));
            drop(turn);
        });
    }
}
