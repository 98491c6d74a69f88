use digest::Digest;

use crate::package::{Checksum, ChecksumKind};

/// One running digest of any kind createrepo supports.
pub enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(kind: ChecksumKind) -> Self {
        match kind {
            ChecksumKind::Md5 => Hasher::Md5(md5::Md5::new()),
            ChecksumKind::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumKind::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            ChecksumKind::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            ChecksumKind::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            ChecksumKind::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Checksum {
        let (kind, bytes) = match self {
            Hasher::Md5(h) => (ChecksumKind::Md5, h.finalize().to_vec()),
            Hasher::Sha1(h) => (ChecksumKind::Sha1, h.finalize().to_vec()),
            Hasher::Sha224(h) => (ChecksumKind::Sha224, h.finalize().to_vec()),
            Hasher::Sha256(h) => (ChecksumKind::Sha256, h.finalize().to_vec()),
            Hasher::Sha384(h) => (ChecksumKind::Sha384, h.finalize().to_vec()),
            Hasher::Sha512(h) => (ChecksumKind::Sha512, h.finalize().to_vec()),
        };
        Checksum {
            kind,
            hex: hex::encode(bytes),
        }
    }
}

/// Checksum of a byte slice.
pub fn checksum_bytes(kind: ChecksumKind, data: &[u8]) -> Checksum {
    let mut h = Hasher::new(kind);
    h.update(data);
    h.finish()
}

/// A reader that feeds every byte it yields into a digest, so the header
/// parse and the package checksum share one read of the file.
pub struct TeeReader<R> {
    pub inner: R,
    pub hasher: Hasher,
    pub consumed: u64,
}

impl<R: std::io::Read> std::io::Read for TeeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.consumed += n as u64;
        Ok(n)
    }
}
