//! repomd.xml: the index of a repository's metadata files.

use std::fmt::Write as _;
use std::io::BufRead;

use kiln_rpm::{Checksum, ChecksumKind};

use crate::Result;
use crate::escape::{attr, text};
use crate::xmlread::{Ev, XmlReader, attr as xattr};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoMd {
    pub revision: String,
    pub content_tags: Vec<String>,
    pub repo_tags: Vec<String>,
    /// `(cpeid, name)` pairs.
    pub distro_tags: Vec<(Option<String>, String)>,
    pub records: Vec<Record>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// `primary`, `filelists`, `other`, `group`, `group_gz`, `modules`, `updateinfo`, ...
    pub kind: String,
    pub checksum: Checksum,
    pub open_checksum: Option<Checksum>,
    /// Relative to the repository root: `repodata/...`.
    pub href: String,
    pub timestamp: u64,
    pub size: u64,
    pub open_size: Option<u64>,
    pub database_version: Option<u32>,
}

/// createrepo_c's record order: the three package documents first.
fn rank(kind: &str) -> usize {
    [
        "primary",
        "filelists",
        "other",
        "primary_db",
        "filelists_db",
        "other_db",
    ]
    .iter()
    .position(|k| *k == kind)
    .unwrap_or(6)
}

impl RepoMd {
    pub fn record(&self, kind: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.kind == kind)
    }

    /// Replace or add a record, keeping createrepo_c's order.
    pub fn set(&mut self, rec: Record) {
        self.records.retain(|r| r.kind != rec.kind);
        self.records.push(rec);
        self.records.sort_by_key(|r| rank(&r.kind));
    }

    pub fn to_xml(&self) -> String {
        let mut o = String::with_capacity(2048);
        o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n");
        o.push_str("  <revision>");
        text(&mut o, &self.revision);
        o.push_str("</revision>\n");
        if !(self.content_tags.is_empty()
            && self.repo_tags.is_empty()
            && self.distro_tags.is_empty())
        {
            o.push_str("  <tags>\n");
            for t in &self.content_tags {
                o.push_str("    <content>");
                text(&mut o, t);
                o.push_str("</content>\n");
            }
            for t in &self.repo_tags {
                o.push_str("    <repo>");
                text(&mut o, t);
                o.push_str("</repo>\n");
            }
            for (cpe, name) in &self.distro_tags {
                o.push_str("    <distro");
                if let Some(c) = cpe {
                    o.push_str(" cpeid=\"");
                    attr(&mut o, c);
                    o.push('"');
                }
                o.push('>');
                text(&mut o, name);
                o.push_str("</distro>\n");
            }
            o.push_str("  </tags>\n");
        }
        for r in &self.records {
            o.push_str("  <data type=\"");
            attr(&mut o, &r.kind);
            o.push_str("\">\n");
            let _ = writeln!(
                o,
                "    <checksum type=\"{}\">{}</checksum>",
                r.checksum.kind, r.checksum.hex
            );
            if let Some(c) = &r.open_checksum {
                let _ = writeln!(
                    o,
                    "    <open-checksum type=\"{}\">{}</open-checksum>",
                    c.kind, c.hex
                );
            }
            o.push_str("    <location href=\"");
            attr(&mut o, &r.href);
            o.push_str("\"/>\n");
            let _ = writeln!(o, "    <timestamp>{}</timestamp>", r.timestamp);
            let _ = writeln!(o, "    <size>{}</size>", r.size);
            if let Some(s) = r.open_size {
                let _ = writeln!(o, "    <open-size>{s}</open-size>");
            }
            if let Some(v) = r.database_version {
                let _ = writeln!(o, "    <database_version>{v}</database_version>");
            }
            o.push_str("  </data>\n");
        }
        o.push_str("</repomd>\n");
        o
    }

    /// Parse repomd.xml; unknown elements are skipped.
    pub fn parse(input: impl BufRead, name: &str) -> Result<RepoMd> {
        let mut r = XmlReader::new(input, name);
        let mut md = RepoMd::default();
        let mut cur: Option<Record> = None;
        let mut sum_type: Option<String> = None;
        let mut cpeid: Option<String> = None;
        let mut text = String::new();
        let mut seen_root = false;
        loop {
            match r.next()? {
                Ev::Start { name, attrs, .. } => {
                    text.clear();
                    match name.as_slice() {
                        b"repomd" => seen_root = true,
                        b"data" => {
                            cur = Some(Record {
                                kind: xattr(&attrs, b"type").unwrap_or_default().to_owned(),
                                ..Record::default()
                            })
                        }
                        b"location" => {
                            if let Some(c) = cur.as_mut() {
                                c.href = xattr(&attrs, b"href").unwrap_or_default().to_owned();
                            }
                        }
                        b"checksum" | b"open-checksum" => {
                            sum_type = xattr(&attrs, b"type").map(str::to_owned)
                        }
                        b"distro" => cpeid = xattr(&attrs, b"cpeid").map(str::to_owned),
                        _ => {}
                    }
                }
                Ev::Text(t) => text.push_str(&t),
                Ev::End(name) => {
                    let v = std::mem::take(&mut text).trim().to_owned();
                    let num = |v: &str| {
                        v.parse::<u64>()
                            .map_err(|_| r.error(format!("not a number: {v:?}")))
                    };
                    match (name.as_slice(), cur.as_mut()) {
                        (b"revision", _) => md.revision = v,
                        (b"content", _) => md.content_tags.push(v),
                        (b"repo", _) => md.repo_tags.push(v),
                        (b"distro", _) => md.distro_tags.push((cpeid.take(), v)),
                        (b"checksum", Some(c)) => c.checksum = sum(sum_type.as_deref(), v),
                        (b"open-checksum", Some(c)) => {
                            c.open_checksum = Some(sum(sum_type.as_deref(), v))
                        }
                        (b"timestamp", Some(c)) => c.timestamp = num(&v)?,
                        (b"size", Some(c)) => c.size = num(&v)?,
                        (b"open-size", Some(c)) => c.open_size = Some(num(&v)?),
                        (b"database_version", Some(c)) => c.database_version = v.parse().ok(),
                        (b"data", _) => md.records.extend(cur.take()),
                        _ => {}
                    }
                }
                Ev::Eof => break,
            }
        }
        if !seen_root {
            return Err(r.error("no <repomd> element"));
        }
        Ok(md)
    }
}

fn sum(kind: Option<&str>, hex: String) -> Checksum {
    Checksum {
        kind: kind.and_then(ChecksumKind::parse).unwrap_or_default(),
        hex,
    }
}
