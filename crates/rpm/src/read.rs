//! Reading one RPM: lead, signature header and main header through the `rpm`
//! crate's header-only `PackageMetadata`, hashing the whole file in the same
//! pass. The payload is streamed into the digest, never held in memory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use rpm::{IndexSignatureTag, IndexTag, PackageMetadata};

use crate::error::RpmError;
use crate::hash::{Hasher, TeeReader};
use crate::package::{Changelog, ChecksumKind, Cmp, Dependency, FileEntry, FileKind, Package};
use crate::raw::RawHeader;
use crate::sigkey;

const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// librpm's limits (`hdrblobVerifyInfo`): more is a corrupt or hostile header.
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

/// Read a package file's header and checksum it in one pass.
pub fn read_package(path: impl AsRef<Path>, kind: ChecksumKind) -> Result<Package, RpmError> {
    let path = path.as_ref();
    let io_err = |source| RpmError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    read_package_from(file, path, kind, mtime)
}

/// Read a package from any reader; `path` only names it in errors and
/// `mtime` becomes `file_time`. The reader is consumed to its end.
pub fn read_package_from(
    reader: impl Read,
    path: &Path,
    kind: ChecksumKind,
    mtime: u64,
) -> Result<Package, RpmError> {
    let mut tee = TeeReader {
        inner: BufReader::with_capacity(128 * 1024, reader),
        hasher: Hasher::new(kind),
        consumed: 0,
    };
    let headers = read_headers(&mut tee, path)?;
    let md = PackageMetadata::parse(&mut &headers[..]).map_err(|e| RpmError::Header {
        path: path.to_owned(),
        problem: e.to_string(),
    })?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match tee.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(RpmError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    let size = tee.consumed;
    let checksum = tee.hasher.finish();
    // The rpm crate is not a validator (rpm-rs#278); its getters index into
    // the store, so a panic there is turned into an error naming the file.
    let main_header = headers
        .get(md.get_package_segment_offsets().header as usize..)
        .unwrap_or(&[]);
    let pkg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut p = extract(&md, path)?;
        if let Some(raw) = RawHeader::new(main_header) {
            fix_latin1(&mut p, &raw);
        }
        Ok::<_, RpmError>(p)
    }))
    .map_err(|_| RpmError::Header {
        path: path.to_owned(),
        problem: "header data is inconsistent".into(),
    })??;
    Ok(Package {
        size_package: size,
        file_time: mtime,
        checksum,
        ..pkg
    })
}

fn read_exact(
    r: &mut impl Read,
    buf: &mut [u8],
    path: &Path,
    what: &'static str,
) -> Result<(), RpmError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            RpmError::Truncated {
                path: path.to_owned(),
                what,
            }
        } else {
            RpmError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })
}

/// Lead + signature header (+ padding) + main header, checked for the
/// structural invariants librpm enforces before anything indexes into them.
fn read_headers(r: &mut impl Read, path: &Path) -> Result<Vec<u8>, RpmError> {
    let mut out = vec![0u8; 96];
    match r.read_exact(&mut out) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(RpmError::NotRpm {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(RpmError::Io {
                path: path.to_owned(),
                source,
            });
        }
    }
    if out[..4] != LEAD_MAGIC {
        return Err(RpmError::NotRpm {
            path: path.to_owned(),
        });
    }
    read_header(r, path, &mut out, "signature header", true)?;
    read_header(r, path, &mut out, "header", false)?;
    Ok(out)
}

fn read_header(
    r: &mut impl Read,
    path: &Path,
    out: &mut Vec<u8>,
    what: &'static str,
    pad: bool,
) -> Result<(), RpmError> {
    let mut intro = [0u8; 16];
    read_exact(r, &mut intro, path, what)?;
    if intro[..4] != HEADER_MAGIC {
        return Err(RpmError::BadMagic {
            path: path.to_owned(),
            what,
        });
    }
    let malformed = |problem: String| RpmError::Malformed {
        path: path.to_owned(),
        what,
        problem,
    };
    let count = u32::from_be_bytes([intro[8], intro[9], intro[10], intro[11]]);
    let dlen = u32::from_be_bytes([intro[12], intro[13], intro[14], intro[15]]);
    if count == 0 || count > MAX_TAGS {
        return Err(malformed(format!("{count} tags (allowed 1..={MAX_TAGS})")));
    }
    if dlen > MAX_DATA {
        return Err(malformed(format!("{dlen} data bytes (allowed {MAX_DATA})")));
    }
    let index_len = count as usize * 16;
    let padding = if pad { (8 - dlen as usize % 8) % 8 } else { 0 };
    let start = out.len();
    out.extend_from_slice(&intro);
    out.resize(start + 16 + index_len + dlen as usize + padding, 0);
    read_exact(r, &mut out[start + 16..], path, what)?;
    let index = &out[start + 16..start + 16 + index_len];
    let store = &out[start + 16 + index_len..start + 16 + index_len + dlen as usize];
    check_index(index, store).map_err(malformed)
}

