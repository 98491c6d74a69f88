//! pungi's variants.xml (share/variants.dtd in pungi): variants, addons and
//! layered products (defined at top level and pulled in with `<ref>`),
//! optional children (explicit, or implied by `has_optional="true"`),
//! `<release>`, groups with default/uservisible/glob, environments with
//! display_order, modules, arches, buildinstall packages, is_empty.
//!
//! What pungi does and this keeps: lists are sorted by name, a child's arches
//! are intersected with its parent's, a child's uid is `<parent>-<id>`, and
//! text with leading/trailing whitespace in `arch`, `group`, … is an error.
//! Every error names file:line:column.

use std::path::{Path, PathBuf};

use kiln_comps::tree::{Document, Element, Pos};

use crate::{
    EnvironmentRef, GroupRef, LayeredRelease, ModuleRef, Variant, VariantKind, Variants,
    VariantsError,
};

impl Variants {
    /// Reads a pungi `variants.xml`.
    pub fn from_xml_file(path: &Path) -> Result<Self, VariantsError> {
        let text = std::fs::read_to_string(path).map_err(|source| VariantsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_xml_str(&text, path)
    }

    /// Parses variants.xml text; `path` is only used in error messages.
    pub fn from_xml_str(text: &str, path: &Path) -> Result<Self, VariantsError> {
        let doc = Document::parse(text, path).map_err(|e| VariantsError::Xml {
            path: path.to_owned(),
            line: e.pos.line,
            column: e.pos.column,
            message: e.message,
        })?;
        let p = Parser {
            path: path.to_owned(),
        };
        if doc.root.name != "variants" {
            return Err(p.err(
                &doc.root.pos,
                format!("root element is <{}>, expected <variants>", doc.root.name),
            ));
        }
        for el in doc.root.elements() {
            if el.name != "variant" && el.name != "ref" {
                return Err(p.err(&el.pos, format!("unexpected <{}> in <variants>", el.name)));
            }
        }
        let tops: Vec<&Element> = doc.root.elements_named("variant").collect();
        let mut all = Vec::new();
        for node in &tops {
            if p.kind(node)? == VariantKind::Variant {
                p.variant(node, None, &tops, &mut all, 0)?;
            }
        }
        Ok(Variants { all })
    }
}

struct Parser {
    path: PathBuf,
}

/// Elements whose text pungi refuses to see padded with whitespace.
const NO_WHITESPACE: &[&str] = &[
    "arch",
    "environment",
    "group",
    "kojitag",
    "module",
    "name",
    "package",
];

impl Parser {
    fn err(&self, pos: &Pos, message: String) -> VariantsError {
        VariantsError::Xml {
            path: self.path.clone(),
            line: pos.line,
            column: pos.column,
            message,
        }
    }

