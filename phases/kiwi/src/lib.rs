//! The kiwi phase (pungi's `kiwibuild`), local backend: for every block of a variant and each of
//! its arches, the real `kiwi-ng system build` runs through the compose's runner on the block's
//! description ([`kiln_media::kiwi`]), its images filed in `compose/<V>/<arch>/images/`.
//! A block with a Koji target (`target`, or `kiwibuild_target`) is built as pungi builds every
//! kiwibuild block instead: one Koji `kiwiBuild` task for all its arches ([`koji_build`]).

use kiln_config::{Config, KiwiBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};

mod koji_build;

pub struct KiwiPhase;

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &KiwiBlock)> {
    config
        .kiwibuild
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

/// The block as a KIWI description built here.
fn description(block: &KiwiBlock) -> kiln_media::kiwi::Description<'_> {
    kiln_media::kiwi::Description {
        scm: &block.description_scm,
        path: &block.description_path,
        profile: block.kiwi_profile.as_deref(),
        image_type: block.image_type.as_deref(),
        repos: &block.repos,
    }
}

/// The Koji target a block builds in, if it builds in Koji.
fn koji_target<'a>(config: &'a Config, block: &'a KiwiBlock) -> Option<&'a str> {
    block
        .target
        .as_deref()
        .or(config.kiwibuild_target.as_deref())
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
            tools.extend(description(block).tools());
        }
        tools.sort_unstable();
        tools.dedup();
        tools
    }
    /// A block's arch that none of its variants has, or a `type` its local description does
    /// not define, is a config error before the compose starts.
    fn refused(&self, config: &Config, compose: &kiln_engine::Compose) -> Option<String> {
        for (re, block) in blocks(config) {
            if let Some(why) =
                kiln_media::naming::foreign_arches("kiwibuild", re, &block.arches, compose)
            {
                return Some(why);
            }
            if let Some(t) = &block.image_type
                && let Some(types) = description(block).local_types()
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
        let records = kiln_koji::beside_local(koji_jobs, || {
            let mut records = Vec::new();
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
                    || {
                        let out = kiln_media::kiwi::Build {
                            name: format!("kiwi-{number}"),
                            images_dir: ctx.compose.paths.images_dir(variant, &arch),
                            subvariant,
                        };
                        kiln_media::kiwi::build(ctx, variant, &arch, &description(block), &out)
                    },
                )? {
                    records.extend(r);
                }
            }
            Ok(records)
        })?;
        kiln_media::write_records(ctx, records)
    }
}
