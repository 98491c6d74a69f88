//! Writing a whole repository's metadata: primary, filelists and other
//! rendered in parallel batches and compressed on three threads, extra
//! documents (comps, modules, updateinfo, productid), then repomd.xml, all
//! into a fresh directory swapped in for `repodata/` at the end.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use kiln_rpm::{ChecksumKind, Package};
use rayon::prelude::*;

use crate::compress::{Compression, MdWriter, Written};
use crate::dump::{self, DumpOptions, Location};
use crate::repomd::{Record, RepoMd};
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct RepoOptions {
    pub checksum: ChecksumKind,
    /// For primary, filelists and other.
    pub compression: Compression,
    /// For everything else (the compressed comps copy, modules, updateinfo...).
    pub general_compression: Compression,
    /// `<checksum>-<name>` file names (createrepo's `--unique-md-filenames`).
    pub unique_names: bool,
    /// `<revision>`; defaults to the timestamp.
    pub revision: Option<String>,
    /// Every record's `<timestamp>`: pass `SOURCE_DATE_EPOCH` or the compose's
    /// timestamp; `None` takes the newest package build time, so the same
    /// packages always give the same bytes (never the wall clock).
    pub timestamp: Option<u64>,
    pub changelog_limit: usize,
    pub content_tags: Vec<String>,
    pub repo_tags: Vec<String>,
    pub distro_tags: Vec<(Option<String>, String)>,
}

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            checksum: ChecksumKind::Sha256,
            compression: Compression::Gz,
            general_compression: Compression::Gz,
            unique_names: true,
            revision: None,
            timestamp: None,
            changelog_limit: 10,
            content_tags: Vec::new(),
            repo_tags: Vec::new(),
            distro_tags: Vec::new(),
        }
    }
}

/// A document added next to the package metadata.
#[derive(Clone, Debug)]
pub struct ExtraFile {
    /// repomd type: `group`, `modules`, `updateinfo`, `productid`, ...
    pub kind: String,
    /// Base file name before compression, e.g. `comps-Server.x86_64.xml`.
    pub name: String,
    pub data: Vec<u8>,
}

impl ExtraFile {
    pub fn new(kind: &str, name: &str, data: Vec<u8>) -> Self {
        ExtraFile {
            kind: kind.to_owned(),
            name: name.to_owned(),
            data,
        }
    }
}

fn compressed_kind(kind: &str, c: Compression) -> String {
    match c {
        Compression::None => kind.to_owned(),
        _ => format!("{kind}_{}", c.suffix().trim_start_matches('.')),
    }
}

struct Out {
    dir: PathBuf,
    opts: RepoOptions,
    timestamp: u64,
}

impl Out {
    fn finish(&self, tmp_name: &str, w: Written, kind: &str, base: &str) -> Result<Record> {
        let final_name = if self.opts.unique_names {
            format!("{}-{}", w.checksum.hex, base)
        } else {
            base.to_owned()
        };
        let from = self.dir.join(tmp_name);
        let to = self.dir.join(&final_name);
        if from != to {
            std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
        }
        Ok(Record {
            kind: kind.to_owned(),
            checksum: w.checksum,
            open_checksum: w.open_checksum,
            href: format!("repodata/{final_name}"),
            timestamp: self.timestamp,
            size: w.size,
            open_size: w.open_size,
            database_version: None,
        })
    }

    fn write_whole(&self, kind: &str, base: &str, c: Compression, data: &[u8]) -> Result<Record> {
        let name = format!("{base}{}", c.suffix());
        let tmp = format!(".tmp-{name}");
        let path = self.dir.join(&tmp);
        let mut w =
            MdWriter::create(&path, c, self.opts.checksum).map_err(|e| Error::io(&path, e))?;
        w.write_all(data).map_err(|e| Error::io(&path, e))?;
        let written = w.finish().map_err(|e| Error::io(&path, e))?;
        self.finish(&tmp, written, kind, &name)
    }
}

/// The repomd timestamp for a set of packages when none is given.
pub fn packages_timestamp<'a>(pkgs: impl IntoIterator<Item = &'a Package>) -> u64 {
    pkgs.into_iter().map(|p| p.build_time).max().unwrap_or(0)
}

/// Write `<repo>/repodata/` for `pkgs` (already in the order wanted; createrepo
/// sorts by location). Returns what repomd.xml says.
pub fn write_repo(
    repo: &Path,
    pkgs: &[(Package, Location)],
    extras: &[ExtraFile],
    opts: &RepoOptions,
) -> Result<RepoMd> {
    write_repo_with_progress(repo, pkgs, extras, opts, &|_| {})
}