    fn required<'a>(&self, el: &'a Element, attr: &str) -> Result<&'a str, VariantsError> {
        el.attr(attr).ok_or_else(|| {
            self.err(
                &el.pos,
                format!("<{}> lacks the required attribute {attr}", el.name),
            )
        })
    }

    fn boolean(&self, el: &Element, attr: &str) -> Result<Option<bool>, VariantsError> {
        match el.attr(attr) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(self.err(
                &el.pos,
                format!("{attr}={other:?}: expected \"true\" or \"false\""),
            )),
        }
    }

    fn kind(&self, el: &Element) -> Result<VariantKind, VariantsError> {
        match self.required(el, "type")? {
            "variant" => Ok(VariantKind::Variant),
            "addon" => Ok(VariantKind::Addon),
            "optional" => Ok(VariantKind::Optional),
            "layered-product" => Ok(VariantKind::LayeredProduct),
            other => Err(self.err(
                &el.pos,
                format!("type {other:?}: expected variant, addon, optional or layered-product"),
            )),
        }
    }

    fn text(&self, el: &Element) -> Result<String, VariantsError> {
        let t = el.text();
        if NO_WHITESPACE.contains(&el.name.as_str()) && t.trim() != t {
            return Err(self.err(
                &el.pos,
                format!("tag {} contains leading or trailing whitespace", el.name),
            ));
        }
        if t.is_empty() {
            return Err(self.err(&el.pos, format!("<{}> is empty", el.name)));
        }
        Ok(t)
    }

    fn list<'a>(
        &self,
        el: &'a Element,
        list: &'a str,
        item: &str,
    ) -> Result<Vec<&'a Element>, VariantsError> {
        let mut out = vec![];
        for l in el.elements_named(list) {
            for c in l.elements() {
                if c.name != item && !(list == "modules" && c.name == "kojitag") {
                    return Err(self.err(&c.pos, format!("unexpected <{}> in <{list}>", c.name)));
                }
                if c.name == item {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    fn variant(
        &self,
        node: &Element,
        parent: Option<&Variant>,
        tops: &[&Element],
        all: &mut Vec<Variant>,
        depth: usize,
    ) -> Result<(), VariantsError> {
        if depth > 4 {
            return Err(self.err(&node.pos, "variants nest too deep (a <ref> cycle?)".into()));
        }
        const KNOWN: &[&str] = &[
            "release",
            "arches",
            "groups",
            "environments",
            "variants",
            "buildinstallpackages",
            "modules",
        ];
        for c in node.elements() {
            if !KNOWN.contains(&c.name.as_str()) {
                return Err(self.err(&c.pos, format!("unexpected <{}> in <variant>", c.name)));
            }
        }
        let id = self.required(node, "id")?.to_owned();
        let name = self.required(node, "name")?.to_owned();
        let kind = self.kind(node)?;
        let uid = match parent {
            Some(p) => format!("{}-{id}", p.uid),
            None => id.clone(),
        };
        if let Some(p) = parent {
            if p.kind != VariantKind::Variant {
                return Err(self.err(
                    &node.pos,
                    format!("{}: only a variant can contain other variants", p.uid),
                ));
            }
            if p.id == id {
                return Err(self.err(
                    &node.pos,
                    format!("child variant id {id} equals its parent's"),
                ));
            }
        }
        if node.child("arches").is_none() {
            return Err(self.err(&node.pos, format!("variant {uid} has no <arches>")));
        }
        let mut arches = vec![];
        for a in self.list(node, "arches", "arch")? {
            arches.push(self.text(a)?);
        }
        arches.sort();
        arches.dedup();
        if arches.is_empty() {
            return Err(self.err(&node.pos, format!("variant {uid} lists no arch")));
        }
        if let Some(p) = parent {
            let both: Vec<String> = arches
                .iter()
                .filter(|a| p.arches.contains(a))
                .cloned()
                .collect();
            if both.is_empty() {
                return Err(self.err(
                    &node.pos,
                    format!(
                        "{uid}: arch list {arches:?} does not intersect with parent arch list {:?}",
                        p.arches
                    ),
                ));
            }
            arches = both;
        }
        let mut groups = vec![];
        for g in self.list(node, "groups", "group")? {
            groups.push(GroupRef {
                name: self.text(g)?,
                default: self.boolean(g, "default")?,
                uservisible: self.boolean(g, "uservisible")?,
                glob: self.boolean(g, "glob")?.unwrap_or(false),
            });
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let mut environments = vec![];
        for e in self.list(node, "environments", "environment")? {
            let display_order = match e.attr("display_order") {
                None => None,
                Some(d) => Some(d.trim().parse().map_err(|_| {
                    self.err(&e.pos, format!("display_order {d:?} is not a number"))
                })?),
            };
            environments.push(EnvironmentRef {
                name: self.text(e)?,
                display_order,
            });
        }
        environments.sort_by(|a, b| a.name.cmp(&b.name));
        let mut modules = vec![];
        for m in self.list(node, "modules", "module")? {
            modules.push(ModuleRef {
                name: self.text(m)?,
                glob: self.boolean(m, "glob")?.unwrap_or(false),
            });
        }
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        let mut buildinstall_packages = vec![];
        for pk in self.list(node, "buildinstallpackages", "package")? {
            buildinstall_packages.push(self.text(pk)?);
        }
        buildinstall_packages.sort();
        let release = if kind == VariantKind::LayeredProduct {
            let Some(r) = node.child("release") else {
                return Err(self.err(&node.pos, format!("layered product {uid} has no <release>")));
            };
            Some(LayeredRelease {
                name: self.required(r, "name")?.to_owned(),
                short: self.required(r, "short")?.to_owned(),
                version: self.required(r, "version")?.to_owned(),
            })
        } else {
            None
        };
        let has_optional = self.boolean(node, "has_optional")?.unwrap_or(false);
        let variant = Variant {
            id,
            uid: uid.clone(),
            name,
            kind,
            arches,
            groups,
            environments,
            modules,
            buildinstall_packages,
            is_empty: self.boolean(node, "is_empty")?.unwrap_or(false),
            has_optional,
            parent: parent.map(|p| p.uid.clone()),
            release,
        };
        if all.iter().any(|v| v.uid == uid) {
            return Err(self.err(&node.pos, format!("variant {uid} is defined twice")));
        }
        all.push(variant.clone());

        let mut contains_optional = false;
        let children = node.elements_named("variants").flat_map(|v| v.elements());
        let mut refs = vec![];
        for child in children {
            match child.name.as_str() {
                "variant" => {
                    if self.kind(child)? == VariantKind::Optional {
                        contains_optional = true;
                    }
                    self.variant(child, Some(&variant), tops, all, depth + 1)?;
                }
                "ref" => refs.push(child),
                other => {
                    return Err(self.err(&child.pos, format!("unexpected <{other}> in <variants>")));
                }
            }
        }
        if has_optional && !contains_optional {
            all.push(Variant {
                id: "optional".into(),
                uid: format!("{uid}-optional"),
                name: "optional".into(),
                kind: VariantKind::Optional,
                arches: variant.arches.clone(),
                groups: vec![],
                environments: vec![],
                modules: vec![],
                buildinstall_packages: vec![],
                is_empty: false,
                has_optional: false,
                parent: Some(uid.clone()),
                release: None,
            });
        }
        for r in refs {
            let target = self.required(r, "id")?;
            let Some(def) = tops.iter().find(|t| {
                t.attr("id") == Some(target)
                    && matches!(t.attr("type"), Some("addon") | Some("layered-product"))
            }) else {
                return Err(self.err(
                    &r.pos,
                    format!("variant {uid} references non-existing variant {target}"),
                ));
            };
            self.variant(def, Some(&variant), tops, all, depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{VariantKind, Variants};
    use std::path::Path;

    const MINI: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE variants PUBLIC "-//Red Hat, Inc.//DTD Variants info//EN" "variants.dtd">
<variants>
  <variant id="HA" name="High Availability" type="addon">
    <arches><arch>x86_64</arch><arch>ppc64le</arch></arches>
    <groups><group>ha</group></groups>
  </variant>
  <variant id="Gluster" name="Gluster" type="layered-product">
    <release name="Gluster" version="2.3" short="Gluster"/>
    <arches><arch>x86_64</arch></arches>
  </variant>
  <variant id="BaseOS" name="BaseOS" type="variant" has_optional="true">
    <arches><arch>x86_64</arch><arch>aarch64</arch></arches>
    <groups>
      <group default="true">standard</group>
      <group default="true" uservisible="false">core</group>
      <group glob="true">base-*</group>
    </groups>
    <environments>
      <environment display_order="20">minimal-environment</environment>
    </environments>
    <buildinstallpackages><package>zz</package><package>aa</package></buildinstallpackages>
    <variants>
      <ref id="HA"/>
      <ref id="Gluster"/>
    </variants>
  </variant>
  <variant id="AppStream" name="AppStream" type="variant">
    <arches><arch>x86_64</arch></arches>
    <modules><module>nginx:1.22</module><module glob="true">perl*</module></modules>
  </variant>
  <variant id="Live" name="Live" type="variant" is_empty="true">
    <arches><arch>x86_64</arch></arches>
  </variant>
</variants>
"#;

    #[test]
    fn parses_variants_children_refs_and_optional() {
        let v = Variants::from_xml_str(MINI, Path::new("variants.xml")).unwrap();
        let uids: Vec<&str> = v.all.iter().map(|v| v.uid.as_str()).collect();
        assert_eq!(
            uids,
            [
                "BaseOS",
                "BaseOS-optional",
                "BaseOS-HA",
                "BaseOS-Gluster",
                "AppStream",
                "Live"
            ]
        );
        let base = v.get("BaseOS").unwrap();
        assert_eq!(base.arches, ["aarch64", "x86_64"]);
        let names: Vec<&str> = base.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["base-*", "core", "standard"]);
        assert_eq!(base.groups[0].default, None);
        assert!(base.groups[0].glob);
        assert_eq!(base.groups[1].uservisible, Some(false));
        assert_eq!(base.environments[0].display_order, Some(20));
        assert_eq!(base.buildinstall_packages, ["aa", "zz"]);
        assert!(base.has_optional);
        let opt = v.get("BaseOS-optional").unwrap();
        assert_eq!(opt.kind, VariantKind::Optional);
        assert_eq!(opt.arches, base.arches);
        // An addon's arches are intersected with its parent's.
        let ha = v.get("BaseOS-HA").unwrap();
        assert_eq!(ha.arches, ["x86_64"]);
        assert_eq!(ha.parent.as_deref(), Some("BaseOS"));
        let gl = v.get("BaseOS-Gluster").unwrap();
        assert_eq!(gl.kind, VariantKind::LayeredProduct);
        assert_eq!(gl.release.as_ref().unwrap().version, "2.3");
        let app = v.get("AppStream").unwrap();
        assert_eq!(app.modules.len(), 2);
        assert!(app.modules[1].glob);
        assert!(v.get("Live").unwrap().is_empty);
    }

    fn err(text: &str) -> String {
        Variants::from_xml_str(text, Path::new("v.xml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = err(
            "<variants>\n  <variant id=\"A\" name=\"A\" type=\"variant\">\n    <arches><arch> x86_64</arch></arches>\n  </variant>\n</variants>\n",
        );
        assert!(e.starts_with("v.xml:3:13:"), "{e}");
        assert!(e.contains("whitespace"), "{e}");
        let e = err("<variants>\n  <variant id=\"A\" name=\"A\" type=\"bogus\">\n");
        assert!(e.starts_with("v.xml:2:3:"), "{e}");
        let e = err(
            "<variants>\n<variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches>\n<variants><ref id=\"Nope\"/></variants></variant></variants>",
        );
        assert!(
            e.contains("v.xml:3:11:") && e.contains("non-existing variant Nope"),
            "{e}"
        );
        let e = err(
            "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches>\n<groups><group default=\"yes\">core</group></groups></variant></variants>",
        );
        assert!(e.starts_with("v.xml:2:9:") && e.contains("default"), "{e}");
        let e =
            err("<variants><variant id=\"A\" name=\"A\" type=\"variant\"></variant></variants>");
        assert!(e.contains("no <arches>"), "{e}");
        let e = err(
            "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch>\n</variants>",
        );
        assert!(e.starts_with("v.xml:2:"), "{e}");
        let e = err(
            "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches><variants><variant id=\"B\" name=\"B\" type=\"addon\"><arches><arch>s390x</arch></arches></variant></variants></variant></variants>",
        );
        assert!(e.contains("does not intersect"), "{e}");
    }
}
