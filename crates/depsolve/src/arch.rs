//! Which package arches a compose arch takes, in pungi's order of preference.

/// Arches a compose arch installs natively, best first (`noarch` is added by callers).
pub fn native_arches(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["x86_64"],
        "i686" | "i386" => &["i686", "i586", "i486", "i386"],
        "aarch64" => &["aarch64"],
        "ppc64le" => &["ppc64le"],
        "ppc64" => &["ppc64"],
        "s390x" => &["s390x"],
        "armhfp" => &["armv7hl", "armv7l", "armv6l", "armv5tejl", "armv5tel"],
        "riscv64" => &["riscv64"],
        _ => &[],
    }
}

/// The 32-bit arches a compose arch can carry as multilib, best first.
pub fn multilib_arches(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["athlon", "i686", "i586", "i486", "i386"],
        "ppc64" => &["ppc"],
        "s390x" => &["s390"],
        _ => &[],
    }
}

/// Every arch a compose arch may hold, in pungi's preference order: native, multilib, noarch.
pub fn all_arches(arch: &str) -> Vec<String> {
    let mut out: Vec<String> = native_arches(arch)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if out.is_empty() {
        out.push(arch.to_owned());
    }
    out.extend(multilib_arches(arch).iter().map(|s| (*s).to_owned()));
    out.push("noarch".to_owned());
    out
}

pub fn is_source_arch(arch: &str) -> bool {
    arch == "src" || arch == "nosrc"
}

/// pungi's DEBUG_PATTERNS: `*-debuginfo`, `*-debuginfo-*`, `*-debugsource`.
pub fn is_debug_name(name: &str) -> bool {
    name.ends_with("-debuginfo") || name.contains("-debuginfo-") || name.ends_with("-debugsource")
}