fn check_index(index: &[u8], store: &[u8]) -> Result<(), String> {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    for e in index.chunks_exact(16) {
        let (tag, ty, off, n) = (be(&e[0..]), be(&e[4..]), be(&e[8..]), be(&e[12..]));
        let bad = |p: &str| Err(format!("tag {tag}: {p}"));
        if off as usize > store.len() || (off as usize == store.len() && n > 0 && ty != 0) {
            return bad(&format!(
                "offset {off} outside the {}-byte store",
                store.len()
            ));
        }
        if n > MAX_DATA {
            return bad(&format!("count {n} too large"));
        }
        let rest = &store[off as usize..];
        let width = match ty {
            0 => 0,
            1 | 2 | 7 => 1,
            3 => 2,
            4 => 4,
            5 => 8,
            6 | 8 | 9 => {
                if ty == 6 && n != 1 {
                    return bad(&format!("string with count {n}"));
                }
                let mut p = rest;
                for _ in 0..n {
                    match p.iter().position(|&b| b == 0) {
                        Some(i) => p = &p[i + 1..],
                        None => return bad("unterminated string"),
                    }
                }
                continue;
            }
            _ => return bad(&format!("unknown data type {ty}")),
        };
        if (n as u64) * width > rest.len() as u64 {
            return bad(&format!("{n} items run past the store"));
        }
    }
    Ok(())
}

fn opt_str(r: Result<&str, rpm::Error>) -> String {
    r.map(str::to_owned).unwrap_or_default()
}

