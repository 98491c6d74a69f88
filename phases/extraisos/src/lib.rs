//! The extraisos phase (pungi's `extra_isos`): one image carrying several variants, each under
//! `<V>/Packages` and `<V>/repodata`, with the main variant's boot files and extra files at the
//! top and a `.treeinfo` naming every variant on it.

use std::path::{Path, PathBuf};

use kiln_config::{Config, ExtraIso};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_iso::Boot;
use kiln_media::{IsoJob, check_size, make_iso};
use kiln_productmd::treeinfo::{Product, TreeInfo, TreeVariant};
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;

pub struct ExtraIsos;

type Graft = (String, PathBuf);

fn tree_of(ctx: &PhaseContext, v: &Variant, arch: &str) -> PathBuf {
    if arch == "src" {
        ctx.compose.paths.source_tree(v)
    } else {
        ctx.compose.paths.os_tree(v, arch)
    }
}

/// `Packages/` and `repodata/` of a variant's tree, moved under `<uid>/`.
fn variant_files(tree: &Path, uid: &str) -> Result<Vec<Graft>, PhaseError> {
    let all = kiln_iso::mkisofs::tree_entries(tree).map_err(|e| PhaseError::msg(e.to_string()))?;
    Ok(all
        .into_iter()
        .filter(|(rel, _)| rel.starts_with("Packages/") || rel.starts_with("repodata/"))
        .map(|(rel, abs)| (format!("{uid}/{rel}"), abs))
        .collect())
}

/// Boot files of the main tree (what buildinstall put there), minus `boot.iso`.
fn boot_files(tree: &Path) -> Result<Vec<Graft>, PhaseError> {
    let all = kiln_iso::mkisofs::tree_entries(tree).map_err(|e| PhaseError::msg(e.to_string()))?;
    Ok(all
        .into_iter()
        .filter(|(rel, _)| {
            ["images/", "isolinux/", "EFI/", "ppc/", "boot/"]
                .iter()
                .any(|p| rel.starts_with(p))
                && !rel.ends_with("boot.iso")
        })
        .collect())
}

/// The extra files a tree lists in its extra_files.json (for `inherit_extra_files`).
fn inherited(tree: &Path) -> Result<Vec<kiln_media::extra_files::Fetched>, PhaseError> {
    let json = tree.join("extra_files.json");
    let Ok(bytes) = std::fs::read(&json) else {
        return Ok(Vec::new());
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| PhaseError::with(format!("cannot parse {}", json.display()), e))?;
    let mut out = Vec::new();
    for f in doc["data"].as_array().into_iter().flatten() {
        let Some(rel) = f["file"].as_str() else {
            continue;
        };
        kiln_media::extra_files::check_relative(rel, "inherited extra file")?;
        let bytes = std::fs::read(tree.join(rel)).map_err(|e| {
            PhaseError::with(format!("cannot read {}", tree.join(rel).display()), e)
        })?;
        out.push(kiln_media::extra_files::Fetched {
            rel: rel.to_owned(),
            bytes,
        });
    }
    Ok(out)
}

fn product(config: &Config) -> Product {
    Product {
        name: config.release_name.clone(),
        short: config.release_short.clone(),
        version: config
            .treeinfo_version
            .clone()
            .unwrap_or_else(|| config.release_version.clone()),
    }
}

