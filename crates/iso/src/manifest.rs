//! The `.manifest` next to each ISO: the sorted paths inside it, as pungi's
//! `xorriso -dev X --find | tail -n+2 | tr -d "'" | cut -c2- | sort` gives them.
//!
//! kiln writes it from what it put in ([`manifest_from_grafts`]), without reading the image;
//! [`find_argv`] and [`manifest_from_find`] are pungi's way, kept as the tests' judge.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Boot;

/// The manifest of an image made from these graft entries (path in the ISO, source) with this
/// boot setup: every file, every folder above one, and the boot catalog xorriso adds; without
/// `lost+found`, which kiln's command line excludes.
pub fn manifest_from_grafts(entries: &[(String, PathBuf)], boot: &Boot) -> String {
    let mut paths = BTreeSet::new();
    let files = entries
        .iter()
        .map(|(iso, _)| iso.as_str())
        .chain(boot.catalog());
    for file in files {
        let file = file.trim_start_matches('/');
        if file == "lost+found" || file.starts_with("lost+found/") || file.is_empty() {
            continue;
        }
        let mut at = 0;
        while let Some(slash) = file[at..].find('/') {
            paths.insert(format!("/{}", &file[..at + slash]));
            at += slash + 1;
        }
        paths.insert(format!("/{file}"));
    }
    // A BTreeSet of Strings sorts bytewise, as `sort` does under LC_ALL=C.
    let mut out = String::new();
    for p in paths {
        out.push_str(&p);
        out.push('\n');
    }
    out
}

/// `xorriso -indev <iso> -find` (read-only; pungi's `-dev` opens the image for writing).
pub fn find_argv(xorriso: &Path, iso: &Path) -> Vec<OsString> {
    vec![xorriso.into(), "-indev".into(), iso.into(), "-find".into()]
}

/// The manifest text from `-find` output (`'.'`, `'./a'`, ...): the root dropped, quotes and
/// the leading `.` removed, sorted bytewise as `sort` does under LC_ALL=C.
pub fn manifest_from_find(stdout: &str) -> String {
    let mut lines: Vec<String> = stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let unq = l
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .unwrap_or(l);
            // xorriso quotes an embedded ' as '"'"'.
            let unq = unq.replace("'\"'\"'", "'");
            let p = unq.strip_prefix('.')?;
            (!p.is_empty()).then(|| p.to_owned())
        })
        .collect();
    lines.sort();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafts_give_every_file_its_folders_and_the_boot_catalog() {
        let entries = vec![
            ("Packages/m/a.rpm".to_owned(), PathBuf::from("/t/a.rpm")),
            ("GPL".to_owned(), PathBuf::from("/t/GPL")),
            ("isolinux/isolinux.bin".to_owned(), PathBuf::from("/t/i")),
        ];
        let boot = Boot::X86 {
            bios: true,
            uefi: false,
            hybrid_mbr: None,
        };
        assert_eq!(
            manifest_from_grafts(&entries, &boot),
            "/GPL\n/Packages\n/Packages/m\n/Packages/m/a.rpm\n/isolinux\n/isolinux/boot.cat\n/isolinux/isolinux.bin\n"
        );
        assert_eq!(
            manifest_from_grafts(&entries[1..2], &Boot::Aarch64),
            "/GPL\n/boot.catalog\n"
        );
    }

    #[test]
    fn manifest_matches_pungi_pipeline() {
        let find = "'.'\n'./sub'\n'./a'\n'./sub/b c'\n";
        assert_eq!(manifest_from_find(find), "/a\n/sub\n/sub/b c\n");
    }
}
