//! composeinfo.json from the compose's variants and the folders that exist for them: pungi drops
//! paths to folders that do not exist, so metadata never points at nothing.

use std::collections::BTreeMap;
use std::path::Path;

use kiln_compose::Compose;
use kiln_productmd::common::ComposeRef;
use kiln_productmd::composeinfo::{ReleaseInfo, VariantInfo, render as render_json};

/// The compose block of every productmd file kiln writes (composeinfo, images, rpms,
/// extra_files).
pub fn compose_ref(compose: &Compose) -> ComposeRef {
    ComposeRef {
        id: compose.info.id.clone(),
        date: compose.info.date.clone(),
        kind: compose.info.compose_type.as_str().to_owned(),
        respin: compose.info.respin,
        label: compose.info.label.clone(),
    }
}

pub(crate) fn render(compose: &Compose) -> String {
    let paths = &compose.paths;
    let rel = |p: &Path| -> Option<String> {
        p.is_dir()
            .then(|| paths.relative_to_compose(p).to_string_lossy().into_owned())
    };
    let mut variants = Vec::new();
    for v in &compose.variants.all {
        let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut put = |kind: &str, arch: &str, p: &Path| {
            if let Some(r) = rel(p) {
                map.entry(kind.to_owned())
                    .or_default()
                    .insert(arch.to_owned(), r);
            }
        };
        for arch in &v.arches {
            let os = paths.os_tree(v, arch);
            let repo = paths.os_repo(v, arch);
            put("os_tree", arch, &os);
            put("repository", arch, &repo);
            put("packages", arch, &repo.join("Packages"));
            put("isos", arch, &paths.iso_dir(v, arch));
            put("images", arch, &paths.images_dir(v, arch));
            let debug = paths.debug_tree(v, arch);
            put("debug_tree", arch, &debug);
            put("debug_repository", arch, &debug);
            put("debug_packages", arch, &debug.join("Packages"));
            // productmd files source paths under every binary arch.
            let source = paths.source_tree(v);
            put("source_tree", arch, &source);
            put("source_repository", arch, &source);
            put("source_packages", arch, &source.join("Packages"));
            put("source_isos", arch, &paths.iso_dir(v, "src"));
        }
        variants.push(VariantInfo {
            uid: v.uid.clone(),
            id: v.id.clone(),
            name: v.name.clone(),
            kind: v.kind.as_str().to_owned(),
            arches: v.arches.clone(),
            paths: map,
            parent: v.parent.clone(),
        });
    }
    let r = &compose.info.release;
    let release = ReleaseInfo {
        name: r.name.clone(),
        short: r.short.clone(),
        version: r.version.clone(),
        release_type: r.release_type.clone(),
        internal: r.internal,
    };
    let base = r.base_product.as_ref().map(|b| ReleaseInfo {
        name: b.name.clone(),
        short: b.short.clone(),
        version: b.version.clone(),
        release_type: b.release_type.clone(),
        internal: false,
    });
    let final_ = compose
        .info
        .label
        .as_ref()
        .map(|_| compose.info.supported());
    render_json(
        &compose_ref(compose),
        final_,
        &release,
        base.as_ref(),
        &variants,
    )
}
