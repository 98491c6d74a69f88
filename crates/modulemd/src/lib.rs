//! `modules.yaml`, the module metadata of a repository: a YAML stream of `modulemd` (v2) documents,
//! one per module stream build, and `modulemd-defaults` (v1) documents naming each module's default
//! stream and profiles.
//!
//! A compose selects documents and writes them again; it never edits one. So every document keeps
//! its own text, byte for byte, next to the few fields a compose decides on (name, stream, version,
//! context, arch, artifacts, runtime requirements, default stream). Other document kinds
//! (`modulemd-obsoletes`, translations) are kept as text and passed on where their module goes.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ModulemdError {
    #[error("{origin}: document {index} (line {line}) is not YAML: {message}")]
    Yaml {
        origin: String,
        index: usize,
        line: usize,
        message: String,
    },
    #[error("{origin}: document {index} (line {line}): {message}")]
    Invalid {
        origin: String,
        index: usize,
        line: usize,
        message: String,
    },
}

/// One build of a module stream (`document: modulemd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub version: u64,
    pub context: String,
    pub arch: String,
    /// `data.artifacts.rpms`: `name-epoch:version-release.arch` of every package it ships.
    pub artifacts: Vec<String>,
    /// Run-time requirements of its first `dependencies` entry: module name → streams (an empty
    /// list means any stream).
    pub requires: BTreeMap<String, Vec<String>>,
    /// The document as it was written, from its `---` to its `...`.
    pub text: String,
}

impl ModuleStream {
    /// `name:stream:version:context`, as productmd and dnf name a module build.
    pub fn nsvc(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name, self.stream, self.version, self.context
        )
    }
}

/// A module's defaults (`document: modulemd-defaults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub module: String,
    /// The default stream, if the module has one.
    pub stream: Option<String>,
    pub text: String,
}

/// Every document of one or more `modules.yaml` streams, in the order read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleIndex {
    pub streams: Vec<ModuleStream>,
    pub defaults: Vec<Defaults>,
    /// Documents of other kinds, with the module they belong to (when they say).
    pub others: Vec<(Option<String>, String)>,
}

/// A YAML scalar as text: streams and versions are written unquoted as often as quoted.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The documents of a YAML stream, each with the line it starts on (1-based). A line `---` opens
/// a document, `...` closes one; text outside documents (comments, blank lines) is dropped.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if let Some(doc) = current.take() {
                docs.push(doc);
            }
            current = Some((i + 1, String::from("---\n")));
            let rest = trimmed.strip_prefix("---").unwrap_or("").trim();
            if !rest.is_empty()
                && let Some((_, body)) = current.as_mut()
            {
                body.push_str(rest);
                body.push('\n');
            }
        } else if trimmed == "..." {
            if let Some((start, mut body)) = current.take() {
                body.push_str("...\n");
                docs.push((start, body));
            }
        } else {
            match current.as_mut() {
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                // A first document without its `---`.
                None if !trimmed.is_empty() && !trimmed.starts_with('#') => {
                    let mut body = String::from("---\n");
                    body.push_str(line);
                    body.push('\n');
                    current = Some((i + 1, body));
                }
                None => {}
            }
        }
    }
    if let Some((start, mut body)) = current {
        body.push_str("...\n");
        docs.push((start, body));
    }
    docs
}

