//! The osbuild phase (pungi's `osbuild`): each block is one Koji `osbuildImage` task, as pungi
//! submits it (`name, version, distro, image_types, target, arches, opts`, the repos being the
//! block's then the variant's tree with `$arch`), watched until it ends (`logs/global/osbuild/
//! <V>-<n>-watch-task.log`); the build's archives of image types are linked from the Koji volume
//! into `compose/<V>/<arch>/images/` (ISOs into `iso/`) and listed in images.json with pungi's
//! types. osbuild itself cannot run here, so a block without a Koji target is refused before the
//! compose starts.

use kiln_config::{Config, OsbuildBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_koji::Koji;
use kiln_productmd::ImageRecord;
use kiln_variants::Variant;
use serde_json::{Map, Value, json};

pub struct OsbuildPhase;

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &OsbuildBlock)> {
    config
        .osbuild
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

fn target<'a>(config: &'a Config, b: &'a OsbuildBlock) -> Option<&'a str> {
    b.target.as_deref().or(config.osbuild_target.as_deref())
}

impl Phase for OsbuildPhase {
    fn name(&self) -> &'static str {
        "osbuild"
    }
    /// The images are built from the compose's repositories.
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "osbuild",
            "osbuild_target",
            "osbuild_version",
            "osbuild_release",
            "koji_profile",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.osbuild.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["koji", "python3"]
    }
    fn unsupported(&self, config: &Config) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            target(config, b).is_none().then(|| {
                format!(
                    "osbuild block {} for {re} has no Koji target: osbuild images are built by \
                     Koji's osbuildImage task (osbuild cannot run here); set `target` or \
                     `osbuild_target`",
                    b.name
                )
            })
        })
    }
    fn refused(&self, config: &Config, compose: &kiln_engine::Compose) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            kiln_media::naming::foreign_arches("osbuild", re, &b.arches, compose)
        })
    }
    /// Every block's task at once (they mostly wait on Koji), collected in config order.
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut jobs: Vec<kiln_koji::Job<Option<Vec<ImageRecord>>>> = Vec::new();
        let mut number = 0;
        for variant in &ctx.compose.variants.all {
            for (re, block) in blocks(ctx.config) {
                if !kiln_config::variant_matches(re, &variant.uid) {
                    continue;
                }
                let arches = kiln_media::block_arches(variant, &block.arches);
                if arches.is_empty() {
                    continue;
                }
                number += 1;
                ctx.check_cancelled()?;
                let failable = arches
                    .iter()
                    .all(|a| block.failable.iter().any(|f| f == "*" || f == a));
                let subvariant = block.subvariant.as_deref().unwrap_or(&variant.uid);
                jobs.push(Box::new(move || {
                    ctx.failable_with(
                        "osbuild",
                        &variant.uid,
                        "*",
                        Some(subvariant),
                        failable,
                        || build(ctx, variant, block, &arches, number),
                    )
                }));
            }
        }
        let records = kiln_koji::all_at_once(jobs)?
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        kiln_media::write_records(ctx, records)
    }
}

/// pungi's images.json type of an ISO archive, from its file name.
fn iso_type(filename: &str) -> &'static str {
    let f = filename.to_lowercase();
    if f.contains("ostree") {
        "dvd-ostree-osbuild"
    } else if f.contains("live") {
        "live-osbuild"
    } else if f.contains("netinst") || f.contains("boot") {
        "boot"
    } else {
        "dvd"
    }
}

fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &OsbuildBlock,
    arches: &[String],
    number: usize,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let cfg = ctx.config;
    let log_dir = ctx.compose.paths.log_dir("global").join("osbuild");
    std::fs::create_dir_all(&log_dir)?;
    let koji = Koji::new(ctx, log_dir.join(format!("{uid}-{number}-koji.log")));
    let expand = |v: Option<&str>| {
        kiln_media::naming::version_generator(ctx.compose, v)
            .map_err(|e| PhaseError::msg(format!("osbuild {uid}: {e}")))
    };
    let version = expand(block.version.as_deref().or(cfg.osbuild_version.as_deref()))?
        .unwrap_or_else(|| kiln_media::naming::image_version(ctx.compose));
    let release = match block.release.as_deref().or(cfg.osbuild_release.as_deref()) {
        Some(r) => Some(expand(Some(r))?.unwrap_or_default()),
        None => None,
    };
    let mut opts = Map::new();
    opts.insert(
        "repo".into(),
        json!(kiln_koji::repo_urls(ctx, variant, &block.repo, "$arch")),
    );
    let mut ostree = Map::new();
    for (k, v) in [
        ("url", &block.ostree_url),
        ("ref", &block.ostree_ref),
        ("parent", &block.ostree_parent),
    ] {
        if let Some(v) = v {
            ostree.insert(k.into(), v.as_str().into());
        }
    }
    if !ostree.is_empty() {
        opts.insert("ostree".into(), Value::Object(ostree));
    }
    if let Some(u) = &block.upload_options {
        opts.insert("upload_options".into(), u.clone());
    }
    if let Some(c) = &block.customizations {
        opts.insert("customizations".into(), c.clone());
    }
    if let Some(r) = release.filter(|r| !r.is_empty()) {
        opts.insert("release".into(), r.into());
    }
    let target = target(cfg, block).unwrap_or_default();
    let task = koji.task(&format!("osbuild-{uid}-{number}"), || {
        let task = koji.call(
            "osbuildImage",
            &[
                block.name.as_str().into(),
                version.as_str().into(),
                block.distro.as_str().into(),
                json!(block.image_types.to_vec()),
                target.into(),
                json!(arches),
            ],
            &[("opts", Value::Object(opts.clone()))],
        )?;
        task.as_u64().ok_or_else(|| {
            PhaseError::msg(format!("osbuildImage for {uid} gave no task ID: {task}"))
        })
    })?;
    tracing::info!("osbuild {uid}: Koji task {task}");
    let watch_log = log_dir.join(format!("{uid}-{number}-watch-task.log"));
    if !koji.watch(task, &watch_log)? {
        return Err(PhaseError::msg(format!(
            "OSBuild task failed: {task}. See {} for details",
            watch_log.display()
        )));
    }
    let result = koji.call("getTaskResult", &[task.into()], &[])?;
    let build_id = result["koji"]["build"].as_u64().ok_or_else(|| {
        PhaseError::msg(format!("osbuild task {task} names no Koji build: {result}"))
    })?;
    let build = koji.call("getBuild", &[build_id.into()], &[])?;
    let field = |k: &str| build[k].as_str().unwrap_or_default().to_owned();
    let top = koji.topdir()?;
    let images_dir =
        kiln_koji::image_build_dir(&top, &field("name"), &field("version"), &field("release"));
    let archives = koji.call("listArchives", &[], &[("buildID", build_id.into())])?;
    let mut records = Vec::new();
    for archive in archives.as_array().into_iter().flatten() {
        let type_name = archive["type_name"].as_str().unwrap_or_default();
        let filename = archive["filename"].as_str().unwrap_or_default();
        // Archives of other types (logs, manifests) are not images (pungi's rule).
        let Some(suffixes) = kiln_koji::suffixes(type_name) else {
            continue;
        };
        let Some(format) = suffixes.iter().find(|s| filename.ends_with(*s)) else {
            return Err(PhaseError::msg(format!(
                "osbuild image {filename}: its name does not end as a {type_name} image does \
                 ({})",
                suffixes.join(", ")
            )));
        };
        let arch = archive["extra"]["image"]["arch"]
            .as_str()
            .ok_or_else(|| PhaseError::msg(format!("osbuild image {filename} has no arch")))?
            .to_owned();
        let dir = if type_name == "iso" {
            kiln_media::iso_output_dir(ctx, variant, &arch)?
        } else {
            ctx.compose.paths.images_dir(variant, &arch)
        };
        let kind = match &block.manifest_type {
            Some(t) => t.clone(),
            None if type_name == "iso" => iso_type(filename).to_owned(),
            None => type_name.to_owned(),
        };
        records.extend(kiln_media::place_image(
            ctx,
            &images_dir.join(filename),
            &dir,
            kiln_media::Placed {
                variant,
                arch: &arch,
                kind: &kind,
                format,
                subvariant: block.subvariant.as_deref().unwrap_or(uid),
                bootable: false,
            },
        )?);
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "OSBuild task {task} for {uid}: its build {build_id} has no image archive"
        )));
    }
    Ok(records)
}
