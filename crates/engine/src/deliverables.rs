//! Failable deliverables, accounted as pungi does in `logs/global/deliverables.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliverableEntry {
    pub kind: String,
    pub variant: String,
    pub arch: String,
    pub subvariant: Option<String>,
}

type ByKind = BTreeMap<String, Vec<(String, String, Option<String>)>>;

#[derive(Debug, Default)]
pub struct Deliverables {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    required: Vec<DeliverableEntry>,
    attempted: Vec<DeliverableEntry>,
    failed: Vec<DeliverableEntry>,
}

impl Deliverables {
    pub(crate) fn attempt(&self, entry: &DeliverableEntry, can_fail: bool) {
        if let Ok(mut s) = self.inner.lock() {
            if can_fail {
                s.attempted.push(entry.clone());
            } else {
                s.required.push(entry.clone());
            }
        }
    }

    pub(crate) fn fail(&self, entry: DeliverableEntry) {
        if let Ok(mut s) = self.inner.lock() {
            s.failed.push(entry);
        }
    }

    pub fn failed(&self) -> Vec<DeliverableEntry> {
        self.inner
            .lock()
            .map(|s| s.failed.clone())
            .unwrap_or_default()
    }

    pub fn any_failed(&self) -> bool {
        !self.failed().is_empty()
    }

    /// `{"required": {kind: [[variant, arch, subvariant]]}, "attempted": ..., "failed": ...}`
    pub fn save(&self, path: &Path) -> Result<(), kiln_fs::FsError> {
        fn group(list: &[DeliverableEntry]) -> ByKind {
            let mut map = ByKind::new();
            let mut sorted = list.to_vec();
            sorted.sort();
            sorted.dedup();
            for e in sorted {
                map.entry(e.kind)
                    .or_default()
                    .push((e.variant, e.arch, e.subvariant));
            }
            map
        }
        let json = match self.inner.lock() {
            Ok(s) => serde_json::json!({
                "required": group(&s.required),
                "attempted": group(&s.attempted),
                "failed": group(&s.failed),
            }),
            Err(_) => return Ok(()),
        };
        let mut bytes = serde_json::to_vec_pretty(&json).unwrap_or_default();
        bytes.push(b'\n');
        kiln_fs::write_atomic(path, &bytes)
    }
}
