//! Metadata file writers that compress and, in the same pass, measure the
//! open (uncompressed) and compressed bytes for repomd.xml.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use kiln_rpm::{Checksum, ChecksumKind, Hasher};

/// Compression of a metadata file, as createrepo_c's `--compress-type` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    None,
    #[default]
    Gz,
    Zstd,
    Xz,
}

impl Compression {
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gz => ".gz",
            Compression::Zstd => ".zst",
            Compression::Xz => ".xz",
        }
    }

    /// createrepo_c's names: `gz`, `zstd`, `xz`, `none` (`bz2` and `zck` are not offered).
    pub fn parse(s: &str) -> Option<Compression> {
        Some(match s {
            "gz" | "gzip" => Compression::Gz,
            "zstd" | "zst" => Compression::Zstd,
            "xz" => Compression::Xz,
            "none" => Compression::None,
            _ => return None,
        })
    }

    /// Guess from a file name's suffix.
    pub fn from_name(name: &str) -> Compression {
        if name.ends_with(".gz") {
            Compression::Gz
        } else if name.ends_with(".zst") {
            Compression::Zstd
        } else if name.ends_with(".xz") {
            Compression::Xz
        } else {
            Compression::None
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::parse(s).ok_or_else(|| format!("unsupported compression {s:?}"))
    }
}

/// Counts and hashes what passes through.
pub struct Measure<W> {
    inner: W,
    hasher: Hasher,
    size: u64,
}

impl<W: Write> Write for Measure<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Enc {
    Plain(Measure<BufWriter<File>>),
    Gz(flate2::write::GzEncoder<Measure<BufWriter<File>>>),
    Zstd(zstd::Encoder<'static, Measure<BufWriter<File>>>),
    Xz(liblzma::write::XzEncoder<Measure<BufWriter<File>>>),
}

/// What repomd.xml records about one written file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub checksum: Checksum,
    pub size: u64,
    /// `None` for uncompressed files (createrepo omits open-* then).
    pub open_checksum: Option<Checksum>,
    pub open_size: Option<u64>,
}

pub struct MdWriter {
    enc: Enc,
    open: Hasher,
    open_size: u64,
    compressed: bool,
}

impl MdWriter {
    pub fn create(path: &Path, c: Compression, kind: ChecksumKind) -> io::Result<MdWriter> {
        let file = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        let m = Measure {
            inner: file,
            hasher: Hasher::new(kind),
            size: 0,
        };
        let enc = match c {
            Compression::None => Enc::Plain(m),
            Compression::Gz => {
                Enc::Gz(flate2::GzBuilder::new().write(m, flate2::Compression::default()))
            }
            Compression::Zstd => Enc::Zstd(zstd::Encoder::new(m, 10)?),
            Compression::Xz => Enc::Xz(liblzma::write::XzEncoder::new(m, 6)),
        };
        Ok(MdWriter {
            enc,
            open: Hasher::new(kind),
            open_size: 0,
            compressed: c != Compression::None,
        })
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.open.update(data);
        self.open_size += data.len() as u64;
        match &mut self.enc {
            Enc::Plain(w) => w.write_all(data),
            Enc::Gz(w) => w.write_all(data),
            Enc::Zstd(w) => w.write_all(data),
            Enc::Xz(w) => w.write_all(data),
        }
    }

    pub fn finish(self) -> io::Result<Written> {
        let mut m = match self.enc {
            Enc::Plain(w) => w,
            Enc::Gz(w) => w.finish()?,
            Enc::Zstd(w) => w.finish()?,
            Enc::Xz(w) => w.finish()?,
        };
        m.inner.flush()?;
        m.inner.get_ref().sync_all()?;
        let checksum = m.hasher.finish();
        let open = self.open.finish();
        Ok(if self.compressed {
            Written {
                checksum,
                size: m.size,
                open_checksum: Some(open),
                open_size: Some(self.open_size),
            }
        } else {
            Written {
                checksum,
                size: m.size,
                open_checksum: None,
                open_size: None,
            }
        })
    }
}

/// Open a possibly compressed metadata file for reading, by its suffix.
pub fn open_read(path: &Path) -> io::Result<Box<dyn io::BufRead + Send>> {
    open_read_as(path, Compression::from_name(&path.to_string_lossy()))
}

/// Open a metadata file compressed with `c`.
pub fn open_read_as(path: &Path, c: Compression) -> io::Result<Box<dyn io::BufRead + Send>> {
    let f = io::BufReader::with_capacity(256 * 1024, File::open(path)?);
    Ok(match c {
        Compression::None => Box::new(f),
        Compression::Gz => Box::new(io::BufReader::new(flate2::bufread::MultiGzDecoder::new(f))),
        Compression::Zstd => Box::new(io::BufReader::new(zstd::Decoder::with_buffer(f)?)),
        Compression::Xz => Box::new(io::BufReader::new(liblzma::bufread::XzDecoder::new(f))),
    })
}
