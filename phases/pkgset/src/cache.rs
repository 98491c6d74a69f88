//! Headers cached across composes, keyed by path, size and mtime (and the checksum kind, since the
//! checksum is part of the header record). A changed file misses the cache and is read again.
//!
//! Hits are moved out of the cache, not copied: the phase owns every header of the compose once,
//! and a save writes the compose's headers by reference next to the entries it did not use.
//!
//! Two files, both JSON Lines (a first line `{"version": N}`, then one entry per line, so both
//! cores parse and write them): the base, `headers.json`, and a journal beside it,
//! `headers.journal.json`, of the entries the base lacks or has older. A nightly compose that read
//! a few new headers rewrites only the journal; once the journal holds an eighth of the base's
//! entries, the next save folds it into a new base (dropping entries of files that are gone).
//! Rewriting the whole base for every new header was most of a nightly's cache cost, and at
//! Fedora's scale the base is hundreds of megabytes.

use std::collections::{HashMap, HashSet};
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

#[derive(Clone, Copy, Serialize)]
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
    /// What the base file holds, by path: an entry the base has with the same stat need not be
    /// written to the journal again.
    base: HashMap<PathBuf, Stat>,
    /// Whether this compose read a header the cache lacked (or the cache file was unusable): an
    /// unchanged cache (every header a hit, the nightly case) is not written again.
    changed: bool,
}

/// 2: packages carry ExclusiveArch/ExcludeArch. 3: entries are a list sorted by path. 4: JSON
/// Lines (and a journal beside the base).
const VERSION: u32 = 4;

/// The journal is folded into the base once it holds this fraction of the base's entries.
const JOURNAL_SHARE: usize = 8;

/// Size and mtime of the file at `path`; None when it cannot be read.
#[cfg(test)]
pub fn stat(path: &Path) -> Option<Stat> {
    stat_file(path).map(|(stat, _)| stat)
}

/// [`stat`], and whether `path` is a regular file itself (not a symlink to one).
pub fn stat_file(path: &Path) -> Option<(Stat, bool)> {
    let own = std::fs::symlink_metadata(path).ok()?;
    let plain = own.is_file();
    let meta = if plain {
        own
    } else {
        std::fs::metadata(path).ok()?
    };
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some(((meta.len(), mtime), plain))
}

/// `headers.journal.json` beside `headers.json`.
fn journal_path(base: &Path) -> PathBuf {
    base.with_extension("journal.json")
}

/// The entries of one cache file; None when it is missing, of another version or damaged (a
/// cut-off line, a disk that filled up: the whole file is then suspect).
fn read_entries(path: &Path) -> Option<Vec<Cached>> {
    let bytes = std::fs::read(path).ok()?;
    let head_end = bytes.iter().position(|&b| b == b'\n')?;
    let head = serde_json::from_slice::<Head>(&bytes[..head_end]).ok()?;
    if head.version != VERSION {
        return None;
    }
    // Each core parses a run of whole lines as a stream of values: splitting tens of megabytes
    // into lines first cost a tenth of the parse.
    let chunks = whole_lines(&bytes[head_end + 1..], 4 * rayon::current_num_threads());
    let parsed: Option<Vec<Vec<Cached>>> = chunks
        .par_iter()
        .map(|chunk| {
            serde_json::Deserializer::from_slice(chunk)
                .into_iter::<Cached>()
                .collect::<Result<Vec<_>, _>>()
                .ok()
        })
        .collect();
    Some(parsed?.into_iter().flatten().collect())
}

/// `bytes` cut into about `n` pieces, each ending at a line's end (or the end).
fn whole_lines(bytes: &[u8], n: usize) -> Vec<&[u8]> {
    let step = bytes.len() / n.max(1) + 1;
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let cut = match rest
            .get(step..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => step + i + 1,
            None => rest.len(),
        };
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    out
}

