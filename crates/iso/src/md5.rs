//! Implanted MD5 (isomd5sum) helpers: which labels ask for `--supported-iso`, and reading
//! `checkisomd5 --md5sumonly` output (the tests' judge). kiln computes the implant itself while
//! the image is written: [`crate::implant`].

/// The implanted MD5 from `checkisomd5 --md5sumonly` output (`<iso>:   <32 hex>`).
pub fn parse_md5sumonly(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        let (_, sum) = l.rsplit_once(':')?;
        let sum = sum.trim();
        (sum.len() == 32 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| sum.to_ascii_lowercase())
    })
}

/// Whether a compose label (`RC-1.0`, `Update-2.1`) asks for `--supported-iso`.
pub fn is_supported_label(label: Option<&str>) -> bool {
    label.is_some_and(|l| {
        ["RC", "Update", "SecurityFix"]
            .iter()
            .any(|p| l.starts_with(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checkisomd5_output() {
        let out = "t.iso:   168e175d13a0c1f4b247635f54de31cc\nFragment sums: 6459b;FRAGMENT COUNT = 20\nSupported ISO: no\n";
        assert_eq!(
            parse_md5sumonly(out).as_deref(),
            Some("168e175d13a0c1f4b247635f54de31cc")
        );
        assert!(
            is_supported_label(Some("RC-1.0"))
                && !is_supported_label(Some("Beta-1.0"))
                && !is_supported_label(None)
        );
    }
}
