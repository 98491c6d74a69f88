//! The extrafiles phase (pungi's `extra_files`): files from a path, a git repository or a
//! package of the package set, copied into os trees, listed in the tree's `extra_files.json`
//! and in `compose/metadata/extra_files.json`.
//!
//! Fetching and placing live in `kiln_media::extra_files`, which extraisos shares: a target that
//! would leave the tree is refused there (an absolute path, `..`, or a path through a symlink that
//! points outside the tree). Files keep the order of the config (pungi's order is the
//! filesystem's and changes between runs).

use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_media::extra_files::{fetch, place};
use kiln_productmd::ExtraFiles;
use kiln_variants::VariantKind;

pub struct ExtraFilesPhase;

impl Phase for ExtraFilesPhase {
    fn name(&self) -> &'static str {
        "extrafiles"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn after(&self) -> &'static [&'static str] {
        &["pkgset"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &["extra_files", "media_checksums", "pkgset_repos"]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.extra_files.is_empty()
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        let git = config
            .extra_files
            .0
            .iter()
            .flat_map(|(_, m)| m.values().flatten())
            .any(|e| e.scm == "git");
        if git { vec!["git"] } else { vec![] }
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let algs = kiln_media::media_algorithms(ctx.config)?;
        let mut all = ExtraFiles::default();
        for variant in &ctx.compose.variants.all {
            if variant.kind == VariantKind::Addon {
                continue;
            }
            for arch in &variant.arches {
                let _arch = ctx.arch_span(arch);
                ctx.check_cancelled()?;
                let entries = ctx.config.extra_files.list_for(&variant.uid, arch);
                if entries.is_empty() {
                    continue;
                }
                let tree = ctx.compose.paths.os_tree(variant, arch);
                std::fs::create_dir_all(&tree)?;
                let mut listed = Vec::new();
                for entry in &entries {
                    let files = fetch(ctx, entry, &variant.uid, arch)?;
                    listed.extend(place(ctx, &tree, &entry.target, &files, &algs)?);
                }
                ctx.write(
                    &tree.join("extra_files.json"),
                    kiln_productmd::extra_files::render_tree(&listed).as_bytes(),
                )?;
                let prefix = ctx
                    .compose
                    .paths
                    .relative_to_compose(&tree)
                    .to_string_lossy()
                    .into_owned();
                for mut f in listed {
                    f.file = format!("{prefix}/{}", f.file);
                    all.add(&variant.uid, arch, f)
                        .map_err(|e| PhaseError::msg(e.to_string()))?;
                }
            }
        }
        let meta = ctx.compose.paths.metadata_dir().join("extra_files.json");
        ctx.write(
            &meta,
            all.render(&kiln_engine::compose_ref(ctx.compose))
                .as_bytes(),
        )
    }
}
