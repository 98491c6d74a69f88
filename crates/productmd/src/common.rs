//! The header and compose block every productmd JSON file carries.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// productmd's metadata format version (`productmd.common.VERSION`).
pub const VERSION: &str = "1.2";

/// `{"type": "productmd.<kind>", "version": "1.2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
}

impl Header {
    /// The header of a productmd file of the given kind (`"images"`, `"extra_files"`, ...).
    pub fn new(kind: &str) -> Self {
        Header {
            kind: format!("productmd.{kind}"),
            version: VERSION.to_owned(),
        }
    }
}

/// The `compose` block: which compose a metadata file describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeRef {
    /// `Mini-36-20261121.0`
    pub id: String,
    /// `YYYYMMDD`
    pub date: String,
    /// `production`, `nightly`, `test`, `ci`, `development`
    #[serde(rename = "type")]
    pub kind: String,
    pub respin: u32,
    /// `RC-1.0`; absent for unlabelled composes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl ComposeRef {
    /// The block as pungi writes it into images.json, extra_files.json and rpms.json.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "date": self.date,
            "id": self.id,
            "respin": self.respin,
            "type": self.kind,
        });
        if let (Some(label), Value::Object(map)) = (&self.label, &mut v) {
            map.insert("label".into(), Value::String(label.clone()));
        }
        v
    }
}

/// `{"header": ..., "payload": {"compose": ..., <key>: body}}` rendered as productmd does.
pub fn document(kind: &str, compose: &ComposeRef, key: &str, body: Value) -> String {
    let header = Header::new(kind);
    let doc = json!({
        "header": {"type": header.kind, "version": header.version},
        "payload": {"compose": compose.to_json(), key: body},
    });
    crate::json::to_string(&doc)
}

/// Reads a productmd JSON file of the given kind (`"images"`, `"rpms"`, ...) and returns its
/// payload, typed as `P`. A file of another kind is refused.
pub(crate) fn load<P: DeserializeOwned>(path: &Path, kind: &str) -> Result<P, ProductmdError> {
    #[derive(Deserialize)]
    struct Doc<P> {
        header: Header,
        payload: P,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ProductmdError::Read {
        path: path.to_owned(),
        source,
    })?;
    let doc: Doc<P> = serde_json::from_str(&text).map_err(|source| ProductmdError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if doc.header.kind != format!("productmd.{kind}") {
        return Err(ProductmdError::Invalid(format!(
            "{}: header type is {:?}, not productmd.{kind}",
            path.display(),
            doc.header.kind
        )));
    }
    Ok(doc.payload)
}

/// Errors of this crate: each names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ProductmdError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// Writing a file (kiln-fs names it).
    #[error(transparent)]
    Fs(#[from] kiln_fs::FsError),
    #[error("{path} is not valid productmd JSON: {source}")]
    Parse {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}
