//! The comps data model (what libcomps reads) and pungi's per-variant writer.

use crate::glob::fnmatch;
use crate::tree::{Document, Element, Pos, SyntaxError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CompsError {
    #[error("cannot read comps file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("{}: root element is <{found}>, expected <comps>", path.display())]
    NotComps { path: PathBuf, found: String },
    #[error("{}:{}:{}: {message}", path.display(), pos.line, pos.column)]
    Invalid {
        path: PathBuf,
        pos: Pos,
        message: String,
    },
    #[error("{}: comps file contains errors:\n{}", path.display(), problems.join("\n"))]
    Validation {
        path: PathBuf,
        problems: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageType {
    Mandatory,
    Default,
    Optional,
    Conditional,
    /// A `type=` value comps does not define (kept to report it on write).
    Unknown(String),
}

impl PackageType {
    pub fn as_str(&self) -> &str {
        match self {
            PackageType::Mandatory => "mandatory",
            PackageType::Default => "default",
            PackageType::Optional => "optional",
            PackageType::Conditional => "conditional",
            PackageType::Unknown(s) => s,
        }
    }
    fn parse(s: Option<&str>) -> Self {
        match s {
            None | Some("mandatory") => PackageType::Mandatory,
            Some("default") => PackageType::Default,
            Some("optional") => PackageType::Optional,
            Some("conditional") => PackageType::Conditional,
            Some(other) => PackageType::Unknown(other.to_owned()),
        }
    }
    fn rank(&self) -> usize {
        match self {
            PackageType::Mandatory => 0,
            PackageType::Default => 1,
            PackageType::Optional => 2,
            PackageType::Conditional => 3,
            PackageType::Unknown(_) => 4,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageReq {
    pub name: String,
    pub kind: PackageType,
    /// For conditional packages: install when this package is installed.
    pub requires: Option<String>,
    pub basearchonly: bool,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub name_by_lang: BTreeMap<String, String>,
    pub description: Option<String>,
    pub desc_by_lang: BTreeMap<String, String>,
    pub default: bool,
    pub uservisible: bool,
    pub biarchonly: bool,
    pub langonly: Option<String>,
    pub display_order: Option<i64>,
    pub packages: Vec<PackageReq>,
    pub pos: Pos,
}

/// A group reference in a category or environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupId {
    pub name: String,
    pub default: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub name_by_lang: BTreeMap<String, String>,
    pub description: Option<String>,
    pub desc_by_lang: BTreeMap<String, String>,
    pub display_order: Option<i64>,
    pub group_ids: Vec<GroupId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub name_by_lang: BTreeMap<String, String>,
    pub description: Option<String>,
    pub desc_by_lang: BTreeMap<String, String>,
    pub display_order: Option<i64>,
    pub group_ids: Vec<GroupId>,
    pub option_ids: Vec<GroupId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comps {
    pub groups: Vec<Group>,
    pub categories: Vec<Category>,
    pub environments: Vec<Environment>,
    /// langpacks `match`: package name → install pattern (`foo-langpack-%s`).
    pub langpacks: BTreeMap<String, String>,
    pub origin: PathBuf,
}

/// A group as a variant lists it (pungi's group dict).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub glob: bool,
    pub default: Option<bool>,
    pub uservisible: Option<bool>,
}

/// An environment as a variant lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    pub display_order: Option<i64>,
}

struct Common {
    id: String,
    name: String,
    name_by_lang: BTreeMap<String, String>,
    description: Option<String>,
    desc_by_lang: BTreeMap<String, String>,
    display_order: Option<i64>,
}

fn common(el: &Element) -> Common {
    let mut c = Common {
        id: String::new(),
        name: String::new(),
        name_by_lang: BTreeMap::new(),
        description: None,
        desc_by_lang: BTreeMap::new(),
        display_order: None,
    };
    for e in el.elements() {
        let lang = e.attr("xml:lang");
        match (e.name.as_str(), lang) {
            ("id", _) => c.id = e.text(),
            ("name", None) => c.name = e.text(),
            ("name", Some(l)) => {
                c.name_by_lang.insert(l.to_owned(), e.text());
            }
            ("description", None) => c.description = Some(e.text()),
            ("description", Some(l)) => {
                c.desc_by_lang.insert(l.to_owned(), e.text());
            }
            ("display_order", _) => c.display_order = e.text().trim().parse().ok(),
            _ => {}
        }
    }
    c
}

fn boolean(el: &Element, name: &str, default: bool) -> bool {
    match el.child_text(name).map(|t| t.trim().to_ascii_lowercase()) {
        Some(t) if t == "true" => true,
        Some(t) if t == "false" => false,
        _ => default,
    }
}

fn group_ids(list: Option<&Element>) -> Vec<GroupId> {
    list.map(|l| {
        l.elements_named("groupid")
            .map(|g| GroupId {
                name: g.text(),
                default: g.attr("default") == Some("true"),
            })
            .collect()
    })
    .unwrap_or_default()
}

impl Comps {
    pub fn from_file(path: &Path) -> Result<Comps, CompsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Comps::parse(&text, path)
    }

    pub fn parse(text: &str, origin: &Path) -> Result<Comps, CompsError> {
        Comps::from_document(&Document::parse(text, origin)?)
    }

    pub fn from_document(doc: &Document) -> Result<Comps, CompsError> {
        if doc.root.name != "comps" {
            return Err(CompsError::NotComps {
                path: doc.origin.clone(),
                found: doc.root.name.clone(),
            });
        }
        let mut comps = Comps {
            origin: doc.origin.clone(),
            ..Comps::default()
        };
        for el in doc.root.elements() {
            match el.name.as_str() {
                "group" => {
                    let c = common(el);
                    if c.id.is_empty() {
                        return Err(CompsError::Invalid {
                            path: doc.origin.clone(),
                            pos: el.pos.clone(),
                            message: "<group> without <id>".into(),
                        });
                    }
                    let packages = el
                        .elements_named("packagelist")
                        .flat_map(|pl| pl.elements_named("packagereq"))
                        .map(|p| PackageReq {
                            name: p.text(),
                            kind: PackageType::parse(p.attr("type")),
                            requires: p.attr("requires").map(str::to_owned),
                            basearchonly: p.attr("basearchonly") == Some("true"),
                            pos: p.pos.clone(),
                        })
                        .collect();
                    comps.groups.push(Group {
                        id: c.id,
                        name: c.name,
                        name_by_lang: c.name_by_lang,
                        description: c.description,
                        desc_by_lang: c.desc_by_lang,
                        default: boolean(el, "default", false),
                        uservisible: boolean(el, "uservisible", true),
                        biarchonly: boolean(el, "biarchonly", false),
                        langonly: el.child_text("langonly"),
                        display_order: c.display_order,
                        packages,
                        pos: el.pos.clone(),
                    });
                }
                "category" => {
                    let c = common(el);
                    comps.categories.push(Category {
                        id: c.id,
                        name: c.name,
                        name_by_lang: c.name_by_lang,
                        description: c.description,
                        desc_by_lang: c.desc_by_lang,
                        display_order: c.display_order,
                        group_ids: group_ids(el.child("grouplist")),
                    });
                }
                "environment" => {
                    let c = common(el);
                    comps.environments.push(Environment {
                        id: c.id,
                        name: c.name,
                        name_by_lang: c.name_by_lang,
                        description: c.description,
                        desc_by_lang: c.desc_by_lang,
                        display_order: c.display_order,
                        group_ids: group_ids(el.child("grouplist")),
                        option_ids: group_ids(el.child("optionlist")),
                    });
                }
                "langpacks" => {
                    for m in el.elements_named("match") {
                        if let (Some(n), Some(i)) = (m.attr("name"), m.attr("install")) {
                            comps.langpacks.insert(n.to_owned(), i.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(comps)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn environment(&self, id: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.id == id)
    }

    /// pungi's check: no package name with leading or trailing whitespace.
    pub fn validate(&self) -> Result<(), CompsError> {
        let mut problems = vec![];
        for g in &self.groups {
            for p in &g.packages {
                let t = p.name.trim();
                if t != p.name {
                    problems.push(format!(
                        "line {}: package name {t} in group '{}' contains leading or trailing whitespace",
                        p.pos.line, g.id
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CompsError::Validation {
                path: self.origin.clone(),
                problems,
            })
        }
    }

    /// Keep the groups matching `specs` (first match wins and may set
    /// default/uservisible); returns the specs that matched no group.
    pub fn filter_groups(&mut self, specs: &[GroupSpec]) -> Vec<String> {
        let matches = |id: &str, s: &GroupSpec| {
            if s.glob {
                fnmatch(id, &s.name)
            } else {
                id == s.name
            }
        };
        self.groups
            .retain_mut(|g| match specs.iter().find(|s| matches(&g.id, s)) {
                Some(s) => {
                    if let Some(d) = s.default {
                        g.default = d;
                    }
                    if let Some(u) = s.uservisible {
                        g.uservisible = u;
                    }
                    true
                }
                None => false,
            });
        let mut unmatched: Vec<String> = specs
            .iter()
            .filter(|s| !self.groups.iter().any(|g| matches(&g.id, s)))
            .map(|s| s.name.clone())
            .collect();
        unmatched.sort();
        unmatched.dedup();
        unmatched
    }

    /// Keep the environments named in `specs`, overriding display_order.
    pub fn filter_environments(&mut self, specs: &[EnvSpec]) {
        self.environments
            .retain_mut(|e| match specs.iter().find(|s| s.name == e.id) {
                Some(s) => {
                    if s.display_order.is_some() {
                        e.display_order = s.display_order;
                    }
                    true
                }
                None => false,
            });
    }

    /// Write as pungi's `CompsWrapper.write_comps` does (minidom, sorted).
    pub fn to_xml(&self) -> Result<String, CompsError> {
        let mut w = Writer::default();
        w.out.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE comps\n  PUBLIC '-//Red Hat, Inc.//DTD Comps info//EN'\n  'comps.dtd'>\n<comps>\n",
        );
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        for g in &groups {
            w.open(1, "group");
            w.common(
                2,
                &g.id,
                &g.name,
                &g.name_by_lang,
                g.description.as_deref(),
                &g.desc_by_lang,
                true,
            );
            w.leaf(2, "default", &[], if g.default { "true" } else { "false" });
            w.leaf(
                2,
                "uservisible",
                &[],
                if g.uservisible { "true" } else { "false" },
            );
            if let Some(l) = g.langonly.as_deref().filter(|l| !l.is_empty()) {
                w.leaf(2, "langonly", &[], l);
            }
            let mut pkgs: Vec<&PackageReq> = g.packages.iter().collect();
            if let Some(p) = pkgs
                .iter()
                .find(|p| matches!(p.kind, PackageType::Unknown(_)))
            {
                return Err(CompsError::Invalid {
                    path: self.origin.clone(),
                    pos: p.pos.clone(),
                    message: format!(
                        "package {} in group {} has unknown type {:?}",
                        p.name,
                        g.id,
                        p.kind.as_str()
                    ),
                });
            }
            pkgs.sort_by(|a, b| {
                a.kind
                    .rank()
                    .cmp(&b.kind.rank())
                    .then_with(|| a.name.cmp(&b.name))
            });
            if pkgs.is_empty() {
                w.leaf(2, "packagelist", &[], "");
            } else {
                w.open(2, "packagelist");
                for p in pkgs {
                    let mut attrs = vec![];
                    if p.kind == PackageType::Conditional {
                        attrs.push(("requires", p.requires.as_deref().unwrap_or("")));
                    }
                    attrs.push(("type", p.kind.as_str()));
                    w.leaf(3, "packagereq", &attrs, &p.name);
                }
                w.close(2, "packagelist");
            }
            w.close(1, "group");
        }
        let ids: Vec<&str> = self.groups.iter().map(|g| g.id.as_str()).collect();
        for c in &self.categories {
            let gl: Vec<&GroupId> = c
                .group_ids
                .iter()
                .filter(|g| ids.contains(&g.name.as_str()))
                .collect();
            if gl.is_empty() {
                continue;
            }
            w.open(1, "category");
            w.common(
                2,
                &c.id,
                &c.name,
                &c.name_by_lang,
                c.description.as_deref(),
                &c.desc_by_lang,
                false,
            );
            if let Some(d) = c.display_order {
                w.leaf(2, "display_order", &[], &d.to_string());
            }
            w.grouplist(2, "grouplist", &gl);
            w.close(1, "category");
        }
        let mut envs: Vec<&Environment> = self.environments.iter().collect();
        envs.sort_by(|a, b| a.id.cmp(&b.id));
        for e in envs {
            if e.group_ids.is_empty() {
                continue;
            }
            w.open(1, "environment");
            w.common(
                2,
                &e.id,
                &e.name,
                &e.name_by_lang,
                e.description.as_deref(),
                &e.desc_by_lang,
                false,
            );
            if let Some(d) = e.display_order {
                w.leaf(2, "display_order", &[], &d.to_string());
            }
            w.grouplist(2, "grouplist", &e.group_ids.iter().collect::<Vec<_>>());
            if !e.option_ids.is_empty() {
                w.grouplist(2, "optionlist", &e.option_ids.iter().collect::<Vec<_>>());
            }
            w.close(1, "environment");
        }
        if !self.langpacks.is_empty() {
            w.open(1, "langpacks");
            for (name, install) in &self.langpacks {
                w.leaf(2, "match", &[("install", install), ("name", name)], "");
            }
            w.close(1, "langpacks");
        }
        w.out.push_str("</comps>\n");
        Ok(w.out)
    }
}

/// minidom's `toprettyxml(indent="  ")` for the shapes pungi writes.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn indent(&mut self, depth: usize) {
        self.out.push_str(&"  ".repeat(depth));
    }
    fn open(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        let _ = writeln!(self.out, "<{name}>");
    }
    fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        let _ = writeln!(self.out, "</{name}>");
    }
    fn leaf(&mut self, depth: usize, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent(depth);
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        if text.is_empty() {
            self.out.push_str("/>\n");
        } else {
            let _ = writeln!(self.out, ">{}</{name}>", escape(text));
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn common(
        &mut self,
        depth: usize,
        id: &str,
        name: &str,
        names: &BTreeMap<String, String>,
        desc: Option<&str>,
        descs: &BTreeMap<String, String>,
        force_description: bool,
    ) {
        self.leaf(depth, "id", &[], id);
        self.leaf(depth, "name", &[], name);
        for (lang, text) in names {
            self.leaf(depth, "name", &[("xml:lang", lang)], text);
        }
        let desc = desc.unwrap_or("");
        if !desc.is_empty() || force_description {
            self.leaf(depth, "description", &[], desc);
            for (lang, text) in descs {
                self.leaf(depth, "description", &[("xml:lang", lang)], text);
            }
        }
    }
    fn grouplist(&mut self, depth: usize, name: &str, ids: &[&GroupId]) {
        let mut sorted: Vec<&GroupId> = ids.to_vec();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        sorted.dedup_by(|a, b| a.name == b.name && a.default == b.default);
        self.open(depth, name);
        for g in sorted {
            let attrs: &[(&str, &str)] = if g.default {
                &[("default", "true")]
            } else {
                &[]
            };
            self.leaf(depth + 1, "groupid", attrs, &g.name);
        }
        self.close(depth, name);
    }
}

/// minidom escapes these four in both text and attribute values.
fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '"' => o.push_str("&quot;"),
            '>' => o.push_str("&gt;"),
            _ => o.push(c),
        }
    }
    o
}