fn one_iso(
    ctx: &PhaseContext,
    variant: &Variant,
    block: &ExtraIso,
    arch: &str,
) -> Result<Vec<ImageRecord>, PhaseError> {
    let cfg = ctx.config;
    let main_tree = tree_of(ctx, variant, arch);
    let mut included = vec![variant];
    for uid in &block.include_variants {
        let v = ctx.compose.variants.get(uid).ok_or_else(|| {
            PhaseError::msg(format!(
                "extra_isos of {}: include_variants names unknown variant {uid}",
                variant.uid
            ))
        })?;
        included.push(v);
    }
    let disc_type = kiln_media::naming::disc_type(cfg, "dvd");
    let base =
        kiln_media::naming::image_name(cfg, ctx.compose, &variant.uid, arch, &disc_type, Some(1))?;
    let name = match &block.filename {
        None => base,
        Some(fmt) => {
            let mut vars = kiln_media::naming::format_vars(
                cfg,
                ctx.compose,
                &variant.uid,
                kiln_media::naming::name_arch(arch),
            );
            vars.insert("disc_type".into(), disc_type.clone());
            vars.insert("disc_num".into(), "1".into());
            vars.insert("filename".into(), base);
            kiln_iso::format::expand(fmt, &vars)
                .map_err(|e| PhaseError::with("extra_isos filename", e))?
        }
    };
    let formats = block
        .volid
        .as_ref()
        .map(|v| v.to_vec())
        .filter(|v| !v.is_empty());
    let volid = kiln_media::naming::volume_id(
        cfg,
        ctx.compose,
        &variant.uid,
        arch,
        &disc_type,
        formats.as_deref(),
    )?;
    let staging = ctx
        .compose
        .paths
        .work_dir(arch)
        .join("extra-iso")
        .join(&name);
    std::fs::create_dir_all(&staging)?;

    // Tree metadata naming every variant on the image.
    let mut ti = TreeInfo::new(
        product(cfg),
        arch,
        ctx.compose.timestamp,
        TreeVariant::at_root(
            &variant.id,
            &variant.uid,
            &variant.name,
            variant.kind.as_str(),
        ),
    );
    ti.variants.clear();
    for v in &included {
        let mut tv = TreeVariant::at_root(&v.id, &v.uid, &v.name, v.kind.as_str());
        tv.repository = Some(v.uid.clone());
        tv.packages = Some(format!("{}/Packages", v.uid));
        ti.variants.push(tv);
    }
    ti.main_variant = Some(variant.uid.clone());
    ti.media = Some((1, 1));
    if let Ok(text) = std::fs::read_to_string(main_tree.join(".treeinfo")) {
        let ini = kiln_productmd::ini::Ini::parse(&text, ".treeinfo").map_err(PhaseError::msg)?;
        ti.merge_boot_from(&ini, &main_tree)
            .map_err(|e| PhaseError::msg(e.to_string()))?;
    }
    let description = cfg.discinfo_description();
    ctx.write(
        &staging.join(".treeinfo"),
        ti.render()
            .map_err(|e| PhaseError::msg(e.to_string()))?
            .as_bytes(),
    )?;
    ctx.write(
        &staging.join(".discinfo"),
        kiln_productmd::treeinfo::discinfo(ctx.compose.timestamp, &description, arch, Some(1))
            .as_bytes(),
    )?;
    ctx.write(
        &staging.join("media.repo"),
        kiln_productmd::treeinfo::media_repo(ctx.compose.timestamp, &description).as_bytes(),
    )?;

    // Extra files: the main tree's (inherit_extra_files) and the block's own, at the top.
    let top = staging.join("top");
    let algs = kiln_media::media_algorithms(cfg)?;
    let mut listed = Vec::new();
    if block.inherit_extra_files && arch != "src" {
        listed.extend(kiln_media::extra_files::place(
            ctx,
            &top,
            "",
            &inherited(&main_tree)?,
            &algs,
        )?);
    }
    for entry in &block.extra_files {
        let files = kiln_media::extra_files::fetch(ctx, entry, &variant.uid, arch)?;
        listed.extend(kiln_media::extra_files::place(
            ctx,
            &top,
            &entry.target,
            &files,
            &algs,
        )?);
    }
    if !listed.is_empty() {
        ctx.write(
            &top.join("extra_files.json"),
            kiln_productmd::extra_files::render_tree(&listed).as_bytes(),
        )?;
    }

    let mut files: Vec<Graft> = [".discinfo", ".treeinfo", "media.repo"]
        .iter()
        .map(|f| ((*f).to_owned(), staging.join(f)))
        .collect();
    if top.is_dir() {
        files.extend(
            kiln_iso::mkisofs::tree_entries(&top).map_err(|e| PhaseError::msg(e.to_string()))?,
        );
    }
    let boot = if arch == "src" {
        Boot::None
    } else {
        Boot::detect(&main_tree, arch)
    };
    if boot.is_bootable() {
        files.extend(boot_files(&main_tree)?);
    }
    for v in &included {
        let tree = tree_of(ctx, v, arch);
        if !tree.join("repodata/repomd.xml").is_file() {
            return Err(PhaseError::msg(format!(
                "{} has no repository for {}.{arch}",
                tree.display(),
                v.uid
            )));
        }
        files.extend(variant_files(&tree, &v.uid)?);
    }
    let out_dir = kiln_media::iso_output_dir(ctx, variant, arch)?;
    let job = IsoJob {
        name: name.clone(),
        dir: out_dir,
        staging,
        arch: arch.to_owned(),
        volid: volid.clone(),
        iso_level: None,
        boot: boot.clone(),
        files,
        supported: kiln_iso::md5::is_supported_label(ctx.compose.info.label.as_deref()),
        break_hardlinks: cfg.createiso_break_hardlinks,
        reuse: cfg.extraiso_allow_reuse,
        replay: None,
    };
    let made = make_iso(
        ctx,
        &job,
        &kiln_engine::RecordedDigests::load(ctx.compose.paths.topdir()),
    )?;
    check_size(&made.path, made.size, block.max_size, false)?;
    let image = Image {
        path: kiln_media::compose_relative(
            ctx,
            &ctx.compose.paths.iso_dir(variant, arch).join(&name),
        ),
        mtime: ctx.compose.timestamp,
        size: made.size,
        volume_id: Some(volid),
        kind: "dvd".into(),
        format: "iso".into(),
        arch: arch.to_owned(),
        disc_number: 1,
        disc_count: 1,
        checksums: made.checksums,
        implant_md5: made.implant_md5,
        bootable: boot.is_bootable(),
        subvariant: variant.uid.clone(),
        unified: true,
        additional_variants: block.include_variants.clone(),
    };
    Ok(kiln_media::file_image(variant, arch, image))
}

