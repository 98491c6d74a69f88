//! The init phase (pungi's `init`, never skipped): comps for every arch and
//! variant, and the module defaults, under `work/`.
//!
//! Outputs (pungi's paths, via `kiln_compose::Paths::comps`):
//! - `work/global/comps/comps-global.xml`: the configured `comps_file`, byte for byte;
//! - `work/<arch>/comps/comps-<arch>.xml`: filtered by `arch=` only (no cleanup),
//!   as pungi's `comps_filter --arch=A --no-cleanup` writes it;
//! - `work/<arch>/comps/comps-<V>.<arch>.xml`: filtered by arch and `variant=`,
//!   cleaned up, reduced to the groups and environments the variant lists, as
//!   pungi writes it (the gather and createrepo phases read this one);
//! - `work/global/module_defaults/*.yaml`: `module_defaults_dir` passed through.
//!
//! Malformed comps is an error naming file:line:column; a variant listing a
//! group that matches nothing in comps is an error naming the variant, the
//! arch and the group (pungi only warns, and then ships a variant without it).

use std::path::Path;

use kiln_comps::tree::Document;
use kiln_comps::{Comps, EnvSpec, GroupSpec, VariantComps, variant_comps};
use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_variants::{Variant, VariantKind, Variants};

pub struct InitPhase;

impl Phase for InitPhase {
    fn name(&self) -> &'static str {
        "init"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "comps_file",
            "variants_file",
            "variants",
            "module_defaults_dir",
            "gather_prepopulate",
            "comps_filter_environments",
            "variant_as_lookaside",
            "tree_arches",
            "tree_variants",
        ]
    }
    fn skippable(&self) -> bool {
        false
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        if let Some(comps_file) = &ctx.config.comps_file {
            write_comps(ctx, comps_file)?;
        }
        if let Some(dir) = &ctx.config.module_defaults_dir {
            copy_module_defaults(ctx, dir)?;
        }
        if let Some(file) = &ctx.config.gather_prepopulate {
            // Copied, as pungi does, so the compose keeps what it was built with.
            let bytes = std::fs::read(file).map_err(|e| {
                PhaseError::with(
                    format!("cannot read gather_prepopulate {}", file.display()),
                    e,
                )
            })?;
            ctx.write(&ctx.compose.paths.prepopulate_file(), &bytes)?;
        }
        Ok(())
    }
}

fn write_comps(ctx: &PhaseContext, comps_file: &Path) -> Result<(), PhaseError> {
    let paths = &ctx.compose.paths;
    let text = std::fs::read_to_string(comps_file).map_err(|e| {
        PhaseError::with(
            format!("cannot read comps_file {}", comps_file.display()),
            e,
        )
    })?;
    let global = Document::parse(&text, comps_file).map_err(|e| PhaseError::msg(e.to_string()))?;
    let model = Comps::from_document(&global).map_err(|e| PhaseError::msg(e.to_string()))?;
    model
        .validate()
        .map_err(|e| PhaseError::msg(e.to_string()))?;
    ctx.write(&paths.comps("global", None), text.as_bytes())?;

    let variants = &ctx.compose.variants;
    for arch in variants.arches() {
        ctx.check_cancelled()?;
        let out = kiln_comps::arch_comps(&global, &arch);
        ctx.write(&paths.comps(&arch, None), out.as_bytes())?;
    }
    let mut problems = vec![];
    for v in &variants.all {
        for arch in &v.arches {
            ctx.check_cancelled()?;
            let spec = variant_spec(v, variants, ctx.config);
            let (out, unmatched) =
                variant_comps(&global, arch, &spec).map_err(|e| PhaseError::msg(e.to_string()))?;
            for g in unmatched {
                problems.push(format!(
                    "variant {}.{arch} requires comps group {g}, which matches nothing in {}{}",
                    v.uid,
                    comps_file.display(),
                    defined_in(ctx.config)
                ));
            }
            ctx.write(&paths.comps(arch, Some(&v.uid)), out.as_bytes())?;
        }
    }
    if !problems.is_empty() {
        return Err(PhaseError::msg(problems.join("\n")));
    }
    Ok(())
}

fn defined_in(config: &Config) -> String {
    match &config.variants_file {
        Some(f) => format!(" (the variant is defined in {})", f.display()),
        None => String::new(),
    }
}

/// What pungi's `write_variant_comps` passes to `comps_filter` and `CompsWrapper`.
pub fn variant_spec<'a>(v: &'a Variant, all: &Variants, config: &Config) -> VariantComps<'a> {
    let mut lookaside = vec![];
    if let Some(parent) = v.parent.as_deref().and_then(|p| all.get(p)) {
        lookaside.extend(parent.groups.iter().map(|g| g.name.clone()));
    }
    for (var, other) in &config.variant_as_lookaside {
        if var == &v.uid
            && let Some(o) = all.get(other)
        {
            lookaside.extend(o.groups.iter().map(|g| g.name.clone()));
        }
    }
    lookaside.sort();
    lookaside.dedup();
    let contains_all = v.groups.is_empty() && v.environments.is_empty();
    VariantComps {
        uid: &v.uid,
        groups: v
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                glob: g.glob,
                default: g.default,
                uservisible: g.uservisible,
            })
            .collect(),
        environments: v
            .environments
            .iter()
            .map(|e| EnvSpec {
                name: e.name.clone(),
                display_order: e.display_order.map(i64::from),
            })
            .collect(),
        lookaside_groups: lookaside,
        filter_groups: !v.groups.is_empty()
            || !v.modules.is_empty()
            || v.kind != VariantKind::Variant,
        filter_environments: config.comps_filter_environments && !contains_all,
    }
}

fn copy_module_defaults(ctx: &PhaseContext, dir: &Path) -> Result<(), PhaseError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        PhaseError::with(
            format!("cannot read module_defaults_dir {}", dir.display()),
            e,
        )
    })?;
    let mut files = vec![];
    for e in rd {
        let e = e.map_err(|e| PhaseError::with(format!("reading {}", dir.display()), e))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    let out = ctx.compose.paths.module_defaults_dir();
    for p in files {
        let bytes = std::fs::read(&p)
            .map_err(|e| PhaseError::with(format!("cannot read {}", p.display()), e))?;
        let Some(name) = p.file_name() else { continue };
        ctx.write(&out.join(name), &bytes)?;
    }
    Ok(())
}
