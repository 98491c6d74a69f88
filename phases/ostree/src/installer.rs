//! pungi's `ostree_installer`: a bootable installer ISO that carries an ostree commit as its
//! payload, listed as `dvd-ostree` in images.json.
//!
//! pungi runs lorax with templates that pull the commit into the installer's runtime image and
//! write an `ostreesetup` kickstart into it; kiln does the same when the compose's installer trees
//! come from lorax (`buildinstall_method: lorax`, [`build_with_lorax`]). With imported trees there
//! is no lorax to run, so kiln builds the disc from the variant's buildinstall tree
//! (`work/<arch>/buildinstall/<V>/`) instead:
//! the tree is copied to `work/<arch>/<V>/ostree_installer/`, the commit is pulled into
//! `ostree/repo` on the disc (archive mode, as pungi's template makes it), `ostree.ks` at the
//! disc's root installs it (`ostreesetup --url=file:///run/install/repo/ostree/repo`, where
//! anaconda mounts the disc it booted from), every installer entry of the boot configs gets
//! `inst.ks=hd:LABEL=<volid>:/ostree.ks` and the disc's own label, and the ISO is mastered like
//! any other (xorriso, implanted MD5, manifest). The os tree is not touched, so it never clashes
//! with buildinstall's files there (pungi's `ostree_installer_overwrite` question does not arise).

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_config::OstreeInstallerBlock;
use kiln_engine::{PhaseContext, PhaseError};
use kiln_media::bootcfg;
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;

/// The kickstart at the disc's root.
pub const KICKSTART: &str = "ostree.ks";

/// Every (variant, arch, block) the config asks an installer for, in variant and config order.
pub fn tasks<'a>(ctx: &'a PhaseContext) -> Vec<(&'a Variant, String, &'a OstreeInstallerBlock)> {
    let mut out = Vec::new();
    for v in &ctx.compose.variants.all {
        for arch in &v.arches {
            for blocks in ctx.config.ostree_installer.all_for(&v.uid, arch) {
                for b in blocks.iter() {
                    out.push((v, arch.clone(), b));
                }
            }
        }
    }
    out
}

/// Whether the installers come from lorax with the block's templates (pungi's way), as they do
/// when the compose's installer trees come from lorax.
pub fn uses_lorax(config: &kiln_config::Config) -> bool {
    config.buildinstall_method.as_deref() == Some("lorax")
}

