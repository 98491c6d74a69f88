//! pungi's `gather_prepopulate` file (packages to put into trees whatever gather decides,
//! `{variant: {arch: {source_package: ["name.arch", ...]}}}`) and its `gather_source_mapping`
//! (the `json` gather source's inputs).

use std::collections::BTreeMap;
use std::path::Path;

/// variant → arch → source package name → `name.arch` entries.
pub type Prepopulate = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<String>>>>;

/// Reads and checks a prepopulate file; the message names the file and what is wrong.
pub fn read_prepopulate(path: &Path) -> Result<Prepopulate, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read gather_prepopulate file {}: {e}",
            path.display()
        )
    })?;
    let data: Prepopulate = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: {e}; a prepopulate file is {{variant: {{arch: {{source: [\"name.arch\", ...]}}}}}}",
            path.display()
        )
    })?;
    for (variant, arches) in &data {
        for (arch, builds) in arches {
            for entry in builds.values().flatten() {
                if !entry.contains('.') {
                    return Err(format!(
                        "{}: {variant}.{arch}: {entry:?} is not name.arch",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok(data)
}

/// pungi's `gather_source_mapping`: variant → arch → package name → arches (`null`: any).
pub type SourceMapping = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<Option<String>>>>>;

/// Reads and checks a `gather_source_mapping` file.
pub fn read_source_mapping(path: &Path) -> Result<SourceMapping, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read gather_source_mapping file {}: {e}",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: {e}; a source mapping is {{variant: {{arch: {{package: [arch or null]}}}}}}",
            path.display()
        )
    })
}