fn extract(md: &PackageMetadata, path: &Path) -> Result<Package, RpmError> {
    let need = |r: Result<&str, rpm::Error>, tag: &str| {
        r.map(str::to_owned).map_err(|e| RpmError::Header {
            path: path.to_owned(),
            problem: format!("{tag}: {e}"),
        })
    };
    let h = &md.header;
    let is_source = md.is_source_package();
    let arch = if is_source {
        if h.entry_is_present(IndexTag::RPMTAG_NOSOURCE)
            || h.entry_is_present(IndexTag::RPMTAG_NOPATCH)
        {
            "nosrc".to_owned()
        } else {
            "src".to_owned()
        }
    } else {
        opt_str(md.get_arch())
    };
    let offsets = md.get_package_segment_offsets();
    let size_archive = h
        .get_entry_data_as_u64(IndexTag::RPMTAG_PAYLOADSIZEALT)
        .or_else(|_| {
            md.signature
                .get_entry_data_as_u64(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
        })
        .or_else(|_| {
            md.signature
                .get_entry_data_as_u32(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE)
                .map(u64::from)
        })
        .unwrap_or(0);
    let deps = |tags: (IndexTag, IndexTag, IndexTag)| deps(md, tags, path);
    use IndexTag as T;
    Ok(Package {
        name: need(md.get_name(), "NAME")?,
        epoch: md.get_epoch().unwrap_or(0),
        version: need(md.get_version(), "VERSION")?,
        release: need(md.get_release(), "RELEASE")?,
        arch,
        is_source,
        summary: opt_str(md.get_summary()),
        description: opt_str(md.get_description()),
        url: opt_str(md.get_url()),
        license: opt_str(md.get_license()),
        vendor: opt_str(md.get_vendor()),
        group: opt_str(md.get_group()),
        buildhost: opt_str(md.get_build_host()),
        sourcerpm: if is_source {
            None
        } else {
            md.get_source_rpm().ok().map(str::to_owned)
        },
        packager: opt_str(md.get_packager()),
        build_time: md.get_build_time().unwrap_or(0),
        file_time: 0,
        header_start: offsets.header,
        header_end: offsets.payload,
        size_package: 0,
        size_installed: md.get_installed_size().unwrap_or(0),
        size_archive,
        provides: deps((
            T::RPMTAG_PROVIDENAME,
            T::RPMTAG_PROVIDEFLAGS,
            T::RPMTAG_PROVIDEVERSION,
        ))?,
        requires: deps((
            T::RPMTAG_REQUIRENAME,
            T::RPMTAG_REQUIREFLAGS,
            T::RPMTAG_REQUIREVERSION,
        ))?,
        conflicts: deps((
            T::RPMTAG_CONFLICTNAME,
            T::RPMTAG_CONFLICTFLAGS,
            T::RPMTAG_CONFLICTVERSION,
        ))?,
        obsoletes: deps((
            T::RPMTAG_OBSOLETENAME,
            T::RPMTAG_OBSOLETEFLAGS,
            T::RPMTAG_OBSOLETEVERSION,
        ))?,
        recommends: deps((
            T::RPMTAG_RECOMMENDNAME,
            T::RPMTAG_RECOMMENDFLAGS,
            T::RPMTAG_RECOMMENDVERSION,
        ))?,
        suggests: deps((
            T::RPMTAG_SUGGESTNAME,
            T::RPMTAG_SUGGESTFLAGS,
            T::RPMTAG_SUGGESTVERSION,
        ))?,
        supplements: deps((
            T::RPMTAG_SUPPLEMENTNAME,
            T::RPMTAG_SUPPLEMENTFLAGS,
            T::RPMTAG_SUPPLEMENTVERSION,
        ))?,
        enhances: deps((
            T::RPMTAG_ENHANCENAME,
            T::RPMTAG_ENHANCEFLAGS,
            T::RPMTAG_ENHANCEVERSION,
        ))?,
        files: files(md, path)?,
        changelogs: changelogs(md),
        checksum: Default::default(),
        sigkey: sigkey(md),
        exclusive_arch: h
            .get_entry_data_as_string_array(T::RPMTAG_EXCLUSIVEARCH)
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        exclude_arch: h
            .get_entry_data_as_string_array(T::RPMTAG_EXCLUDEARCH)
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    })
}

/// Scriptlet-time dependencies, which createrepo marks `pre="1"`.
/// PREREQ, SCRIPT_PRE and SCRIPT_POST, as createrepo_c 0.17 (the oracle here)
/// decides; createrepo_c 1.x adds PRETRANS and POSTTRANS.
const PRE_BITS: u32 = (1 << 6) | (1 << 9) | (1 << 10);

fn deps(
    md: &PackageMetadata,
    (names, flags, versions): (IndexTag, IndexTag, IndexTag),
    path: &Path,
) -> Result<Vec<Dependency>, RpmError> {
    let h = &md.header;
    let names_tag_is_requires = names == IndexTag::RPMTAG_REQUIRENAME;
    let names = match h.get_entry_data_as_string_array(names) {
        Ok(n) => n,
        Err(rpm::Error::TagNotFound(_)) => return Ok(Vec::new()),
        Err(e) => {
            return Err(RpmError::Header {
                path: path.to_owned(),
                problem: format!("{names:?}: {e}"),
            });
        }
    };
    let flags = h.get_entry_data_as_u32_array(flags).unwrap_or_default();
    let versions = h
        .get_entry_data_as_string_array(versions)
        .unwrap_or_default();
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let f = flags.get(i).copied().unwrap_or(0);
            let v = versions.get(i).copied().unwrap_or("");
            let cmp = Cmp::from_sense(f);
            let mut d = match cmp {
                Some(c) if !v.is_empty() => Dependency::versioned(*name, c, v),
                _ => Dependency::unversioned(*name),
            };
            // createrepo only marks requires as pre.
            d.pre = names_tag_is_requires && f & PRE_BITS != 0;
            d
        })
        .collect())
}

