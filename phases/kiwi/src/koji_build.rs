//! kiwibuild in Koji, as pungi submits it: one `kiwiBuild` task per block for all its arches
//! (`target, arches, description_scm, description_path` and pungi's keyword arguments, the
//! failable arches as `optional_arches`), watched until it ends (`logs/global/kiwibuild/
//! <V>-<n>-watch-task.log`), then the files of its closed image children linked from the Koji
//! volume into `compose/<V>/<arch>/images/`, typed by suffix as pungi types them.

use kiln_config::KiwiBlock;
use kiln_engine::{PhaseContext, PhaseError};
use kiln_koji::Koji;
use kiln_productmd::ImageRecord;
use kiln_variants::Variant;
use serde_json::{Value, json};

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
                (
                    "repos",
                    json!(kiln_koji::repo_urls(ctx, variant, &block.repos, "$arch")),
                ),
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
        let dir = ctx.compose.paths.images_dir(variant, &arch);
        records.extend(kiln_media::place_image(
            ctx,
            &path,
            &dir,
            kiln_media::Placed {
                variant,
                arch: &arch,
                kind,
                format,
                subvariant: block.subvariant.as_deref().unwrap_or(uid),
                bootable: false,
            },
        )?);
    }
    if records.is_empty() {
        return Err(PhaseError::msg(format!(
            "kiwiBuild: task {task} for {uid} made no image kiln knows"
        )));
    }
    Ok(records)
}
