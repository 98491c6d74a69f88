//! Streaming readers for primary, filelists and other: one package at a time,
//! so memory stays constant per package whatever the repository's size.

use std::io::BufRead;
use std::path::Path;

use kiln_rpm::{Changelog, Checksum, ChecksumKind, Cmp, Dependency, FileEntry, FileKind, Package};

use crate::dump::Location;
use crate::repomd::RepoMd;
use crate::xmlread::{Ev, XmlReader, attr};
use crate::{Error, Result};

fn num<T: std::str::FromStr + Default>(attrs: &[(Vec<u8>, String)], k: &[u8]) -> T {
    attr(attrs, k)
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

fn dep(attrs: &[(Vec<u8>, String)]) -> Dependency {
    let s = |k: &[u8]| attr(attrs, k).map(str::to_owned);
    Dependency {
        name: s(b"name").unwrap_or_default(),
        flags: attr(attrs, b"flags").and_then(Cmp::parse),
        epoch: s(b"epoch"),
        version: s(b"ver"),
        release: s(b"rel"),
        pre: matches!(attr(attrs, b"pre"), Some("1" | "true")),
    }
}

fn file_kind(attrs: &[(Vec<u8>, String)]) -> FileKind {
    match attr(attrs, b"type") {
        Some("dir") => FileKind::Dir,
        Some("ghost") => FileKind::Ghost,
        _ => FileKind::File,
    }
}

/// primary.xml, package by package. Files are the primary subset only.
pub struct PrimaryReader<R> {
    x: XmlReader<R>,
}

impl<R: BufRead> PrimaryReader<R> {
    pub fn new(input: R, file: &str) -> Self {
        PrimaryReader {
            x: XmlReader::new(input, file),
        }
    }

    fn next_package(&mut self) -> Result<Option<(Package, Location)>> {
        // Skip to the next <package>.
        loop {
            match self.x.next()? {
                Ev::Start { name, .. } if name == b"package" => break,
                Ev::Eof => return Ok(None),
                _ => {}
            }
        }
        let mut p = Package::default();
        let mut loc = Location::default();
        let mut text = String::new();
        let mut list: Option<u8> = None;
        let mut file_kind_now = FileKind::File;
        let mut sum_kind = ChecksumKind::Sha256;
        loop {
            match self.x.next()? {
                Ev::Start { name, attrs, .. } => {
                    text.clear();
                    match name.as_slice() {
                        b"version" => {
                            p.epoch = num(&attrs, b"epoch");
                            p.version = attr(&attrs, b"ver").unwrap_or_default().to_owned();
                            p.release = attr(&attrs, b"rel").unwrap_or_default().to_owned();
                        }
                        b"checksum" => {
                            sum_kind = attr(&attrs, b"type")
                                .and_then(ChecksumKind::parse)
                                .unwrap_or_default()
                        }
                        b"time" => {
                            p.file_time = num(&attrs, b"file");
                            p.build_time = num(&attrs, b"build");
                        }
                        b"size" => {
                            p.size_package = num(&attrs, b"package");
                            p.size_installed = num(&attrs, b"installed");
                            p.size_archive = num(&attrs, b"archive");
                        }
                        b"location" => {
                            loc.href = attr(&attrs, b"href").unwrap_or_default().to_owned();
                            loc.base = attr(&attrs, b"base").map(str::to_owned);
                        }
                        b"header-range" => {
                            p.header_start = num(&attrs, b"start");
                            p.header_end = num(&attrs, b"end");
                        }
                        b"provides" => list = Some(0),
                        b"requires" => list = Some(1),
                        b"conflicts" => list = Some(2),
                        b"obsoletes" => list = Some(3),
                        b"suggests" => list = Some(4),
                        b"enhances" => list = Some(5),
                        b"recommends" => list = Some(6),
                        b"supplements" => list = Some(7),
                        b"entry" => {
                            let d = dep(&attrs);
                            match list {
                                Some(0) => p.provides.push(d),
                                Some(1) => p.requires.push(d),
                                Some(2) => p.conflicts.push(d),
                                Some(3) => p.obsoletes.push(d),
                                Some(4) => p.suggests.push(d),
                                Some(5) => p.enhances.push(d),
                                Some(6) => p.recommends.push(d),
                                Some(7) => p.supplements.push(d),
                                _ => {}
                            }
                        }
                        b"file" => file_kind_now = file_kind(&attrs),
                        _ => {}
                    }
                }
                Ev::Text(t) => text.push_str(&t),
                Ev::End(name) => {
                    let v = std::mem::take(&mut text);
                    match name.as_slice() {
                        b"name" => p.name = v,
                        b"arch" => p.arch = v,
                        b"checksum" => {
                            p.checksum = Checksum {
                                kind: sum_kind,
                                hex: v.trim().to_owned(),
                            }
                        }
                        b"summary" => p.summary = v,
                        b"description" => p.description = v,
                        b"packager" => p.packager = v,
                        b"url" => p.url = v,
                        b"license" => p.license = v,
                        b"vendor" => p.vendor = v,
                        b"group" => p.group = v,
                        b"buildhost" => p.buildhost = v,
                        b"sourcerpm" => p.sourcerpm = (!v.is_empty()).then_some(v),
                        b"file" => p.files.push(FileEntry {
                            path: v,
                            kind: file_kind_now,
                        }),
                        b"provides" | b"requires" | b"conflicts" | b"obsoletes" | b"suggests"
                        | b"enhances" | b"recommends" | b"supplements" => list = None,
                        b"package" => {
                            p.is_source = p.arch == "src" || p.arch == "nosrc";
                            return Ok(Some((p, loc)));
                        }
                        _ => {}
                    }
                }
                Ev::Eof => return Err(self.x.error("document ends inside <package>")),
            }
        }
    }
}

impl<R: BufRead> Iterator for PrimaryReader<R> {
    type Item = Result<(Package, Location)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_package().transpose()
    }
}