/// The installer ISO of one block: its image record.
pub fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
    block: &OstreeInstallerBlock,
    number: usize,
) -> Result<Vec<ImageRecord>, PhaseError> {
    if uses_lorax(ctx.config) {
        return build_with_lorax(ctx, variant, arch, block, number);
    }
    let uid = &variant.uid;
    let paths = &ctx.compose.paths;
    let cfg = ctx.config;
    let Some((repo, ostree_ref, osname)) = block.embedded() else {
        return Err(PhaseError::msg(format!(
            "ostree_installer {uid}.{arch}: add_template_var names no ostree_repo and ostree_ref"
        )));
    };
    let base = paths.work_dir(arch).join("buildinstall").join(uid);
    if !base.join("images").is_dir() {
        return Err(PhaseError::msg(format!(
            "ostree_installer {uid}.{arch}: no buildinstall tree at {} to build the installer on \
             (buildinstall_method lorax, or buildinstall_import for {uid})",
            base.display()
        )));
    }
    let log = ctx.log_file(arch, &format!("ostree_installer-{number}-{uid}"));
    let _ = std::fs::remove_file(&log);
    let tree = paths
        .work_dir(arch)
        .join(uid)
        .join(format!("ostree_installer-{number}"));
    let _ = std::fs::remove_dir_all(&tree);
    copy_tree(&base, &tree)?;

    // The payload: the commit and what it needs, in a repository of its own.
    let embedded = tree.join("ostree/repo");
    std::fs::create_dir_all(&embedded)?;
    let mut init = Command::new("ostree");
    init.arg(format!("--repo={}", embedded.display()))
        .args(["init", "--mode=archive"]);
    ctx.run(&init, &log)?;
    pull(ctx, &embedded, repo, ostree_ref, &log)?;

    let disc_type = kiln_media::naming::disc_type(cfg, "ostree");
    let volid = kiln_media::naming::volume_id(cfg, ctx.compose, uid, arch, &disc_type, None)?;
    let name = kiln_media::naming::image_name(cfg, ctx.compose, uid, arch, &disc_type, None)?;
    ctx.write(
        &tree.join(KICKSTART),
        kickstart(osname, ostree_ref).as_bytes(),
    )?;
    let ks_arg = format!(
        "inst.ks=hd:LABEL={}:/{KICKSTART}",
        bootcfg::escape_label(&volid)
    );
    let edit = |text: &str, yaboot: bool| {
        bootcfg::add_kernel_arg(&bootcfg::relabel(text, &volid, yaboot), &ks_arg)
    };
    let mut edited = bootcfg::edit_tree(&tree, &edit)?;
    let esp = tree.join("images/efiboot.img");
    if esp.is_file() {
        let scratch = tree.with_extension("esp");
        let inside = bootcfg::edit_esp(
            ctx,
            &esp,
            &|t| edit(t, false),
            &scratch,
            &log,
            ctx.compose.timestamp,
        )?;
        let _ = std::fs::remove_dir_all(&scratch);
        edited.extend(inside.iter().map(|c| match *c {
            "EFI/BOOT/grub.cfg" => "images/efiboot.img:EFI/BOOT/grub.cfg",
            _ => "images/efiboot.img:EFI/BOOT/BOOTX64.conf",
        }));
    }
    if edited.is_empty() {
        return Err(PhaseError::msg(format!(
            "ostree_installer {uid}.{arch}: the buildinstall tree at {} has no boot config to \
             point at {KICKSTART}",
            base.display()
        )));
    }
    tracing::info!(
        "ostree_installer {uid}.{arch}: {ostree_ref} from {repo}, {ks_arg} in {}",
        edited.join(", ")
    );

    let files = graft_files(&tree)?;
    let job = kiln_media::IsoJob {
        name: name.clone(),
        dir: kiln_media::iso_output_dir(ctx, variant, arch)?,
        staging: paths.work_dir(arch).join("iso").join(&name),
        arch: arch.to_owned(),
        volid: volid.clone(),
        iso_level: None,
        boot: kiln_iso::Boot::detect(&tree, arch),
        files,
        supported: kiln_iso::md5::is_supported_label(ctx.compose.info.label.as_deref()),
        break_hardlinks: cfg.createiso_break_hardlinks,
        reuse: cfg.createiso_allow_reuse,
        replay: None,
    };
    let made = kiln_media::make_iso(
        ctx,
        &job,
        &kiln_engine::RecordedDigests::load(paths.topdir()),
    )?;
    let image = Image {
        path: kiln_media::compose_relative(ctx, &paths.iso_dir(variant, arch).join(&name)),
        mtime: ctx.compose.timestamp,
        size: made.size,
        volume_id: Some(volid),
        kind: "dvd-ostree".into(),
        format: "iso".into(),
        arch: arch.to_owned(),
        disc_number: 1,
        disc_count: 1,
        checksums: made.checksums,
        implant_md5: made.implant_md5,
        bootable: true,
        subvariant: block.subvariant.clone().unwrap_or_else(|| uid.clone()),
        unified: false,
        additional_variants: Vec::new(),
    };
    Ok(kiln_media::file_image(variant, arch, image))
}

