//! `createrepo DIR`: createrepo_c's behaviour over kiln's reader and writer.
//! The CLI wraps this with clap and a progress bar; the bench and tests call it
//! directly.

use std::path::{Path, PathBuf};

use kiln_rpm::{ChecksumKind, Package, RpmError};
use rayon::prelude::*;

use crate::compress::Compression;
use crate::dump::Location;
use crate::parse::RepoReader;
use crate::repo::{ExtraFile, PackageStream, RepoOptions};
use crate::repomd::RepoMd;
use crate::{Error, Result};

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub dir: PathBuf,
    /// Where `repodata/` goes; `dir` when `None`.
    pub outputdir: Option<PathBuf>,
    pub update: bool,
    /// Old metadata to reuse (each holding `repodata/`); the output dir when empty.
    pub update_md_paths: Vec<PathBuf>,
    pub groupfile: Option<PathBuf>,
    /// Only these files (paths relative to `dir`).
    pub pkglist: Option<Vec<String>>,
    pub workers: usize,
    pub options: RepoOptions,
    pub baseurl: Option<String>,
    /// Globs (`*`, `?`) matched against the relative path and the file name.
    pub excludes: Vec<String>,
    /// Reuse old metadata by location alone, without comparing size and mtime.
    pub skip_stat: bool,
}

/// What happened while reading the packages.
#[derive(Debug, Default)]
pub struct Report {
    pub packages: usize,
    pub reused: usize,
    pub read: usize,
    /// Packages that could not be read (left out of the repository).
    pub errors: Vec<RpmError>,
    pub repomd: RepoMd,
}

/// Events for a progress display.
pub enum Progress {
    /// Number of package files found.
    Found(usize),
    /// One package read or reused.
    Package,
    /// Metadata rendered for this many packages.
    Written(usize),
}

/// `fnmatch` with `*` and `?` (no classes), enough for createrepo's --excludes.
pub fn glob_match(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn find_rpms(dir: &Path, out_repodata: &Path) -> Result<Vec<String>> {
    let mut v = Vec::new();
    for e in walkdir::WalkDir::new(dir).follow_links(true) {
        let e = e.map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
        if !e.file_type().is_file() || !e.file_name().to_string_lossy().ends_with(".rpm") {
            continue;
        }
        if e.path().starts_with(out_repodata) {
            continue;
        }
        if let Ok(rel) = e.path().strip_prefix(dir) {
            v.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(v)
}

fn stat(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((m.len(), mtime))
}

/// createrepo_c's package order: by file name, whatever the folder.
fn order_key(href: &str) -> (&str, &str) {
    (href.rsplit('/').next().unwrap_or(href), href)
}

/// Old metadata for `--update`, looked up in repository order: a merge join
/// over the old repository (written in the same order), so nothing but the
/// current package is held in memory.
struct OldRepo {
    reader: Option<std::iter::Peekable<RepoReader>>,
    checksum: ChecksumKind,
}

impl OldRepo {
    fn open(paths: &[PathBuf], checksum: ChecksumKind) -> OldRepo {
        // Several --update-md-path repositories cannot be merge-joined with one
        // cursor; the first readable one is used.
        let reader = paths
            .iter()
            .find_map(|p| RepoReader::open(p).ok())
            .map(Iterator::peekable);
        OldRepo { reader, checksum }
    }

    fn take(&mut self, href: &str) -> Option<Package> {
        let r = self.reader.as_mut()?;
        loop {
            match r.peek() {
                Some(Ok((_, loc))) if order_key(&loc.href) < order_key(href) => {
                    r.next();
                }
                Some(Ok((_, loc))) if loc.href == href => {
                    let (p, _) = r.next()?.ok()?;
                    return (p.checksum.kind == self.checksum).then_some(p);
                }
                Some(Ok(_)) => return None,
                // A damaged old repository only costs reuse, as with createrepo_c.
                Some(Err(_)) | None => {
                    self.reader = None;
                    return None;
                }
            }
        }
    }
}

pub fn createrepo(req: &Request, progress: &(dyn Fn(Progress) + Sync)) -> Result<Report> {
    let out_root = req.outputdir.clone().unwrap_or_else(|| req.dir.clone());
    let out_repodata = out_root.join("repodata");
    let mut hrefs: Vec<String> = match &req.pkglist {
        Some(list) => list
            .iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
        None => find_rpms(&req.dir, &out_repodata)?,
    };
    hrefs.retain(|h| {
        let base = h.rsplit('/').next().unwrap_or(h);
        !req.excludes
            .iter()
            .any(|g| glob_match(g, h) || glob_match(g, base))
    });
    hrefs.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    hrefs.dedup();
    progress(Progress::Found(hrefs.len()));

    let mut old = if req.update {
        let paths = if req.update_md_paths.is_empty() {
            vec![out_root.clone()]
        } else {
            req.update_md_paths.clone()
        };
        OldRepo::open(&paths, req.options.checksum)
    } else {
        OldRepo {
            reader: None,
            checksum: req.options.checksum,
        }
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.workers.max(1))
        .build()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let kind = req.options.checksum;
    let skip_stat = req.skip_stat;
    std::fs::create_dir_all(&out_root).map_err(|e| Error::io(&out_root, e))?;
    let mut stream = PackageStream::create(&out_root, hrefs.len(), &req.options)?;
    let mut report = Report::default();
    for chunk in hrefs.chunks(256) {
        let items: Vec<(&String, Option<Package>)> =
            chunk.iter().map(|h| (h, old.take(h))).collect();
        let results: Vec<(&String, bool, std::result::Result<Package, RpmError>)> =
            pool.install(|| {
                items
                    .into_par_iter()
                    .map(|(href, old)| {
                        let path = req.dir.join(href);
                        let reuse = old.filter(|o| {
                            skip_stat
                                || stat(&path).is_some_and(|(size, mtime)| {
                                    size == o.size_package && mtime == o.file_time
                                })
                        });
                        let r = match reuse {
                            Some(p) => (href, true, Ok(p)),
                            None => (href, false, kiln_rpm::read_package(&path, kind)),
                        };
                        progress(Progress::Package);
                        r
                    })
                    .collect()
            });
        let mut batch = Vec::with_capacity(results.len());
        for (href, reused, r) in results {
            match r {
                Ok(p) => {
                    if reused {
                        report.reused += 1;
                    } else {
                        report.read += 1;
                    }
                    batch.push((
                        p,
                        Location {
                            href: href.clone(),
                            base: req.baseurl.clone(),
                        },
                    ));
                }
                Err(e) => report.errors.push(e),
            }
        }
        report.packages += batch.len();
        pool.install(|| stream.push(&batch))?;
        progress(Progress::Written(batch.len()));
    }
    let mut extras = Vec::new();
    if let Some(g) = &req.groupfile {
        let data = std::fs::read(g).map_err(|e| Error::io(g, e))?;
        let name = g
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "comps.xml".into());
        extras.push(ExtraFile::new("group", &name, data));
    }
    report.repomd = stream.finish(&extras)?;
    Ok(report)
}

/// createrepo_c's compression names, with `Compression::Gz` for unknown input.
pub fn compression(s: &str) -> Option<Compression> {
    Compression::parse(s)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*.src.rpm", "foo-1-1.src.rpm"));
        assert!(glob_match("foo*", "foo-1-1.x86_64.rpm"));
        assert!(!glob_match("foo*", "bar-foo.rpm"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*", ""));
    }
}