/// One `<package>` of filelists.xml or other.xml.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub pkgid: String,
    pub name: String,
    pub arch: String,
    pub files: Vec<FileEntry>,
    /// Newest first, as in the header.
    pub changelogs: Vec<Changelog>,
}

/// filelists.xml or other.xml, package by package.
pub struct SideReader<R> {
    x: XmlReader<R>,
}

impl<R: BufRead> SideReader<R> {
    pub fn new(input: R, file: &str) -> Self {
        SideReader {
            x: XmlReader::new(input, file),
        }
    }

    fn next_side(&mut self) -> Result<Option<Side>> {
        let mut s;
        loop {
            match self.x.next()? {
                Ev::Start { name, attrs, .. } if name == b"package" => {
                    s = Side {
                        pkgid: attr(&attrs, b"pkgid").unwrap_or_default().to_owned(),
                        name: attr(&attrs, b"name").unwrap_or_default().to_owned(),
                        arch: attr(&attrs, b"arch").unwrap_or_default().to_owned(),
                        ..Side::default()
                    };
                    break;
                }
                Ev::Eof => return Ok(None),
                _ => {}
            }
        }
        let mut text = String::new();
        let mut kind = FileKind::File;
        let mut author = String::new();
        let mut date = 0u64;
        loop {
            match self.x.next()? {
                Ev::Start { name, attrs, .. } => {
                    text.clear();
                    match name.as_slice() {
                        b"file" => kind = file_kind(&attrs),
                        b"changelog" => {
                            author = attr(&attrs, b"author").unwrap_or_default().to_owned();
                            date = num(&attrs, b"date");
                        }
                        _ => {}
                    }
                }
                Ev::Text(t) => text.push_str(&t),
                Ev::End(name) => match name.as_slice() {
                    b"file" => s.files.push(FileEntry {
                        path: std::mem::take(&mut text),
                        kind,
                    }),
                    b"changelog" => s.changelogs.push(Changelog {
                        author: std::mem::take(&mut author),
                        date,
                        text: std::mem::take(&mut text),
                    }),
                    b"package" => {
                        s.changelogs.reverse();
                        return Ok(Some(s));
                    }
                    _ => {}
                },
                Ev::Eof => return Err(self.x.error("document ends inside <package>")),
            }
        }
    }
}

impl<R: BufRead> Iterator for SideReader<R> {
    type Item = Result<Side>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_side().transpose()
    }
}

type Boxed = Box<dyn BufRead + Send>;

/// A whole repository read back as packages: primary, filelists and other in
/// lockstep (createrepo writes them in the same order), joined by pkgid.
pub struct RepoReader {
    pub repomd: RepoMd,
    primary: PrimaryReader<Boxed>,
    filelists: Option<SideReader<Boxed>>,
    other: Option<SideReader<Boxed>>,
}

impl RepoReader {
    /// `repo` is the directory holding `repodata/`.
    pub fn open(repo: &Path) -> Result<RepoReader> {
        Self::open_repodata(&repo.join("repodata"))
    }