/// pungi's ostree_installer: lorax with the block's templates and variables into
/// `work/<arch>/<V>/ostree_installer-N/`, whose `images/boot.iso` becomes the `dvd-ostree` image
/// (linked into the iso folder, its label and implanted MD5 read from it). Unlike pungi, the
/// lorax tree is not copied over the variant's os tree: buildinstall's files stay as they are.
fn build_with_lorax(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
    block: &OstreeInstallerBlock,
    number: usize,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let paths = &ctx.compose.paths;
    let cfg = ctx.config;
    let log = ctx.log_file(arch, &format!("ostree_installer-{number}-{uid}"));
    let _ = std::fs::remove_file(&log);
    let base = paths.work_dir(arch).join(uid);
    let out = base.join(format!("ostree_installer-{number}"));
    // lorax refuses an existing output folder, and a retry must not mix two attempts.
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&base)?;
    let logdir = paths
        .log_dir(arch)
        .join(format!("ostree_installer-{number}-{uid}-logs"));
    std::fs::create_dir_all(&logdir)?;

    // Relative templates are paths in `template_repo`.
    let templates_dir = match &block.template_repo {
        Some(url) => {
            let dir = base.join(format!("lorax_templates-{number}"));
            let _ = std::fs::remove_dir_all(&dir);
            let mut git = Command::new("git");
            git.args(["clone", "--quiet", "--depth", "1", "--branch"])
                .arg(block.template_branch.as_deref().unwrap_or("master"))
                .arg(url)
                .arg(&dir);
            ctx.run(&git, &log)?;
            Some(dir)
        }
        None => None,
    };
    let absolute = |templates: &[String]| -> Result<Vec<String>, PhaseError> {
        templates
            .iter()
            .map(|t| {
                if t.starts_with('/') {
                    return Ok(t.clone());
                }
                let dir = templates_dir.as_ref().ok_or_else(|| {
                    PhaseError::msg(format!(
                        "ostree_installer {uid}.{arch}: template {t} is relative, but the block \
                         sets no template_repo"
                    ))
                })?;
                Ok(dir.join(t).display().to_string())
            })
            .collect()
    };
    let add_template = absolute(&block.add_template)?;
    let add_arch_template = absolute(&block.add_arch_template)?;

    // The block's repositories (a variant UID is the compose's own tree), then the package set's.
    let mut sources = Vec::new();
    for r in block.repo.iter().flat_map(|r| r.to_vec()) {
        let r = r.replace("$arch", arch).replace("$basearch", arch);
        sources.push(match ctx.compose.variants.get(&r) {
            Some(v) => paths.os_tree(v, arch).display().to_string(),
            None => r,
        });
    }
    sources.extend(kiln_media::lorax::package_set_sources(cfg, paths, arch));

    let release = super::version(ctx.compose, block.release.as_deref())
        .map_err(PhaseError::msg)?
        .unwrap_or_else(|| cfg.release_version.clone());
    let disc_type = kiln_media::naming::disc_type(cfg, "ostree");
    let volid = kiln_media::naming::volume_id(cfg, ctx.compose, uid, arch, &disc_type, None)?;
    let name = kiln_media::naming::image_name(cfg, ctx.compose, uid, arch, &disc_type, None)?;
    let logfile = logdir.join("lorax.log");
    let argv = kiln_media::lorax::Lorax {
        release: &release,
        sources: &sources,
        variant: Some(uid),
        nomacboot: true,
        is_final: kiln_iso::md5::is_supported_label(ctx.compose.info.label.as_deref()),
        installpkgs: &block.installpkgs,
        add_template: &add_template,
        add_arch_template: &add_arch_template,
        add_template_var: &block.add_template_var,
        add_arch_template_var: &block.add_arch_template_var,
        logfile: Some(&logfile),
        rootfs_size: block.rootfs_size,
        skip_branding: block.skip_branding,
        ..kiln_media::lorax::Lorax::new(&cfg.release_name, &cfg.release_version, arch, &volid, &out)
    }
    .argv();
    let mut lorax = Command::new("lorax");
    lorax.args(&argv);
    ctx.run(&lorax, &log)?;

    let boot_iso = out.join("images/boot.iso");
    if !boot_iso.is_file() {
        return Err(PhaseError::msg(format!(
            "ostree_installer {uid}.{arch}: lorax made no {}",
            boot_iso.display()
        )));
    }
    let dir = kiln_media::iso_output_dir(ctx, variant, arch)?;
    std::fs::create_dir_all(&dir)?;
    let iso = dir.join(&name);
    let _ = std::fs::remove_file(&iso);
    if std::fs::hard_link(&boot_iso, &iso).is_err() {
        kiln_fs::copy_atomic(&boot_iso, &iso)?;
    }
    let volume = kiln_iso::headers::volume(&iso)
        .map_err(|e| PhaseError::with(format!("cannot read {}", iso.display()), e))?
        .ok_or_else(|| {
            PhaseError::msg(format!("{} is not an ISO 9660 image", boot_iso.display()))
        })?;
    let find = kiln_media::command(kiln_iso::manifest::find_argv(Path::new("xorriso"), &iso));
    let listed = ctx.run(&find, &log)?;
    let manifest = kiln_iso::manifest::manifest_from_find(&String::from_utf8_lossy(&listed.stdout));
    ctx.write(&dir.join(format!("{name}.manifest")), manifest.as_bytes())?;
    let (size, checksums) = kiln_media::file_image_digests(ctx, &iso)?;
    let image = Image {
        path: kiln_media::compose_relative(ctx, &paths.iso_dir(variant, arch).join(&name)),
        mtime: ctx.compose.timestamp,
        size,
        volume_id: Some(volume.volume_id),
        kind: "dvd-ostree".into(),
        format: "iso".into(),
        arch: arch.to_owned(),
        disc_number: 1,
        disc_count: 1,
        checksums,
        implant_md5: volume.implant_md5,
        bootable: true,
        subvariant: block.subvariant.clone().unwrap_or_else(|| uid.clone()),
        unified: false,
        additional_variants: Vec::new(),
    };
    Ok(kiln_media::file_image(variant, arch, image))
}

