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
