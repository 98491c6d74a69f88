//! A small XML element tree that keeps what pungi's lxml-based comps filter
//! keeps (element order, attribute order, comments, the doctype) and
//! serialises the way lxml does with `remove_blank_text` + `pretty_print`,
//! so the per-arch comps file kiln writes is byte-identical to pungi's.
//!
//! Every element remembers the line and column where it started, so errors
//! found later (an unknown package type, a missing group) can point at it.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where something came from, for error messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    Comment(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub pos: Pos,
}

/// A parsed XML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The doctype's inner text, e.g. `comps PUBLIC "…" "comps.dtd"`.
    pub doctype: Option<String>,
    /// Comments before the root element.
    pub prolog_comments: Vec<String>,
    pub root: Element,
    /// The file (or a label) the document was read from.
    pub origin: PathBuf,
}

/// A syntax error with its location.
#[derive(Debug, thiserror::Error)]
#[error("{}:{}:{}: {message}", origin.display(), pos.line, pos.column)]
pub struct SyntaxError {
    pub origin: PathBuf,
    pub pos: Pos,
    pub message: String,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Element {
            name: name.to_owned(),
            attrs: vec![],
            children: vec![],
            pos: Pos::default(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn remove_attr(&mut self, name: &str) {
        self.attrs.retain(|(k, _)| k != name);
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    pub fn elements_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// All text directly inside, concatenated (lxml's `.text` + tails).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Text of the first child element `name`.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(Element::text)
    }

    /// Keep only child elements for which `keep` is true; other nodes stay.
    pub fn retain_elements(&mut self, mut keep: impl FnMut(&mut Element) -> bool) {
        self.children.retain_mut(|n| match n {
            Node::Element(e) => keep(e),
            _ => true,
        });
    }

    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }
}

/// Line starts, so positions cost a binary search rather than a rescan.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn pos(&self, text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self.starts[line - 1];
        let column = String::from_utf8_lossy(&text.as_bytes()[start..offset])
            .chars()
            .count()
            + 1;
        Pos { line, column }
    }
}

