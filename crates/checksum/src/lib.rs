//! Digests of files in one read pass, and pungi's CHECKSUM file format.
//!
//! An ISO is read once whatever the number of algorithms asked for: [`MultiHasher`] feeds every
//! chunk to each digest. Files are hashed in parallel with rayon ([`digest_files`]); on the
//! project's 2-core machines fanning one file's digests out to threads gave nothing
//! (rust-stack.md §5.2), so parallelism is across files.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use digest::Digest;
use rayon::prelude::*;

/// A digest algorithm. `Blake3` is for kiln's own content addressing, not for published files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Blake3,
}

impl Algorithm {
    /// The algorithms pungi's `media_checksums` accepts.
    pub const MEDIA: [Algorithm; 4] = [Self::Md5, Self::Sha1, Self::Sha256, Self::Sha512];

    /// Lower-case name as in configs and images.json (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Blake3 => "blake3",
        }
    }

    /// The BSD-style tag of `sha256sum --tag` lines (`SHA256`, `MD5`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
            Self::Blake3 => "BLAKE3",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = ChecksumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "md5" => Ok(Self::Md5),
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            "blake3" => Ok(Self::Blake3),
            _ => Err(ChecksumError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    #[error("unknown checksum algorithm {0:?} (known: md5, sha1, sha256, sha512)")]
    UnknownAlgorithm(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

enum State {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Blake3(Box<blake3::Hasher>),
}

/// Several digests fed from one stream: `io::copy(&mut file, &mut hasher)`.
pub struct MultiHasher {
    states: Vec<(Algorithm, State)>,
    len: u64,
}

impl MultiHasher {
    pub fn new(algorithms: &[Algorithm]) -> Self {
        let mut algs = algorithms.to_vec();
        algs.sort();
        algs.dedup();
        let states = algs
            .into_iter()
            .map(|a| {
                let s = match a {
                    Algorithm::Md5 => State::Md5(md5::Md5::new()),
                    Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
                    Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
                    Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
                    Algorithm::Blake3 => State::Blake3(Box::new(blake3::Hasher::new())),
                };
                (a, s)
            })
            .collect();
        MultiHasher { states, len: 0 }
    }

    pub fn finish(self) -> Digests {
        let hex = self
            .states
            .into_iter()
            .map(|(a, s)| {
                let h = match s {
                    State::Md5(d) => hex::encode(d.finalize()),
                    State::Sha1(d) => hex::encode(d.finalize()),
                    State::Sha256(d) => hex::encode(d.finalize()),
                    State::Sha512(d) => hex::encode(d.finalize()),
                    State::Blake3(d) => d.finalize().to_hex().to_string(),
                };
                (a, h)
            })
            .collect();
        Digests {
            size: self.len,
            hex,
        }
    }
}

impl Write for MultiHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for (_, s) in &mut self.states {
            match s {
                State::Md5(d) => d.update(buf),
                State::Sha1(d) => d.update(buf),
                State::Sha256(d) => d.update(buf),
                State::Sha512(d) => d.update(buf),
                State::Blake3(d) => {
                    d.update(buf);
                }
            }
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The digests of one file and the number of bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    /// Sorted by algorithm.
    pub hex: Vec<(Algorithm, String)>,
}

impl Digests {
    pub fn hex(&self, alg: Algorithm) -> Option<&str> {
        self.hex
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, h)| h.as_str())
    }
}

const CHUNK: usize = 1 << 20;

/// Read `path` once and compute every algorithm in `algorithms`.
pub fn file_digests(path: &Path, algorithms: &[Algorithm]) -> Result<Digests, ChecksumError> {
    let err = |source| ChecksumError::Read {
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(err)?;
    let mut h = MultiHasher::new(algorithms);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        h.write_all(&buf[..n]).map_err(err)?;
    }
    Ok(h.finish())
}

/// [`file_digests`] for many files, in parallel; results in the order of `paths`.
pub fn digest_files(
    paths: &[PathBuf],
    algorithms: &[Algorithm],
) -> Vec<Result<Digests, ChecksumError>> {
    paths
        .par_iter()
        .map(|p| file_digests(p, algorithms))
        .collect()
}

/// One entry of pungi's CHECKSUM files:
/// `# <name>: <size> bytes` then `<ALG> (<name>) = <hex>`. The second line is the BSD format
/// `sha256sum -c` reads; the comment line is skipped by it.
pub fn checksum_entry(name: &str, size: u64, alg: Algorithm, hex: &str) -> String {
    format!("# {name}: {size} bytes\n{} ({name}) = {hex}\n", alg.tag())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_gives_the_known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let d = file_digests(&p, &Algorithm::MEDIA).unwrap();
        assert_eq!(d.size, 3);
        assert_eq!(
            d.hex(Algorithm::Md5),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            d.hex(Algorithm::Sha1),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            d.hex(Algorithm::Sha256),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(
            d.hex(Algorithm::Sha512)
                .unwrap()
                .starts_with("ddaf35a193617aba")
        );
        assert_eq!(d.hex(Algorithm::Blake3), None);
    }

    #[test]
    fn checksum_entry_matches_pungi() {
        let want = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/pungi-compose/compose/BaseOS/x86_64/iso/CHECKSUM"
        ));
        let Ok(want) = want else {
            eprintln!("reference compose absent, skipping");
            return;
        };
        let got = checksum_entry(
            "Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso",
            1814528,
            Algorithm::Sha256,
            "68e3c5ad67f5bd1d4fa132d29aa0b0d4a8435c9bc9ee054a29b51f06e041c070",
        );
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_algorithm_is_named() {
        let e = "crc32".parse::<Algorithm>().unwrap_err();
        assert!(e.to_string().contains("crc32"));
    }
}
