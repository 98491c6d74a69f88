//! kiwibuild in Koji, as pungi submits it: one `kiwiBuild` task per block for all its arches
//! (`target, arches, description_scm, description_path` and pungi's keyword arguments, the
//! failable arches as `optional_arches`), watched until it ends (`logs/global/kiwibuild/
//! <V>-<n>-watch-task.log`), then the files of its closed image children linked from the Koji
//! volume into `compose/<V>/<arch>/images/`, typed by suffix as pungi types them.

use kiln_config::KiwiBlock;
use kiln_engine::{PhaseContext, PhaseError};
use kiln_koji::Koji;
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;
use serde_json::{Value, json};

/// The block's arches the variant has (all of the variant's when the block names none).
pub fn arches(variant: &Variant, block: &KiwiBlock) -> Vec<String> {
    let mut a: Vec<String> = variant
        .arches
        .iter()
        .filter(|a| *a != "src" && (block.arches.is_empty() || block.arches.contains(a)))
        .cloned()
        .collect();
    a.sort();
    a
}

/// The block's repos, then the variant's own tree unless listed: variant UIDs as the compose's
/// trees (`$arch` for Koji to fill in), as pungi's `_get_repo` resolves them.
fn repos(ctx: &PhaseContext, variant: &Variant, block: &KiwiBlock) -> Vec<Value> {
    let mut names = block.repos.clone();
    if !names.contains(&variant.uid) {
        names.push(variant.uid.clone());
    }
    names
        .iter()
        .map(|r| match ctx.compose.variants.get(r) {
            Some(v) => ctx
                .compose
                .paths
                .compose_dir()
                .join(&v.uid)
                .join("$arch/os")
                .display()
                .to_string(),
            None => r.clone(),
        })
        .map(Value::String)
        .collect()
}

pub fn build(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &KiwiBlock,
    target: &str,
    arches: &[String],
    number: usize,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let uid = &variant.uid;
    let log_dir = ctx.compose.paths.log_dir("global").join("kiwibuild");
    std::fs::create_dir_all(&log_dir)?;
    let koji = Koji::new(ctx, log_dir.join(format!("{uid}-{number}-koji.log")));
    let expand = |v: &Option<String>| {
        kiln_media::naming::version_generator(ctx.compose, v.as_deref())
            .map_err(|e| PhaseError::msg(format!("kiwibuild {uid}: {e}")))
    };
    let optional: Vec<&String> = arches
        .iter()
        .filter(|a| block.failable.iter().any(|f| f == "*" || f == *a))
        .collect();
    let task = koji.task(&format!("kiwibuild-{uid}-{number}"), || {
        let task = koji.call(
            "kiwiBuild",
            &[
                target.into(),
                json!(arches),
                block.description_scm.as_str().into(),
                block.description_path.as_str().into(),
            ],
            &[
                ("profile", json!(block.kiwi_profile)),
                ("release", json!(expand(&block.release)?)),
                ("repos", Value::Array(repos(ctx, variant, block))),
                ("type", json!(block.image_type)),
                (
                    "type_attr",
                    if block.type_attr.is_empty() {
                        Value::Null
                    } else {
                        json!(block.type_attr)
                    },
                ),
                ("result_bundle_name_format", json!(block.bundle_name_format)),
                ("optional_arches", json!(optional)),
                ("version", json!(expand(&block.version)?)),
                ("repo_releasever", json!(block.repo_releasever)),
                ("use_buildroot_repo", json!(block.use_buildroot_repo)),
            ],
        )?;
        task.as_u64()
            .ok_or_else(|| PhaseError::msg(format!("kiwiBuild for {uid} gave no task ID: {task}")))
    })?;
    tracing::info!("kiwibuild {uid}: Koji task {task}");
    let watch_log = log_dir.join(format!("{uid}-{number}-watch-task.log"));
    if !koji.watch(task, &watch_log)? {
        return Err(PhaseError::msg(format!(
            "kiwiBuild: task {task} failed: see {} for details",
            watch_log.display()
        )));
    }
    let mut records = Vec::new();
    for (arch, path) in koji.image_paths(task)? {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some((kind, format)) = kiln_koji::image_kind(&file) else {
            continue;
        };
        let dir = ctx
            .compose
            .paths
            .compose_dir()
            .join(uid)
            .join(&arch)
            .join("images");
        std::fs::create_dir_all(&dir)?;
        let dest = dir.join(&file);
        let _ = std::fs::remove_file(&dest);
        if std::fs::hard_link(&path, &dest).is_err() {
            kiln_fs::copy_atomic(&path, &dest)?;
        }
        let (size, checksums) = kiln_media::file_image_digests(ctx, &dest)?;
        tracing::info!(
            "kiwibuild {uid}.{arch}: {} ({kind}) from task {task}",
            dest.display()
        );
        let image = Image {
            path: kiln_media::compose_relative(ctx, &dest),
            mtime: ctx.compose.timestamp,
            size,
            volume_id: None,
            kind: kind.into(),
            format: format.into(),
            arch: arch.clone(),
            disc_number: 1,
            disc_count: 1,
            checksums,
            implant_md5: None,
            bootable: false,
            subvariant: block.subvariant.clone().unwrap_or_else(|| uid.clone()),
            unified: false,
            additional_variants: Vec::new(),
        };
        records.extend(kiln_media::file_image(variant, &arch, image));
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "kiwiBuild: task {task} for {uid} made no image kiln knows"
        )));
    }
    Ok(records)
}
