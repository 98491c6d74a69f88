//! Raw string access to an already validated main header, for the one thing
//! the `rpm` crate cannot give back: the original bytes of a string that is
//! not UTF-8. Old packages carry ISO-8859-x text; createrepo_c reads such
//! strings as Latin-1, and so does kiln, instead of U+FFFD replacements.

pub struct RawHeader<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

impl<'a> RawHeader<'a> {
    /// `bytes` starts at the main header's magic.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        let be = |i: usize| {
            bytes
                .get(i..i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let count = be(8)? as usize;
        let dlen = be(12)? as usize;
        let index = bytes.get(16..16 + count * 16)?;
        let store = bytes.get(16 + count * 16..16 + count * 16 + dlen)?;
        Some(RawHeader { index, store })
    }

    /// The `i`th string of a string, string-array or i18n tag.
    pub fn string(&self, tag: u32, i: usize) -> Option<String> {
        let e = self
            .index
            .chunks_exact(16)
            .find(|e| e[..4] == tag.to_be_bytes())?;
        let off = u32::from_be_bytes([e[8], e[9], e[10], e[11]]) as usize;
        let mut rest = self.store.get(off..)?;
        for _ in 0..i {
            let nul = rest.iter().position(|&b| b == 0)?;
            rest = &rest[nul + 1..];
        }
        let nul = rest.iter().position(|&b| b == 0)?;
        Some(decode(&rest[..nul]))
    }
}

/// UTF-8 when valid, else Latin-1 the way createrepo_c converts it: bytes
/// 0x80..=0xBF (which cannot start a UTF-8 sequence) are dropped.
pub fn decode(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b
            .iter()
            .filter(|c| !(0x80..=0xbf).contains(*c))
            .map(|&c| c as char)
            .collect(),
    }
}
