//! isomd5sum's implanted MD5, computed while the image streams past instead of by reading the
//! finished file again: an [`Implanter`] is an `io::Write` that sees the bytes xorriso writes, and
//! [`Implanter::finish`] gives the 512 bytes `implantisomd5` would write into the primary volume
//! descriptor's application-use area, and where.
//!
//! It follows isomd5sum 1.2.x exactly (the format `checkisomd5` and anaconda's media check read):
//! the MD5 covers the volume (the PVD's volume space size) minus its last 15 sectors, with the
//! application-use area blank, read in 32 KiB blocks; after each block that starts a new
//! twenty-first of that span, one "fragment sum" of three hex characters is taken from the MD5 so
//! far. The fragment sums depend on that block size, so the blocks are kept here whatever sizes
//! the writes come in.

use md5::{Digest, Md5};

const SECTOR: u64 = 2048;
/// The PVD comes right after the 16-sector system area (isomd5sum looks only there).
const PVD_OFFSET: u64 = 16 * SECTOR;
const APPDATA_OFFSET: u64 = 883;
pub const APPDATA_SIZE: usize = 512;
const SIZE_OFFSET: usize = 84;
const SKIP_SECTORS: u64 = 15;
const FRAGMENT_COUNT: u64 = 20;
/// Characters per fragment sum: 60 / 20.
const FRAGMENT_CHARS: usize = 3;
/// isomd5sum reads 16 sectors at a time; its fragment boundaries fall on these blocks.
const BLOCK: u64 = 16 * SECTOR;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImplantError {
    #[error("the image ended before its primary volume descriptor ({0} bytes)")]
    TooShort(u64),
    #[error("sector 16 of the image is not a primary volume descriptor")]
    NoPvd,
    #[error("the image's application-use area is not blank; an MD5 is implanted only once")]
    AppDataUsed,
    #[error("the image is {got} bytes, shorter than the {want} its volume descriptor claims")]
    Truncated { got: u64, want: u64 },
    #[error("the implant text does not fit in the application-use area")]
    TooLong,
}

/// What to write into the image once it is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implant {
    /// The implanted sum, as `checkisomd5 --md5sumonly` prints it.
    pub md5: String,
    /// Byte offset of the application-use area in the image.
    pub offset: u64,
    pub appdata: [u8; APPDATA_SIZE],
}

/// Feeds on an image as it is written; see the module docs.
pub struct Implanter {
    md5: Md5,
    /// Bytes seen so far.
    seen: u64,
    /// Bytes already in `md5`; the next block starts at the last multiple of BLOCK below it.
    hashed: u64,
    pvd: Vec<u8>,
    /// The span the MD5 covers, once the PVD has been seen.
    total: Option<u64>,
    previous_fragment: u64,
    fragment_sums: String,
}

impl Default for Implanter {
    fn default() -> Self {
        Self::new()
    }
}

impl Implanter {
    pub fn new() -> Self {
        Implanter {
            md5: Md5::new(),
            seen: 0,
            hashed: 0,
            pvd: Vec::with_capacity(SECTOR as usize),
            total: None,
            previous_fragment: 0,
            fragment_sums: String::new(),
        }
    }

    /// Bytes of the image seen so far.
    pub fn len(&self) -> u64 {
        self.seen
    }

    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }

    fn capture_pvd(&mut self, at: u64, bytes: &[u8]) {
        let end = at + bytes.len() as u64;
        let (from, to) = (at.max(PVD_OFFSET), end.min(PVD_OFFSET + SECTOR));
        if from < to {
            let slice = &bytes[(from - at) as usize..(to - at) as usize];
            self.pvd.extend_from_slice(slice);
            if self.pvd.len() == SECTOR as usize && self.pvd[0] == 1 {
                let size = u32::from_be_bytes([
                    self.pvd[SIZE_OFFSET],
                    self.pvd[SIZE_OFFSET + 1],
                    self.pvd[SIZE_OFFSET + 2],
                    self.pvd[SIZE_OFFSET + 3],
                ]);
                self.total = Some((u64::from(size) * SECTOR).saturating_sub(SKIP_SECTORS * SECTOR));
            }
        }
    }

    /// The span the MD5 covers, or where it would end were the PVD not seen yet.
    fn limit(&self) -> u64 {
        self.total.unwrap_or(u64::MAX)
    }

    fn hash(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.hashed < self.limit() {
            let block_start = self.hashed - self.hashed % BLOCK;
            let block_end = (block_start + BLOCK).min(self.limit());
            let take = ((block_end - self.hashed) as usize).min(bytes.len());
            self.md5.update(&bytes[..take]);
            self.hashed += take as u64;
            bytes = &bytes[take..];
            if self.hashed == block_end {
                self.end_block(block_start);
            }
        }
    }

    /// isomd5sum's check after each block read: a block starting in a new fragment adds the
    /// first hex digit of each of the first three bytes of the MD5 so far.
    fn end_block(&mut self, block_start: u64) {
        let Some(total) = self.total else {
            // Only the first block can end before the PVD is seen, and it starts fragment 0.
            return;
        };
        let fragment_size = total / (FRAGMENT_COUNT + 1);
        if fragment_size == 0 {
            return;
        }
        let current = block_start / fragment_size;
        if current != self.previous_fragment {
            let digest = self.md5.clone().finalize();
            for byte in digest.iter().take(FRAGMENT_CHARS) {
                let hex = format!("{byte:x}");
                self.fragment_sums.push_str(&hex[..1]);
            }
            self.previous_fragment = current;
        }
    }

    /// The implant, once every byte of the image has been written.
    pub fn finish(self, supported: bool) -> Result<Implant, ImplantError> {
        if self.pvd.len() < SECTOR as usize {
            return Err(ImplantError::TooShort(self.seen));
        }
        if self.pvd[0] != 1 {
            return Err(ImplantError::NoPvd);
        }
        let area = &self.pvd[APPDATA_OFFSET as usize..APPDATA_OFFSET as usize + APPDATA_SIZE];
        if area.iter().any(|b| *b != b' ') {
            return Err(ImplantError::AppDataUsed);
        }
        let total = self.total.unwrap_or(0);
        if self.hashed < total {
            return Err(ImplantError::Truncated {
                got: self.seen,
                want: total + SKIP_SECTORS * SECTOR,
            });
        }
        let md5: String = self
            .md5
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let text = format!(
            "ISO MD5SUM = {md5};SKIPSECTORS = {SKIP_SECTORS};RHLISOSTATUS={};FRAGMENT SUMS = {};\
             FRAGMENT COUNT = {FRAGMENT_COUNT};THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!",
            u8::from(supported),
            self.fragment_sums
        );
        // implantisomd5 refuses a piece that would reach the last byte of the area.
        if text.len() >= APPDATA_SIZE {
            return Err(ImplantError::TooLong);
        }
        let mut appdata = [b' '; APPDATA_SIZE];
        appdata[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Implant {
            md5,
            offset: PVD_OFFSET + APPDATA_OFFSET,
            appdata,
        })
    }
}

