//! Escaping as libxml2 serialises createrepo_c's documents, so that kiln's
//! bytes match: text keeps non-ASCII as UTF-8, attributes turn it into
//! `&#xHEX;` character references (libxml2 does so when the document carries
//! no output encoding at node level).

/// Characters XML 1.0 forbids; libxml2 would refuse them, so they are dropped.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

pub fn text(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'\r') || b < 0x20)
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            c if forbidden(c) => {}
            c => out.push(c),
        }
    }
}

pub fn attr(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x80).contains(&b) && !matches!(b, b'&' | b'<' | b'>' | b'"'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if forbidden(c) => {}
            c if (c as u32) < 0x80 => out.push(c),
            c => {
                use std::fmt::Write;
                let _ = write!(out, "&#x{:X};", c as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_libxml2() {
        let mut s = String::new();
        super::attr(&mut s, "Tomáš <a@b> \"q\"");
        assert_eq!(s, "Tom&#xE1;&#x161; &lt;a@b&gt; &quot;q&quot;");
        let mut s = String::new();
        super::text(&mut s, "Tomáš <a&b> \"q\"\r\n");
        assert_eq!(s, "Tomáš &lt;a&amp;b&gt; \"q\"&#13;\n");
    }
}