impl Document {
    /// Parse `text`; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Document, SyntaxError> {
        let index = LineIndex::new(text);
        let err = |offset: usize, message: String| SyntaxError {
            origin: origin.to_owned(),
            pos: index.pos(text, offset),
            message,
        };
        let mut reader = Reader::from_str(text);
        let mut stack: Vec<Element> = vec![];
        let mut root: Option<Element> = None;
        let mut doctype = None;
        let mut prolog_comments = vec![];
        // A whitespace-only text is kept only when it is all an element
        // holds (libxml2's "blank" heuristic with keepBlanks off).
        let mut pending_blank: Option<String> = None;
        loop {
            let start = reader.buffer_position() as usize;
            let ev = reader
                .read_event()
                .map_err(|e| err(reader.error_position() as usize, e.to_string()))?;
            if let Some(blank) = pending_blank.take() {
                let keep = match (&ev, stack.last()) {
                    (Event::End(_), Some(top)) => top.children.is_empty(),
                    (_, Some(top)) => {
                        matches!(top.children.last(), Some(Node::Text(_)))
                            || matches!(top.children.first(), Some(Node::Text(_)))
                    }
                    _ => false,
                };
                if keep && let Some(top) = stack.last_mut() {
                    push_text(top, blank);
                }
            }
            match ev {
                Event::Start(s) => {
                    let el = element_from(&s, index.pos(text, start)).map_err(|m| err(start, m))?;
                    stack.push(el);
                }
                Event::Empty(s) => {
                    let el = element_from(&s, index.pos(text, start)).map_err(|m| err(start, m))?;
                    close(el, &mut stack, &mut root).map_err(|m| err(start, m))?;
                }
                Event::End(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    let Some(el) = stack.pop() else {
                        return Err(err(start, format!("unexpected </{name}>")));
                    };
                    if el.name != name {
                        return Err(err(
                            start,
                            format!(
                                "</{name}> closes <{}> opened at line {}",
                                el.name, el.pos.line
                            ),
                        ));
                    }
                    close(el, &mut stack, &mut root).map_err(|m| err(start, m))?;
                }
                Event::Text(t) => {
                    let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                    let s = quick_xml::escape::unescape(&raw)
                        .map_err(|e| err(start, format!("bad character reference: {e}")))?
                        .into_owned();
                    match stack.last_mut() {
                        Some(top) => {
                            if s.chars().all(char::is_whitespace) {
                                pending_blank = Some(s);
                            } else {
                                push_text(top, s);
                            }
                        }
                        None if s.trim().is_empty() => {}
                        None => return Err(err(start, "text outside the root element".into())),
                    }
                }
                Event::CData(c) => {
                    let s = String::from_utf8_lossy(c.as_ref()).into_owned();
                    if let Some(top) = stack.last_mut() {
                        push_text(top, s);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let s = quick_xml::escape::unescape(&format!("&{name};"))
                        .map_err(|e| err(start, format!("unknown entity &{name};: {e}")))?
                        .into_owned();
                    if let Some(top) = stack.last_mut() {
                        push_text(top, s);
                    }
                }
                Event::Comment(c) => {
                    let s = String::from_utf8_lossy(c.as_ref()).into_owned();
                    match stack.last_mut() {
                        Some(top) => top.children.push(Node::Comment(s)),
                        None if root.is_none() => prolog_comments.push(s),
                        None => {}
                    }
                }
                Event::DocType(d) => {
                    doctype = Some(String::from_utf8_lossy(d.as_ref()).trim().to_owned());
                }
                Event::Decl(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = stack.last() {
            return Err(SyntaxError {
                origin: origin.to_owned(),
                pos: open.pos.clone(),
                message: format!("<{}> is never closed", open.name),
            });
        }
        let root = root.ok_or_else(|| err(text.len(), "no root element".into()))?;
        Ok(Document {
            doctype,
            prolog_comments,
            root,
            origin: origin.to_owned(),
        })
    }

    /// Serialise as lxml does for pungi's `comps_filter` (pretty-printed,
    /// single-quoted declaration, a blank line after the root).
    pub fn to_lxml_string(&self) -> String {
        let mut out = String::from("<?xml version='1.0' encoding='UTF-8'?>\n");
        if let Some(d) = &self.doctype {
            let _ = writeln!(out, "<!DOCTYPE {d}>");
        }
        for c in &self.prolog_comments {
            let _ = writeln!(out, "<!--{c}-->");
        }
        write_element(&mut out, &self.root, 0, true);
        out.push_str("\n\n");
        out
    }
}

fn element_from(s: &quick_xml::events::BytesStart<'_>, pos: Pos) -> Result<Element, String> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let mut attrs = vec![];
    for a in s.attributes() {
        let a = a.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| format!("bad attribute {key} in <{name}>: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: vec![],
        pos,
    })
}

fn push_text(el: &mut Element, s: String) {
    if let Some(Node::Text(t)) = el.children.last_mut() {
        t.push_str(&s);
    } else {
        el.children.push(Node::Text(s));
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(el));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err(format!("second root element <{}>", el.name)),
    }
}

fn write_element(out: &mut String, el: &Element, depth: usize, format: bool) {
    if format {
        out.push_str(&"  ".repeat(depth));
    }
    out.push('<');
    out.push_str(&el.name);
    for (k, v) in &el.attrs {
        let _ = write!(out, " {k}=\"{}\"", escape_attr(v));
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    // libxml2 stops indenting inside an element that holds text.
    let child_format = format && !el.children.iter().any(|n| matches!(n, Node::Text(_)));
    for n in &el.children {
        if child_format {
            out.push('\n');
        }
        match n {
            Node::Element(e) => write_element(out, e, depth + 1, child_format),
            Node::Text(t) => out.push_str(&escape_text(t)),
            Node::Comment(c) => {
                if child_format {
                    out.push_str(&"  ".repeat(depth + 1));
                }
                let _ = write!(out, "<!--{c}-->");
            }
        }
    }
    if child_format {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    let _ = write!(out, "</{}>", el.name);
}

fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\r' => o.push_str("&#13;"),
            _ => o.push(c),
        }
    }
    o
}

fn escape_attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            '\t' => o.push_str("&#9;"),
            _ => o.push(c),
        }
    }
    o
}
