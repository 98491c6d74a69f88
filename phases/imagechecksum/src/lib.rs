//! The imagechecksum phase (cannot be skipped): checksums of every image the image phases
//! recorded, in one read per image and images in parallel, written as pungi's CHECKSUM files
//! next to the images and into `compose/metadata/images.json`.
//!
//! images.json is written only when at least one image phase left its records
//! (`work/global/images/<phase>.json`, possibly listing no image): when every image phase was
//! skipped there is no images.json rather than an empty one pretending nothing was made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, IMAGE_PHASES, ImageRecords};
use kiln_checksum::Algorithm;
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_productmd::Images;

pub struct ImageChecksum;

/// One image in a CHECKSUM file: file name, size, digests.
pub type Entry = (String, u64, Vec<(Algorithm, String)>);

/// `media_checksums` parsed, in config order.
fn load_records(ctx: &PhaseContext) -> Result<Option<Images>, PhaseError> {
    let mut images = Images::default();
    let mut any = false;
    for phase in IMAGE_PHASES {
        let file = ImageRecords::path(&ctx.compose.paths, phase);
        if !file.is_file() {
            continue;
        }
        any = true;
        let records = ImageRecords::load(&file).map_err(|e| PhaseError::msg(e.to_string()))?;
        for r in records.images {
            images
                .add(&r.variant, &r.arch, r.image)
                .map_err(|e| PhaseError::msg(format!("{}: {e}", file.display())))?;
        }
    }
    Ok(any.then_some(images))
}

/// One CHECKSUM file's text: per algorithm (config order), entries sorted by file name.
pub fn checksum_file_text(entries: &[Entry], algs: &[Algorithm]) -> String {
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for alg in algs {
        for (name, size, sums) in &sorted {
            if let Some((_, hex)) = sums.iter().find(|(a, _)| a == alg) {
                out.push_str(&kiln_checksum::checksum_entry(name, *size, *alg, hex));
            }
        }
    }
    out
}

