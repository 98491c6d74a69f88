//! Phase records: what makes resume exact.
//!
//! After each phase the engine writes `work/global/phases/<phase>.json` with the fingerprint of the
//! phase's inputs and every file it produced with its digest. On `--resume` a phase whose record is
//! done, whose fingerprint is unchanged and whose files are all still there with the same digests
//! is kept; anything else re-runs, after the files of its previous attempt are removed so nothing
//! stale survives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::deliverables::DeliverableEntry;

/// Bumped whenever the record format or the fingerprint recipe changes: an old record is then stale.
pub const RECORD_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Relative to the compose's top directory.
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
    /// `<algorithm>:<hex>`: blake3 for what the engine hashes itself, or a digest a phase already
    /// had (a package's sha256 from its header read), so no file is read twice to be recorded.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub version: u32,
    pub phase: String,
    pub status: RecordStatus,
    pub fingerprint: String,
    pub tools: BTreeMap<String, String>,
    pub outputs: Vec<OutputFile>,
    /// Deliverables that failed but were failable, so a kept phase still counts in
    /// `deliverables.json` and still makes the compose FINISHED_INCOMPLETE.
    #[serde(default)]
    pub failed_deliverables: Vec<DeliverableEntry>,
    #[serde(default)]
    pub error: Option<String>,
}

impl PhaseRecord {
    pub fn load(path: &Path) -> Option<PhaseRecord> {
        let bytes = std::fs::read(path).ok()?;
        let rec: PhaseRecord = serde_json::from_slice(&bytes).ok()?;
        (rec.version == RECORD_VERSION).then_some(rec)
    }

    pub fn save(&self, path: &Path) -> Result<(), kiln_fs::FsError> {
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        kiln_fs::write_atomic(path, &json)
    }

    /// A digest of what this phase produced, which goes into the fingerprints of the phases that
    /// need it: when a re-run produces the same bytes, those phases stay valid.
    pub fn outputs_digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        for o in &self.outputs {
            h.update(o.path.to_string_lossy().as_bytes());
            h.update(&[0]);
            h.update(o.digest.as_bytes());
            h.update(&[0]);
        }
        h.finalize().to_hex().to_string()
    }

    /// Why the recorded outputs can no longer be trusted, if they cannot.
    pub fn verify(&self, topdir: &Path) -> Result<(), String> {
        self.outputs.par_iter().try_for_each(|o| {
            let path = topdir.join(&o.path);
            let meta =
                std::fs::metadata(&path).map_err(|_| format!("{} is missing", o.path.display()))?;
            if meta.len() != o.size {
                return Err(format!("{} changed size", o.path.display()));
            }
            if mtime_ns(&meta) == o.mtime_ns {
                return Ok(());
            }
            match hash_file(&path, algorithm(&o.digest)) {
                Ok(d) if d == o.digest => Ok(()),
                _ => Err(format!("{} changed", o.path.display())),
            }
        })
    }

    /// Removes the files a previous attempt produced (ignoring ones already gone).
    pub fn remove_outputs(&self, topdir: &Path) {
        for o in &self.outputs {
            let _ = std::fs::remove_file(topdir.join(&o.path));
        }
    }
}

pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn algorithm(digest: &str) -> &str {
    digest.split_once(':').map_or("blake3", |(alg, _)| alg)
}

/// `<algorithm>:<hex>` of a file's bytes; sha256 for digests phases hand over, else blake3.
pub(crate) fn hash_file(path: &Path, algorithm: &str) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    if algorithm == "sha256" {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        std::io::copy(&mut std::io::BufReader::new(file), &mut h)?;
        return Ok(format!("sha256:{}", hex::encode(h.finalize())));
    }
    let mut h = blake3::Hasher::new();
    h.update_reader(file)?;
    Ok(format!("blake3:{}", h.finalize().to_hex()))
}

