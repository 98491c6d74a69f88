//! Which files go on which disc, and the ISOs of one tree.

use std::path::{Path, PathBuf};

use kiln_engine::{PhaseContext, PhaseError};
use kiln_iso::Boot;
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;
use rayon::prelude::*;

use kiln_media::{IsoJob, check_size, make_iso};

/// A file on an ISO: its path there and its source.
pub type Graft = (String, PathBuf);

/// Files of a tree in pungi's graft order: everything but packages (sorted), then packages
/// (sorted), so a split puts the metadata on every disc and fills discs with packages.
/// `.treeinfo`/`.discinfo` are left out (each disc gets its own) and so is `images/boot.iso`
/// (pungi excludes `*/boot.iso`: the DVD boots by itself).
pub fn tree_files(tree: &Path) -> Result<(Vec<Graft>, Vec<Graft>), PhaseError> {
    let all = kiln_iso::mkisofs::tree_entries(tree).map_err(|e| PhaseError::msg(e.to_string()))?;
    let (mut packages, mut other) = (Vec::new(), Vec::new());
    for (rel, abs) in all {
        if rel == ".treeinfo"
            || rel == ".discinfo"
            || rel.ends_with("boot.iso") && rel.starts_with("images/")
        {
            continue;
        }
        if rel.starts_with("Packages/") || rel.contains("/Packages/") {
            packages.push((rel, abs));
        } else {
            other.push((rel, abs));
        }
    }
    Ok((other, packages))
}

fn size_of(p: &Path) -> Result<u64, PhaseError> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| PhaseError::with(format!("cannot stat {}", p.display()), e))
}

/// ISO 9660 stores files in 2 KiB blocks.
fn blocks(size: u64) -> u64 {
    size.div_ceil(2048) * 2048
}

/// Split packages over discs of `capacity` bytes with the `sticky` files (metadata) on each.
/// One disc when everything fits. A package larger than a disc is an error naming it.
pub fn split_discs(
    sticky: &[(String, PathBuf)],
    packages: &[(String, PathBuf)],
    capacity: u64,
) -> Result<Vec<Vec<(String, PathBuf)>>, PhaseError> {
    let sticky_size: u64 = sticky
        .iter()
        .map(|(_, p)| size_of(p).map(blocks))
        .sum::<Result<u64, _>>()?;
    let room = capacity.saturating_sub(sticky_size);
    let mut discs: Vec<Vec<(String, PathBuf)>> = vec![Vec::new()];
    let mut used = 0u64;
    // A stat per package, on every core; the first error in the packages' order is reported.
    let sizes: Vec<Result<u64, PhaseError>> =
        packages.par_iter().map(|(_, abs)| size_of(abs)).collect();
    for ((rel, abs), size) in packages.iter().zip(sizes) {
        let s = blocks(size?);
        if s > room {
            return Err(PhaseError::msg(format!(
                "{rel} ({s} bytes) does not fit on a disc of {capacity} bytes (iso_size minus \
                 split_iso_reserve, less {sticky_size} bytes of metadata)"
            )));
        }
        if used + s > room {
            discs.push(Vec::new());
            used = 0;
        }
        used += s;
        if let Some(d) = discs.last_mut() {
            d.push((rel.clone(), abs.clone()));
        }
    }
    Ok(discs)
}

/// The ISOs of one variant's os tree (`arch`) or source tree (`src`).
/// GRUB's BIOS modules for a lorax ≥ 38 tree. lorax puts `boot/grub2/i386-pc` only into its
/// boot.iso, not into the tree, and `images/eltorito.img` loads them from the disc; they are
/// taken from that boot.iso, so they come from the same GRUB build as the core image.
fn grub2_modules(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
    tree: &Path,
) -> Result<Vec<Graft>, PhaseError> {
    const DIR: &str = "boot/grub2/i386-pc";
    if tree.join(DIR).is_dir() {
        return Ok(Vec::new()); // already in the tree, grafted with it
    }
    let boot_iso = tree.join("images/boot.iso");
    if !boot_iso.is_file() {
        tracing::warn!(
            "{}.{arch}: the tree boots BIOS through GRUB but has neither {DIR} nor images/boot.iso \
             to take GRUB's modules from; BIOS boots of the DVD will stop at a grub prompt",
            variant.uid
        );
        return Ok(Vec::new());
    }
    let staging = ctx
        .compose
        .paths
        .iso_staging(arch, "grub2-i386-pc")
        .join(&variant.uid);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(staging.parent().unwrap_or(&staging))?;
    let mut extract = std::process::Command::new("xorriso");
    extract
        .args(["-osirrox", "on", "-indev"])
        .arg(&boot_iso)
        .args(["-extract", &format!("/{DIR}")])
        .arg(&staging);
    let log = ctx.log_file(arch, &format!("createiso-grub2-{}", variant.uid));
    ctx.run(&extract, &log)?;
    // xorriso restores the image's read-only modes; a later run must be able to remove them.
    let mut writable = std::process::Command::new("chmod");
    writable.arg("-R").arg("u+rwX").arg(&staging);
    ctx.run(&writable, &log)?;
    ctx.produced(&staging);
    let mut grafts: Vec<Graft> = kiln_iso::mkisofs::tree_entries(&staging)
        .map_err(|e| PhaseError::msg(e.to_string()))?
        .into_iter()
        .map(|(rel, path)| (format!("{DIR}/{rel}"), path))
        .collect();
    grafts.sort();
    Ok(grafts)
}

