//! The createiso phase: a DVD image of every variant's os tree and source tree, as pungi makes
//! them, with the real `xorriso`.
//!
//! Inputs are the finished trees (createrepo's repodata and tree metadata, buildinstall's boot
//! files, extrafiles' files). Each ISO gets its own `.treeinfo` (with `[media]`) and
//! `.discinfo` (with the disc number) from `work/<arch>/iso/<name>/`; every other file is
//! grafted from the tree as is. The images are recorded in `work/global/images/createiso.json`
//! for imagechecksum, which writes images.json.

mod plan;

pub use kiln_media::tree_metadata;
pub use plan::{split_discs, tree_files};

use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_media::write_records;
use kiln_variants::{Variant, VariantKind};

pub struct CreateIso;

/// The variants that get ISOs: top-level variants and layered products, optional ones only with
/// `create_optional_isos`; addons live inside their parent's tree.
pub fn iso_variants<'a>(
    config: &Config,
    variants: impl Iterator<Item = &'a Variant>,
) -> Vec<&'a Variant> {
    variants
        .filter(|v| match v.kind {
            VariantKind::Variant | VariantKind::LayeredProduct => true,
            VariantKind::Optional => config.create_optional_isos,
            VariantKind::Addon => false,
        })
        .filter(|v| !v.is_empty)
        .collect()
}

impl Phase for CreateIso {
    fn name(&self) -> &'static str {
        "createiso"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall", "extrafiles"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "createiso_skip",
            "iso_size",
            "split_iso_reserve",
            "createiso_max_size",
            "createiso_max_size_is_strict",
            "create_optional_isos",
            "symlink_isos_to",
            "createiso_break_hardlinks",
            "iso_level",
            "image_name_format",
            "image_volid_formats",
            "image_volid_layered_product_formats",
            "volume_id_substitutions",
            "restricted_volid",
            "disc_types",
        ]
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["xorriso", "implantisomd5", "checkisomd5"]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut records = Vec::new();
        let variants = iso_variants(ctx.config, ctx.compose.variants.all.iter());
        for variant in variants {
            let mut arches = variant.arches.clone();
            arches.push("src".to_owned());
            for arch in arches {
                let _arch = ctx.arch_span(&arch);
                ctx.check_cancelled()?;
                if ctx.config.createiso_skip.last_for(&variant.uid, &arch) == Some(&true) {
                    tracing::info!("createiso_skip: no ISO for {}.{arch}", variant.uid);
                    continue;
                }
                let made = ctx.failable("iso", &variant.uid, &arch, || {
                    plan::isos_for_tree(ctx, variant, &arch)
                })?;
                records.extend(made.unwrap_or_default());
            }
        }
        write_records(ctx, records)
    }
}