impl ModuleIndex {
    /// Reads a `modules.yaml` stream; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ModuleIndex, ModulemdError> {
        let mut index = ModuleIndex::default();
        for (n, (line, doc)) in split_documents(text).into_iter().enumerate() {
            let at = |message: String| ModulemdError::Invalid {
                origin: origin.to_owned(),
                index: n + 1,
                line,
                message,
            };
            let value: Value = serde_saphyr::from_str(&doc).map_err(|e| ModulemdError::Yaml {
                origin: origin.to_owned(),
                index: n + 1,
                line,
                message: e.to_string(),
            })?;
            let kind = value.get("document").and_then(scalar).unwrap_or_default();
            let data = value.get("data").cloned().unwrap_or(Value::Null);
            let field = |k: &str| data.get(k).and_then(scalar);
            match kind.as_str() {
                "modulemd" => {
                    let version = value.get("version").and_then(scalar);
                    if version.as_deref() != Some("2") {
                        return Err(at(format!(
                            "modulemd version {} is not supported (only 2)",
                            version.unwrap_or_else(|| "(none)".into())
                        )));
                    }
                    let need = |k: &str| field(k).ok_or_else(|| at(format!("data.{k} is missing")));
                    let name = need("name")?;
                    let stream = need("stream")?;
                    let version = need("version")?;
                    let artifacts = data
                        .pointer("/artifacts/rpms")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(scalar).collect())
                        .unwrap_or_default();
                    let mut requires = BTreeMap::new();
                    if let Some(req) = data
                        .pointer("/dependencies/0/requires")
                        .and_then(Value::as_object)
                    {
                        for (module, streams) in req {
                            let streams = match streams {
                                Value::Array(a) => a.iter().filter_map(scalar).collect(),
                                other => scalar(other).into_iter().collect(),
                            };
                            requires.insert(module.clone(), streams);
                        }
                    }
                    index.streams.push(ModuleStream {
                        name,
                        stream,
                        version: version
                            .parse()
                            .map_err(|_| at(format!("data.version {version:?} is not a number")))?,
                        context: field("context").unwrap_or_else(|| "00000000".into()),
                        arch: need("arch")?,
                        artifacts,
                        requires,
                        text: doc,
                    });
                }
                "modulemd-defaults" => index.defaults.push(Defaults {
                    module: field("module").ok_or_else(|| at("data.module is missing".into()))?,
                    stream: field("stream"),
                    text: doc,
                }),
                "" => return Err(at("no `document:` kind".into())),
                _ => index
                    .others
                    .push((field("module").or_else(|| field("name")), doc)),
            }
        }
        Ok(index)
    }

    /// Adds another index's documents after this one's.
    pub fn extend(&mut self, other: ModuleIndex) {
        self.streams.extend(other.streams);
        self.defaults.extend(other.defaults);
        self.others.extend(other.others);
    }

    /// The default stream of `module`, if any document names one.
    pub fn default_stream(&self, module: &str) -> Option<&str> {
        self.defaults
            .iter()
            .find(|d| d.module == module)
            .and_then(|d| d.stream.as_deref())
    }

    /// The documents of `streams` (in the order given), then the defaults and other documents of
    /// their modules: a `modules.yaml` for a repository that ships exactly those builds.
    pub fn yaml_for(&self, streams: &[&ModuleStream]) -> String {
        let mut out = String::new();
        for s in streams {
            out.push_str(&s.text);
        }
        let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.defaults {
            if names.contains(&d.module.as_str()) && seen.insert(d.module.as_str()) {
                out.push_str(&d.text);
            }
        }
        for (module, text) in &self.others {
            if module.as_deref().is_some_and(|m| names.contains(&m)) {
                out.push_str(text);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_STREAMS: &str = r#"---
document: modulemd
version: 2
data:
  name: nodejs
  stream: 20
  version: 9000020231201
  context: abcd1234
  arch: x86_64
  summary: JavaScript runtime
  dependencies:
  - buildrequires: {platform: [el9]}
    requires:
      platform: [el9]
      npm: []
  artifacts:
    rpms:
    - nodejs-1:20.1-1.module_el9.x86_64
    - nodejs-1:20.1-1.module_el9.src
...
---
document: modulemd
version: 2
data:
  name: nodejs
  stream: "18"
  version: 9000020230101
  context: abcd1234
  arch: x86_64
  summary: JavaScript runtime
...
---
document: modulemd-defaults
version: 1
data:
  module: nodejs
  stream: "20"
  profiles:
    "20": [default]
...
"#;

    #[test]
    fn streams_and_defaults_keep_their_text() {
        let idx = ModuleIndex::parse(TWO_STREAMS, "modules.yaml").unwrap();
        assert_eq!(idx.streams.len(), 2);
        let s = &idx.streams[0];
        assert_eq!(s.nsvc(), "nodejs:20:9000020231201:abcd1234");
        assert_eq!(s.artifacts.len(), 2);
        assert_eq!(s.requires["platform"], ["el9"]);
        assert!(s.requires["npm"].is_empty());
        assert_eq!(idx.streams[1].stream, "18");
        assert_eq!(idx.default_stream("nodejs"), Some("20"));
        // The selected documents come out as they went in, then the module's defaults.
        let out = idx.yaml_for(&[&idx.streams[0]]);
        assert!(out.starts_with(&idx.streams[0].text));
        assert!(out.ends_with(&idx.defaults[0].text));
        assert_eq!(ModuleIndex::parse(&out, "out").unwrap().streams.len(), 1);
    }

    #[test]
    fn a_broken_document_names_its_place() {
        let text = "---\ndocument: modulemd\nversion: 2\ndata:\n  name: x\n...\n";
        let err = ModuleIndex::parse(text, "repo/modules.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "repo/modules.yaml: document 1 (line 1): data.stream is missing"
        );
        let err = ModuleIndex::parse("---\ndocument: [\n...\n", "m.yaml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("m.yaml: document 1 (line 1) is not YAML")
        );
        let err =
            ModuleIndex::parse("---\ndocument: modulemd\nversion: 3\n...\n", "m").unwrap_err();
        assert!(
            err.to_string()
                .contains("modulemd version 3 is not supported")
        );
    }
}
