//! Which package arches a compose arch takes: its own, noarch, its multilib arches (gather decides
//! which multilib packages ship) and source packages.

use kiln_config::Config;
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

/// Whether a package of the set belongs to `arch`'s package set.
pub fn accepts(arch: &str, p: &Package, _config: &Config) -> bool {
    if p.is_source || p.arch == "noarch" || p.arch == arch {
        return true;
    }
    compatible(arch).contains(&p.arch.as_str())
}
