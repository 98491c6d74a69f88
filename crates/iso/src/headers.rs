//! The header checks pungi's test phase makes, read in-process: ISO 9660 `CD001`, the El Torito
//! boot record, and the MBR and GPT signatures of hybrid images.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What an image's first sectors say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    /// `CD001` at 0x8001: an ISO 9660 primary volume descriptor.
    pub iso9660: bool,
    /// `EL TORITO SPECIFICATION` boot record at 0x8801.
    pub el_torito: bool,
    /// `55 AA` at 0x1FE: an MBR (isohybrid).
    pub mbr: bool,
    /// `EFI PART` at 0x200: a GPT header (isohybrid with UEFI).
    pub gpt: bool,
}

fn read_at(f: &mut File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(offset))?;
    let mut got = 0;
    while got < len {
        match f.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    buf.truncate(got);
    Ok(buf)
}

pub fn inspect(path: &Path) -> std::io::Result<Headers> {
    let mut f = File::open(path)?;
    Ok(Headers {
        iso9660: read_at(&mut f, 0x8001, 5)? == b"CD001",
        el_torito: read_at(&mut f, 0x8801, 29)? == b"CD001\x01EL TORITO SPECIFICATION",
        mbr: read_at(&mut f, 0x1FE, 2)? == [0x55, 0xAA],
        gpt: read_at(&mut f, 0x200, 8)? == b"EFI PART",
    })
}

/// What an image's primary volume descriptor says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub volume_id: String,
    /// The isomd5sum implant in its application-use area, when there is one.
    pub implant_md5: Option<String>,
}

/// Reads the PVD at sector 16; `None` when the file is no ISO 9660 image.
pub fn volume(path: &Path) -> std::io::Result<Option<Volume>> {
    let mut f = File::open(path)?;
    let pvd = read_at(&mut f, 0x8000, 2048)?;
    if pvd.len() < 2048 || pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return Ok(None);
    }
    let volume_id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_owned();
    let app = String::from_utf8_lossy(&pvd[883..883 + 512]).into_owned();
    let implant_md5 = app
        .split_once("ISO MD5SUM = ")
        .map(|(_, rest)| rest.chars().take(32).collect::<String>())
        .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    Ok(Some(Volume {
        volume_id,
        implant_md5,
    }))
}
