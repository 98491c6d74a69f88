//! The package type every phase reads: one RPM header, flattened to what composes and repodata need.

use serde::{Deserialize, Serialize};

/// A dependency comparison, spelled as createrepo spells it in `flags="..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Cmp {
    EQ,
    LT,
    LE,
    GT,
    GE,
}

impl Cmp {
    /// createrepo's spelling (`EQ`, `LT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::EQ => "EQ",
            Cmp::LT => "LT",
            Cmp::LE => "LE",
            Cmp::GT => "GT",
            Cmp::GE => "GE",
        }
    }

    /// Parse createrepo's spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Cmp> {
        Some(match s {
            "EQ" => Cmp::EQ,
            "LT" => Cmp::LT,
            "LE" => Cmp::LE,
            "GT" => Cmp::GT,
            "GE" => Cmp::GE,
            _ => return None,
        })
    }

    /// rpm's operator spelling (`=`, `<`, `<=`, `>`, `>=`).
    pub fn as_op(self) -> &'static str {
        match self {
            Cmp::EQ => "=",
            Cmp::LT => "<",
            Cmp::LE => "<=",
            Cmp::GT => ">",
            Cmp::GE => ">=",
        }
    }

    /// From rpm's sense bits (LESS=2, GREATER=4, EQUAL=8).
    pub fn from_sense(flags: u32) -> Option<Cmp> {
        match flags & 0b1110 {
            0b1000 => Some(Cmp::EQ),
            0b0010 => Some(Cmp::LT),
            0b1010 => Some(Cmp::LE),
            0b0100 => Some(Cmp::GT),
            0b1100 => Some(Cmp::GE),
            _ => None,
        }
    }
}

/// One provides/requires/... entry. Rich (boolean) dependencies keep the whole
/// expression, parentheses included, as `name` with no flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Cmp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Needed before installation (`pre="1"` in primary.xml): a prereq or a
    /// dependency of %pre/%post/%pretrans/%posttrans.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pre: bool,
}

impl Dependency {
    /// An unversioned dependency.
    pub fn unversioned(name: impl Into<String>) -> Self {
        Dependency {
            name: name.into(),
            flags: None,
            epoch: None,
            version: None,
            release: None,
            pre: false,
        }
    }

    /// A versioned dependency from an rpm `[E:]V[-R]` string.
    pub fn versioned(name: impl Into<String>, cmp: Cmp, evr: &str) -> Self {
        let (epoch, version, release) = crate::evr::split_evr(evr);
        Dependency {
            name: name.into(),
            flags: Some(cmp),
            epoch: epoch.map(str::to_owned),
            version: Some(version.to_owned()),
            release: release.map(str::to_owned),
            pre: false,
        }
    }

    /// Whether the name is a rich (boolean) dependency like `(a if b)`.
    pub fn is_rich(&self) -> bool {
        self.name.starts_with('(')
    }

    /// The `[E:]V[-R]` string as rpm writes it, empty when unversioned.
    pub fn evr(&self) -> String {
        let mut s = String::new();
        if let Some(e) = &self.epoch {
            s.push_str(e);
            s.push(':');
        }
        if let Some(v) = &self.version {
            s.push_str(v);
        }
        if let Some(r) = &self.release {
            s.push('-');
            s.push_str(r);
        }
        s
    }
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.flags {
            Some(c) => write!(f, "{} {} {}", self.name, c.as_op(), self.evr()),
            None => f.write_str(&self.name),
        }
    }
}

/// What filelists.xml calls the `type` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    #[default]
    File,
    Dir,
    Ghost,
}