impl Phase for ImageChecksum {
    fn name(&self) -> &'static str {
        "imagechecksum"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn after(&self) -> &'static [&'static str] {
        IMAGE_PHASES
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "media_checksums",
            "media_checksum_one_file",
            "media_checksum_base_filename",
        ]
    }
    fn skippable(&self) -> bool {
        false
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let algs = kiln_media::media_algorithms(ctx.config)?;
        let Some(mut images) = load_records(ctx)? else {
            tracing::info!("no image phase ran: no images.json");
            return Ok(());
        };
        let compose_dir = ctx.compose.paths.compose_dir();
        // Source ISOs are listed under several arches: sum each file once.
        let files: Vec<String> = images
            .iter()
            .map(|(_, _, i)| i.path.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // The image phases hand over the digests they took while making each image; only an
        // image recorded without every wanted digest is read here.
        let mut sums: BTreeMap<String, kiln_checksum::Digests> = BTreeMap::new();
        for (_, _, image) in images.iter() {
            if sums.contains_key(&image.path) {
                continue;
            }
            let hex: Option<Vec<(Algorithm, String)>> = algs
                .iter()
                .map(|a| image.checksums.get(a.name()).map(|h| (*a, h.clone())))
                .collect();
            if let Some(mut hex) = hex {
                let on_disk = std::fs::metadata(compose_dir.join(&image.path))
                    .map_err(|e| PhaseError::with(format!("cannot stat {}", image.path), e))?
                    .len();
                hex.sort();
                sums.insert(
                    image.path.clone(),
                    kiln_checksum::Digests { size: on_disk, hex },
                );
            }
        }
        let unsummed: Vec<&String> = files.iter().filter(|f| !sums.contains_key(*f)).collect();
        let abs: Vec<PathBuf> = unsummed.iter().map(|f| compose_dir.join(f)).collect();
        let _bar = ctx.progress(abs.len() as u64, "checksumming images");
        ctx.check_cancelled()?;
        let results = kiln_checksum::digest_files(&abs, &algs);
        for (f, r) in unsummed.into_iter().zip(results) {
            sums.insert(f.clone(), r.map_err(|e| PhaseError::msg(e.to_string()))?);
        }
        // Group by directory, with the variant/arch of the first listing for the base name.
        let mut dirs: BTreeMap<PathBuf, (String, String, Vec<Entry>)> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (variant, arch, image) in images.iter() {
            if !seen.insert(image.path.clone()) {
                continue;
            }
            let Some(d) = sums.get(&image.path) else {
                continue;
            };
            let p = Path::new(&image.path);
            let dir = p.parent().map(Path::to_owned).unwrap_or_default();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let img_arch = if image.arch == "src" {
                "src".to_owned()
            } else {
                arch.to_owned()
            };
            dirs.entry(dir)
                .or_insert_with(|| (variant.to_owned(), img_arch, Vec::new()))
                .2
                .push((name, d.size, d.hex.clone()));
        }
        for (dir, (variant, arch, entries)) in &dirs {
            let base = base_name(ctx, variant, arch)?;
            let out_dir = compose_dir.join(dir);
            if ctx.config.media_checksum_one_file {
                let text = checksum_file_text(entries, &algs);
                ctx.write(&out_dir.join(format!("{base}CHECKSUM")), text.as_bytes())?;
            } else {
                for alg in &algs {
                    let text = checksum_file_text(entries, &[*alg]);
                    ctx.write(
                        &out_dir.join(format!("{base}{}SUM", alg.tag())),
                        text.as_bytes(),
                    )?;
                }
            }
        }
        for image in images.iter_mut() {
            if let Some(d) = sums.get(&image.path) {
                if d.size != image.size {
                    return Err(PhaseError::msg(format!(
                        "{} is {} bytes but was recorded with {} bytes: it changed after it was made",
                        image.path, d.size, image.size
                    )));
                }
                image.checksums = d
                    .hex
                    .iter()
                    .map(|(a, h)| (a.name().to_owned(), h.clone()))
                    .collect();
            }
        }
        let path = ctx.compose.paths.metadata_dir().join("images.json");
        ctx.write(
            &path,
            images
                .render(&kiln_engine::compose_ref(ctx.compose))
                .as_bytes(),
        )
    }
}

/// `media_checksum_base_filename` expanded, plus `-`; empty when unset.
fn base_name(ctx: &PhaseContext, variant: &str, arch: &str) -> Result<String, PhaseError> {
    let fmt = &ctx.config.media_checksum_base_filename;
    if fmt.is_empty() {
        return Ok(String::new());
    }
    let vars = kiln_media::naming::format_vars(ctx.config, ctx.compose, variant, arch);
    let base = kiln_iso::format::expand(fmt, &vars)
        .map_err(|e| PhaseError::with("media_checksum_base_filename", e))?;
    Ok(if base.is_empty() {
        base
    } else {
        format!("{base}-")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_lists_algorithms_in_config_order_then_names() {
        let e = vec![
            (
                "b.iso".to_owned(),
                2,
                vec![
                    (Algorithm::Md5, "m2".into()),
                    (Algorithm::Sha256, "s2".into()),
                ],
            ),
            (
                "a.iso".to_owned(),
                1,
                vec![
                    (Algorithm::Md5, "m1".into()),
                    (Algorithm::Sha256, "s1".into()),
                ],
            ),
        ];
        let t = checksum_file_text(&e, &[Algorithm::Sha256, Algorithm::Md5]);
        assert_eq!(
            t,
            "# a.iso: 1 bytes\nSHA256 (a.iso) = s1\n# b.iso: 2 bytes\nSHA256 (b.iso) = s2\n\
             # a.iso: 1 bytes\nMD5 (a.iso) = m1\n# b.iso: 2 bytes\nMD5 (b.iso) = m2\n"
        );
    }
}
