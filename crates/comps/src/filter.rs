//! pungi's `CompsFilter`: arch/variant attribute filtering and cleanup on
//! the XML tree. Each method does what the pungi method of the same name
//! does, in the same order, so outputs match pungi's goldens.

use crate::glob::fnmatch;
use crate::tree::{Document, Element};

pub struct CompsFilter {
    doc: Document,
}

/// pungi splits attribute lists on commas and spaces.
fn values(v: &str) -> impl Iterator<Item = &str> {
    v.split([',', ' ']).filter(|s| !s.is_empty())
}

/// Keep `el` (dropping the attribute) when `attr` lists `val`; drop it when
/// the attribute lists other values; with `only`, drop elements without it.
fn keep_by_attr(el: &mut Element, attr: &str, val: &str, only: bool) -> bool {
    match el.attr(attr) {
        None => !only,
        Some(v) => {
            if values(v).any(|x| x == val) {
                el.remove_attr(attr);
                true
            } else {
                false
            }
        }
    }
}

impl CompsFilter {
    pub fn new(doc: Document) -> Self {
        CompsFilter { doc }
    }

    pub fn document(&self) -> &Document {
        &self.doc
    }

    pub fn into_document(self) -> Document {
        self.doc
    }

    fn groups_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.doc.root.elements_mut().filter(|e| e.name == "group")
    }

    fn filter_top(&mut self, name: &str, attr: &str, val: &str, only: bool) {
        self.doc
            .root
            .retain_elements(|e| e.name != name || keep_by_attr(e, attr, val, only));
    }

    /// `packagereq` elements by `arch=` then `variant=`.
    pub fn filter_packages(&mut self, arch: &str, variant: Option<&str>, only_arch: bool) {
        let mut passes = vec![("arch", arch)];
        if let Some(v) = variant {
            passes.push(("variant", v));
        }
        for (attr, val) in passes {
            for g in self.groups_mut() {
                for pl in g.elements_mut().filter(|e| e.name == "packagelist") {
                    pl.retain_elements(|p| {
                        p.name != "packagereq" || keep_by_attr(p, attr, val, only_arch)
                    });
                }
            }
        }
    }

    pub fn filter_groups(&mut self, arch: &str, variant: Option<&str>, only_arch: bool) {
        self.filter_top("group", "arch", arch, only_arch);
        if let Some(v) = variant {
            self.filter_top("group", "variant", v, only_arch);
        }
    }

    pub fn filter_environments(&mut self, arch: &str, variant: Option<&str>, only_arch: bool) {
        self.filter_top("environment", "arch", arch, only_arch);
        if let Some(v) = variant {
            self.filter_top("environment", "variant", v, only_arch);
        }
    }

    fn group_ids(&self) -> Vec<String> {
        self.doc
            .root
            .elements_named("group")
            .filter_map(|g| g.child("id").map(Element::text))
            .collect()
    }

    /// Remove undefined groups from categories.
    pub fn filter_category_groups(&mut self) {
        let all = self.group_ids();
        for c in self
            .doc
            .root
            .elements_mut()
            .filter(|e| e.name == "category")
        {
            for gl in c.elements_mut().filter(|e| e.name == "grouplist") {
                gl.retain_elements(|g| g.name != "groupid" || all.contains(&g.text()));
            }
        }
    }

    /// Remove groups without packages, except those matching `keep_empty` globs.
    pub fn remove_empty_groups(&mut self, keep_empty: &[String]) {
        self.doc.root.retain_elements(|g| {
            if g.name != "group" {
                return true;
            }
            let has_pkgs = g
                .elements_named("packagelist")
                .any(|pl| pl.elements_named("packagereq").next().is_some());
            if has_pkgs {
                return true;
            }
            let id = g.child_text("id").unwrap_or_default();
            keep_empty.iter().any(|pat| fnmatch(&id, pat))
        });
    }

    fn remove_without(&mut self, name: &str, list: &str) {
        self.doc.root.retain_elements(|e| {
            e.name != name
                || e.elements_named(list)
                    .any(|gl| gl.elements_named("groupid").next().is_some())
        });
    }

    pub fn remove_empty_categories(&mut self) {
        self.remove_without("category", "grouplist");
    }

    /// Remove undefined groups (unless lookaside) and groups of other arches
    /// from environments' grouplist and optionlist.
    pub fn filter_environment_groups(&mut self, arch: &str, lookaside_groups: &[String]) {
        let mut all = self.group_ids();
        all.extend(lookaside_groups.iter().cloned());
        for env in self
            .doc
            .root
            .elements_mut()
            .filter(|e| e.name == "environment")
        {
            for list in env
                .elements_mut()
                .filter(|e| e.name == "grouplist" || e.name == "optionlist")
            {
                list.retain_elements(|g| g.name != "groupid" || all.contains(&g.text()));
                list.retain_elements(|g| {
                    g.name != "groupid"
                        || g.attr("arch").is_none_or(|v| values(v).any(|x| x == arch))
                });
            }
        }
    }

    pub fn remove_empty_environments(&mut self) {
        self.remove_without("environment", "grouplist");
    }

    fn remove_top(&mut self, name: &str) {
        self.doc.root.retain_elements(|e| e.name != name);
    }

    pub fn remove_categories(&mut self) {
        self.remove_top("category");
    }

    pub fn remove_langpacks(&mut self) {
        self.remove_top("langpacks");
    }

    pub fn remove_environments(&mut self) {
        self.remove_top("environment");
    }

    /// Remove every element carrying `xml:lang`.
    pub fn remove_translations(&mut self) {
        fn walk(el: &mut Element) {
            el.retain_elements(|c| c.attr("xml:lang").is_none());
            for c in el.elements_mut() {
                walk(c);
            }
        }
        walk(&mut self.doc.root);
    }

    /// Empty groups, categories and environments out, as pungi's cleanup.
    pub fn cleanup(&mut self, arch: &str, keep_groups: &[String], lookaside_groups: &[String]) {
        self.remove_empty_groups(keep_groups);
        self.filter_category_groups();
        self.remove_empty_categories();
        self.filter_environment_groups(arch, lookaside_groups);
        self.remove_empty_environments();
    }
}
