//! The kiwi phase (pungi's `kiwibuild`), local backend: for every block of a variant and each of
//! its arches, the real `kiwi-ng system build` runs through the compose's runner on the block's
//! description (`description_scm` + `description_path`: a local folder, or a git repository
//! cloned first), with the description's own repositories replaced by the block's `repos` (variant
//! UIDs name the compose's own trees, just written). What `kiwi.result.json` lists as images is
//! moved to `compose/<V>/<arch>/images/` and recorded for images.json and CHECKSUM: a root
//! archive as `container`/`tar.xz`, a disk as `qcow2` (or `raw-xz`), a live ISO as `live`/`iso`.
//! A block with a Koji target (`target`, or `kiwibuild_target`) is built as pungi builds every
//! kiwibuild block instead: one Koji `kiwiBuild` task for all its arches ([`koji_build`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_config::{Config, KiwiBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use serde_json::Value;

mod koji_build;

pub struct KiwiPhase;

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &KiwiBlock)> {
    config
        .kiwibuild
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

/// The image types a local description's `config.xml` defines (`<type image="...">`), the
/// one KIWI builds when no `--type` is given first (the `primary="true"` one, else the first),
/// or None when the description is not a local folder kiln can read now.
fn local_types(block: &KiwiBlock) -> Option<Vec<String>> {
    if is_remote(&block.description_scm) {
        return None;
    }
    let root = block
        .description_scm
        .strip_prefix("file://")
        .unwrap_or(&block.description_scm);
    let text = std::fs::read_to_string(
        Path::new(root)
            .join(&block.description_path)
            .join("config.xml"),
    )
    .ok()?;
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

/// The KIWI type a local block builds, when kiln can tell.
fn build_type(block: &KiwiBlock) -> Option<String> {
    block
        .image_type
        .clone()
        .or_else(|| local_types(block)?.into_iter().next())
}

/// What KIWI itself runs on the build host for a type, beyond its own package manager: found
/// missing only after the root is installed, minutes in, so kiln asks for them first.
fn type_tools(image_type: &str) -> &'static [&'static str] {
    match image_type {
        "oem" | "vmx" | "kis" => &["qemu-img", "sfdisk", "sgdisk", "parted", "mkfs.ext4"],
        "iso" => &["xorriso", "mksquashfs", "mkfs.vfat", "mcopy"],
        _ => &[],
    }
}

/// The Koji target a block builds in, if it builds in Koji.
fn koji_target<'a>(config: &'a Config, block: &'a KiwiBlock) -> Option<&'a str> {
    block
        .target
        .as_deref()
        .or(config.kiwibuild_target.as_deref())
}

fn is_remote(url: &str) -> bool {
    url.contains("://") && !url.starts_with("file://")
}

impl Phase for KiwiPhase {
    fn name(&self) -> &'static str {
        "kiwi"
    }
    /// The images are built from the compose's repositories.
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "kiwibuild",
            "kiwibuild_target",
            "koji_profile",
            "release_version",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.kiwibuild.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        let mut tools = Vec::new();
        if blocks(config).any(|(_, b)| koji_target(config, b).is_some()) {
            tools.extend(["koji", "python3"]);
        }
        for (_, block) in blocks(config).filter(|(_, b)| koji_target(config, b).is_none()) {
            tools.push("kiwi-ng");
            if is_remote(&block.description_scm) {
                tools.push("git");
            }
            if let Some(t) = build_type(block) {
                tools.extend(type_tools(&t));
            }
        }
        tools.sort_unstable();
        tools.dedup();
        tools
    }
    /// A block's arch that none of its variants has, or a `type` its local description does
    /// not define, is a config error before the compose starts.
    fn refused(&self, config: &Config, compose: &kiln_engine::Compose) -> Option<String> {
        for (re, block) in blocks(config) {
            let variants: Vec<&kiln_variants::Variant> = compose
                .variants
                .all
                .iter()
                .filter(|v| kiln_config::variant_matches(re, &v.uid))
                .collect();
            if let Some(why) =
                kiln_media::naming::foreign_arches("kiwibuild", re, &block.arches, &variants)
            {
                return Some(why);
            }
            if let Some(t) = &block.image_type
                && let Some(types) = local_types(block)
                && !types.contains(t)
            {
                return Some(format!(
                    "kiwibuild block for {re}: type {t} is not one {} defines ({})",
                    block.description_path,
                    types.join(", ")
                ));
            }
        }
        None
    }
    /// Koji blocks' tasks all at once (they mostly wait), local builds one after another.
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut records = Vec::new();
        let mut koji_jobs: Vec<kiln_koji::Job<Option<Vec<kiln_productmd::ImageRecord>>>> =
            Vec::new();
        let mut locals = Vec::new();
        let mut number = 0;
        for variant in &ctx.compose.variants.all {
            for (re, block) in blocks(ctx.config) {
                if !kiln_config::variant_matches(re, &variant.uid) {
                    continue;
                }
                if let Some(target) = koji_target(ctx.config, block) {
                    number += 1;
                    let arches = kiln_media::block_arches(variant, &block.arches);
                    if arches.is_empty() {
                        continue;
                    }
                    // The Koji task as a whole may fail only when all its arches may (pungi).
                    let failable = arches
                        .iter()
                        .all(|a| block.failable.iter().any(|f| f == "*" || f == a));
                    let subvariant = block.subvariant.as_deref().unwrap_or(&variant.uid);
                    let n = number;
                    koji_jobs.push(Box::new(move || {
                        ctx.failable_with(
                            "kiwibuild",
                            &variant.uid,
                            "*",
                            Some(subvariant),
                            failable,
                            || koji_build::build(ctx, variant, block, target, &arches, n),
                        )
                    }));
                    continue;
                }
                let arches: Vec<String> = if block.arches.is_empty() {
                    variant.arches.clone()
                } else {
                    block
                        .arches
                        .iter()
                        .filter(|a| variant.arches.contains(a))
                        .cloned()
                        .collect()
                };
                for arch in arches {
                    number += 1;
                    locals.push((variant, block, arch, number));
                }
            }
        }
        // The Koji tasks wait on Koji while the local builds run here, one after another.
        std::thread::scope(|s| {
            let remote = s.spawn(|| kiln_koji::all_at_once(koji_jobs));
            let local = (|| {
                for (variant, block, arch, number) in locals {
                    let _arch = ctx.arch_span(&arch);
                    ctx.check_cancelled()?;
                    let failable = block.failable.iter().any(|a| a == "*" || *a == arch);
                    let subvariant = block.subvariant.as_deref().unwrap_or(&variant.uid);
                    if let Some(r) = ctx.failable_with(
                        "kiwibuild",
                        &variant.uid,
                        &arch,
                        Some(subvariant),
                        failable,
                        || build(ctx, variant, &arch, block, number),
                    )? {
                        records.extend(r);
                    }
                }
                Ok::<_, PhaseError>(())
            })();
            let remote = remote
                .join()
                .unwrap_or_else(|_| Err(PhaseError::msg("a Koji task's thread panicked")));
            local?;
            records.extend(remote?.into_iter().flatten().flatten());
            Ok::<_, PhaseError>(())
        })?;
        kiln_media::write_records(ctx, records)
    }
}

