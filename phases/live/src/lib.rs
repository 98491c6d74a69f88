//! The live phase (pungi's `live_media`): each block with a `kickstart` is one `koji
//! spin-livemedia` task (livemedia-creator on Koji's builders), as pungi runs it: `koji
//! --profile=P spin-livemedia NAME VERSION TARGET ARCHES KICKSTART --install-tree=<the variant's
//! os tree> --repo=... [--scratch] [--skip-tag] [--ksurl=] [--release=] [--can-fail=]
//! [--nomacboot] --wait`. The live ISOs of its image children are linked from the Koji volume
//! into `compose/<V>/<arch>/iso/` as `live` images (bootable; the test phase checks their El
//! Torito and hybrid MBR). livemedia-creator cannot run here, so a kickstart block without a
//! Koji target is refused before the compose starts. A block with `kiwi` instead names a KIWI
//! description, built here per arch by `kiwi-ng --type iso` ([`kiln_media::kiwi`]) into the same
//! folder, its `repo` (when it has any) replacing the description's repositories.

use kiln_config::{Config, LiveMediaBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_koji::Koji;
use kiln_productmd::ImageRecord;
use kiln_variants::Variant;

pub struct LivePhase;

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &LiveMediaBlock)> {
    config
        .live_media
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

fn target<'a>(config: &'a Config, b: &'a LiveMediaBlock) -> Option<&'a str> {
    b.target.as_deref().or(config.live_media_target.as_deref())
}

impl Phase for LivePhase {
    fn name(&self) -> &'static str {
        "live"
    }
    /// The install tree and repositories are the compose's.
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "live_media",
            "live_media_target",
            "live_media_version",
            "live_media_release",
            "live_media_ksurl",
            "koji_profile",
            "release_short",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.live_media.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        let mut tools = Vec::new();
        for (_, b) in blocks(config) {
            match &b.kiwi {
                Some(k) => tools.extend(kiwi_description(k, &b.repo).tools()),
                None => tools.extend(["koji", "python3"]),
            }
        }
        tools.sort_unstable();
        tools.dedup();
        tools
    }
    fn unsupported(&self, config: &Config) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            let kickstart = b.kickstart.as_deref()?;
            target(config, b).is_none().then(|| {
                format!(
                    "live_media block {kickstart} for {re} has no Koji target: live media are \
                     built by Koji's spin-livemedia task (livemedia-creator cannot run here); \
                     set `target` or `live_media_target`, or build a KIWI description here \
                     with `kiwi`"
                )
            })
        })
    }
    fn refused(&self, config: &Config, compose: &kiln_engine::Compose) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            kiln_media::naming::foreign_arches("live_media", re, &b.arches, compose).or_else(|| {
                let kiwi = b.kiwi.as_ref()?;
                let types = kiwi_description(kiwi, &b.repo).local_types()?;
                (!types.iter().any(|t| t == "iso")).then(|| {
                    format!(
                        "live_media block for {re}: the KIWI description {} defines no iso \
                             type ({})",
                        kiwi.description_path,
                        types.join(", ")
                    )
                })
            })
        })
    }
    /// Every Koji block's task at once (they mostly wait on Koji) while the KIWI builds run
    /// here one after another; records in config order.
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut jobs: Vec<kiln_koji::Job<Option<Vec<ImageRecord>>>> = Vec::new();
        let mut locals = Vec::new();
        for variant in &ctx.compose.variants.all {
            for (n, (re, block)) in blocks(ctx.config).enumerate() {
                if !kiln_config::variant_matches(re, &variant.uid) {
                    continue;
                }
                let arches = kiln_media::block_arches(variant, &block.arches);
                if arches.is_empty() {
                    continue;
                }
                ctx.check_cancelled()?;
                let failable: Vec<String> = arches
                    .iter()
                    .filter(|a| block.failable.iter().any(|f| f == "*" || f == *a))
                    .cloned()
                    .collect();
                let subvariant = block
                    .subvariant
                    .clone()
                    .unwrap_or_else(|| variant.uid.clone());
                if let Some(kiwi) = &block.kiwi {
                    for arch in arches {
                        let failable = failable.contains(&arch);
                        locals.push((variant, block, kiwi, arch, failable, subvariant.clone(), n));
                    }
                    continue;
                }
                jobs.push(Box::new(move || {
                    ctx.failable_with(
                        "live-media",
                        &variant.uid,
                        "*",
                        Some(&subvariant),
                        failable.len() == arches.len(),
                        || build(ctx, variant, block, &arches, &failable, &subvariant),
                    )
                }));
            }
        }
        let records = kiln_koji::beside_local(jobs, || {
            let mut records = Vec::new();
            for (variant, block, kiwi, arch, failable, subvariant, n) in locals {
                let _arch = ctx.arch_span(&arch);
                ctx.check_cancelled()?;
                let built = ctx.failable_with(
                    "live-media",
                    &variant.uid,
                    &arch,
                    Some(&subvariant),
                    failable,
                    || {
                        let out = kiln_media::kiwi::Build {
                            name: format!("live-{}", n + 1),
                            images_dir: kiln_media::iso_output_dir(ctx, variant, &arch)?,
                            subvariant: &subvariant,
                        };
                        let desc = kiwi_description(kiwi, &block.repo);
                        kiln_media::kiwi::build(ctx, variant, &arch, &desc, &out)
                    },
                )?;
                records.extend(built.into_iter().flatten());
            }
            Ok(records)
        })?;
        kiln_media::write_records(ctx, records)
    }
}

