//! buildinstall: the installer tree (kernel, initrd, stage2, isolinux, EFI, boot.iso) of every
//! top-level variant and arch (unless `buildinstall_skip` says otherwise), in
//! `work/<arch>/buildinstall/<V>/`, from one of two sources:
//!
//! - `buildinstall_method: lorax`: the real `lorax` with pungi's command line (lorax is not
//!   packaged for Debian; where it is missing the compose refuses to start, naming it);
//! - `buildinstall_method: import`: a lorax tree made elsewhere, a folder or a tarball
//!   (`buildinstall_import`), as empanadas pulls prebuilt lorax trees ([`import`]).
//!
//! Either way the boot configs are pointed at the DVD's volume ID, in the tree and inside
//! `images/efiboot.img` ([`kiln_media::bootcfg`]), the tree is copied into `compose/<V>/<arch>/os/` (lorax's
//! own `.treeinfo` and `.discinfo` stay behind: createrepo merges its boot images into the tree's
//! metadata), and `images/boot.iso` becomes the variant's `boot` image in images.json, as
//! `compose/<V>/<arch>/iso/<name>-boot.iso`.

pub mod import;
pub mod reuse;
use kiln_media::bootcfg as relabel;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_artifacts::{Artifact, PackageSet};
use kiln_engine::{Config, Phase, PhaseContext, PhaseError, Work};
use kiln_iso::volid::{VolidRequest, volume_id};
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;

pub struct BuildinstallPhase;

/// pungi's lorax argv for buildinstall (wrappers/lorax.py), minus the options kiln has no
/// source for yet.
pub fn lorax_argv(
    config: &Config,
    variant: &str,
    arch: &str,
    volid: &str,
    sources: &[String],
    logfile: &Path,
    outdir: &Path,
) -> Vec<OsString> {
    let opts = config.lorax_options.last_for(variant, arch);
    let flag = |name: &str| opts.and_then(|o| o.get(name)).and_then(|v| v.as_bool());
    kiln_media::lorax::Lorax {
        sources,
        variant: Some(variant),
        bugurl: opts.and_then(|o| o.get("bugurl")).and_then(|v| v.as_str()),
        nomacboot: flag("nomacboot").unwrap_or(true),
        noupgrade: flag("noupgrade").unwrap_or(true),
        logfile: Some(logfile),
        ..kiln_media::lorax::Lorax::new(
            &config.release_name,
            &config.release_version,
            arch,
            volid,
            outdir,
        )
    }
    .argv()
}

