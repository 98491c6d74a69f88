//! Where an image phase's images go and how they are filed for images.json.

use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, ImageRecords};
use kiln_engine::{PhaseContext, PhaseError};
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;

/// The directory ISOs of `variant`/`arch` are written to: `compose/<V>/<arch>/iso`, or with
/// `symlink_isos_to` a directory there that `iso/` links to.
pub fn iso_output_dir(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
) -> Result<PathBuf, PhaseError> {
    let iso_dir = ctx.compose.paths.iso_dir(variant, arch);
    let Some(target) = &ctx.config.symlink_isos_to else {
        return Ok(iso_dir);
    };
    let rel = ctx.compose.paths.relative_to_compose(&iso_dir).to_owned();
    let real = target.join(&ctx.compose.info.id).join(rel);
    std::fs::create_dir_all(&real)
        .map_err(|e| PhaseError::with(format!("cannot create {}", real.display()), e))?;
    match std::fs::read_link(&iso_dir) {
        Ok(existing) if existing == real => {}
        _ => {
            if let Some(parent) = iso_dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if iso_dir.is_dir() && std::fs::read_link(&iso_dir).is_err() {
                // A real directory from a run without symlink_isos_to: keep what it holds.
                std::fs::remove_dir(&iso_dir).map_err(|e| {
                    PhaseError::with(
                        format!(
                            "{} is a non-empty directory, cannot link it to {}",
                            iso_dir.display(),
                            real.display()
                        ),
                        e,
                    )
                })?;
            } else {
                let _ = std::fs::remove_file(&iso_dir);
            }
            std::os::unix::fs::symlink(&real, &iso_dir).map_err(|e| {
                PhaseError::with(
                    format!("cannot link {} to {}", iso_dir.display(), real.display()),
                    e,
                )
            })?;
        }
    }
    ctx.produced(&iso_dir);
    Ok(real)
}

/// Record the running phase's images where imagechecksum finds them.
pub fn write_records(ctx: &PhaseContext, records: Vec<ImageRecord>) -> Result<(), PhaseError> {
    let phase = ctx.phase();
    let records = ImageRecords::new(phase, records);
    let json = records
        .encode_for(phase)
        .map_err(|e| PhaseError::with("image records", e))?;
    ctx.write(&ImageRecords::path(&ctx.compose.paths, phase), &json)
}

/// Path of `file` relative to `compose/`, as images.json spells it.
pub fn compose_relative(ctx: &PhaseContext, file: &Path) -> String {
    ctx.compose
        .paths
        .relative_to_compose(file)
        .to_string_lossy()
        .into_owned()
}

/// File records for an image: source media go under every binary arch of the variant.
pub fn file_image(variant: &Variant, arch: &str, image: Image) -> Vec<ImageRecord> {
    let arches: Vec<String> = if arch == "src" {
        variant.arches.clone()
    } else {
        vec![arch.to_owned()]
    };
    arches
        .into_iter()
        .map(|a| ImageRecord {
            variant: variant.uid.clone(),
            arch: a,
            image: image.clone(),
        })
        .collect()
}

/// The arches an image block builds for a variant: the variant's binary arches, only those the
/// block lists when it lists any, sorted.
pub fn block_arches(variant: &Variant, wanted: &[String]) -> Vec<String> {
    let mut arches: Vec<String> = variant
        .arches
        .iter()
        .filter(|a| *a != "src" && (wanted.is_empty() || wanted.contains(a)))
        .cloned()
        .collect();
    arches.sort();
    arches
}

/// An image some builder made elsewhere (a Koji volume's file), hard-linked (or copied) into
/// `dir` of the compose under its own name, and its records for images.json: size and digests
/// from one read, the label and implant of an ISO from its header.
pub struct Placed<'a> {
    pub variant: &'a Variant,
    pub arch: &'a str,
    pub kind: &'a str,
    pub format: &'a str,
    pub subvariant: &'a str,
    pub bootable: bool,
}

pub fn place_image(
    ctx: &PhaseContext,
    src: &Path,
    dir: &Path,
    what: Placed,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let name = src.file_name().unwrap_or_default();
    std::fs::create_dir_all(dir)
        .map_err(|e| PhaseError::with(format!("cannot create {}", dir.display()), e))?;
    let dest = dir.join(name);
    let _ = std::fs::remove_file(&dest);
    if std::fs::hard_link(src, &dest).is_err() {
        kiln_fs::copy_atomic(src, &dest)?;
    }
    let volume = if what.format == "iso" {
        kiln_iso::headers::volume(&dest)
            .map_err(|e| PhaseError::with(format!("cannot read {}", dest.display()), e))?
    } else {
        None
    };
    let (size, checksums) = crate::file_image_digests(ctx, &dest)?;
    // The images.json path is the compose's, also when `symlink_isos_to` put the file elsewhere.
    let in_compose = if dir.starts_with(ctx.compose.paths.compose_dir()) {
        dest.clone()
    } else {
        ctx.compose
            .paths
            .iso_dir(what.variant, what.arch)
            .join(name)
    };
    tracing::info!(
        "{}.{}: {} ({}) from {}",
        what.variant.uid,
        what.arch,
        dest.display(),
        what.kind,
        src.display()
    );
    let image = Image {
        path: compose_relative(ctx, &in_compose),
        mtime: ctx.compose.timestamp,
        size,
        volume_id: volume.as_ref().map(|v| v.volume_id.clone()),
        kind: what.kind.into(),
        format: what.format.into(),
        arch: what.arch.to_owned(),
        disc_number: 1,
        disc_count: 1,
        checksums,
        implant_md5: volume.and_then(|v| v.implant_md5),
        bootable: what.bootable,
        subvariant: what.subvariant.to_owned(),
        unified: false,
        additional_variants: Vec::new(),
    };
    Ok(file_image(what.variant, what.arch, image))
}