impl Phase for ExtraIsos {
    fn name(&self) -> &'static str {
        "extraisos"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall", "extrafiles", "createiso"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "extra_isos",
            "image_name_format",
            "image_volid_formats",
            "volume_id_substitutions",
            "restricted_volid",
            "disc_types",
            "symlink_isos_to",
            "media_checksums",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.extra_isos.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["xorriso"]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut records = Vec::new();
        for (pattern, blocks) in &ctx.config.extra_isos {
            for variant in ctx
                .compose
                .variants
                .all
                .iter()
                .filter(|v| kiln_config::variant_matches(pattern, &v.uid))
            {
                for block in blocks {
                    let mut arches: Vec<String> = if block.arches.is_empty() {
                        variant.arches.clone()
                    } else {
                        block
                            .arches
                            .iter()
                            .filter(|a| variant.arches.contains(a))
                            .cloned()
                            .collect()
                    };
                    if !block.skip_src {
                        arches.push("src".into());
                    }
                    for arch in arches {
                        ctx.check_cancelled()?;
                        if block.failable_arches.contains(&arch) {
                            match one_iso(ctx, variant, block, &arch) {
                                Ok(r) => records.extend(r),
                                Err(PhaseError::Cancelled) => return Err(PhaseError::Cancelled),
                                Err(e) => tracing::warn!(
                                    "[FAIL] extra ISO of {}.{arch} failed (failable_arches): {e}",
                                    variant.uid
                                ),
                            }
                        } else if let Some(r) =
                            ctx.failable("extra-iso", &variant.uid, &arch, || {
                                one_iso(ctx, variant, block, &arch)
                            })?
                        {
                            records.extend(r);
                        }
                    }
                }
            }
        }
        kiln_media::write_records(ctx, records)
    }
}