impl FileKind {
    /// createrepo's spelling, `None` for plain files (no `type` attribute).
    pub fn as_attr(self) -> Option<&'static str> {
        match self {
            FileKind::File => None,
            FileKind::Dir => Some("dir"),
            FileKind::Ghost => Some("ghost"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    #[serde(default, skip_serializing_if = "is_plain_file")]
    pub kind: FileKind,
}

fn is_plain_file(k: &FileKind) -> bool {
    *k == FileKind::File
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Changelog {
    pub author: String,
    /// Seconds since the epoch, as in the header.
    pub date: u64,
    pub text: String,
}

/// The digest algorithms createrepo offers for package and metadata checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumKind {
    Md5,
    Sha1,
    Sha224,
    #[default]
    Sha256,
    Sha384,
    Sha512,
}

impl ChecksumKind {
    /// The name repodata uses in `type="..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumKind::Md5 => "md5",
            ChecksumKind::Sha1 => "sha1",
            ChecksumKind::Sha224 => "sha224",
            ChecksumKind::Sha256 => "sha256",
            ChecksumKind::Sha384 => "sha384",
            ChecksumKind::Sha512 => "sha512",
        }
    }

    /// Accepts createrepo_c's names (`sha` is sha1 there too).
    pub fn parse(s: &str) -> Option<ChecksumKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "md5" => ChecksumKind::Md5,
            "sha" | "sha1" => ChecksumKind::Sha1,
            "sha224" => ChecksumKind::Sha224,
            "sha256" => ChecksumKind::Sha256,
            "sha384" => ChecksumKind::Sha384,
            "sha512" => ChecksumKind::Sha512,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ChecksumKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChecksumKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChecksumKind::parse(s).ok_or_else(|| format!("unknown checksum type {s:?}"))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Checksum {
    pub kind: ChecksumKind,
    /// Lowercase hex digest.
    pub hex: String,
}

/// One RPM, as read from its header plus the file's size, mtime and checksum.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    /// The header's arch, except `src` (or `nosrc`) for source packages.
    pub arch: String,
    pub is_source: bool,
    pub summary: String,
    pub description: String,
    pub url: String,
    pub license: String,
    pub vendor: String,
    pub group: String,
    pub buildhost: String,
    /// The source RPM's file name; `None` for source packages.
    pub sourcerpm: Option<String>,
    pub packager: String,
    pub build_time: u64,
    /// The file's mtime in seconds (createrepo's `time file`).
    pub file_time: u64,
    /// Byte offset of the main header (createrepo's `rpm:header-range start`).
    pub header_start: u64,
    /// Byte offset of the payload (`rpm:header-range end`).
    pub header_end: u64,
    pub size_package: u64,
    pub size_installed: u64,
    pub size_archive: u64,
    pub provides: Vec<Dependency>,
    pub requires: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub recommends: Vec<Dependency>,
    pub suggests: Vec<Dependency>,
    pub supplements: Vec<Dependency>,
    pub enhances: Vec<Dependency>,
    /// Files in header order.
    pub files: Vec<FileEntry>,
    /// Changelog entries in header order (newest first).
    pub changelogs: Vec<Changelog>,
    /// Checksum of the whole file (createrepo's pkgid).
    pub checksum: Checksum,
    /// Signing key ID, Koji's spelling: lowercase, last 8 hex digits. `None` when unsigned.
    pub sigkey: Option<String>,
    /// `ExclusiveArch:` of the build (rpmbuild copies it into every binary header); pkgset's
    /// `pkgset_exclusive_arch_considers_noarch` keeps a noarch package only on these arches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusive_arch: Vec<String>,
    /// `ExcludeArch:` of the build, likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_arch: Vec<String>,
}

impl Package {
    /// `name-epoch:version-release.arch`, the epoch always present (pungi's rpms.json form).
    pub fn nevra(&self) -> String {
        format!(
            "{}-{}:{}-{}.{}",
            self.name, self.epoch, self.version, self.release, self.arch
        )
    }

    /// `name-version-release.arch`.
    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }

    /// `name-version-release`.
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    /// The canonical file name, `name-version-release.arch.rpm`.
    pub fn file_name(&self) -> String {
        format!("{}.rpm", self.nvra())
    }

    /// The `[E:]V-R` of the package, epoch omitted when 0.
    pub fn evr(&self) -> String {
        if self.epoch == 0 {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }

    /// Whether this is a debuginfo/debugsource package (by name, as pungi decides).
    pub fn is_debug(&self) -> bool {
        self.name.ends_with("-debuginfo")
            || self.name.ends_with("-debugsource")
            || self.name.contains("-debuginfo-")
    }
}
