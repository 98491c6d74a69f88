//! rpm-ostree treefiles (JSON or YAML), read for what kiln's own compose of a tree uses: the ref,
//! the packages (also per arch), the units to enable, the files to remove, and `include`s.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum TreefileError {
    #[error("cannot read treefile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("treefile {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// What one treefile says (keys kiln does not act on are allowed and ignored, as they are rpm-ostree's).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Raw {
    #[serde(rename = "ref")]
    ref_: Option<String>,
    #[serde(default)]
    include: Option<IncludeList>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    units: Vec<String>,
    #[serde(default)]
    remove_files: Vec<String>,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IncludeList {
    One(String),
    Many(Vec<String>),
}

/// A treefile with its includes merged (lists concatenated, the including file's ref winning).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Treefile {
    pub ref_: Option<String>,
    /// Package names (`packages` entries may hold several, split on spaces), with the arch's
    /// `packages-<arch>` added.
    pub packages: Vec<String>,
    pub units: Vec<String>,
    pub remove_files: Vec<String>,
}

impl Treefile {
    pub fn load(path: &Path, arch: &str) -> Result<Treefile, TreefileError> {
        load(path, arch, 0)
    }

    /// The ref, `${basearch}` replaced; `override_ref` (the block's `ostree_ref`) wins.
    pub fn ref_for(&self, override_ref: Option<&str>, basearch: &str) -> Option<String> {
        override_ref
            .map(str::to_owned)
            .or_else(|| self.ref_.clone())
            .map(|r| r.replace("${basearch}", basearch))
    }
}

fn load(path: &Path, arch: &str, depth: usize) -> Result<Treefile, TreefileError> {
    let invalid = |message: String| TreefileError::Invalid {
        path: path.to_owned(),
        message,
    };
    if depth > 16 {
        return Err(invalid("includes nest too deep (a cycle?)".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|source| TreefileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let raw: Raw = serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut out = Treefile::default();
    let includes = match raw.include {
        None => Vec::new(),
        Some(IncludeList::One(s)) => vec![s],
        Some(IncludeList::Many(v)) => v,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    for inc in includes {
        let sub = load(&dir.join(inc), arch, depth + 1)?;
        out.ref_ = sub.ref_.or(out.ref_);
        out.packages.extend(sub.packages);
        out.units.extend(sub.units);
        out.remove_files.extend(sub.remove_files);
    }
    if raw.ref_.is_some() {
        out.ref_ = raw.ref_;
    }
    let arch_key = format!("packages-{arch}");
    let per_arch: Vec<String> = match raw.rest.get(&arch_key) {
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| invalid(format!("{arch_key}: {e}")))?
        }
        None => Vec::new(),
    };
    for entry in raw.packages.iter().chain(&per_arch) {
        out.packages
            .extend(entry.split_whitespace().map(str::to_owned));
    }
    out.units.extend(raw.units);
    out.remove_files.extend(raw.remove_files);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_merge_and_arch_packages_join() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.yaml"),
            "ref: base/${basearch}\npackages: [a, 'b c']\nunits: [x.service]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("tree.json"),
            r#"{"include": "base.yaml", "ref": "kiln/${basearch}/demo",
                "packages": ["d"], "packages-x86_64": ["e"], "packages-aarch64": ["f"],
                "remove-files": ["usr/share/doc"], "boot-location": "modules"}"#,
        )
        .unwrap();
        let t = Treefile::load(&dir.path().join("tree.json"), "x86_64").unwrap();
        assert_eq!(t.packages, ["a", "b", "c", "d", "e"]);
        assert_eq!(t.units, ["x.service"]);
        assert_eq!(t.remove_files, ["usr/share/doc"]);
        assert_eq!(
            t.ref_for(None, "x86_64").as_deref(),
            Some("kiln/x86_64/demo")
        );
        assert_eq!(
            t.ref_for(Some("o/${basearch}"), "x86_64").as_deref(),
            Some("o/x86_64")
        );
        let err = Treefile::load(&dir.path().join("missing.json"), "x86_64").unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
    }
}