/// Writes `entries`, sorted by path bytes, as one cache file.
fn write_entries(path: &Path, mut entries: Vec<CachedRef<'_>>) {
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

impl HeaderCache {
    /// A missing, unreadable or older-format cache is an empty one: it only ever saves time. A
    /// damaged journal is left out; the base still serves.
    pub fn load(path: &Path) -> HeaderCache {
        let Some(base) = read_entries(path) else {
            return HeaderCache {
                changed: true,
                ..HeaderCache::default()
            };
        };
        let base_stats = base
            .iter()
            .map(|c| (c.path.clone(), (c.size, c.mtime_ns)))
            .collect();
        let mut entries: HashMap<PathBuf, Cached> =
            base.into_iter().map(|c| (c.path.clone(), c)).collect();
        // The journal's entry of a path is newer than the base's.
        for c in read_entries(&journal_path(path)).unwrap_or_default() {
            entries.insert(c.path.clone(), c);
        }
        HeaderCache {
            entries,
            base: base_stats,
            changed: false,
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
    /// taken or read with) and the entries this compose did not use. Into the journal, unless
    /// it has grown to an eighth of the base: then everything becomes the new base, without the
    /// entries of files that are gone.
    pub fn save<'a>(
        &'a self,
        path: &Path,
        headers: impl IntoIterator<Item = (&'a Path, Stat, &'a Package)>,
    ) {
        if !self.changed && path.exists() {
            return;
        }
        let current: Vec<CachedRef<'a>> = headers
            .into_iter()
            .map(|(path, (size, mtime_ns), package)| CachedRef {
                path,
                size,
                mtime_ns,
                package,
            })
            .collect();
        let in_current: HashSet<&Path> = current.iter().map(|e| e.path).collect();
        // A stale entry of a file this compose read again gives way to the new header.
        let unused: Vec<CachedRef<'a>> = self
            .entries
            .values()
            .filter(|c| !in_current.contains(c.path.as_path()))
            .map(|c| CachedRef {
                path: &c.path,
                size: c.size,
                mtime_ns: c.mtime_ns,
                package: &c.package,
            })
            .collect();
        let in_base = |e: &CachedRef<'_>| self.base.get(e.path) == Some(&(e.size, e.mtime_ns));
        let journal: Vec<&CachedRef<'a>> = current
            .iter()
            .chain(&unused)
            .filter(|e| !in_base(e))
            .collect();
        if !self.base.is_empty() && journal.len() * JOURNAL_SHARE < self.base.len() {
            write_entries(&journal_path(path), journal.into_iter().copied().collect());
            return;
        }
        // The cache follows the repositories instead of growing with every build it ever saw:
        // entries of files that are gone are dropped; those other composes use stay.
        let exists: Vec<bool> = unused.par_iter().map(|c| c.path.exists()).collect();
        let mut all = current;
        all.extend(
            unused
                .into_iter()
                .zip(exists)
                .filter(|(_, there)| *there)
                .map(|(c, _)| c),
        );
        write_entries(path, all);
        let _ = std::fs::remove_file(journal_path(path));
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

    #[test]
    fn whole_lines_cuts_only_at_line_ends_and_keeps_every_byte() {
        let text = b"{\"a\":1}\n{\"b\":22}\n{\"c\":333}\n{\"d\":4}";
        for n in [1, 2, 3, 7, 100] {
            let pieces = whole_lines(text, n);
            assert_eq!(pieces.concat(), text.to_vec(), "{n} pieces");
            for p in &pieces[..pieces.len() - 1] {
                assert_eq!(p.last(), Some(&b'\n'), "{n} pieces");
            }
        }
        assert!(whole_lines(b"", 4).is_empty());
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

    /// A few new headers go to the journal and leave the base as it was; the journal serves
    /// them at the next load, and once it has grown to an eighth of the base both are folded
    /// into a new base.
    #[test]
    fn new_headers_go_to_the_journal_until_it_is_folded_into_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("headers.json");
        let journal = journal_path(&file);
        let rpms: Vec<(PathBuf, Package)> = (0..40)
            .map(|i| {
                let name = format!("p{i:02}");
                let p = dir.path().join(format!("{name}-1-1.x86_64.rpm"));
                std::fs::write(&p, name.as_bytes()).unwrap();
                (p, package(&name))
            })
            .collect();
        let entries = |n: usize| -> Vec<(&Path, Stat, &Package)> {
            rpms[..n]
                .iter()
                .map(|(p, pkg)| (p.as_path(), stat(p).unwrap(), pkg))
                .collect()
        };
        HeaderCache::load(&file).save(&file, entries(32));
        let base = std::fs::read(&file).unwrap();
        assert!(!journal.exists());

        // Two new files: 2 x 8 < 32, so only the journal is written.
        let mut cache = HeaderCache::load(&file);
        cache.missed();
        cache.save(&file, entries(34));
        assert_eq!(
            std::fs::read(&file).unwrap(),
            base,
            "the base is left as it was"
        );
        assert!(journal.exists());
        let mut cache = HeaderCache::load(&file);
        assert_eq!(cache.entries.len(), 34);
        let kind = rpms[0].1.checksum.kind;
        assert_eq!(
            cache.take(&rpms[33].0, stat(&rpms[33].0), kind).as_ref(),
            Some(&rpms[33].1)
        );

        // Four more: 6 x 8 >= 32, so everything becomes the base and the journal goes.
        let mut cache = HeaderCache::load(&file);
        cache.missed();
        cache.save(&file, entries(38));
        assert!(!journal.exists());
        assert_ne!(std::fs::read(&file).unwrap(), base);
        assert_eq!(HeaderCache::load(&file).entries.len(), 38);

        // A damaged journal is left out; the base still serves.
        let mut cache = HeaderCache::load(&file);
        cache.missed();
        cache.save(&file, entries(40));
        assert!(journal.exists());
        let text = std::fs::read(&journal).unwrap();
        std::fs::write(&journal, &text[..text.len() - 5]).unwrap();
        assert_eq!(HeaderCache::load(&file).entries.len(), 38);
    }
}
