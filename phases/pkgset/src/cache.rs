//! Headers cached across composes, keyed by path, size and mtime (and the checksum kind, since the
//! checksum is part of the header record). A changed file misses the cache and is read again.
//!
//! Hits are moved out of the cache, not copied: the phase owns every header of the compose once,
//! and a save writes the compose's headers by reference next to the entries it did not use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kiln_rpm::{ChecksumKind, Package};
use serde::{Deserialize, Serialize};

/// A file's size and mtime (ns since the epoch): what says it is the file its header came from.
pub type Stat = (u64, i128);

#[derive(Debug, Deserialize)]
struct Cached {
    path: PathBuf,
    size: u64,
    mtime_ns: i128,
    package: Package,
}

#[derive(Serialize)]
struct CachedRef<'a> {
    path: &'a Path,
    size: u64,
    mtime_ns: i128,
    package: &'a Package,
}

#[derive(Deserialize)]
struct File {
    version: u32,
    entries: Vec<Cached>,
}

#[derive(Serialize)]
struct FileRef<'a> {
    version: u32,
    entries: Vec<CachedRef<'a>>,
}

#[derive(Debug, Default)]
pub struct HeaderCache {
    entries: HashMap<PathBuf, Cached>,
    /// Whether this compose read a header the cache lacked (or the cache file was unusable): an
    /// unchanged cache (every header a hit, the nightly case) is not written again, which for
    /// 10,000 packages is 23 MB of JSON.
    changed: bool,
}

/// 2: packages carry ExclusiveArch/ExcludeArch. 3: entries are a list sorted by path.
const VERSION: u32 = 3;

/// Size and mtime of the file at `path`; None when it cannot be read.
pub fn stat(path: &Path) -> Option<Stat> {
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
        match std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok())
            .filter(|f| f.version == VERSION)
        {
            Some(f) => HeaderCache {
                entries: f.entries.into_iter().map(|c| (c.path.clone(), c)).collect(),
                changed: false,
            },
            None => HeaderCache {
                entries: HashMap::new(),
                changed: true,
            },
        }
    }

    /// The cached header of the file at `path`, moved out of the cache, when the file still has
    /// the size and mtime it was read with.
    pub fn take(&mut self, path: &Path, stat: Option<Stat>, kind: ChecksumKind) -> Option<Package> {
        let (size, mtime) = stat?;
        let c = self.entries.get(path)?;
        if c.size != size || c.mtime_ns != mtime || c.package.checksum.kind != kind {
            return None;
        }
        self.entries.remove(path).map(|c| c.package)
    }

    /// Notes that a header had to be read from its file (a miss), so the cache is saved.
    pub fn missed(&mut self) {
        self.changed = true;
    }

    /// Writes the cache when it changed: `headers` (this compose's, with the stat each was
    /// taken or read with) and the entries this compose did not use, sorted by path bytes.
    pub fn save<'a>(
        &'a self,
        path: &Path,
        headers: impl IntoIterator<Item = (&'a Path, Stat, &'a Package)>,
    ) {
        if !self.changed && path.exists() {
            return;
        }
        let mut entries: Vec<CachedRef<'a>> = headers
            .into_iter()
            .map(|(path, (size, mtime_ns), package)| CachedRef {
                path,
                size,
                mtime_ns,
                package,
            })
            .collect();
        let current: std::collections::HashSet<&Path> = entries.iter().map(|e| e.path).collect();
        // A stale entry of a file this compose read again gives way to the new header.
        entries.extend(
            self.entries
                .values()
                .filter(|c| !current.contains(c.path.as_path()))
                .map(|c| CachedRef {
                    path: &c.path,
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    package: &c.package,
                }),
        );
        entries.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        let file = FileRef {
            version: VERSION,
            entries,
        };
        if let Ok(json) = serde_json::to_vec(&file)
            && let Err(e) = kiln_fs::write_atomic(path, &json)
        {
            tracing::warn!("cannot save the header cache {}: {e}", path.display());
        }
    }
}
