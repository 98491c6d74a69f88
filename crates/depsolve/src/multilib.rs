//! pungi's multilib decision (python-multilib's `devel`, `runtime` and `all` methods).

use kiln_comps::fnmatch;

/// One multilib method as `multilib` lists them per variant/arch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MultilibMethod {
    None,
    All,
    Runtime,
    /// `-devel`/`-static` packages, and (as with pungi's DNF backend) everything `runtime` takes.
    Devel,
}

impl MultilibMethod {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "all" => Self::All,
            "runtime" => Self::Runtime,
            "devel" => Self::Devel,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::All => "all",
            Self::Runtime => "runtime",
            Self::Devel => "devel",
        }
    }
}

const LIBDIRS: [&str; 4] = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

/// Whether a file list contains a shared library in a library directory (the runtime rule).
pub fn has_runtime_library<'a>(files: impl IntoIterator<Item = &'a str>) -> bool {
    files.into_iter().any(is_runtime_library)
}

/// Whether a path is a shared library in a library directory.
pub fn is_runtime_library(path: &str) -> bool {
    path.rsplit_once('/').is_some_and(|(dir, base)| {
        LIBDIRS.contains(&dir) && (base.contains(".so.") || base.ends_with(".so"))
    })
}

/// The configured methods with the blacklist (globs) and whitelist (names or globs).
#[derive(Debug, Clone, Default)]
pub struct Multilib {
    pub methods: Vec<MultilibMethod>,
    pub blacklist: Vec<String>,
    pub whitelist: Vec<String>,
}

impl Multilib {
    pub fn is_enabled(&self) -> bool {
        !self.whitelist.is_empty() || self.methods.iter().any(|m| *m != MultilibMethod::None)
    }

    pub fn blacklisted(&self, name: &str) -> bool {
        self.blacklist.iter().any(|g| fnmatch(name, g))
    }

    /// The reason a multilib-arch package should ship, or None.
    pub fn reason(&self, name: &str, runtime_lib: bool) -> Option<&'static str> {
        if self.blacklisted(name) {
            return None;
        }
        if self.whitelist.iter().any(|g| fnmatch(name, g)) {
            return Some("whitelist");
        }
        let kernel = name == "kernel" || name.starts_with("kernel-") || name.starts_with("kmod-");
        for m in &self.methods {
            match m {
                MultilibMethod::None => {}
                MultilibMethod::All => return Some("all"),
                MultilibMethod::Runtime if !kernel && runtime_lib => return Some("runtime"),
                MultilibMethod::Devel if !kernel => {
                    if runtime_lib {
                        return Some("runtime");
                    }
                    if name.ends_with("-devel") || name.ends_with("-static") {
                        return Some("devel");
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        let m = Multilib {
            methods: vec![MultilibMethod::Devel],
            blacklist: vec!["bad-*".into()],
            whitelist: vec!["wanted".into()],
        };
        assert_eq!(m.reason("foo-devel", false), Some("devel"));
        assert_eq!(m.reason("libfoo", true), Some("runtime"));
        assert_eq!(m.reason("foo", false), None);
        assert_eq!(m.reason("bad-devel", false), None);
        assert_eq!(m.reason("wanted", false), Some("whitelist"));
        assert!(has_runtime_library(["/usr/lib/libfoo.so.1"]));
        assert!(!has_runtime_library([
            "/usr/lib/foo/libfoo.so.1",
            "/usr/bin/x"
        ]));
    }
}
