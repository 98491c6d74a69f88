//! The signing key ID of a package, spelled as Koji and pungi spell it
//! (`sigkeys` in pungi's config): the last 8 hex digits of the issuer key ID,
//! lowercase, read from the OpenPGP signature packet in the signature header.

/// Key ID (8 lowercase hex digits) from one OpenPGP signature packet.
pub fn from_packet(bytes: &[u8]) -> Option<String> {
    let body = packet_body(bytes)?;
    let keyid = match *body.first()? {
        3 => body.get(7..15)?.to_vec(),
        4 => issuer_v4(body)?,
        6 => issuer_v6(body)?,
        _ => return None,
    };
    let n = keyid.len();
    let tail = keyid.get(n.checked_sub(4)?..)?;
    Some(tail.iter().map(|b| format!("{b:02x}")).collect())
}

/// The body of the first packet, checking that it is a signature (tag 2).
fn packet_body(bytes: &[u8]) -> Option<&[u8]> {
    let first = *bytes.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let (tag, len, start): (u8, usize, usize) = if first & 0x40 == 0 {
        let tag = (first >> 2) & 0x0f;
        match first & 3 {
            0 => (tag, *bytes.get(1)? as usize, 2),
            1 => (
                tag,
                u16::from_be_bytes(bytes.get(1..3)?.try_into().ok()?) as usize,
                3,
            ),
            2 => (
                tag,
                u32::from_be_bytes(bytes.get(1..5)?.try_into().ok()?) as usize,
                5,
            ),
            _ => (tag, bytes.len() - 1, 1),
        }
    } else {
        let tag = first & 0x3f;
        let l0 = *bytes.get(1)? as usize;
        match l0 {
            0..=191 => (tag, l0, 2),
            192..=223 => (tag, ((l0 - 192) << 8) + *bytes.get(2)? as usize + 192, 3),
            255 => (
                tag,
                u32::from_be_bytes(bytes.get(2..6)?.try_into().ok()?) as usize,
                6,
            ),
            _ => return None,
        }
    };
    if tag != 2 {
        return None;
    }
    let end = start.checked_add(len)?.min(bytes.len());
    bytes.get(start..end)
}

fn issuer_v4(body: &[u8]) -> Option<Vec<u8>> {
    let hashed_len = u16::from_be_bytes(body.get(4..6)?.try_into().ok()?) as usize;
    let hashed = body.get(6..6 + hashed_len)?;
    let rest = &body[6 + hashed_len..];
    let unhashed_len = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?) as usize;
    let unhashed = rest.get(2..2 + unhashed_len).unwrap_or(&rest[2..]);
    find_issuer(hashed).or_else(|| find_issuer(unhashed))
}

fn issuer_v6(body: &[u8]) -> Option<Vec<u8>> {
    let hashed_len = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?) as usize;
    let hashed = body.get(8..8usize.checked_add(hashed_len)?)?;
    let rest = &body[8 + hashed_len..];
    let unhashed_len = u32::from_be_bytes(rest.get(0..4)?.try_into().ok()?) as usize;
    let unhashed = rest
        .get(4..4usize.checked_add(unhashed_len)?)
        .unwrap_or(&rest[4..]);
    // A v6 key ID is the first 8 bytes of its fingerprint.
    find_subpacket(hashed, 33)
        .or_else(|| find_subpacket(unhashed, 33))
        .and_then(|fp| fp.get(1..9).map(<[u8]>::to_vec))
}

fn find_issuer(area: &[u8]) -> Option<Vec<u8>> {
    if let Some(id) = find_subpacket(area, 16) {
        return id.get(..8).map(<[u8]>::to_vec);
    }
    // Issuer fingerprint (v4 key): the key ID is its last 8 bytes.
    let fp = find_subpacket(area, 33)?;
    let fp = fp.get(1..)?;
    fp.get(fp.len().checked_sub(8)?..).map(<[u8]>::to_vec)
}

fn find_subpacket(mut area: &[u8], want: u8) -> Option<&[u8]> {
    while !area.is_empty() {
        let l0 = area[0] as usize;
        let (len, hdr): (usize, usize) = match l0 {
            0..=191 => (l0, 1),
            192..=254 => ((((l0 - 192) << 8) + *area.get(1)? as usize) + 192, 2),
            _ => (
                u32::from_be_bytes(area.get(1..5)?.try_into().ok()?) as usize,
                5,
            ),
        };
        let sub = area.get(hdr..hdr.checked_add(len)?)?;
        let (&kind, data) = sub.split_first()?;
        if kind & 0x7f == want {
            return Some(data);
        }
        area = &area[hdr + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_issuer_subpacket() {
        // old-format tag 2, v4, issuer (16) in the unhashed area
        let mut body = vec![4, 0, 1, 8, 0, 0, 0, 10, 9, 16];
        body.extend_from_slice(&[0x43, 0x44, 0x59, 0x1e, 0x19, 0x64, 0xc5, 0xfc]);
        body.extend_from_slice(&[0, 0]);
        let mut pkt = vec![0x88, body.len() as u8];
        pkt.extend_from_slice(&body);
        assert_eq!(from_packet(&pkt).as_deref(), Some("1964c5fc"));
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(from_packet(&[]), None);
        assert_eq!(from_packet(&[0x88, 200, 4, 0]), None);
        assert_eq!(from_packet(&[0xff; 40]), None);
    }
}
