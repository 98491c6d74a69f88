//! The little of comps the gather phase needs: each group's package requests.

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::events::Event;

use crate::GatherError;

/// One `<packagereq>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageReq {
    pub name: String,
    /// mandatory, default, optional or conditional.
    pub kind: String,
    /// For conditional entries: the package whose presence brings this one in.
    pub requires: Option<String>,
    /// pungi's comps extensions: comma-separated arches / a variant the entry is limited to.
    pub arch: Option<String>,
    pub variant: Option<String>,
}

impl PackageReq {
    /// Whether pungi's `arch=`/`variant=` attributes keep this entry for a variant and arch.
    pub fn applies(&self, variant: &str, arch: &str) -> bool {
        self.arch
            .as_deref()
            .is_none_or(|a| a.split(',').any(|x| x.trim() == arch))
            && self.variant.as_deref().is_none_or(|v| v == variant)
    }
}

/// Group id → its package requests, in file order.
pub type Groups = BTreeMap<String, Vec<PackageReq>>;

/// Reads the groups of a comps file.
pub fn read_groups(path: &Path) -> Result<Groups, GatherError> {
    let text = std::fs::read_to_string(path).map_err(|source| GatherError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_groups(&text).map_err(|e| GatherError::Comps {
        path: path.to_owned(),
        message: e,
    })
}

pub fn parse_groups(text: &str) -> Result<Groups, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut groups = Groups::new();
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<(Option<String>, Vec<PackageReq>)> = None;
    let mut req: Option<PackageReq> = None;
    let mut buf = String::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                buf.clear();
                if name == "group" {
                    current = Some((None, Vec::new()));
                } else if name == "packagereq" && current.is_some() {
                    let mut r = PackageReq {
                        name: String::new(),
                        kind: "mandatory".into(),
                        requires: None,
                        arch: None,
                        variant: None,
                    };
                    for a in e.attributes().flatten() {
                        let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
                        match a.key.as_ref() {
                            b"type" => r.kind = v,
                            b"requires" => r.requires = Some(v),
                            b"arch" => r.arch = Some(v),
                            b"variant" => r.variant = Some(v),
                            _ => {}
                        }
                    }
                    req = Some(r);
                }
                stack.push(name);
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                buf.push_str(&quick_xml::escape::unescape(&s).map_err(|e| e.to_string())?);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                buf.push_str(match &*name {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str);
                match name.as_str() {
                    "id" if parent == Some("group") => {
                        if let Some((id, _)) = current.as_mut() {
                            *id = Some(buf.trim().to_owned());
                        }
                    }
                    "packagereq" => {
                        if let (Some(mut r), Some((_, list))) = (req.take(), current.as_mut()) {
                            r.name = buf.trim().to_owned();
                            list.push(r);
                        }
                    }
                    "group" => {
                        if let Some((Some(id), list)) = current.take() {
                            groups.insert(id, list);
                        }
                    }
                    _ => {}
                }
                buf.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(groups)
}

/// The inputs a variant takes from its groups: every non-conditional package (pungi writes
/// `@group --optional`, so optional ones too) and the conditional pairs.
pub fn group_inputs(
    groups: &Groups,
    wanted: &[kiln_variants::GroupRef],
    variant: &str,
    arch: &str,
) -> (Vec<String>, Vec<(String, String)>, Vec<String>) {
    let mut names = Vec::new();
    let mut conditional = Vec::new();
    let mut missing = Vec::new();
    for g in wanted {
        let matched: Vec<&Vec<PackageReq>> = if g.glob {
            groups
                .iter()
                .filter(|(id, _)| kiln_comps::fnmatch(id, &g.name))
                .map(|(_, v)| v)
                .collect()
        } else {
            groups.get(&g.name).into_iter().collect()
        };
        if matched.is_empty() {
            missing.push(g.name.clone());
        }
        for reqs in matched {
            for r in reqs.iter().filter(|r| r.applies(variant, arch)) {
                match (r.kind.as_str(), &r.requires) {
                    ("conditional", Some(when)) => conditional.push((when.clone(), r.name.clone())),
                    _ => names.push(r.name.clone()),
                }
            }
        }
    }
    names.sort();
    names.dedup();
    (names, conditional, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups() {
        let g = parse_groups(
            r#"<?xml version="1.0"?><comps><group><id>core</id><name>Core</name>
            <packagelist><packagereq type="mandatory">a</packagereq>
            <packagereq type="conditional" requires="x">b-x</packagereq>
            <packagereq>c</packagereq></packagelist></group>
            <category><id>cat</id></category></comps>"#,
        )
        .unwrap();
        assert_eq!(g["core"].len(), 3);
        assert_eq!(g["core"][1].requires.as_deref(), Some("x"));
        assert_eq!(g["core"][2].kind, "mandatory");
        assert!(parse_groups("<comps><group></comps>").is_err());
    }
}