/// Records every regular file under `path` (or `path` itself), relative to `topdir`. Files in
/// `known` keep the digest their phase already computed instead of being read again, and the
/// stat too when it gave one.
pub(crate) fn describe(
    topdir: &Path,
    paths: &[PathBuf],
    known: &std::collections::HashMap<PathBuf, crate::context::Known>,
) -> std::io::Result<Vec<OutputFile>> {
    // One stat per file, on every core: gather's outputs are every package it linked, unless
    // its phase knew it.
    let mut files: Vec<Found> = paths
        .par_iter()
        .map(|p| {
            let mut found = Vec::new();
            match known.get(p).and_then(|k| k.stat) {
                Some((size, mtime_ns)) => found.push(Found {
                    path: p.clone(),
                    size,
                    mtime_ns,
                    symlink: false,
                }),
                None => collect(p, &mut found)?,
            }
            Ok(found)
        })
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    // Byte order, not `Path`'s component by component: the record's order only has to be the
    // same every time, and this sorts every package a compose links.
    files.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    files.dedup_by(|a, b| a.path == b.path);
    let out: Vec<OutputFile> = files
        .into_par_iter()
        .map(|f| {
            let digest = if f.symlink {
                let target = std::fs::read_link(&f.path)?;
                format!(
                    "blake3:{}",
                    blake3::hash(target.to_string_lossy().as_bytes()).to_hex()
                )
            } else if let Some(k) = known.get(&f.path) {
                k.digest.clone()
            } else {
                hash_file(&f.path, "blake3")?
            };
            Ok(OutputFile {
                path: f.path.strip_prefix(topdir).unwrap_or(&f.path).to_owned(),
                size: f.size,
                mtime_ns: f.mtime_ns,
                digest,
            })
        })
        .collect::<std::io::Result<_>>()?;
    Ok(out)
}

/// A file to record, as a stat (or its phase) described it.
struct Found {
    path: PathBuf,
    size: u64,
    mtime_ns: i128,
    symlink: bool,
}

/// Every file at or under `path` (not followed: a symlink is recorded as one).
fn collect(path: &Path, out: &mut Vec<Found>) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        // Unordered: `describe` sorts what this collects.
        for e in std::fs::read_dir(path)? {
            collect(&e?.path(), out)?;
        }
    } else {
        out.push(Found {
            path: path.to_owned(),
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
            symlink: meta.file_type().is_symlink(),
        });
    }
    Ok(())
}

/// What the phases of a compose recorded about the files they made, so a later phase can know a
/// file's content by its digest without reading it (as `--resume` trusts a file whose size and
/// mtime are what its record says).
#[derive(Debug, Default)]
pub struct RecordedDigests {
    topdir: PathBuf,
    files: std::collections::HashMap<PathBuf, OutputFile>,
}

impl RecordedDigests {
    /// Every done record of the compose at `topdir` (a missing or unreadable one is no record).
    pub fn load(topdir: &Path) -> RecordedDigests {
        let dir = topdir.join("work/global/phases");
        let mut files = std::collections::HashMap::new();
        let mut records: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        records.sort();
        for path in records {
            let Some(rec) = PhaseRecord::load(&path) else {
                continue;
            };
            if rec.status != RecordStatus::Done {
                continue;
            }
            for o in rec.outputs {
                files.insert(o.path.clone(), o);
            }
        }
        RecordedDigests {
            topdir: topdir.to_owned(),
            files,
        }
    }

    /// `<algorithm>:<hex>` of the file's content: the recorded digest when the file still has
    /// its recorded size and mtime, else (and for symlinks, whose record covers the link) read.
    pub fn digest(&self, path: &Path) -> std::io::Result<String> {
        let meta = std::fs::symlink_metadata(path)?;
        if !meta.file_type().is_symlink()
            && let Some(o) = path
                .strip_prefix(&self.topdir)
                .ok()
                .and_then(|rel| self.files.get(rel))
            && o.size == meta.len()
            && o.mtime_ns == mtime_ns(&meta)
        {
            return Ok(o.digest.clone());
        }
        hash_file(path, "blake3")
    }
}