/// One disc to make, fully decided: what goes on it and what images.json will say of it.
pub(crate) struct PlannedIso {
    pub job: IsoJob,
    /// The record without what only the made image knows (size, implanted MD5).
    pub image: Image,
    limit: Option<u64>,
    strict: bool,
}

/// The discs of one tree, made one after another (a tree is one deliverable for `failable`).
pub(crate) struct TreePlan<'v> {
    pub variant: &'v Variant,
    pub arch: String,
    pub discs: Vec<PlannedIso>,
}

/// Decides the discs of a tree and writes their staging metadata (.treeinfo with `[media]`,
/// .discinfo); no image is made yet, so every ISO of the compose is known, and counted, first.
pub(crate) fn plan_tree<'v>(
    ctx: &PhaseContext,
    variant: &'v Variant,
    arch: &str,
) -> Result<TreePlan<'v>, PhaseError> {
    let none = || TreePlan {
        variant,
        arch: arch.to_owned(),
        discs: Vec::new(),
    };
    let paths = &ctx.compose.paths;
    let tree = if arch == "src" {
        paths.source_tree(variant)
    } else {
        paths.os_tree(variant, arch)
    };
    if !tree.join("repodata/repomd.xml").is_file() {
        tracing::info!(
            "no repository in {}, no ISO for {}.{arch}",
            tree.display(),
            variant.uid
        );
        return Ok(none());
    }
    let cfg = ctx.config;
    let disc_type = kiln_media::naming::disc_type(cfg, "dvd");
    let (mut sticky, packages) = tree_files(&tree)?;
    // createrepo writes the tree metadata; a tree without it still gets a disc that has it.
    let treeinfo = match std::fs::read_to_string(tree.join(".treeinfo")) {
        Ok(t) => t,
        Err(_) => {
            tracing::warn!(
                "{} has no .treeinfo; the ISO gets one made from the config",
                tree.display()
            );
            let staging = paths.iso_staging(arch, "tree-metadata").join(&variant.uid);
            let mut text = String::new();
            for (p, bytes) in kiln_media::tree_metadata(ctx, variant, arch)? {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                match name.as_deref() {
                    Some(".treeinfo") => text = String::from_utf8_lossy(&bytes).into_owned(),
                    Some("media.repo") if !tree.join("media.repo").is_file() => {
                        let f = staging.join("media.repo");
                        ctx.write(&f, &bytes)?;
                        sticky.push(("media.repo".to_owned(), f));
                        sticky.sort();
                    }
                    _ => {}
                }
            }
            text
        }
    };
    let capacity = cfg.iso_size.0.saturating_sub(cfg.split_iso_reserve.0);
    let discs = split_discs(&sticky, &packages, capacity)?;
    let total = discs.len() as u32;
    let volid =
        kiln_media::naming::volume_id(cfg, ctx.compose, &variant.uid, arch, &disc_type, None)?;
    let boot = if arch == "src" {
        Boot::None
    } else {
        Boot::detect(&tree, arch)
    };
    let boot_iso = tree.join("images/boot.iso");
    let replay =
        (cfg.createiso_replay_boot_iso && arch != "src" && boot_iso.is_file()).then_some(boot_iso);
    // A replayed image keeps boot.iso's files, GRUB's modules among them.
    if matches!(boot, Boot::X86Grub2 { .. }) && replay.is_none() {
        sticky.extend(grub2_modules(ctx, variant, arch, &tree)?);
        sticky.sort();
    }
    let iso_level = match &cfg.iso_level {
        None => None,
        Some(kiln_config::IsoLevel::One(l)) => Some(*l),
        Some(kiln_config::IsoLevel::PerVariantArch(m)) => m.last_for(&variant.uid, arch).copied(),
    };
    let limit = cfg.createiso_max_size.last_for(&variant.uid, arch).copied();
    let strict = cfg
        .createiso_max_size_is_strict
        .last_for(&variant.uid, arch)
        == Some(&true);
    let out_dir = kiln_media::iso_output_dir(ctx, variant, arch)?;
    let description = cfg.discinfo_description();

    let mut planned = Vec::new();
    for (i, disc_packages) in discs.into_iter().enumerate() {
        ctx.check_cancelled()?;
        let num = i as u32 + 1;
        let name = kiln_media::naming::image_name(
            cfg,
            ctx.compose,
            &variant.uid,
            arch,
            &disc_type,
            Some(num),
        )?;
        let staging = paths.iso_staging(arch, &name);
        let ti = kiln_productmd::treeinfo::with_media(&treeinfo, ".treeinfo", num, total)
            .map_err(|e| PhaseError::msg(e.to_string()))?;
        ctx.write(&staging.join(".treeinfo"), ti.as_bytes())?;
        let disc = kiln_productmd::treeinfo::discinfo(
            ctx.compose.timestamp,
            &description,
            arch,
            Some(num),
        );
        ctx.write(&staging.join(".discinfo"), disc.as_bytes())?;
        let mut files = vec![
            (".discinfo".to_owned(), staging.join(".discinfo")),
            (".treeinfo".to_owned(), staging.join(".treeinfo")),
        ];
        files.extend(sticky.iter().cloned());
        files.extend(disc_packages);
        let job = IsoJob {
            name: name.clone(),
            dir: out_dir.clone(),
            staging,
            arch: arch.to_owned(),
            volid: volid.clone(),
            iso_level,
            boot: boot.clone(),
            files,
            supported: kiln_iso::md5::is_supported_label(ctx.compose.info.label.as_deref()),
            break_hardlinks: cfg.createiso_break_hardlinks,
            reuse: cfg.createiso_allow_reuse,
            replay: replay.clone(),
        };
        let iso_in_compose = ctx.compose.paths.iso_dir(variant, arch).join(&name);
        let image = Image {
            path: kiln_media::compose_relative(ctx, &iso_in_compose),
            mtime: ctx.compose.timestamp,
            size: 0,
            volume_id: Some(volid.clone()),
            kind: "dvd".into(),
            format: "iso".into(),
            arch: arch.to_owned(),
            disc_number: num,
            disc_count: total,
            checksums: Default::default(),
            implant_md5: None,
            bootable: boot.is_bootable(),
            subvariant: variant.uid.clone(),
            unified: false,
            additional_variants: Vec::new(),
        };
        planned.push(PlannedIso {
            job,
            image,
            limit,
            strict,
        });
    }
    Ok(TreePlan {
        variant,
        arch: arch.to_owned(),
        discs: planned,
    })
}