/// A repository of the block as kiwi's `--add-repo` takes it.
fn repo_source(ctx: &PhaseContext, repo: &str, arch: &str) -> Result<String, PhaseError> {
    if let Some(v) = ctx.compose.variants.get(repo) {
        let tree = ctx
            .compose
            .paths
            .compose_dir()
            .join(&v.uid)
            .join(arch)
            .join("os");
        if !tree.join("repodata/repomd.xml").is_file() {
            return Err(PhaseError::msg(format!(
                "kiwibuild repo {repo}: the compose has no repository at {}",
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
fn description(
    ctx: &PhaseContext,
    block: &KiwiBlock,
    work: &Path,
    log: &Path,
) -> Result<PathBuf, PhaseError> {
    let scm = &block.description_scm;
    let local = scm.strip_prefix("file://").unwrap_or(scm);
    let root = if is_remote(scm) || Path::new(local).join(".git").exists() {
        let dir = work.join("description_scm");
        let _ = std::fs::remove_dir_all(&dir);
        let mut git = Command::new("git");
        git.args(["clone", "--quiet", "--depth", "1"])
            .arg(if is_remote(scm) {
                scm.clone()
            } else {
                format!("file://{local}")
            })
            .arg(&dir);
        ctx.run(&git, log)?;
        dir
    } else {
        PathBuf::from(local)
    };
    let d = root.join(&block.description_path);
    if !d.is_dir() {
        return Err(PhaseError::msg(format!(
            "kiwibuild: no description folder {}",
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

fn build(
    ctx: &PhaseContext,
    variant: &kiln_variants::Variant,
    arch: &str,
    block: &KiwiBlock,
    number: usize,
) -> Result<Vec<kiln_productmd::ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let work = ctx
        .compose
        .paths
        .work_dir(arch)
        .join(format!("kiwi-{number}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)
        .map_err(|e| PhaseError::with(format!("cannot create {}", work.display()), e))?;
    let log = ctx.log_file(arch, &format!("kiwi-{number}-{uid}"));
    let _ = std::fs::remove_file(&log);
    let desc = description(ctx, block, &work, &log)?;
    let target = work.join("target");
    let mut kiwi = Command::new("kiwi-ng");
    if let Some(p) = &block.kiwi_profile {
        kiwi.arg("--profile").arg(p);
    }
    if let Some(t) = &block.image_type {
        kiwi.arg("--type").arg(t);
    }
    kiwi.args(["system", "build", "--description"])
        .arg(&desc)
        .arg("--target-dir")
        .arg(&target);
    if !block.repos.is_empty() {
        kiwi.arg("--ignore-repos");
        for (i, r) in block.repos.iter().enumerate() {
            kiwi.arg("--add-repo")
                .arg(format!("{},rpm-md,kiln-{i}", repo_source(ctx, r, arch)?));
        }
    }
    ctx.run(&kiwi, &log)?;
    let result_path = target.join("kiwi.result.json");
    let result: Value = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            PhaseError::msg(format!(
                "kiwibuild {uid}.{arch}: kiwi-ng wrote no readable {}",
                result_path.display()
            ))
        })?;
    let images_dir = ctx
        .compose
        .paths
        .compose_dir()
        .join(uid)
        .join(arch)
        .join("images");
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
        kiln_media::set_mtime(src, ctx.compose.timestamp)?;
        records.extend(kiln_media::place_image(
            ctx,
            src,
            &images_dir,
            kiln_media::Placed {
                variant,
                arch,
                kind,
                format,
                subvariant: block.subvariant.as_deref().unwrap_or(uid),
                bootable: matches!(kind, "live" | "dvd" | "qcow2" | "raw" | "raw-xz"),
            },
        )?);
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "kiwibuild {uid}.{arch}: kiwi-ng made no image kiln knows ({})",
            result_path.display()
        )));
    }
    Ok(records)
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
