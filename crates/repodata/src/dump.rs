//! primary/filelists/other package chunks, byte-compatible with createrepo_c.
//! Each chunk is independent, so packages are rendered in parallel and a
//! previous run's chunks can be reused for unchanged packages.

use std::collections::HashSet;
use std::fmt::Write;

use kiln_rpm::{Dependency, Package};

use crate::escape::{attr, text};

pub const PRIMARY_NS: &str = "http://linux.duke.edu/metadata/common";
pub const FILELISTS_NS: &str = "http://linux.duke.edu/metadata/filelists";
pub const OTHER_NS: &str = "http://linux.duke.edu/metadata/other";
pub const RPM_NS: &str = "http://linux.duke.edu/metadata/rpm";

/// Where a package lives relative to the repository (and an optional `xml:base`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub href: String,
    pub base: Option<String>,
}

/// Options that change the rendered chunks.
#[derive(Clone, Debug)]
pub struct DumpOptions {
    /// Newest changelog entries kept in other.xml (createrepo_c default 10).
    pub changelog_limit: usize,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            changelog_limit: 10,
        }
    }
}

/// createrepo's primary file filter: what yum used to need without filelists.
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

pub fn primary_header(n: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"{PRIMARY_NS}\" xmlns:rpm=\"{RPM_NS}\" packages=\"{n}\">\n"
    )
}
pub const PRIMARY_FOOTER: &str = "</metadata>";

pub fn filelists_header(n: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"{FILELISTS_NS}\" packages=\"{n}\">\n"
    )
}
pub const FILELISTS_FOOTER: &str = "</filelists>";

pub fn other_header(n: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"{OTHER_NS}\" packages=\"{n}\">\n"
    )
}
pub const OTHER_FOOTER: &str = "</otherdata>";

fn elem(out: &mut String, indent: &str, name: &str, value: &str) {
    out.push_str(indent);
    out.push('<');
    out.push_str(name);
    out.push('>');
    text(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn version(out: &mut String, p: &Package) {
    let _ = write!(out, "  <version epoch=\"{}\" ver=\"", p.epoch);
    attr(out, &p.version);
    out.push_str("\" rel=\"");
    attr(out, &p.release);
    out.push_str("\"/>\n");
}

/// The requires createrepo_c lists: without `rpmlib(...)`, without names the
/// package provides itself or its own primary files, without exact
/// duplicates, and with only the highest `libc.so.6(GLIBC_x)` kept (last).
pub fn filtered_requires(p: &Package) -> Vec<&Dependency> {
    let provided: HashSet<&str> = p.provides.iter().map(|d| d.name.as_str()).collect();
    let own_files: HashSet<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
    let mut seen: HashSet<(&str, Option<kiln_rpm::Cmp>, String, bool)> = HashSet::new();
    let mut out = Vec::new();
    let mut libc: Option<&Dependency> = None;
    for d in &p.requires {
        let n = d.name.as_str();
        if n.starts_with("rpmlib(") {
            continue;
        }
        if n.starts_with('/') && own_files.contains(n) && is_primary_file(n) {
            continue;
        }
        if provided.contains(n) {
            continue;
        }
        if !seen.insert((n, d.flags, d.evr(), d.pre)) {
            continue;
        }
        if n.starts_with("libc.so.6") {
            if libc.is_none_or(|cur| libc_version(n) > libc_version(&cur.name)) {
                libc = Some(d);
            }
            continue;
        }
        out.push(d);
    }
    out.extend(libc);
    out
}

/// Orders `libc.so.6(GLIBC_2.28)(64bit)` names by the GLIBC version.
fn libc_version(name: &str) -> LibcKey {
    let inner = name
        .strip_prefix("libc.so.6(")
        .and_then(|r| r.split(')').next())
        .unwrap_or("");
    LibcKey(inner.strip_prefix("GLIBC_").unwrap_or(inner).to_owned())
}

#[derive(PartialEq, Eq)]
struct LibcKey(String);
impl PartialOrd for LibcKey {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(kiln_rpm::evr::vercmp(&self.0, &o.0))
    }
}

fn deps<'a>(
    out: &mut String,
    tag: &str,
    list: impl IntoIterator<Item = &'a Dependency>,
    with_pre: bool,
) {
    let mut list = list.into_iter().peekable();
    if list.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "    <rpm:{tag}>");
    for d in list {
        out.push_str("      <rpm:entry name=\"");
        attr(out, &d.name);
        out.push('"');
        if let Some(f) = d.flags {
            let _ = write!(out, " flags=\"{}\" epoch=\"", f.as_str());
            attr(out, d.epoch.as_deref().unwrap_or("0"));
            out.push('"');
            if let Some(v) = &d.version {
                out.push_str(" ver=\"");
                attr(out, v);
                out.push('"');
            }
            if let Some(r) = &d.release {
                out.push_str(" rel=\"");
                attr(out, r);
                out.push('"');
            }
        }
        if with_pre && d.pre {
            out.push_str(" pre=\"1\"");
        }
        out.push_str("/>\n");
    }
    let _ = writeln!(out, "    </rpm:{tag}>");
}

