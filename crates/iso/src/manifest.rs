//! The `.manifest` next to each ISO: the sorted paths inside it, as pungi's
//! `xorriso -dev X --find | tail -n+2 | tr -d "'" | cut -c2- | sort` gives them.

use std::ffi::OsString;
use std::path::Path;

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
    fn manifest_matches_pungi_pipeline() {
        let find = "'.'\n'./sub'\n'./a'\n'./sub/b c'\n";
        assert_eq!(manifest_from_find(find), "/a\n/sub\n/sub/b c\n");
    }
}