fn volid(config: &Config, variant: &str, arch: &str) -> Result<String, PhaseError> {
    let vars: BTreeMap<String, String> = [
        ("release_short", config.release_short.as_str()),
        ("version", config.release_version.as_str()),
        ("variant", variant),
        ("arch", arch),
        ("disc_type", "boot"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    volume_id(&VolidRequest {
        formats: &config.image_volid_formats,
        vars: &vars,
        substitutions: &config.volume_id_substitutions,
        restricted: config.restricted_volid,
        variant,
    })
    .map_err(|e| PhaseError::with(format!("volume ID of {variant}.{arch}"), e))
}

impl Phase for BuildinstallPhase {
    fn name(&self) -> &'static str {
        "buildinstall"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["pkgset"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "buildinstall_method",
            "buildinstall_import",
            "lorax_options",
            "buildinstall_skip",
            "image_name_format",
            "image_volid_layered_product_formats",
            "disc_types",
            "media_checksums",
            "pkgset_repos",
            "image_volid_formats",
            "volume_id_substitutions",
            "restricted_volid",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        config.buildinstall_method.is_some()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        // mtools edits efiboot.img; xorriso lists boot.iso for its manifest.
        let mut tools = vec!["mtype", "mcopy", "xorriso"];
        match config.buildinstall_method.as_deref() {
            Some("import") => {
                let tarball = config
                    .buildinstall_import
                    .0
                    .iter()
                    .flat_map(|(_, m)| m.values())
                    .any(|s| import::is_tarball(s));
                if tarball {
                    tools.push("tar");
                }
            }
            _ => tools.insert(0, "lorax"),
        }
        tools
    }

    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let paths = &ctx.compose.paths;
        let mut records = Vec::new();
        for v in ctx.compose.variants.top_level() {
            for arch in &v.arches {
                if ctx
                    .config
                    .buildinstall_skip
                    .last_for(&v.uid, arch)
                    .copied()
                    .unwrap_or(false)
                {
                    tracing::info!("[SKIP ] buildinstall for {}.{arch}", v.uid);
                    continue;
                }
                ctx.check_cancelled()?;
                let outdir = paths.work_dir(arch).join("buildinstall").join(&v.uid);
                let log = paths.log_file(arch, &format!("buildinstall-{}", v.uid));
                let made = ctx.failable("buildinstall", &v.uid, arch, || {
                    let made = match ctx.config.buildinstall_method.as_deref() {
                        Some("import") => {
                            let Some(source) =
                                ctx.config.buildinstall_import.last_for(&v.uid, arch)
                            else {
                                tracing::info!(
                                    "no buildinstall_import for {}.{arch}: no installer tree",
                                    v.uid
                                );
                                return Ok(None);
                            };
                            import_tree(ctx, source, &outdir, &log)?
                        }
                        _ => run_lorax(ctx, v, arch, &outdir, &log)?,
                    };
                    finish_tree(ctx, v, arch, &outdir, &log).map(|r| made.then_some(r))
                })?;
                records.extend(made.flatten().into_iter().flatten());
            }
        }
        kiln_media::write_records(ctx, records)
    }
}

/// lorax into `outdir` (which it must create itself), or the old compose's tree when
/// `buildinstall_allow_reuse` finds it would be made of the same ([`reuse`]).
fn run_lorax(
    ctx: &PhaseContext,
    v: &Variant,
    arch: &str,
    outdir: &Path,
    log: &Path,
) -> Result<bool, PhaseError> {
    let paths = &ctx.compose.paths;
    // lorax refuses an existing output folder, and a retry must not mix two attempts.
    if outdir.exists() {
        std::fs::remove_dir_all(outdir)?;
    }
    if let Some(parent) = outdir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let logdir = paths
        .log_dir(arch)
        .join(format!("buildinstall-{}-logs", v.uid));
    std::fs::create_dir_all(&logdir)?;
    let sources = kiln_media::lorax::package_set_sources(ctx.config, paths, arch);
    let volid = volid(ctx.config, &v.uid, arch)?;
    let argv = lorax_argv(
        ctx.config,
        &v.uid,
        arch,
        &volid,
        &sources,
        &logdir.join("lorax.log"),
        outdir,
    );
    let lorax = || -> Result<(), PhaseError> {
        let mut cmd = Command::new("lorax");
        cmd.args(&argv);
        ctx.run(&cmd, log).map(drop)
    };
    if !ctx.config.buildinstall_allow_reuse {
        lorax()?;
        return Ok(true);
    }
    // What reuse compares, asked only when it is on: through a Koji runroot every command is a
    // task of its own.
    let mut ask = Command::new("lorax");
    ask.arg(kiln_engine::version_flag("lorax"));
    let version = ctx.run(&ask, log)?.first_line();
    let compared = reuse::comparable_argv(&argv);
    let set = PackageSet::load_shared(&PackageSet::path(paths, arch))
        .map_err(|e| PhaseError::with(format!("buildinstall {}.{arch}", v.uid), e))?;
    match reuse::old_tree(ctx, outdir, &version, &compared, &set) {
        Ok((old_tree, old)) => {
            reuse::link_tree(&old_tree, outdir)?;
            if let Some(old_logs) = ctx.compose.old_path(&logdir) {
                reuse::copy_logs(&old_logs, &logdir)?;
            }
            ctx.write_json(&reuse::metadata_path(outdir), &old)?;
            tracing::info!(
                "{}.{arch}: reusing the lorax tree of the old compose, {}",
                v.uid,
                old_tree.display()
            );
            return Ok(true);
        }
        Err(why) => tracing::info!(
            "{}.{arch}: cannot reuse the old compose's lorax tree: {why}",
            v.uid
        ),
    }
    lorax()?;
    let installed = reuse::installed_names(&logdir.join("pkglists")).unwrap_or_else(|| {
        tracing::warn!(
            "lorax left no {}: its tree cannot be reused by the next compose",
            logdir.join("pkglists").display()
        );
        Vec::new()
    });
    let metadata = reuse::Metadata {
        lorax: version,
        argv: compared,
        builds: reuse::builds_of(&set, &installed),
        installed,
    };
    ctx.write_json(&reuse::metadata_path(outdir), &metadata)?;
    Ok(true)
}

/// A prebuilt lorax tree into `outdir`, where lorax would have written it.
fn import_tree(
    ctx: &PhaseContext,
    source: &str,
    outdir: &Path,
    log: &Path,
) -> Result<bool, PhaseError> {
    let staging = outdir.with_extension("import");
    let root = import::unpack(ctx, source, &staging, log)?;
    if outdir.exists() {
        std::fs::remove_dir_all(outdir)?;
    }
    std::fs::rename(&root, outdir).map_err(|e| {
        PhaseError::with(format!("cannot move the tree to {}", outdir.display()), e)
    })?;
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    tracing::info!("imported the lorax tree {source} into {}", outdir.display());
    Ok(true)
}

/// What both methods do with the tree: labels pointed at the DVD, the tree copied into the os
/// tree, boot.iso filed as the variant's boot image.
fn finish_tree(
    ctx: &PhaseContext,
    v: &Variant,
    arch: &str,
    outdir: &Path,
    log: &Path,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let paths = &ctx.compose.paths;
    let dvd_type = kiln_media::naming::disc_type(ctx.config, "dvd");
    let dvd_volid =
        kiln_media::naming::volume_id(ctx.config, ctx.compose, &v.uid, arch, &dvd_type, None)?;
    if dvd_volid.contains(' ') && outdir.join("EFI/BOOT/grub.cfg").is_file() {
        // GRUB drops the backslash of `\x20` on its `linux` line and escapes any it is given,
        // so no spelling of a space reaches the kernel (the boot tests show it): UEFI boots of
        // this DVD would not find their stage2.
        tracing::warn!(
            "the volume ID {dvd_volid:?} of {}.{arch} has a space, which GRUB cannot pass to the \
             kernel: UEFI boots will not find stage2; set volume_id_substitutions {{\" \": \"-\"}} \
             or image_volid_formats without spaces",
            v.uid
        );
    }
    let mut relabelled = relabel::relabel_tree(outdir, &dvd_volid)?;
    let esp = outdir.join("images/efiboot.img");
    if esp.is_file() {
        let scratch = outdir.with_extension("esp");
        let inside =
            relabel::relabel_esp(ctx, &esp, &dvd_volid, &scratch, log, ctx.compose.timestamp)?;
        let _ = std::fs::remove_dir_all(&scratch);
        relabelled.extend(inside.iter().map(|c| match *c {
            "EFI/BOOT/grub.cfg" => "images/efiboot.img:EFI/BOOT/grub.cfg",
            _ => "images/efiboot.img:EFI/BOOT/BOOTX64.conf",
        }));
    }
    tracing::info!(
        "{}.{arch}: boot configs pointed at {dvd_volid:?}: {}",
        v.uid,
        if relabelled.is_empty() {
            "none found".to_owned()
        } else {
            relabelled.join(", ")
        }
    );
    let os = paths.os_tree(v, arch);
    copy_tree(outdir, &os, ctx)?;
    boot_image(ctx, v, arch, &os.join("images/boot.iso"), log)
}

/// `images/boot.iso` of the os tree as `compose/<V>/<arch>/iso/<name>-boot.iso` (a hard link
/// where the file system allows), with its manifest, as the variant's `boot` image.
fn boot_image(
    ctx: &PhaseContext,
    v: &Variant,
    arch: &str,
    boot_iso: &Path,
    log: &Path,
) -> Result<Vec<ImageRecord>, PhaseError> {
    if !boot_iso.is_file() {
        return Ok(Vec::new());
    }
    let cfg = ctx.config;
    let boot_type = kiln_media::naming::disc_type(cfg, "boot");
    let name = kiln_media::naming::image_name(cfg, ctx.compose, &v.uid, arch, &boot_type, None)?;
    let dir = kiln_media::iso_output_dir(ctx, v, arch)?;
    std::fs::create_dir_all(&dir)?;
    let iso = dir.join(&name);
    let _ = std::fs::remove_file(&iso);
    if std::fs::hard_link(boot_iso, &iso).is_err() {
        kiln_fs::copy_atomic(boot_iso, &iso)?;
    }
    let volume = kiln_iso::headers::volume(&iso)
        .map_err(|e| PhaseError::with(format!("cannot read {}", iso.display()), e))?
        .ok_or_else(|| {
            PhaseError::msg(format!("{} is not an ISO 9660 image", boot_iso.display()))
        })?;
    let find = kiln_media::command(kiln_iso::manifest::find_argv(Path::new("xorriso"), &iso));
    let listed = ctx.run(&find, log)?;
    let manifest = kiln_iso::manifest::manifest_from_find(&String::from_utf8_lossy(&listed.stdout));
    ctx.write(&dir.join(format!("{name}.manifest")), manifest.as_bytes())?;
    let (size, checksums) = kiln_media::file_image_digests(ctx, &iso)?;
    let in_compose = ctx.compose.paths.iso_dir(v, arch).join(&name);
    let image = Image {
        path: kiln_media::compose_relative(ctx, &in_compose),
        mtime: ctx.compose.timestamp,
        size,
        volume_id: Some(volume.volume_id),
        kind: "boot".into(),
        format: "iso".into(),
        arch: arch.to_owned(),
        disc_number: 1,
        disc_count: 1,
        checksums,
        implant_md5: volume.implant_md5,
        bootable: true,
        subvariant: v.uid.clone(),
        unified: false,
        additional_variants: Vec::new(),
    };
    Ok(kiln_media::file_image(v, arch, image))
}

/// Copies lorax's tree into the os tree, recording each file; the tree metadata is not copied.
fn copy_tree(from: &Path, to: &Path, ctx: &PhaseContext) -> Result<(), PhaseError> {
    let mut stack: Vec<PathBuf> = vec![from.to_owned()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let src = e.path();
            let rel = src.strip_prefix(from).unwrap_or(&src);
            if matches!(rel.to_str(), Some(".treeinfo" | ".discinfo")) {
                continue;
            }
            let dst = to.join(rel);
            if e.file_type()?.is_dir() {
                stack.push(src);
            } else {
                if let Some(p) = dst.parent() {
                    std::fs::create_dir_all(p)?;
                }
                kiln_fs::copy_atomic(&src, &dst)?;
                ctx.produced(&dst);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lorax_installs_from_the_repos_or_from_the_koji_tags_package_set_repository() {
        let load = |source: &str| {
            kiln_config::load_str(
                &format!(
                    "release_name: Mini Linux\nrelease_short: Mini\nrelease_version: '36'\n\
                     variants: [{{id: BaseOS, arches: [x86_64]}}]\n{source}"
                ),
                Path::new("k.yaml"),
                Path::new("/"),
            )
            .unwrap()
        };
        let paths = kiln_compose::Paths::new(PathBuf::from("/c/Mini-36"));
        let repos = load("pkgset_repos: {x86_64: [/b, /a], aarch64: [/c]}\n");
        assert_eq!(
            kiln_media::lorax::package_set_sources(&repos, &paths, "x86_64"),
            ["/a", "/b"]
        );
        let koji = load("pkgset_source: koji\npkgset_koji_tag: f41\n");
        assert_eq!(
            kiln_media::lorax::package_set_sources(&koji, &paths, "x86_64"),
            ["file:///c/Mini-36/work/x86_64/repo/f41"]
        );
    }

    #[test]
    fn lorax_gets_pungis_command_line() {
        let config = kiln_config::load_str(
            "release_name: Mini Linux\nrelease_short: Mini\nrelease_version: '36'\nvariants: [{id: BaseOS, arches: [x86_64]}]\npkgset_repos: {x86_64: [/repo]}\nbuildinstall_method: lorax\n",
            Path::new("k.yaml"),
            Path::new("/"),
        )
        .unwrap();
        let volid = volid(&config, "BaseOS", "x86_64").unwrap();
        assert_eq!(volid, "Mini-36 BaseOS.x86_64");
        let argv = lorax_argv(
            &config,
            "BaseOS",
            "x86_64",
            &volid,
            &["/repo".to_owned()],
            Path::new("/l/lorax.log"),
            Path::new("/w/BaseOS"),
        );
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "--product=Mini Linux",
                "--version=36",
                "--release=36",
                "--source=file:///repo",
                "--variant=BaseOS",
                "--nomacboot",
                "--noupgrade",
                "--buildarch=x86_64",
                "--volid=Mini-36 BaseOS.x86_64",
                "--logfile=/l/lorax.log",
                "/w/BaseOS",
            ]
        );
    }
}