/// A block's KIWI description, built as a live ISO.
fn kiwi_description<'a>(
    kiwi: &'a kiln_config::LiveKiwi,
    repos: &'a [String],
) -> kiln_media::kiwi::Description<'a> {
    kiln_media::kiwi::Description {
        scm: &kiwi.description_scm,
        path: &kiwi.description_path,
        profile: kiwi.kiwi_profile.as_deref(),
        image_type: Some("iso"),
        repos,
    }
}

/// pungi's `koji spin-livemedia` command line of a block.
fn command(
    ctx: &PhaseContext,
    koji: &Koji,
    variant: &Variant,
    block: &LiveMediaBlock,
    arches: &[String],
    failable: &[String],
    subvariant: &str,
) -> Result<std::process::Command, PhaseError> {
    let cfg = ctx.config;
    let uid = &variant.uid;
    let expand = |v: Option<&str>| {
        kiln_media::naming::version_generator(ctx.compose, v)
            .map_err(|e| PhaseError::msg(format!("live_media {uid}: {e}")))
    };
    let name = block
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{subvariant}-Live", cfg.release_short));
    let version = expand(
        block
            .version
            .as_deref()
            .or(cfg.live_media_version.as_deref()),
    )?
    .unwrap_or_else(|| kiln_media::naming::image_version(ctx.compose));
    let release = expand(
        block
            .release
            .as_deref()
            .or(cfg.live_media_release.as_deref()),
    )?;
    let tree_from = block.install_tree_from.as_deref().unwrap_or(uid);
    if ctx.compose.variants.get(tree_from).is_none() {
        return Err(PhaseError::msg(format!(
            "live_media for {uid}: there is no variant {tree_from} to take the install tree from"
        )));
    }
    let mut c = koji.command();
    c.arg("spin-livemedia")
        .args([
            name.as_str(),
            version.as_str(),
            target(cfg, block).unwrap_or_default(),
        ])
        .arg(arches.join(","))
        .arg(block.kickstart.as_deref().unwrap_or_default())
        .arg(format!(
            "--install-tree={}",
            kiln_koji::tree_url(ctx, tree_from, "$basearch")
        ));
    for url in kiln_koji::repo_urls(ctx, variant, &block.repo, "$basearch") {
        c.arg(format!("--repo={url}"));
    }
    if block.scratch {
        c.arg("--scratch");
    }
    if block.skip_tag {
        c.arg("--skip-tag");
    }
    if let Some(k) = block.ksurl.as_deref().or(cfg.live_media_ksurl.as_deref()) {
        c.arg(format!("--ksurl={k}"));
    }
    if let Some(r) = release {
        c.arg(format!("--release={r}"));
    }
    if !failable.is_empty() {
        c.arg(format!("--can-fail={}", failable.join(",")));
    }
    if block.nomacboot {
        c.arg("--nomacboot");
    }
    c.arg("--wait");
    Ok(c)
}

fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &LiveMediaBlock,
    arches: &[String],
    failable: &[String],
    subvariant: &str,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let log = ctx.log_file(&arches.join("-"), &format!("livemedia-{uid}-{subvariant}"));
    let _ = std::fs::remove_file(&log);
    let koji = Koji::new(ctx, log.clone());
    let cmd = command(ctx, &koji, variant, block, arches, failable, subvariant)?;
    let out = ctx.run_status(&cmd, &log)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let task = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Created task:"))
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            PhaseError::msg(format!(
                "koji spin-livemedia for {uid} created no task; see {}",
                log.display()
            ))
        })?;
    if !out.success() {
        return Err(PhaseError::msg(format!(
            "Live media task failed: {task}. See {} for more details.",
            log.display()
        )));
    }
    for arch in koji.failed_image_arches(task)? {
        ctx.failed_arch(
            "live-media",
            uid,
            &arch,
            Some(subvariant),
            &format!("Koji task {task}'s image for {arch} failed"),
        );
    }
    let isos: Vec<(String, std::path::PathBuf)> = koji
        .image_paths(task)?
        .into_iter()
        .filter(|(_, p)| p.extension().is_some_and(|e| e == "iso"))
        .collect();
    if isos.len() < arches.len() - failable.len() {
        return Err(PhaseError::msg(format!(
            "Image count mismatch in task {task}: {} live ISOs for {} required arches",
            isos.len(),
            arches.len() - failable.len()
        )));
    }
    let mut records = Vec::new();
    for (arch, path) in isos {
        let dir = kiln_media::iso_output_dir(ctx, variant, &arch)?;
        records.extend(kiln_media::place_image(
            ctx,
            &path,
            &dir,
            kiln_media::Placed {
                variant,
                arch: &arch,
                kind: "live",
                format: "iso",
                subvariant,
                bootable: true,
            },
        )?);
    }
    Ok(records)
}
