//! `compose/metadata/modules.json` (productmd `Modules`): every module build a variant ships per
//! arch, with where its metadata is and the packages it ships.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ComposeRef;

/// What productmd records of a module build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleMetadata {
    /// `name:stream:version:context`.
    pub uid: String,
    pub name: String,
    pub stream: String,
    pub version: String,
    pub context: String,
    /// The Koji tag the build came from; productmd requires one, so builds from plain
    /// repositories say `DUMMY`, as pungi says for modules it was given as files.
    pub koji_tag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEntry {
    pub metadata: ModuleMetadata,
    /// category (`binary`) → the repository's modules file, relative to `compose/`.
    pub modulemd_path: BTreeMap<String, String>,
    /// `name-epoch:version-release.arch` of every package of the build.
    pub rpms: Vec<String>,
}

/// variant → arch → uid → entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modules {
    pub modules: BTreeMap<String, BTreeMap<String, BTreeMap<String, ModuleEntry>>>,
}

impl Modules {
    pub fn add(
        &mut self,
        variant: &str,
        arch: &str,
        category: &str,
        path: &str,
        entry: ModuleEntry,
    ) {
        let slot = self
            .modules
            .entry(variant.to_owned())
            .or_default()
            .entry(arch.to_owned())
            .or_default()
            .entry(entry.metadata.uid.clone())
            .or_insert_with(|| ModuleEntry {
                modulemd_path: BTreeMap::new(),
                rpms: Vec::new(),
                ..entry.clone()
            });
        slot.modulemd_path
            .insert(category.to_owned(), path.to_owned());
        slot.rpms.extend(entry.rpms);
    }

    /// The bytes pungi writes (an empty `modules` map when no variant ships modules).
    pub fn render(&self, compose: &ComposeRef) -> String {
        let body = serde_json::to_value(&self.modules).unwrap_or(Value::Null);
        crate::common::document("modules", compose, "modules", body)
    }
}