/// Makes the discs of a planned tree; `started(name)` is called as each image begins.
pub(crate) fn make_tree(
    ctx: &PhaseContext,
    tree: TreePlan<'_>,
    started: &(dyn Fn(&str) + Sync),
    recorded: &kiln_engine::RecordedDigests,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let mut records = Vec::new();
    for disc in tree.discs {
        ctx.check_cancelled()?;
        started(&disc.job.name);
        let made = make_iso(ctx, &disc.job, recorded)?;
        check_size(&made.path, made.size, disc.limit, disc.strict)?;
        let image = Image {
            size: made.size,
            implant_md5: made.implant_md5,
            checksums: made.checksums,
            ..disc.image
        };
        ctx.notify(
            "createiso-imagedone",
            serde_json::json!({"file": image.path, "arch": tree.arch, "variant": tree.variant.uid}),
        );
        records.extend(kiln_media::file_image(tree.variant, &tree.arch, image));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_metadata_on_every_disc_and_refuses_giants() {
        let dir = std::env::temp_dir().join(format!("kiln-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mk = |n: &str, len: usize| {
            let p = dir.join(n);
            std::fs::write(&p, vec![0u8; len]).unwrap();
            (format!("Packages/{n}"), p)
        };
        let pk = vec![mk("a", 4000), mk("b", 4000), mk("c", 4000)];
        let sticky = vec![("repodata/repomd.xml".to_owned(), mk("r", 100).1)];
        let discs = split_discs(&sticky, &pk, 2048 + 8192).unwrap();
        assert_eq!(discs.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
        let one = split_discs(&sticky, &pk, 1 << 20).unwrap();
        assert_eq!(one.len(), 1);
        let e = split_discs(&sticky, &pk, 4096).unwrap_err().to_string();
        assert!(e.contains("Packages/a"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