impl std::io::Write for Implanter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let at = self.seen;
        self.seen += buf.len() as u64;
        if self.pvd.len() < SECTOR as usize {
            self.capture_pvd(at, buf);
        }
        self.hash(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What [`implant_file`] found.
#[derive(Debug, thiserror::Error)]
pub enum ImplantFileError {
    #[error("cannot read or write the image: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Implant(#[from] ImplantError),
}

/// Implants the MD5 into an image some other tool made (`implantisomd5 FILE`): one read of the
/// file, then the 512 bytes written in place.
pub fn implant_file(path: &std::path::Path, supported: bool) -> Result<Implant, ImplantFileError> {
    use std::os::unix::fs::FileExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut implanter = Implanter::new();
    std::io::copy(&mut file, &mut implanter)?;
    let implant = implanter.finish(supported)?;
    file.write_all_at(&implant.appdata, implant.offset)?;
    file.sync_all()?;
    Ok(implant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A fake image: `sectors` sectors, a PVD at sector 16 claiming all of them, bytes varying.
    fn image(sectors: u32) -> Vec<u8> {
        let mut img: Vec<u8> = (0..sectors as usize * SECTOR as usize)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let pvd = PVD_OFFSET as usize;
        img[pvd] = 1;
        img[pvd + SIZE_OFFSET..pvd + SIZE_OFFSET + 4].copy_from_slice(&sectors.to_be_bytes());
        let app = pvd + APPDATA_OFFSET as usize;
        img[app..app + APPDATA_SIZE].fill(b' ');
        img
    }

    fn implant_in(img: &[u8], chunk: usize) -> Implant {
        let mut i = Implanter::new();
        for piece in img.chunks(chunk) {
            i.write_all(piece).unwrap();
        }
        i.finish(false).unwrap()
    }

    #[test]
    fn the_result_does_not_depend_on_how_the_writes_are_cut() {
        let img = image(700);
        let whole = implant_in(&img, img.len());
        for chunk in [1usize, 511, 2048, 32768, 65537] {
            assert_eq!(implant_in(&img, chunk), whole, "chunk {chunk}");
        }
        let text = String::from_utf8_lossy(&whole.appdata).into_owned();
        assert!(
            text.starts_with(&format!(
                "ISO MD5SUM = {};SKIPSECTORS = 15;RHLISOSTATUS=0;FRAGMENT SUMS = ",
                whole.md5
            )),
            "{text}"
        );
        // 700 sectors minus 15 over 21 fragments of ~33 KiB, blocks of 32 KiB: 20 sums.
        let sums = text
            .split("FRAGMENT SUMS = ")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        assert_eq!(sums.len(), 60, "{text}");
    }

    #[test]
    fn the_md5_covers_the_volume_minus_its_last_15_sectors() {
        let img = image(100);
        let got = implant_in(&img, 4096);
        let span = (100 - 15) * SECTOR as usize;
        let want: String = Md5::digest(&img[..span])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got.md5, want);
        assert_eq!(got.offset, 32768 + 883);
    }

    #[test]
    fn bad_images_are_refused() {
        let mut i = Implanter::new();
        i.write_all(&[0u8; 1000]).unwrap();
        assert_eq!(i.finish(false), Err(ImplantError::TooShort(1000)));
        let mut img = image(100);
        img[PVD_OFFSET as usize + APPDATA_OFFSET as usize] = b'X';
        let mut i = Implanter::new();
        i.write_all(&img).unwrap();
        assert_eq!(i.finish(false), Err(ImplantError::AppDataUsed));
        let img = image(100);
        let mut i = Implanter::new();
        i.write_all(&img[..60_000]).unwrap();
        assert!(matches!(
            i.finish(false),
            Err(ImplantError::Truncated { .. })
        ));
    }

    #[test]
    fn an_image_on_disk_gets_the_implant_a_stream_gives() {
        let img = image(400);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.iso");
        std::fs::write(&path, &img).unwrap();
        let implant = implant_file(&path, false).unwrap();
        assert_eq!(implant, implant_in(&img, 4096));
        let written = std::fs::read(&path).unwrap();
        let at = implant.offset as usize;
        assert_eq!(&written[at..at + APPDATA_SIZE], &implant.appdata[..]);
        // A second implant is refused: the area is no longer blank.
        assert!(matches!(
            implant_file(&path, false),
            Err(ImplantFileError::Implant(ImplantError::AppDataUsed))
        ));
    }
}
