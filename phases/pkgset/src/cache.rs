//! Headers cached across composes, keyed by path, size and mtime (and the checksum kind, since the
//! checksum is part of the header record). A changed file misses the cache and is read again.
//!
//! Hits are moved out of the cache, not copied: the phase owns every header of the compose once,
//! and a save writes the compose's headers by reference next to the entries it did not use.
//!
//! The file is JSON Lines: a first line `{"version": N}`, then one entry per line, so both cores
//! parse (and write) it: parsing tens of megabytes of headers was a third of a nightly pkgset.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use kiln_rpm::{ChecksumKind, Package};
use rayon::prelude::*;
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

#[derive(Serialize, Deserialize)]
struct Head {
    version: u32,
}

#[derive(Debug, Default)]
pub struct HeaderCache {
    entries: HashMap<PathBuf, Cached>,
    /// Whether this compose read a header the cache lacked (or the cache file was unusable): an
    /// unchanged cache (every header a hit, the nightly case) is not written again, which for
    /// 10,000 packages is 23 MB of JSON.
    changed: bool,
}

/// 2: packages carry ExclusiveArch/ExcludeArch. 3: entries are a list sorted by path. 4: JSON
/// Lines.
const VERSION: u32 = 4;

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
        let empty = HeaderCache {
            entries: HashMap::new(),
            changed: true,
        };
        let Ok(bytes) = std::fs::read(path) else {
            return empty;
        };
        let mut lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let head = lines
            .next()
            .and_then(|l| serde_json::from_slice::<Head>(l).ok());
        if head.is_none_or(|h| h.version != VERSION) {
            return empty;
        }
        let lines: Vec<&[u8]> = lines.collect();
        let entries: Option<HashMap<PathBuf, Cached>> = lines
            .par_iter()
            .map(|l| {
                serde_json::from_slice::<Cached>(l)
                    .ok()
                    .map(|c| (c.path.clone(), c))
            })
            .collect();
        match entries {
            Some(entries) => HeaderCache {
                entries,
                changed: false,
            },
            // A damaged line (a disk that filled up, say) makes the whole cache suspect.
            None => empty,
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
        // A stale entry of a file this compose read again gives way to the new header, and one
        // of a file that is gone is dropped: the cache follows the repositories instead of
        // growing with every build it ever saw. Entries of files other composes use stay.
        let unused: Vec<&Cached> = self
            .entries
            .values()
            .filter(|c| !current.contains(c.path.as_path()))
            .collect();
        let exists: Vec<bool> = unused.par_iter().map(|c| c.path.exists()).collect();
        entries.extend(
            unused
                .into_iter()
                .zip(exists)
                .filter(|(_, there)| *there)
                .map(|(c, _)| CachedRef {
                    path: &c.path,
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    package: &c.package,
                }),
        );
        entries.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        let lines: Vec<Vec<u8>> = entries
            .par_iter()
            .filter_map(|e| serde_json::to_vec(e).ok())
            .collect();
        let written = kiln_fs::write_atomic_with(path, |file| {
            let mut out = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut out, &Head { version: VERSION })?;
            out.write_all(b"\n")?;
            for line in &lines {
                out.write_all(line)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        });
        if let Err(e) = written {
            tracing::warn!("cannot save the header cache {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Package {
        Package {
            name: name.into(),
            version: "1".into(),
            release: "1".into(),
            arch: "x86_64".into(),
            ..Package::default()
        }
    }

    /// A saved cache gives its headers back to files that did not change, and a damaged or
    /// older cache file is an empty cache, never an error or a wrong header.
    #[test]
    fn a_saved_cache_serves_unchanged_files_and_a_damaged_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let rpm = dir.path().join("a-1-1.x86_64.rpm");
        std::fs::write(&rpm, b"rpm").unwrap();
        let other = dir.path().join("b-1-1.x86_64.rpm");
        std::fs::write(&other, b"rpm too").unwrap();
        let file = dir.path().join("headers.json");
        let cache = HeaderCache::load(&file);
        assert!(cache.entries.is_empty());
        let (a, b) = (package("a"), package("b"));
        cache.save(
            &file,
            [
                (rpm.as_path(), stat(&rpm).unwrap(), &a),
                (other.as_path(), stat(&other).unwrap(), &b),
            ],
        );
        let kind = a.checksum.kind;
        let mut cache = HeaderCache::load(&file);
        assert_eq!(cache.take(&rpm, stat(&rpm), kind), Some(a.clone()));
        std::fs::write(&other, b"rebuilt, longer").unwrap();
        assert_eq!(
            cache.take(&other, stat(&other), kind),
            None,
            "a changed file misses"
        );

        let text = std::fs::read(&file).unwrap();
        std::fs::write(&file, &text[..text.len() - 10]).unwrap();
        assert!(
            HeaderCache::load(&file).entries.is_empty(),
            "a cut-off file"
        );
        std::fs::write(&file, b"{\"version\":3}\n").unwrap();
        assert!(
            HeaderCache::load(&file).entries.is_empty(),
            "an older format"
        );
    }

    /// A save keeps the entries of files this compose did not use while they exist (another
    /// config's repository), and drops those of files that are gone.
    #[test]
    fn a_save_drops_the_entries_of_files_that_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("headers.json");
        let rpm = |n: &str| {
            let p = dir.path().join(format!("{n}-1-1.x86_64.rpm"));
            std::fs::write(&p, n.as_bytes()).unwrap();
            p
        };
        let (a, b, c) = (rpm("a"), rpm("b"), rpm("c"));
        let pa = package("a");
        let (pb, pc) = (package("b"), package("c"));
        HeaderCache::load(&file).save(
            &file,
            [
                (a.as_path(), stat(&a).unwrap(), &pa),
                (b.as_path(), stat(&b).unwrap(), &pb),
                (c.as_path(), stat(&c).unwrap(), &pc),
            ],
        );
        std::fs::remove_file(&b).unwrap();
        // The next compose uses only a, and reads a new file d.
        let mut cache = HeaderCache::load(&file);
        let kind = pa.checksum.kind;
        let got_a = cache.take(&a, stat(&a), kind).unwrap();
        let d = rpm("d");
        let pd = package("d");
        cache.missed();
        cache.save(
            &file,
            [
                (a.as_path(), stat(&a).unwrap(), &got_a),
                (d.as_path(), stat(&d).unwrap(), &pd),
            ],
        );
        let mut cache = HeaderCache::load(&file);
        let mut paths: Vec<PathBuf> = cache.entries.keys().cloned().collect();
        paths.sort();
        assert_eq!(paths, [a.clone(), c.clone(), d.clone()]);
        assert_eq!(cache.take(&c, stat(&c), kind), Some(pc));
    }
}