/// What anaconda runs: the commit from the disc, as pungi's embed template writes it.
pub fn kickstart(osname: &str, ostree_ref: &str) -> String {
    format!(
        "# Written by kiln: install the ostree commit this disc carries.\n\
         ostreesetup --nogpg --osname={osname} --remote={osname} \
         --url=file:///run/install/repo/ostree/repo --ref={ostree_ref}\n"
    )
}

/// The commit into the disc's repository: `pull-local` from a local repository, a mirror pull
/// over the network otherwise.
fn pull(
    ctx: &PhaseContext,
    embedded: &Path,
    repo: &str,
    ostree_ref: &str,
    log: &Path,
) -> Result<(), PhaseError> {
    let at = format!("--repo={}", embedded.display());
    let local = repo.strip_prefix("file://").unwrap_or(repo);
    if !repo.contains("://") || repo.starts_with("file://") {
        if !Path::new(local).join("config").is_file() {
            return Err(PhaseError::msg(format!(
                "ostree_installer: {local} is not an ostree repository (ostree_repo=)"
            )));
        }
        let mut pull = Command::new("ostree");
        pull.arg(&at)
            .args(["pull-local", "--disable-fsync"])
            .arg(local)
            .arg(ostree_ref);
        ctx.run(&pull, log)?;
        return Ok(());
    }
    let mut remote = Command::new("ostree");
    remote
        .arg(&at)
        .args(["remote", "add", "--no-gpg-verify", "kiln-source"])
        .arg(repo);
    ctx.run(&remote, log)?;
    let mut pull = Command::new("ostree");
    pull.arg(&at)
        .args(["pull", "--mirror", "kiln-source"])
        .arg(ostree_ref);
    ctx.run(&pull, log)?;
    // The disc's repository names no remote of the build host.
    let mut delete = Command::new("ostree");
    delete.arg(&at).args(["remote", "delete", "kiln-source"]);
    ctx.run(&delete, log)?;
    Ok(())
}

/// The buildinstall tree into `to`: hard links (copies where linking fails), real copies of
/// the files that are edited in place (the EFI system partition image), and no `boot.iso`,
/// which is the buildinstall tree's own image, not part of a disc (pungi leaves it out too).
fn copy_tree(from: &Path, to: &Path) -> Result<(), PhaseError> {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry =
            entry.map_err(|e| PhaseError::msg(format!("cannot read {}: {e}", from.display())))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dst = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dst)
                .map_err(|e| PhaseError::with(format!("cannot create {}", dst.display()), e))?;
            continue;
        }
        if rel == Path::new("images/boot.iso") {
            continue;
        }
        let copy = rel == Path::new("images/efiboot.img");
        if copy || std::fs::hard_link(entry.path(), &dst).is_err() {
            std::fs::copy(entry.path(), &dst).map_err(|e| {
                PhaseError::with(format!("cannot copy {}", entry.path().display()), e)
            })?;
        }
    }
    Ok(())
}

/// Every file of the tree as (path on the disc, file), sorted by path.
fn graft_files(tree: &Path) -> Result<Vec<(String, PathBuf)>, PhaseError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(tree).sort_by_file_name() {
        let entry =
            entry.map_err(|e| PhaseError::msg(format!("cannot read {}: {e}", tree.display())))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(tree).unwrap_or(entry.path());
        files.push((rel.to_string_lossy().into_owned(), entry.path().to_owned()));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::kickstart;

    #[test]
    fn the_kickstart_installs_the_ref_from_the_disc() {
        assert_eq!(
            kickstart("mini", "mini/x86_64/docs"),
            "# Written by kiln: install the ostree commit this disc carries.\n\
             ostreesetup --nogpg --osname=mini --remote=mini \
             --url=file:///run/install/repo/ostree/repo --ref=mini/x86_64/docs\n"
        );
    }
}
