//! The test phase: what pungi checks before calling a compose done. Every image images.json
//! lists exists with its recorded size; ISOs carry `CD001`, bootable ones an El Torito record,
//! bootable x86 ones the MBR of a hybrid image; disk images and archives start with their
//! format's magic (qcow2, xz, gzip, a raw disk's partition table); size limits hold; and images.json,
//! extra_files.json and every `.treeinfo` read back.

use std::path::Path;

use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_productmd::Images;

pub struct Test;

/// Problems found in one pass, reported together so one run shows them all.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn push(&mut self, m: String) {
        tracing::error!("{m}");
        self.0.push(m);
    }
}

fn check_images(ctx: &PhaseContext, images: &Images, f: &mut Findings) {
    let compose = ctx.compose.paths.compose_dir();
    for (variant, arch, image) in images.iter() {
        let path = compose.join(&image.path);
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) => {
                f.push(format!("{}: listed in images.json but {e}", image.path));
                continue;
            }
        };
        if size != image.size {
            f.push(format!(
                "{}: {size} bytes on disk, {} in images.json",
                image.path, image.size
            ));
        }
        if image.format == "iso" {
            match kiln_iso::headers::inspect(&path) {
                Err(e) => f.push(format!("{}: cannot read its header: {e}", image.path)),
                Ok(h) => {
                    if !h.iso9660 {
                        f.push(format!(
                            "{}: no ISO 9660 signature (CD001 at 0x8001)",
                            image.path
                        ));
                    }
                    if image.bootable && !h.el_torito {
                        f.push(format!(
                            "{}: bootable but has no El Torito boot record",
                            image.path
                        ));
                    }
                    if image.bootable
                        && matches!(image.arch.as_str(), "x86_64" | "i386" | "i686")
                        && !h.mbr
                    {
                        f.push(format!(
                            "{}: bootable x86 image without the hybrid MBR signature",
                            image.path
                        ));
                    }
                }
            }
        }
        if let Err(m) = check_magic(&path, &image.format) {
            f.push(format!("{}: {m}", image.path));
        }
        if image.kind == "dvd" && !image.unified {
            let limit = ctx
                .config
                .createiso_max_size
                .last_for(variant, &image.arch)
                .copied();
            let strict = ctx
                .config
                .createiso_max_size_is_strict
                .last_for(variant, &image.arch)
                == Some(&true);
            if let Some(limit) = limit.filter(|l| size > *l) {
                let m = format!(
                    "{}: {size} bytes, larger than createiso_max_size {limit}",
                    image.path
                );
                if strict {
                    f.push(m);
                } else {
                    tracing::warn!("{m}");
                }
            }
        }
        if image.unified {
            let limit = ctx
                .config
                .extra_isos
                .iter()
                .filter(|(re, _)| kiln_config::variant_matches(re, variant))
                .flat_map(|(_, blocks)| blocks.iter())
                .filter_map(|b| b.max_size)
                .min();
            if let Some(limit) = limit.filter(|l| size > *l) {
                tracing::warn!(
                    "{}: {size} bytes, larger than extra_isos max_size {limit} ({arch})",
                    image.path
                );
            }
        }
    }
}

/// The first bytes every image of a format starts with (what `file` and `qemu-img` look for);
/// an image that lacks them was cut short or mislabelled.
fn check_magic(path: &Path, format: &str) -> Result<(), String> {
    use std::io::Read;
    let expect: &[(usize, &[u8], &str)] = match format {
        "tar.xz" | "raw.xz" | "xz" => &[(0, b"\xFD7zXZ\0", "xz stream magic")],
        "tar.gz" | "tgz" | "gz" => &[(0, b"\x1F\x8B", "gzip magic")],
        "qcow2" => &[(0, b"QFI\xFB", "qcow2 magic")],
        // A raw disk has a partition table: the MBR signature (a GPT disk has its protective one).
        "raw" => &[(510, b"\x55\xAA", "MBR/GPT partition table signature")],
        _ => return Ok(()),
    };
    let mut head = [0u8; 512];
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("cannot read its header: {e}")),
        }
    }
    for (at, magic, what) in expect {
        if head.get(*at..at + magic.len()) != Some(*magic) {
            return Err(format!("format {format} but no {what} at byte {at}"));
        }
    }
    Ok(())
}

fn check_treeinfos(ctx: &PhaseContext, f: &mut Findings) {
    let compose = ctx.compose.paths.compose_dir();
    for entry in walkdir::WalkDir::new(&compose)
        .max_depth(4)
        .into_iter()
        .flatten()
    {
        if entry.file_name() != ".treeinfo" {
            continue;
        }
        let p = entry.path();
        match std::fs::read_to_string(p) {
            Err(e) => f.push(format!("{}: {e}", p.display())),
            Ok(text) => match kiln_productmd::ini::Ini::parse(&text, &p.display().to_string()) {
                Err(e) => f.push(e),
                Ok(ini) if ini.get("header", "type") != Some("productmd.treeinfo") => f.push(
                    format!("{}: [header] type is not productmd.treeinfo", p.display()),
                ),
                Ok(ini) if ini.get("tree", "arch").is_none() => {
                    f.push(format!("{}: no [tree] arch", p.display()))
                }
                Ok(_) => {}
            },
        }
    }
}

fn check_json(path: &Path, kind: &str, f: &mut Findings) {
    if !path.is_file() {
        return;
    }
    let doc: Result<serde_json::Value, String> = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    match doc {
        Err(e) => f.push(format!("{}: {e}", path.display())),
        Ok(v) if v["header"]["type"] != kind => {
            f.push(format!("{}: header type is not {kind}", path.display()))
        }
        Ok(_) => {}
    }
}

impl Phase for Test {
    fn name(&self) -> &'static str {
        "test"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["imagechecksum"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "createiso_max_size",
            "createiso_max_size_is_strict",
            "extra_isos",
        ]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut f = Findings::default();
        let meta = ctx.compose.paths.metadata_dir();
        let images_json = meta.join("images.json");
        if images_json.is_file() {
            match Images::load(&images_json) {
                Ok((_, images)) => check_images(ctx, &images, &mut f),
                Err(e) => f.push(e.to_string()),
            }
        }
        check_json(
            &meta.join("extra_files.json"),
            "productmd.extra_files",
            &mut f,
        );
        check_treeinfos(ctx, &mut f);
        if f.0.is_empty() {
            Ok(())
        } else {
            Err(PhaseError::msg(format!(
                "{} problem(s):\n  {}",
                f.0.len(),
                f.0.join("\n  ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_magic;

    #[test]
    fn formats_are_checked_by_their_magic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xz = dir.path().join("a.tar.xz");
        std::fs::write(&xz, b"\xFD7zXZ\0rest").expect("write");
        assert_eq!(check_magic(&xz, "tar.xz"), Ok(()));
        let err = check_magic(&xz, "qcow2").expect_err("xz is no qcow2");
        assert!(err.contains("qcow2 magic at byte 0"), "{err}");
        let mut disk = vec![0u8; 1024];
        disk[510] = 0x55;
        disk[511] = 0xAA;
        let raw = dir.path().join("disk.raw");
        std::fs::write(&raw, &disk).expect("write");
        assert_eq!(check_magic(&raw, "raw"), Ok(()));
        let short = dir.path().join("short.raw");
        std::fs::write(&short, b"\x55").expect("write");
        assert!(check_magic(&short, "raw").is_err(), "a cut disk");
        assert_eq!(
            check_magic(&short, "iso"),
            Ok(()),
            "ISOs are checked elsewhere"
        );
    }
}