fn files(md: &PackageMetadata, path: &Path) -> Result<Vec<FileEntry>, RpmError> {
    let h = &md.header;
    let basenames = match h.get_entry_data_as_string_array(IndexTag::RPMTAG_BASENAMES) {
        Ok(b) => b,
        Err(rpm::Error::TagNotFound(_)) => return Ok(Vec::new()),
        Err(e) => {
            return Err(RpmError::Header {
                path: path.to_owned(),
                problem: format!("BASENAMES: {e}"),
            });
        }
    };
    let bad = |p: String| RpmError::Header {
        path: path.to_owned(),
        problem: p,
    };
    let dirs = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_DIRNAMES)
        .map_err(|e| bad(format!("DIRNAMES: {e}")))?;
    let dirindexes = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_DIRINDEXES)
        .map_err(|e| bad(format!("DIRINDEXES: {e}")))?;
    let modes = h
        .get_entry_data_as_u16_array(IndexTag::RPMTAG_FILEMODES)
        .unwrap_or_default();
    let fflags = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_FILEFLAGS)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(basenames.len());
    for (i, base) in basenames.iter().enumerate() {
        let di = *dirindexes
            .get(i)
            .ok_or_else(|| bad(format!("file {i} has no DIRINDEXES entry")))?;
        let dir = dirs
            .get(di as usize)
            .ok_or_else(|| bad(format!("file {base}: directory index {di} out of range")))?;
        let mode = modes.get(i).copied().unwrap_or(0);
        let flags = fflags.get(i).copied().unwrap_or(0);
        // createrepo checks the directory bit before the ghost flag.
        let kind = if mode & 0o170000 == 0o040000 {
            FileKind::Dir
        } else if flags & (1 << 6) != 0 {
            FileKind::Ghost
        } else {
            FileKind::File
        };
        out.push(FileEntry {
            path: format!("{dir}{base}"),
            kind,
        });
    }
    Ok(out)
}

fn changelogs(md: &PackageMetadata) -> Vec<Changelog> {
    let h = &md.header;
    let names = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGNAME)
        .unwrap_or_default();
    let times = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_CHANGELOGTIME)
        .unwrap_or_default();
    let texts = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGTEXT)
        .unwrap_or_default();
    names
        .iter()
        .zip(times.iter())
        .zip(texts.iter())
        .map(|((a, t), x)| Changelog {
            author: (*a).to_owned(),
            date: u64::from(*t),
            text: (*x).to_owned(),
        })
        .collect()
}

fn sigkey(md: &PackageMetadata) -> Option<String> {
    use IndexSignatureTag as S;
    for tag in [
        S::RPMSIGTAG_RSA,
        S::RPMSIGTAG_DSA,
        S::RPMSIGTAG_PGP,
        S::RPMSIGTAG_GPG,
    ] {
        if let Ok(bytes) = md.signature.get_entry_data_as_binary(tag)
            && let Some(k) = sigkey::from_packet(bytes)
        {
            return Some(k);
        }
    }
    // v6 packages carry base64 OpenPGP signatures in the signature header.
    let sigs = md.raw_signatures().ok()?;
    sigs.iter().find_map(|s| sigkey::from_packet(s))
}

/// Replace U+FFFD (the `rpm` crate's lossy decoding of non-UTF-8 headers) by
/// the Latin-1 reading of the original bytes, as createrepo_c does.
fn fix_latin1(p: &mut Package, raw: &RawHeader) {
    const R: char = '\u{fffd}';
    let fix = |s: &mut String, tag: IndexTag, i: usize| {
        if s.contains(R)
            && let Some(v) = raw.string(tag as u32, i)
        {
            *s = v;
        }
    };
    use IndexTag as T;
    fix(&mut p.summary, T::RPMTAG_SUMMARY, 0);
    fix(&mut p.description, T::RPMTAG_DESCRIPTION, 0);
    fix(&mut p.packager, T::RPMTAG_PACKAGER, 0);
    fix(&mut p.vendor, T::RPMTAG_VENDOR, 0);
    fix(&mut p.license, T::RPMTAG_LICENSE, 0);
    fix(&mut p.group, T::RPMTAG_GROUP, 0);
    fix(&mut p.url, T::RPMTAG_URL, 0);
    for (list, tag) in [
        (&mut p.provides, T::RPMTAG_PROVIDENAME),
        (&mut p.requires, T::RPMTAG_REQUIRENAME),
        (&mut p.conflicts, T::RPMTAG_CONFLICTNAME),
        (&mut p.obsoletes, T::RPMTAG_OBSOLETENAME),
        (&mut p.recommends, T::RPMTAG_RECOMMENDNAME),
        (&mut p.suggests, T::RPMTAG_SUGGESTNAME),
        (&mut p.supplements, T::RPMTAG_SUPPLEMENTNAME),
        (&mut p.enhances, T::RPMTAG_ENHANCENAME),
    ] {
        for (i, d) in list.iter_mut().enumerate() {
            fix(&mut d.name, tag, i);
        }
    }
    for (i, c) in p.changelogs.iter_mut().enumerate() {
        fix(&mut c.author, T::RPMTAG_CHANGELOGNAME, i);
        fix(&mut c.text, T::RPMTAG_CHANGELOGTEXT, i);
    }
}
