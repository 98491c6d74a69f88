//! `compose/metadata/composeinfo.json`: the compose, its release and every variant with the paths
//! of the trees, repositories, packages and images that exist for it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::common::ComposeRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub name: String,
    pub short: String,
    pub version: String,
    pub release_type: String,
    pub internal: bool,
}

/// One variant as composeinfo lists it; children are nested under their parent's `variants`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantInfo {
    pub uid: String,
    pub id: String,
    pub name: String,
    /// variant, addon, optional, layered-product
    pub kind: String,
    pub arches: Vec<String>,
    /// `paths[kind][arch] = path relative to compose/` (os_tree, repository, packages, isos, ...).
    pub paths: BTreeMap<String, BTreeMap<String, String>>,
    pub parent: Option<String>,
}

/// Renders composeinfo.json as productmd 1.2 writes it.
pub fn render(
    compose: &ComposeRef,
    final_: Option<bool>,
    release: &ReleaseInfo,
    base_product: Option<&ReleaseInfo>,
    variants: &[VariantInfo],
) -> String {
    let mut compose_json = compose.to_json();
    if let (Some(f), Value::Object(m)) = (final_, &mut compose_json) {
        m.insert("final".into(), json!(f));
    }
    let mut release_json = json!({
        "internal": release.internal,
        "name": release.name,
        "short": release.short,
        "type": release.release_type,
        "version": release.version,
    });
    let mut payload = Map::new();
    payload.insert("compose".into(), compose_json);
    if let Some(bp) = base_product {
        if let Value::Object(m) = &mut release_json {
            m.insert("is_layered".into(), json!(true));
        }
        payload.insert(
            "base_product".into(),
            json!({"name": bp.name, "short": bp.short, "type": bp.release_type, "version": bp.version}),
        );
    }
    payload.insert("release".into(), release_json);
    payload.insert(
        "variants".into(),
        Value::Object(variant_map(variants, None)),
    );
    let doc = json!({
        "header": {"type": "productmd.composeinfo", "version": crate::common::VERSION},
        "payload": Value::Object(payload),
    });
    crate::json::to_string(&doc)
}

fn variant_map(all: &[VariantInfo], parent: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for v in all.iter().filter(|v| v.parent.as_deref() == parent) {
        let mut entry = json!({
            "arches": v.arches,
            "id": v.id,
            "name": v.name,
            "paths": v.paths,
            "type": v.kind,
            "uid": v.uid,
        });
        let children = variant_map(all, Some(&v.uid));
        if let (false, Value::Object(m)) = (children.is_empty(), &mut entry) {
            m.insert("variants".into(), Value::Object(children));
        }
        // productmd keys variants by id inside their parent, by uid at the top.
        let key = if parent.is_some() { &v.id } else { &v.uid };
        out.insert(key.clone(), entry);
    }
    out
}
