//! pungi's variants.xml (see share/variants.dtd in pungi). Written by the comps/variants owner.

use std::path::Path;

use crate::{Variants, VariantsError};

impl Variants {
    /// Reads a pungi `variants.xml`.
    pub fn from_xml_file(path: &Path) -> Result<Self, VariantsError> {
        let text = std::fs::read_to_string(path).map_err(|source| VariantsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_xml_str(&text, path)
    }

    /// Parses variants.xml text; `path` is only used in error messages.
    pub fn from_xml_str(_text: &str, path: &Path) -> Result<Self, VariantsError> {
        Err(VariantsError::Xml {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "variants.xml parsing is not written yet".to_owned(),
        })
    }
}
