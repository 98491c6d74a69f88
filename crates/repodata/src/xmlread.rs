//! A thin pull reader over quick-xml's event API: owned events, entity and
//! character references resolved, errors naming the file and byte offset.

use std::io::BufRead;

use quick_xml::events::Event;

use crate::Error;

pub enum Ev {
    Start {
        name: Vec<u8>,
        attrs: Vec<(Vec<u8>, String)>,
    },
    End(Vec<u8>),
    /// A piece of character data (adjacent pieces belong together).
    Text(String),
    Eof,
}

pub struct XmlReader<R> {
    r: quick_xml::Reader<R>,
    buf: Vec<u8>,
    file: String,
    pending_end: Option<Vec<u8>>,
}

impl<R: BufRead> XmlReader<R> {
    pub fn new(input: R, file: &str) -> Self {
        XmlReader {
            r: quick_xml::Reader::from_reader(input),
            buf: Vec::with_capacity(4096),
            file: file.to_owned(),
            pending_end: None,
        }
    }

    pub fn error(&self, problem: impl Into<String>) -> Error {
        Error::Xml {
            file: self.file.clone(),
            problem: format!("near byte {}: {}", self.r.buffer_position(), problem.into()),
        }
    }

    pub fn next(&mut self) -> Result<Ev, Error> {
        if let Some(n) = self.pending_end.take() {
            return Ok(Ev::End(n));
        }
        loop {
            self.buf.clear();
            let ev = match self.r.read_event_into(&mut self.buf) {
                Ok(ev) => ev,
                Err(e) => {
                    let msg = e.to_string();
                    return Err(self.error(msg));
                }
            };
            let out = match ev {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    let mut attrs = Vec::new();
                    for a in e.attributes() {
                        let a = a.map_err(|x| Error::Xml {
                            file: self.file.clone(),
                            problem: x.to_string(),
                        })?;
                        let v = a.unescape_value().map_err(|x| Error::Xml {
                            file: self.file.clone(),
                            problem: x.to_string(),
                        })?;
                        attrs.push((a.key.local_name().as_ref().to_vec(), v.into_owned()));
                    }
                    let name = e.local_name().as_ref().to_vec();
                    if empty {
                        self.pending_end = Some(name.clone());
                    }
                    Ev::Start { name, attrs }
                }
                Event::End(ref e) => Ev::End(e.local_name().as_ref().to_vec()),
                Event::Text(ref t) => match t.decode() {
                    Ok(s) => Ev::Text(s.into_owned()),
                    Err(e) => return Err(self.error(e.to_string())),
                },
                Event::CData(ref t) => Ev::Text(String::from_utf8_lossy(t).into_owned()),
                Event::GeneralRef(ref g) => {
                    if let Ok(Some(c)) = g.resolve_char_ref() {
                        Ev::Text(c.to_string())
                    } else {
                        let name = String::from_utf8_lossy(g).into_owned();
                        match quick_xml::escape::unescape(&format!("&{name};")) {
                            Ok(s) => Ev::Text(s.into_owned()),
                            Err(_) => return Err(self.error(format!("unknown entity &{name};"))),
                        }
                    }
                }
                Event::Eof => Ev::Eof,
                _ => continue,
            };
            return Ok(out);
        }
    }
}

pub fn attr<'a>(attrs: &'a [(Vec<u8>, String)], key: &[u8]) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