/// [`write_repo`], calling `progress(n)` after each batch of `n` packages.
pub fn write_repo_with_progress(
    repo: &Path,
    pkgs: &[(Package, Location)],
    extras: &[ExtraFile],
    opts: &RepoOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<RepoMd> {
    let tmp_dir = repo.join(".repodata.kiln");
    if tmp_dir.exists() {
        std::fs::remove_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
    }
    std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
    let timestamp = opts
        .timestamp
        .unwrap_or_else(|| packages_timestamp(pkgs.iter().map(|(p, _)| p)));
    let out = Out {
        dir: tmp_dir.clone(),
        opts: opts.clone(),
        timestamp,
    };
    let dopts = DumpOptions {
        changelog_limit: opts.changelog_limit,
    };
    let c = opts.compression;
    let n = pkgs.len();
    let names = [
        ("primary", format!("primary.xml{}", c.suffix())),
        ("filelists", format!("filelists.xml{}", c.suffix())),
        ("other", format!("other.xml{}", c.suffix())),
    ];
    let written: Vec<Result<Written>> = std::thread::scope(|s| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for (i, (_, name)) in names.iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<String>(4);
            senders.push(tx);
            let path = tmp_dir.join(format!(".tmp-{name}"));
            let head = match i {
                0 => dump::primary_header(n),
                1 => dump::filelists_header(n),
                _ => dump::other_header(n),
            };
            let foot = [
                dump::PRIMARY_FOOTER,
                dump::FILELISTS_FOOTER,
                dump::OTHER_FOOTER,
            ][i];
            let kind = opts.checksum;
            handles.push(s.spawn(move || -> Result<Written> {
                let mut w = MdWriter::create(&path, c, kind).map_err(|e| Error::io(&path, e))?;
                w.write_all(head.as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                for chunk in rx {
                    w.write_all(chunk.as_bytes())
                        .map_err(|e| Error::io(&path, e))?;
                }
                w.write_all(foot.as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                w.finish().map_err(|e| Error::io(&path, e))
            }));
        }
        for batch in pkgs.chunks(256) {
            let parts: Vec<(String, String, String)> = batch
                .par_iter()
                .map(|(p, loc)| {
                    let mut a = String::with_capacity(2048);
                    dump::primary(&mut a, p, loc);
                    let mut b = String::with_capacity(512);
                    dump::filelists(&mut b, p);
                    let mut o = String::with_capacity(512);
                    dump::other(&mut o, p, &dopts);
                    (a, b, o)
                })
                .collect();
            let mut joined = [String::new(), String::new(), String::new()];
            for (a, b, o) in parts {
                joined[0].push_str(&a);
                joined[1].push_str(&b);
                joined[2].push_str(&o);
            }
            let mut closed = false;
            for (tx, j) in senders.iter().zip(joined) {
                closed |= tx.send(j).is_err();
            }
            progress(batch.len());
            if closed {
                break;
            }
        }
        drop(senders);
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal("metadata writer thread panicked".into()))
                })
            })
            .collect()
    });
    let mut md = RepoMd {
        revision: opts
            .revision
            .clone()
            .unwrap_or_else(|| timestamp.to_string()),
        content_tags: opts.content_tags.clone(),
        repo_tags: opts.repo_tags.clone(),
        distro_tags: opts.distro_tags.clone(),
        records: Vec::new(),
    };
    for ((kind, name), w) in names.iter().zip(written) {
        md.set(out.finish(&format!(".tmp-{name}"), w?, kind, name)?);
    }
    for x in extras {
        if x.kind == "group" {
            md.set(out.write_whole("group", &x.name, Compression::None, &x.data)?);
            let gc = match opts.general_compression {
                Compression::None => Compression::Gz,
                c => c,
            };
            md.set(out.write_whole(&compressed_kind("group", gc), &x.name, gc, &x.data)?);
        } else {
            md.set(out.write_whole(&x.kind, &x.name, opts.general_compression, &x.data)?);
        }
    }
    let repomd_path = tmp_dir.join("repomd.xml");
    std::fs::write(&repomd_path, md.to_xml()).map_err(|e| Error::io(&repomd_path, e))?;
    swap_in(repo, &tmp_dir)?;
    Ok(md)
}

/// Replace `repo/repodata` by the freshly written directory.
fn swap_in(repo: &Path, fresh: &Path) -> Result<()> {
    let target = repo.join("repodata");
    let old = repo.join(".repodata.kiln-old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    if target.exists() {
        std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
    }
    std::fs::rename(fresh, &target).map_err(|e| Error::io(&target, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}
