//! extra_files.json: the compose-level file (`compose/metadata/extra_files.json`, productmd
//! `ExtraFiles`) and the per-tree one (`<tree>/extra_files.json`, header version 1.0).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::{ComposeRef, ProductmdError};

/// One extra file. In the compose-level file `file` is relative to `compose/`, in the per-tree
/// file relative to the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraFile {
    pub file: String,
    pub size: u64,
    pub checksums: BTreeMap<String, String>,
}

impl ExtraFile {
    fn to_json(&self) -> Value {
        json!({"checksums": self.checksums, "file": self.file, "size": self.size})
    }
}

/// The per-tree extra_files.json; entries keep the order they were copied in, as pungi does.
pub fn render_tree(files: &[ExtraFile]) -> String {
    let doc = json!({
        "data": files.iter().map(ExtraFile::to_json).collect::<Vec<_>>(),
        "header": {"version": "1.0"},
    });
    crate::json::to_string(&doc)
}

/// compose/metadata/extra_files.json: variant uid → arch → files (paths relative to compose/).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraFiles {
    pub extra_files: BTreeMap<String, BTreeMap<String, Vec<ExtraFile>>>,
}

impl ExtraFiles {
    pub fn add(
        &mut self,
        variant: &str,
        arch: &str,
        file: ExtraFile,
    ) -> Result<(), ProductmdError> {
        if variant.is_empty() || file.file.is_empty() || file.file.starts_with('/') {
            return Err(ProductmdError::Invalid(format!(
                "extra file {:?} of variant {variant:?}: need a variant and a relative path",
                file.file
            )));
        }
        self.extra_files
            .entry(variant.to_owned())
            .or_default()
            .entry(arch.to_owned())
            .or_default()
            .push(file);
        Ok(())
    }

    pub fn render(&self, compose: &ComposeRef) -> String {
        let body: BTreeMap<&String, BTreeMap<&String, Vec<Value>>> = self
            .extra_files
            .iter()
            .map(|(v, arches)| {
                (
                    v,
                    arches
                        .iter()
                        .map(|(a, l)| (a, l.iter().map(ExtraFile::to_json).collect()))
                        .collect(),
                )
            })
            .collect();
        crate::common::document("extra_files", compose, "extra_files", json!(body))
    }
}
