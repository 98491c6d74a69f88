//! Headers cached across composes, keyed by path, size and mtime (and the checksum kind, since the
//! checksum is part of the header record). A changed file misses the cache and is read again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_rpm::{ChecksumKind, Package};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    size: u64,
    mtime_ns: i128,
    package: Package,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct HeaderCache {
    version: u32,
    entries: BTreeMap<PathBuf, Cached>,
    /// Whether anything was put since the load: an unchanged cache (every header a hit, the
    /// nightly case) is not written again, which for 10,000 packages is 23 MB of JSON.
    #[serde(skip)]
    changed: bool,
}

/// 2: packages carry ExclusiveArch/ExcludeArch.
const VERSION: u32 = 2;

fn stat(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some((meta.len(), mtime))
}

impl HeaderCache {
    /// A missing, unreadable or older-format cache is an empty one: it only ever saves time.
    pub fn load(path: &Path) -> HeaderCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<HeaderCache>(&b).ok())
            .filter(|c| c.version == VERSION)
            .unwrap_or(HeaderCache {
                version: VERSION,
                entries: BTreeMap::new(),
                changed: true,
            })
    }

    pub fn get(&self, path: &Path, kind: ChecksumKind) -> Option<Package> {
        let c = self.entries.get(path)?;
        let (size, mtime) = stat(path)?;
        (c.size == size && c.mtime_ns == mtime && c.package.checksum.kind == kind)
            .then(|| c.package.clone())
    }

    /// Records a header that was read from its file (a miss).
    pub fn put(&mut self, path: &Path, package: &Package) {
        if let Some((size, mtime_ns)) = stat(path) {
            self.changed = true;
            self.entries.insert(
                path.to_owned(),
                Cached {
                    size,
                    mtime_ns,
                    package: package.clone(),
                },
            );
        }
    }

    pub fn save(&self, path: &Path) {
        if !self.changed && path.exists() {
            return;
        }
        if let Ok(json) = serde_json::to_vec(self)
            && let Err(e) = kiln_fs::write_atomic(path, &json)
        {
            tracing::warn!("cannot save the header cache {}: {e}", path.display());
        }
    }
}
