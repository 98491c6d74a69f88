//! The imagebuild phase (pungi's `image_build`): each block is one `koji image-build` task
//! (ImageFactory on Koji's builders), as pungi runs it: the block's `image-build` section, with
//! the install tree (the variant's os tree, `$arch` for Koji), the repos, arches, formats,
//! version, release and target filled in, written as koji's image-build config to
//! `work/image-build/<V>/<formats>_<name>-<arches>.cfg`, then `koji --profile=P image-build
//! --config=F --wait`. The image children's files are linked from the Koji volume into
//! `compose/<V>/<arch>/images/`, typed by the formats asked for. ImageFactory cannot run here,
//! so a block without a Koji target is refused before the compose starts.

use std::fmt::Write as _;
use std::path::Path;

use kiln_config::{Config, ImageBuildBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_koji::Koji;
use kiln_productmd::ImageRecord;
use kiln_variants::Variant;
use serde_json::Value;

pub mod reuse;

pub struct ImageBuildPhase;

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &ImageBuildBlock)> {
    config
        .image_build
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

fn target<'a>(config: &'a Config, b: &'a ImageBuildBlock) -> Option<&'a str> {
    b.image_build
        .target
        .as_deref()
        .or(config.image_build_target.as_deref())
}

/// The formats asked for: one, a list, or pungi's old `[format, suffix]` pairs.
pub fn formats(v: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::Array(pair) => pair.first().and_then(Value::as_str).map(str::to_owned),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    match v {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

impl Phase for ImageBuildPhase {
    fn name(&self) -> &'static str {
        "imagebuild"
    }
    /// The install tree and repositories are the compose's (buildinstall's tree is in it).
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "image_build",
            "image_build_target",
            "image_build_version",
            "image_build_release",
            "koji_profile",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.image_build.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["koji", "python3"]
    }
    fn unsupported(&self, config: &Config) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            if target(config, b).is_none() {
                return Some(format!(
                    "image_build block {} for {re} has no Koji target: these images are built by \
                     Koji's image-build task (ImageFactory cannot run here); set `target` or \
                     `image_build_target`",
                    b.image_build.name
                ));
            }
            formats(&b.image_build.format).iter().find_map(|f| {
                kiln_koji::suffixes(f).is_none().then(|| {
                    format!(
                        "image_build block {} for {re}: unknown format {f}",
                        b.image_build.name
                    )
                })
            })
        })
    }
    fn refused(&self, config: &Config, compose: &kiln_engine::Compose) -> Option<String> {
        blocks(config).find_map(|(re, b)| {
            kiln_media::naming::foreign_arches("image_build", re, &b.image_build.arches, compose)
        })
    }
    /// Every block's task at once (they mostly wait on Koji), collected in config order.
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        // What every block's reuse key reads: tens of megabytes at Fedora's scale, parsed once.
        let rpms = reuse::load_rpms(ctx.compose.paths.topdir());
        let rpms = &rpms;
        let mut jobs: Vec<kiln_koji::Job<Option<Vec<ImageRecord>>>> = Vec::new();
        for variant in &ctx.compose.variants.all {
            for (re, block) in blocks(ctx.config) {
                if !kiln_config::variant_matches(re, &variant.uid) {
                    continue;
                }
                let section = &block.image_build;
                let arches = kiln_media::block_arches(variant, &section.arches);
                if arches.is_empty() {
                    continue;
                }
                ctx.check_cancelled()?;
                let failable = arches
                    .iter()
                    .all(|a| section.failable.iter().any(|f| f == "*" || f == a));
                let subvariant = section.subvariant.as_deref().unwrap_or(&variant.uid);
                jobs.push(Box::new(move || {
                    ctx.failable_with(
                        "image-build",
                        &variant.uid,
                        "*",
                        Some(subvariant),
                        failable,
                        || build(ctx, variant, block, &arches, rpms),
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

/// The install tree: `install_tree_from` (a variant, URL or path), else the variant's own tree,
/// or its parent's for an addon or optional variant (buildinstall runs for top-level ones).
fn install_tree(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &ImageBuildBlock,
) -> Result<String, PhaseError> {
    let from = install_from(variant, block);
    if from.contains("://") || from.starts_with('/') {
        return Ok(from);
    }
    match ctx.compose.variants.get(&from) {
        Some(v) => Ok(kiln_koji::tree_url(ctx, &v.uid, "$arch")),
        None => Err(PhaseError::msg(format!(
            "image_build for {}: there is no variant {from} to take the install tree from",
            variant.uid
        ))),
    }
}

/// `install_tree_from`, else the variant's own tree, or its parent's.
fn install_from(variant: &Variant, block: &ImageBuildBlock) -> String {
    let top = variant.parent.as_ref().unwrap_or(&variant.uid);
    block
        .image_build
        .install_tree_from
        .clone()
        .unwrap_or_else(|| top.clone())
}

/// koji's image-build config: the `image-build` section, then the block's other sections.
pub fn config_file(block: &ImageBuildBlock, fields: &[(&str, String)]) -> String {
    let mut out = String::from("[image-build]\n");
    for (k, v) in fields {
        let _ = writeln!(out, "{k} = {v}");
    }
    let value = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    for (k, v) in &block.image_build.other {
        let _ = writeln!(out, "{k} = {}", value(v));
    }
    for (name, section) in &block.sections {
        let _ = writeln!(out, "\n[{name}]");
        for (k, v) in section {
            let _ = writeln!(out, "{k} = {}", value(v));
        }
    }
    out
}

fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &ImageBuildBlock,
    arches: &[String],
    rpms: &Result<Value, String>,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let cfg = ctx.config;
    let section = &block.image_build;
    let formats = formats(&section.format);
    let subvariant = section.subvariant.clone().unwrap_or_else(|| uid.clone());
    let expand = |v: Option<&str>| {
        kiln_media::naming::version_generator(ctx.compose, v)
            .map_err(|e| PhaseError::msg(format!("image_build {uid}: {e}")))
    };
    let version = expand(
        section
            .version
            .as_deref()
            .or(cfg.image_build_version.as_deref()),
    )?
    .unwrap_or_else(|| kiln_media::naming::image_version(ctx.compose));
    let release = expand(
        section
            .release
            .as_deref()
            .or(cfg.image_build_release.as_deref()),
    )?;
    let repos = kiln_koji::repo_urls(ctx, variant, &section.repo, "$arch");
    let mut fields: Vec<(&str, String)> =
        vec![("name", section.name.clone()), ("version", version)];
    if let Some(r) = release {
        fields.push(("release", r));
    }
    fields.extend([
        ("target", target(cfg, block).unwrap_or_default().to_owned()),
        ("install_tree", install_tree(ctx, variant, block)?),
        ("arches", arches.join(",")),
        ("format", formats.join(",")),
        ("kickstart", section.kickstart.clone()),
    ]);
    if let Some(k) = &section.ksurl {
        fields.push(("ksurl", k.clone()));
    }
    fields.extend([
        ("distro", section.distro.clone()),
        ("repo", repos.join(",")),
    ]);
    let mut can_fail: Vec<&String> = arches
        .iter()
        .filter(|a| section.failable.iter().any(|f| f == "*" || f == *a))
        .collect();
    can_fail.sort();
    if !can_fail.is_empty() {
        fields.push((
            "can_fail",
            can_fail
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ));
    }
    fields.push(("variant", uid.clone()));

    let conf = ctx
        .compose
        .paths
        .topdir()
        .join("work/image-build")
        .join(uid)
        .join(format!(
            "{}_{}-{}.cfg",
            formats.join("-"),
            section.name,
            arches.join("-")
        ));
    ctx.write(&conf, config_file(block, &fields).as_bytes())?;
    let dash_arches = arches.join("-");
    let log = ctx.log_file(
        &dash_arches,
        &format!("imagebuild-{uid}-{subvariant}-{}", formats.join("-")),
    );
    let _ = std::fs::remove_file(&log);
    let key = rpms
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|rpms| reuse_key(ctx, variant, block, arches, rpms));
    if cfg.image_build_allow_reuse
        && let Some(records) = reused(ctx, variant, &subvariant, &conf, &log, &key)?
    {
        return Ok(records);
    }
    let koji = Koji::new(ctx, log.clone());
    let mut cmd = koji.command();
    cmd.arg("image-build")
        .arg(format!("--config={}", conf.display()))
        .arg("--wait");
    if section.scratch {
        cmd.arg("--scratch");
    }
    let out = ctx.run_status(&cmd, &log)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let task = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Created task:"))
        .and_then(|t| t.trim().parse::<u64>().ok());
    let Some(task) = task else {
        return Err(PhaseError::msg(format!(
            "koji image-build for {uid} created no task; see {}",
            log.display()
        )));
    };
    if !out.success() {
        return Err(PhaseError::msg(format!(
            "ImageBuild task failed: {task}. See {} for more details.",
            log.display()
        )));
    }
    tracing::info!("image_build {uid}: Koji task {task}");
    let failed = koji.failed_image_arches(task)?;
    for arch in &failed {
        ctx.failed_arch(
            "image-build",
            uid,
            arch,
            Some(&subvariant),
            &format!("Koji task {task}'s image for {arch} failed"),
        );
    }
    let mut records = Vec::new();
    let mut filed = Vec::new();
    for (arch, path) in koji.image_paths(task)? {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let found = formats.iter().find_map(|f| {
            kiln_koji::suffixes(f)?
                .iter()
                .find(|s| file.ends_with(*s))
                .map(|s| (f.clone(), *s))
        });
        let Some((kind, suffix)) = found else {
            continue;
        };
        let placed = ctx.compose.paths.images_dir(variant, &arch).join(&file);
        let image = reuse::Filed {
            // Relative to the compose's top folder, so the next compose finds it in this one.
            path: placed
                .strip_prefix(ctx.compose.paths.topdir())
                .map(Path::to_owned)
                .unwrap_or(placed.clone()),
            arch,
            kind,
            format: suffix.to_owned(),
        };
        records.extend(file_image(ctx, variant, &subvariant, &path, &image)?);
        filed.push(image);
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "ImageBuild task {task} for {uid} made no image of {}",
            formats.join(", ")
        )));
    }
    // For the next compose's `image_build_allow_reuse`; a task with a failed arch is not one
    // to repeat.
    match key {
        Ok(_) if !failed.is_empty() => {
            tracing::info!("image_build {uid}: its images cannot be reused: an arch failed")
        }
        Ok(key) => {
            let metadata = reuse::Metadata {
                key,
                task,
                images: filed,
            };
            ctx.write_json(&reuse::metadata_path(&conf), &metadata)?;
        }
        Err(why) => tracing::info!("image_build {uid}: its images cannot be reused: {why}"),
    }
    Ok(records)
}

/// The old compose's images of this task, filed in this compose, when `key` says they would
/// come out of the same; None (and the log says why) when they would not.
fn reused(
    ctx: &PhaseContext,
    variant: &Variant,
    subvariant: &str,
    conf: &Path,
    log: &Path,
    key: &Result<reuse::Key, String>,
) -> Result<Option<Vec<ImageRecord>>, PhaseError> {
    let uid = &variant.uid;
    let (key, old_top, old) = match key
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|k| Ok((k, reuse::old_images(ctx, conf, k)?)))
    {
        Ok((key, (old_top, old))) => (key, old_top, old),
        Err(why) => {
            tracing::info!("image_build {uid}: cannot reuse the old compose's images: {why}");
            return Ok(None);
        }
    };
    let mut records = Vec::new();
    for image in &old.images {
        records.extend(file_image(
            ctx,
            variant,
            subvariant,
            &old_top.join(&image.path),
            image,
        )?);
    }
    if let Some(old_log) = ctx.compose.old_path(log) {
        let _ = kiln_fs::copy_atomic(&old_log, log);
    }
    tracing::info!(
        "image_build {uid}: the images of Koji task {} in the old compose, {}, are reused",
        old.task,
        old_top.display()
    );
    let metadata = reuse::Metadata {
        key: key.clone(),
        ..old
    };
    ctx.write_json(&reuse::metadata_path(conf), &metadata)?;
    Ok(Some(records))
}

