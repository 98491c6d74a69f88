//! Tree metadata (`.treeinfo`, `.discinfo`, `media.repo`) of a compose tree, from the config and
//! the variants. createrepo writes these the moment a tree's repodata exists:
//!
//! ```ignore
//! for (path, bytes) in kiln_media::tree_metadata(ctx, variant, arch)? {
//!     ctx.write(&path, &bytes)?;
//! }
//! ```
//!
//! createiso falls back to the same bytes (for the disc only, without touching the tree) when a
//! tree has none.

use std::path::PathBuf;

use kiln_engine::{PhaseContext, PhaseError};
use kiln_productmd::treeinfo::{Product, for_variant_tree, tree_metadata_files_from};
use kiln_variants::{Variant, VariantKind};

/// The files for `variant`'s os tree (`arch`) or source tree (`src`), as (path, bytes).
pub fn tree_metadata(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
) -> Result<Vec<(PathBuf, Vec<u8>)>, PhaseError> {
    let cfg = ctx.config;
    let paths = &ctx.compose.paths;
    let tree = if arch == "src" {
        paths.source_tree(variant)
    } else {
        paths.os_tree(variant, arch)
    };
    let release = Product {
        name: cfg.release_name.clone(),
        short: cfg.release_short.clone(),
        version: cfg
            .treeinfo_version
            .clone()
            .unwrap_or_else(|| cfg.release_version.clone()),
    };
    let base = match (
        &cfg.base_product_name,
        &cfg.base_product_short,
        &cfg.base_product_version,
    ) {
        (Some(name), Some(short), Some(version)) => Some(Product {
            name: name.clone(),
            short: short.clone(),
            version: version.clone(),
        }),
        _ => None,
    };
    let addons: Vec<&Variant> = ctx
        .compose
        .variants
        .children(&variant.uid)
        .filter(|c| {
            c.kind == VariantKind::Addon && (arch == "src" || c.arches.iter().any(|a| a == arch))
        })
        .collect();
    let ti = for_variant_tree(release, base, variant, &addons, arch, ctx.compose.timestamp);
    let lorax = paths
        .work_dir(arch)
        .join("buildinstall")
        .join(&variant.uid)
        .join(".treeinfo");
    let own = tree.join(".treeinfo");
    tree_metadata_files_from(&tree, &ti, &cfg.discinfo_description(), &[&lorax, &own])
        .map_err(|e| PhaseError::msg(e.to_string()))
}
