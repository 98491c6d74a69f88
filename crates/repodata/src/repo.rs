//! Writing a whole repository's metadata: primary, filelists and other
//! rendered in parallel batches and compressed on three threads, extra
//! documents (comps, modules, updateinfo, productid), then repomd.xml, all
//! into a fresh directory swapped in for `repodata/` at the end.

use std::borrow::Borrow;
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
/// sorts by file name). Returns what repomd.xml says.
/// `pkgs` may be owned headers or references to them (a phase that holds a package set hands
/// out references rather than copies).
pub fn write_repo<P: Borrow<Package> + Sync>(
    repo: &Path,
    pkgs: &[(P, Location)],
    extras: &[ExtraFile],
    opts: &RepoOptions,
) -> Result<RepoMd> {
    let mut opts = opts.clone();
    opts.timestamp = Some(
        opts.timestamp
            .unwrap_or_else(|| packages_timestamp(pkgs.iter().map(|(p, _)| p.borrow()))),
    );
    let mut w = PackageStream::create(repo, pkgs.len(), &opts)?;
    for batch in pkgs.chunks(256) {
        w.push(batch)?;
    }
    w.finish(extras)
}

const KINDS: [&str; 3] = ["primary", "filelists", "other"];

/// Packages streamed into primary/filelists/other: each batch is rendered in
/// parallel (rayon) and handed to three compressing threads, so memory stays
/// bounded by the batch whatever the repository's size.
pub struct PackageStream {
    repo: PathBuf,
    out: Out,
    dopts: DumpOptions,
    names: [String; 3],
    senders: Vec<mpsc::SyncSender<String>>,
    handles: Vec<std::thread::JoinHandle<Result<Written>>>,
    declared: usize,
    count: usize,
    newest_build: u64,
}

impl PackageStream {
    /// `declared` is the `packages="N"` written up front (fixed at the end if
    /// fewer packages arrive, as createrepo_c does for unreadable ones).
    pub fn create(repo: &Path, declared: usize, opts: &RepoOptions) -> Result<PackageStream> {
        let tmp_dir = repo.join(".repodata.kiln");
        if tmp_dir.exists() {
            std::fs::remove_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        }
        std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        let c = opts.compression;
        let names = KINDS.map(|k| format!("{k}.xml{}", c.suffix()));
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<String>(2);
            senders.push(tx);
            let path = tmp_dir.join(format!(".tmp-{name}"));
            let head = header(i, declared);
            let kind = opts.checksum;
            handles.push(std::thread::spawn(move || -> Result<Written> {
                let mut w = MdWriter::create(&path, c, kind).map_err(|e| Error::io(&path, e))?;
                w.write_all(head.as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                for chunk in rx {
                    w.write_all(chunk.as_bytes())
                        .map_err(|e| Error::io(&path, e))?;
                }
                w.write_all(FOOTERS[i].as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                w.finish().map_err(|e| Error::io(&path, e))
            }));
        }
        Ok(PackageStream {
            repo: repo.to_owned(),
            out: Out {
                dir: tmp_dir,
                opts: opts.clone(),
                timestamp: 0,
            },
            dopts: DumpOptions {
                changelog_limit: opts.changelog_limit,
            },
            names,
            senders,
            handles,
            declared,
            count: 0,
            newest_build: 0,
        })
    }

    /// Render and queue a batch (in repository order).
    pub fn push<P: Borrow<Package> + Sync>(&mut self, batch: &[(P, Location)]) -> Result<()> {
        let dopts = &self.dopts;
        let parts: Vec<[String; 3]> = batch
            .par_iter()
            .map(|(p, loc)| {
                let p = p.borrow();
                let mut a = String::with_capacity(2048);
                dump::primary(&mut a, p, loc);
                let mut b = String::with_capacity(512);
                dump::filelists(&mut b, p);
                let mut o = String::with_capacity(512);
                dump::other(&mut o, p, dopts);
                [a, b, o]
            })
            .collect();
        let mut joined = [String::new(), String::new(), String::new()];
        for [a, b, o] in parts {
            joined[0].push_str(&a);
            joined[1].push_str(&b);
            joined[2].push_str(&o);
        }
        for (tx, j) in self.senders.iter().zip(joined) {
            if tx.send(j).is_err() {
                // The writer stopped on an error; finish() reports it.
                break;
            }
        }
        self.count += batch.len();
        self.newest_build = batch
            .iter()
            .map(|(p, _)| p.borrow().build_time)
            .fold(self.newest_build, u64::max);
        Ok(())
    }

    pub fn finish(mut self, extras: &[ExtraFile]) -> Result<RepoMd> {
        self.senders.clear();
        let written: Vec<Result<Written>> = std::mem::take(&mut self.handles)
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal("metadata writer thread panicked".into()))
                })
            })
            .collect();
        let opts = self.out.opts.clone();
        let timestamp = opts.timestamp.unwrap_or(self.newest_build);
        self.out.timestamp = timestamp;
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
        for (i, w) in written.into_iter().enumerate() {
            let tmp = format!(".tmp-{}", self.names[i]);
            let mut w = w?;
            if self.count != self.declared {
                w = self.fix_count(&tmp, i)?;
            }
            md.set(self.out.finish(&tmp, w, KINDS[i], &self.names[i])?);
        }
        for x in extras {
            if x.kind == "group" {
                md.set(
                    self.out
                        .write_whole("group", &x.name, Compression::None, &x.data)?,
                );
                let gc = match opts.general_compression {
                    Compression::None => Compression::Gz,
                    c => c,
                };
                md.set(self.out.write_whole(
                    &compressed_kind("group", gc),
                    &x.name,
                    gc,
                    &x.data,
                )?);
            } else {
                md.set(self.out.write_whole(
                    &x.kind,
                    &x.name,
                    opts.general_compression,
                    &x.data,
                )?);
            }
        }
        let repomd_path = self.out.dir.join("repomd.xml");
        std::fs::write(&repomd_path, md.to_xml()).map_err(|e| Error::io(&repomd_path, e))?;
        swap_in(&self.repo, &self.out.dir)?;
        Ok(md)
    }

    /// Rewrite a document whose `packages="N"` promised more packages than came.
    fn fix_count(&self, tmp: &str, i: usize) -> Result<Written> {
        let path = self.out.dir.join(tmp);
        let mut text = String::new();
        let mut r = crate::compress::open_read_as(&path, self.out.opts.compression)
            .map_err(|e| Error::io(&path, e))?;
        std::io::Read::read_to_string(&mut r, &mut text).map_err(|e| Error::io(&path, e))?;
        let (old, new) = (header(i, self.declared), header(i, self.count));
        let fixed = text.replacen(&old, &new, 1);
        let mut w = MdWriter::create(&path, self.out.opts.compression, self.out.opts.checksum)
            .map_err(|e| Error::io(&path, e))?;
        w.write_all(fixed.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        w.finish().map_err(|e| Error::io(&path, e))
    }
}

const FOOTERS: [&str; 3] = [
    dump::PRIMARY_FOOTER,
    dump::FILELISTS_FOOTER,
    dump::OTHER_FOOTER,
];

fn header(i: usize, n: usize) -> String {
    match i {
        0 => dump::primary_header(n),
        1 => dump::filelists_header(n),
        _ => dump::other_header(n),
    }
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
