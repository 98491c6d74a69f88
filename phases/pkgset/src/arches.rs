//! Which package arches a compose arch takes: its own, noarch, its multilib arches (gather decides
//! which multilib packages ship) and source packages.

use kiln_rpm::Package;

/// Arches whose packages a compose arch may use, besides noarch and source.
fn compatible(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64", "i686", "i586", "i486", "i386", "athlon"],
        "i686" => &["i686", "i586", "i486", "i386", "athlon"],
        "aarch64" => &["aarch64"],
        "ppc64le" => &["ppc64le"],
        "ppc64" => &["ppc64", "ppc"],
        "s390x" => &["s390x", "s390"],
        "armhfp" => &["armv7hl", "armv7hnl"],
        _ => &[],
    }
}

/// The arches a compose arch builds for natively (no multilib): what ExclusiveArch/ExcludeArch of
/// a noarch package are compared with, as pungi's `get_valid_arches(arch, multilib=False)`.
fn native(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64"],
        "ppc64" => &["ppc64"],
        "s390x" => &["s390x"],
        other => compatible(other),
    }
}

/// pungi's `is_excluded`: an arch of the compose is in ExcludeArch, or ExclusiveArch names none.
fn excluded(arch: &str, exclusive: &[String], exclude: &[String]) -> bool {
    let mut own: Vec<&str> = native(arch).to_vec();
    if own.is_empty() {
        own.push(arch);
    }
    let hit = |list: &[String]| list.iter().any(|a| own.contains(&a.as_str()));
    hit(exclude) || (!exclusive.is_empty() && !hit(exclusive))
}

/// Whether a package of the set belongs to `arch`'s package set. `source` is its source package
/// when the set has it: rpmbuild copies ExclusiveArch into binary headers, but a header that lacks
/// it still inherits its build's rule. `exclusive_noarch` = `pkgset_exclusive_arch_considers_noarch`.
pub fn accepts(arch: &str, p: &Package, source: Option<&Package>, exclusive_noarch: bool) -> bool {
    if p.is_source {
        return true;
    }
    if p.arch == "noarch" {
        if !exclusive_noarch {
            return true;
        }
        let (exclusive, exclude) = match source {
            Some(s) if p.exclusive_arch.is_empty() && p.exclude_arch.is_empty() => {
                (&s.exclusive_arch, &s.exclude_arch)
            }
            _ => (&p.exclusive_arch, &p.exclude_arch),
        };
        if excluded(arch, exclusive, exclude) {
            tracing::debug!(
                "{arch}: leaving out {} (ExclusiveArch {exclusive:?}, ExcludeArch {exclude:?})",
                p.nevra()
            );
            return false;
        }
        return true;
    }
    p.arch == arch || compatible(arch).contains(&p.arch.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_noarch_follows_pungi() {
        let mut config = true;
        let mut p = Package {
            arch: "noarch".into(),
            exclusive_arch: vec!["aarch64".into()],
            ..Package::default()
        };
        assert!(!accepts("x86_64", &p, None, config));
        assert!(accepts("aarch64", &p, None, config));
        p.exclusive_arch = vec![];
        p.exclude_arch = vec!["x86_64".into()];
        assert!(!accepts("x86_64", &p, None, config));
        assert!(accepts("s390x", &p, None, config));
        // Inherited from the source package when the binary header lacks it.
        let src = Package {
            is_source: true,
            exclusive_arch: vec!["s390x".into()],
            ..Package::default()
        };
        p.exclude_arch = vec![];
        assert!(!accepts("x86_64", &p, Some(&src), config));
        config = false;
        assert!(accepts("x86_64", &p, Some(&src), config));
        // Arch packages are never filtered by this rule.
        let a = Package {
            arch: "x86_64".into(),
            exclusive_arch: vec!["aarch64".into()],
            ..Package::default()
        };
        assert!(accepts("x86_64", &a, None, config));
    }
}