fn file(out: &mut String, indent: &str, f: &kiln_rpm::FileEntry) {
    out.push_str(indent);
    match f.kind.as_attr() {
        Some(t) => {
            let _ = write!(out, "<file type=\"{t}\">");
        }
        None => out.push_str("<file>"),
    }
    text(out, &f.path);
    out.push_str("</file>\n");
}

pub fn primary(out: &mut String, p: &Package, loc: &Location) {
    out.push_str("<package type=\"rpm\">\n");
    elem(out, "  ", "name", &p.name);
    elem(out, "  ", "arch", &p.arch);
    version(out, p);
    let _ = writeln!(
        out,
        "  <checksum type=\"{}\" pkgid=\"YES\">{}</checksum>",
        p.checksum.kind, p.checksum.hex
    );
    elem(out, "  ", "summary", &p.summary);
    elem(out, "  ", "description", &p.description);
    elem(out, "  ", "packager", &p.packager);
    elem(out, "  ", "url", &p.url);
    let _ = writeln!(
        out,
        "  <time file=\"{}\" build=\"{}\"/>",
        p.file_time, p.build_time
    );
    let _ = writeln!(
        out,
        "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
        p.size_package, p.size_installed, p.size_archive
    );
    out.push_str("  <location ");
    if let Some(b) = &loc.base {
        out.push_str("xml:base=\"");
        attr(out, b);
        out.push_str("\" ");
    }
    out.push_str("href=\"");
    attr(out, &loc.href);
    out.push_str("\"/>\n");
    out.push_str("  <format>\n");
    elem(out, "    ", "rpm:license", &p.license);
    elem(out, "    ", "rpm:vendor", &p.vendor);
    elem(out, "    ", "rpm:group", &p.group);
    elem(out, "    ", "rpm:buildhost", &p.buildhost);
    elem(
        out,
        "    ",
        "rpm:sourcerpm",
        p.sourcerpm.as_deref().unwrap_or(""),
    );
    let _ = writeln!(
        out,
        "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
        p.header_start, p.header_end
    );
    deps(out, "provides", &p.provides, false);
    deps(out, "requires", filtered_requires(p), true);
    deps(out, "conflicts", &p.conflicts, false);
    deps(out, "obsoletes", &p.obsoletes, false);
    deps(out, "suggests", &p.suggests, false);
    deps(out, "enhances", &p.enhances, false);
    deps(out, "recommends", &p.recommends, false);
    deps(out, "supplements", &p.supplements, false);
    for f in p.files.iter().filter(|f| is_primary_file(&f.path)) {
        file(out, "    ", f);
    }
    out.push_str("  </format>\n</package>\n");
}

fn pkg_open(out: &mut String, p: &Package) {
    let _ = write!(out, "<package pkgid=\"{}\" name=\"", p.checksum.hex);
    attr(out, &p.name);
    out.push_str("\" arch=\"");
    attr(out, &p.arch);
    out.push_str("\">\n");
    version(out, p);
}

pub fn filelists(out: &mut String, p: &Package) {
    pkg_open(out, p);
    for f in &p.files {
        file(out, "  ", f);
    }
    out.push_str("</package>\n");
}

pub fn other(out: &mut String, p: &Package, opts: &DumpOptions) {
    pkg_open(out, p);
    let n = p.changelogs.len().min(opts.changelog_limit);
    // createrepo_c moves an entry dated like the one before it one second
    // later, so the order survives sorting by date.
    let mut last = None;
    for c in p.changelogs[..n].iter().rev() {
        let date = if last == Some(c.date) {
            c.date + 1
        } else {
            c.date
        };
        last = Some(date);
        out.push_str("  <changelog author=\"");
        attr(out, &c.author);
        let _ = write!(out, "\" date=\"{date}\">");
        text(out, &c.text);
        out.push_str("</changelog>\n");
    }
    out.push_str("</package>\n");
}
