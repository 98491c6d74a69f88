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
use rayon::prelude::*;

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
            "createiso_replay_boot_iso",
        ]
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["xorriso"]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        // Plan every tree first, so the images can be counted and made side by side. Planning
        // walks a tree and stats its packages: the trees are planned on every core, and the
        // first error in plan order is the one reported.
        let jobs: Vec<(&Variant, String)> =
            iso_variants(ctx.config, ctx.compose.variants.all.iter())
                .into_iter()
                .flat_map(|v| {
                    v.arches
                        .iter()
                        .cloned()
                        .chain(std::iter::once("src".to_owned()))
                        .map(move |arch| (v, arch))
                })
                .collect();
        let planned: Vec<Result<Option<plan::TreePlan<'_>>, PhaseError>> = jobs
            .par_iter()
            .map(|(variant, arch)| {
                let _arch = ctx.arch_span(arch);
                ctx.check_cancelled()?;
                if ctx.config.createiso_skip.last_for(&variant.uid, arch) == Some(&true) {
                    tracing::info!("createiso_skip: no ISO for {}.{arch}", variant.uid);
                    return Ok(None);
                }
                let planned = ctx.failable("iso", &variant.uid, arch, || {
                    plan::plan_tree(ctx, variant, arch)
                })?;
                Ok(planned.filter(|t| !t.discs.is_empty()))
            })
            .collect();
        let mut trees = Vec::new();
        for tree in planned {
            trees.extend(tree?);
        }
        // What earlier phases recorded of the trees' files: the recipe of every image (to reuse
        // an unchanged one from the old compose) is then known without reading the trees.
        let recorded = kiln_engine::RecordedDigests::load(ctx.compose.paths.topdir());
        let records = make_all(ctx, trees, &recorded)?;
        write_records(ctx, records.into_iter().flatten().collect())
    }
}

/// Makes the planned trees on a bounded number of threads (xorriso is one process per image and
/// mostly waits on the disk, so more images at once than cores gains nothing), and hands back
/// their records in plan order, so images.json does not depend on which finished first.
fn make_all(
    ctx: &PhaseContext,
    trees: Vec<plan::TreePlan<'_>>,
    recorded: &kiln_engine::RecordedDigests,
) -> Result<Vec<Vec<kiln_productmd::ImageRecord>>, PhaseError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let total: usize = trees.iter().map(|t| t.discs.len()).sum();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(trees.len())
        .max(1);
    let progress = ctx.progress(total as u64, "ISO images");
    let begun = AtomicUsize::new(0);
    let started = |name: &str| {
        let n = begun.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!("making image {n} of {total}: {name}");
        progress.set_message(format!("image {n} of {total}: {name}"));
    };
    let count = trees.len();
    let queue = Mutex::new(trees.into_iter().enumerate());
    let results: Mutex<Vec<Option<Result<Vec<_>, PhaseError>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some((i, tree)) = next else { break };
                    let _arch = ctx.arch_span(&tree.arch);
                    let (uid, arch) = (tree.variant.uid.clone(), tree.arch.clone());
                    let discs = tree.discs.len() as u64;
                    let made = ctx
                        .failable("iso", &uid, &arch, || {
                            plan::make_tree(ctx, tree, &started, recorded)
                        })
                        .map(Option::unwrap_or_default);
                    progress.inc(discs);
                    if made.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(made);
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    let results = results
        .into_inner()
        .map_err(|_| PhaseError::msg("an ISO worker panicked"))?;
    // The first error in plan order wins; trees left unstarted after it do not matter.
    let mut out = Vec::with_capacity(count);
    for r in results {
        match r {
            Some(Ok(records)) => out.push(records),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Ok(out)
}