    /// `repodata` may live elsewhere than `repo/repodata` (`--update-md-path`).
    pub fn open_repodata(repodata: &Path) -> Result<RepoReader> {
        let md_path = repodata.join("repomd.xml");
        let f = std::fs::File::open(&md_path).map_err(|e| Error::io(&md_path, e))?;
        let repomd = RepoMd::parse(std::io::BufReader::new(f), &md_path.to_string_lossy())?;
        let base = repodata.parent().unwrap_or(repodata);
        let open = |kind: &str| -> Result<Option<(Boxed, String)>> {
            let Some(rec) = repomd.record(kind) else {
                return Ok(None);
            };
            let p = base.join(&rec.href);
            let r = crate::compress::open_read(&p).map_err(|e| Error::io(&p, e))?;
            Ok(Some((r, p.to_string_lossy().into_owned())))
        };
        let Some((p, pname)) = open("primary")? else {
            return Err(Error::Xml {
                file: md_path.to_string_lossy().into_owned(),
                problem: "no primary record".into(),
            });
        };
        Ok(RepoReader {
            primary: PrimaryReader::new(p, &pname),
            filelists: open("filelists")?.map(|(r, n)| SideReader::new(r, &n)),
            other: open("other")?.map(|(r, n)| SideReader::new(r, &n)),
            repomd,
        })
    }

    fn join(&mut self) -> Result<Option<(Package, Location)>> {
        let Some((mut p, loc)) = self.primary.next().transpose()? else {
            return Ok(None);
        };
        let mismatch = |which: &str, s: &Side, p: &Package| Error::Xml {
            file: which.to_owned(),
            problem: format!(
                "package {} ({}) does not follow primary's order (found {})",
                p.nevra(),
                p.checksum.hex,
                s.pkgid
            ),
        };
        if let Some(fl) = self.filelists.as_mut() {
            match fl.next().transpose()? {
                Some(s) if s.pkgid == p.checksum.hex => p.files = s.files,
                Some(s) => return Err(mismatch("filelists", &s, &p)),
                None => return Err(mismatch("filelists", &Side::default(), &p)),
            }
        }
        if let Some(ot) = self.other.as_mut() {
            match ot.next().transpose()? {
                Some(s) if s.pkgid == p.checksum.hex => p.changelogs = s.changelogs,
                Some(s) => return Err(mismatch("other", &s, &p)),
                None => return Err(mismatch("other", &Side::default(), &p)),
            }
        }
        Ok(Some((p, loc)))
    }
}

impl Iterator for RepoReader {
    type Item = Result<(Package, Location)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.join().transpose()
    }
}

/// No XML input panics the readers.
#[cfg(test)]
mod fuzz {
    use crate::{PrimaryReader, RepoMd, SideReader};
    use proptest::prelude::*;

    fn sample() -> String {
        concat!(
            "<?xml version=\"1.0\"?><metadata xmlns=\"http://linux.duke.edu/metadata/common\" ",
            "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"1\"><package type=\"rpm\">",
            "<name>a&amp;b</name><arch>x86_64</arch><version epoch=\"1\" ver=\"2\" rel=\"3\"/>",
            "<checksum type=\"sha256\" pkgid=\"YES\">00</checksum><summary>s &#xE1;</summary>",
            "<location href=\"a.rpm\"/><format><rpm:provides><rpm:entry name=\"x\" flags=\"EQ\" ",
            "epoch=\"0\" ver=\"1\"/></rpm:provides><file type=\"dir\">/etc/x</file></format>",
            "</package></metadata>"
        )
        .to_owned()
    }

    #[test]
    fn sample_parses() {
        let pkgs: Vec<_> = PrimaryReader::new(sample().as_bytes(), "p")
            .collect::<Result<_, _>>()
            .expect("parses");
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].0.name, "a&b");
        assert_eq!(pkgs[0].0.summary, "s á");
        assert_eq!(pkgs[0].0.epoch, 1);
        assert_eq!(pkgs[0].0.provides.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn mutated_xml_never_panics(edits in proptest::collection::vec((0usize..1000, any::<u8>()), 1..6), cut in 0usize..1000) {
            let mut b = sample().into_bytes();
            let len = b.len();
            for (i, v) in edits {
                b[i % len] = v;
            }
            b.truncate(cut.clamp(1, len));
            for r in PrimaryReader::new(&b[..], "p") { let _ = r; }
            for r in SideReader::new(&b[..], "f") { let _ = r; }
            let _ = RepoMd::parse(&b[..], "repomd");
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            for r in PrimaryReader::new(&b[..], "p") { let _ = r; }
            for r in SideReader::new(&b[..], "f") { let _ = r; }
            let _ = RepoMd::parse(&b[..], "repomd");
        }
    }
}