/// An image the task made, `src`, filed in this compose as `image` says.
fn file_image(
    ctx: &PhaseContext,
    variant: &Variant,
    subvariant: &str,
    src: &Path,
    image: &reuse::Filed,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let dir = ctx.compose.paths.images_dir(variant, &image.arch);
    kiln_media::place_image(
        ctx,
        src,
        &dir,
        kiln_media::Placed {
            variant,
            arch: &image.arch,
            kind: &image.kind,
            format: &image.format,
            subvariant,
            bootable: false,
        },
    )
}

/// What decides the images of `block` for `variant` in this compose ([`reuse::key`]).
fn reuse_key(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &ImageBuildBlock,
    arches: &[String],
    rpms: &Value,
) -> Result<reuse::Key, String> {
    let variants = &ctx.compose.variants;
    let (mut trees, mut external): (Vec<String>, Vec<String>) = block
        .image_build
        .repo
        .iter()
        .cloned()
        .partition(|r| variants.get(r).is_some());
    if !variant.is_empty {
        trees.push(variant.uid.clone());
    }
    let from = install_from(variant, block);
    let install = match variants.get(&from) {
        Some(v) => {
            trees.push(v.uid.clone());
            v.uid.clone()
        }
        None => {
            external.push(from);
            String::new()
        }
    };
    trees.sort();
    trees.dedup();
    let target = target(ctx.config, block).unwrap_or_default().to_owned();
    let block = serde_json::to_value(block).map_err(|e| e.to_string())?;
    reuse::key(
        ctx.compose.paths.topdir(),
        rpms,
        block,
        &target,
        &reuse::Reads {
            arches,
            trees: &trees,
            install: &install,
            external: &external,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::formats;
    use serde_json::json;

    #[test]
    fn formats_come_in_every_form_pungi_takes() {
        assert_eq!(formats(&json!("qcow2")), ["qcow2"]);
        assert_eq!(formats(&json!(["qcow2", "raw-xz"])), ["qcow2", "raw-xz"]);
        assert_eq!(
            formats(&json!([["docker", "tar.xz"], ["qcow2", "qcow2"]])),
            ["docker", "qcow2"]
        );
    }
}
