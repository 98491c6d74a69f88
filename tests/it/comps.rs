//! kiln-comps against pungi 4.3.6's own comps goldens (read from
//! ../shared/realdata at test time, never copied) and against the comps
//! real pungi wrote for the mini distro's compose.

use kiln_comps::tree::Document;
use kiln_comps::{Comps, CompsFilter, EnvSpec, GroupSpec};
use std::path::{Path, PathBuf};

const GOLDENS: &str = "/work/shared/realdata/pungi/fixtures-comps";

fn golden(name: &str) -> Option<String> {
    let p = Path::new(GOLDENS).join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("skipping: {} absent", p.display());
            None
        }
    }
}

fn filter() -> Option<CompsFilter> {
    let text = golden("comps.xml.in")?;
    Some(CompsFilter::new(
        Document::parse(&text, Path::new("comps.xml.in")).unwrap(),
    ))
}

/// pungi's test compares stripped text after upper-casing the encoding.
fn assert_output(f: &CompsFilter, expected: &str) {
    let Some(exp) = golden(expected) else { return };
    let actual = f.document().to_lxml_string();
    assert_eq!(exp.trim(), actual.trim(), "differs from {expected}");
}

macro_rules! golden_case {
    ($name:ident, $file:expr, |$f:ident| $body:expr) => {
        #[test]
        fn $name() {
            let Some(mut $f) = filter() else { return };
            $body;
            assert_output(&$f, $file);
        }
    };
}

golden_case!(filter_packages, "comps-filtered-packages.xml", |f| f
    .filter_packages("ppc64le", None, false));
golden_case!(
    filter_packages_variant,
    "comps-filtered-packages-variant.xml",
    |f| f.filter_packages("ppc64le", Some("Server"), false)
);
golden_case!(filter_groups, "comps-filtered-groups.xml", |f| f
    .filter_groups("ppc64le", None, false));
golden_case!(
    filter_groups_variant,
    "comps-filtered-groups-variant.xml",
    |f| f.filter_groups("ppc64le", Some("Server"), false)
);
golden_case!(filter_envs, "comps-filtered-environments.xml", |f| f
    .filter_environments("ppc64le", None, false));
golden_case!(
    filter_envs_variant,
    "comps-filtered-environments-variant.xml",
    |f| f.filter_environments("ppc64le", Some("Client"), false)
);
golden_case!(remove_categories, "comps-removed-categories.xml", |f| f
    .remove_categories());
golden_case!(remove_langpacks, "comps-removed-langpacks.xml", |f| f
    .remove_langpacks());
golden_case!(remove_translations, "comps-removed-translations.xml", |f| f
    .remove_translations());
golden_case!(remove_environments, "comps-removed-environments.xml", |f| f
    .remove_environments());
golden_case!(cleanup, "comps-cleanup.xml", |f| f.cleanup(
    "ppc64le",
    &[],
    &[]
));
golden_case!(cleanup_after_filter, "comps-cleanup-filter.xml", |f| {
    f.filter_packages("ppc64le", None, false);
    f.cleanup("ppc64le", &[], &[])
});
golden_case!(cleanup_keep, "comps-cleanup-keep.xml", |f| {
    f.filter_packages("ppc64le", None, false);
    f.cleanup("ppc64le", &["standard".to_owned()], &[])
});
golden_case!(cleanup_all, "comps-cleanup-all.xml", |f| {
    f.filter_packages("ppc64le", None, false);
    f.filter_groups("ppc64le", None, false);
    f.filter_environments("ppc64le", None, false);
    f.cleanup("ppc64le", &[], &[])
});

fn wrapper() -> Option<Comps> {
    let text = golden("comps.xml")?;
    Some(Comps::parse(&text, Path::new("comps.xml")).unwrap())
}

#[test]
fn write_formatted() {
    let Some(c) = wrapper() else { return };
    let Some(exp) = golden("comps-formatted.xml") else {
        return;
    };
    assert_eq!(c.to_xml().unwrap(), exp);
}

#[test]
fn filter_groups_with_globs_and_overrides() {
    let Some(mut c) = wrapper() else { return };
    let unmatched = c.filter_groups(&[
        GroupSpec {
            name: "core".into(),
            glob: false,
            default: Some(false),
            uservisible: Some(true),
        },
        GroupSpec {
            name: "*a*".into(),
            glob: true,
            default: None,
            uservisible: None,
        },
    ]);
    assert!(unmatched.is_empty());
    let Some(exp) = golden("comps-group.xml") else {
        return;
    };
    assert_eq!(c.to_xml().unwrap(), exp);
    let mut c = wrapper().unwrap();
    let unmatched = c.filter_groups(&[GroupSpec {
        name: "boom".into(),
        glob: false,
        default: Some(false),
        uservisible: Some(true),
    }]);
    assert_eq!(unmatched, vec!["boom".to_owned()]);
}

#[test]
fn filter_environments_sets_display_order() {
    let Some(mut c) = wrapper() else { return };
    c.filter_environments(&[EnvSpec {
        name: "minimal".into(),
        display_order: Some(10),
    }]);
    let Some(exp) = golden("comps-env.xml") else {
        return;
    };
    assert_eq!(c.to_xml().unwrap(), exp);
}

#[test]
fn unknown_package_type_is_an_error_naming_package_group_and_line() {
    let Some(text) = golden("comps-typo.xml") else {
        return;
    };
    let c = Comps::parse(&text, Path::new("comps-typo.xml")).unwrap();
    let err = c.to_xml().unwrap_err().to_string();
    eprintln!("{err}");
    assert!(
        err.contains("package dummy-bash in group core has unknown type"),
        "{err}"
    );
    assert!(err.starts_with("comps-typo.xml:11:7:"), "{err}");
}

#[test]
fn whitespace_in_package_names_is_reported() {
    let Some(text) = golden("comps-ws.xml") else {
        return;
    };
    let err = Comps::parse(&text, Path::new("comps-ws.xml"))
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    for n in ["foo", "bar", "baz"] {
        assert!(
            err.contains(&format!(
                "package name {n} in group 'core' contains leading or trailing whitespace"
            )),
            "{err}"
        );
    }
}

fn realdata(rel: &str) -> Option<PathBuf> {
    let p = Path::new("/work/shared/realdata").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} absent", p.display());
        None
    }
}

/// Parse → write → parse keeps every group, package, translation,
/// environment, category and langpack of real Fedora comps.
#[test]
fn real_comps_round_trip_keeps_content() {
    for rel in [
        "libcomps/fedora_comps.xml",
        "libcomps/main_arches.xml",
        "libcomps/biarchonly.xml",
        "createrepo_c/comps/comps-f19.xml",
        "dnf5/repomd-comps-core-different-translations/comps.xml",
        "dnf5/repomd-comps-custom-environment/comps.xml",
        "pungi/data/dummy-comps.xml",
    ] {
        let Some(p) = realdata(rel) else { continue };
        let a = Comps::from_file(&p).unwrap();
        assert!(!a.groups.is_empty() || !a.environments.is_empty(), "{rel}");
        let written = a.to_xml().unwrap();
        let mut b = Comps::parse(&written, &p).unwrap();
        // The writer sorts and drops categories/environments without groups
        // and the group display_order (as pungi does): compare on that basis.
        let mut a = a;
        for c in [&mut a, &mut b] {
            c.groups.sort_by(|x, y| x.id.cmp(&y.id));
            c.environments.sort_by(|x, y| x.id.cmp(&y.id));
            for g in &mut c.groups {
                // Like pungi's writer, kiln drops these two group fields.
                g.display_order = None;
                g.biarchonly = false;
                g.pos = Default::default();
                g.packages.sort_by(|x, y| {
                    x.name
                        .cmp(&y.name)
                        .then(x.kind.as_str().cmp(y.kind.as_str()))
                });
                for p in &mut g.packages {
                    p.pos = Default::default();
                    p.basearchonly = false;
                    // pungi writes `requires` only on conditional packages.
                    if p.kind != kiln_comps::PackageType::Conditional {
                        p.requires = None;
                    }
                }
                if g.description.as_deref() == Some("") {
                    g.description = None;
                }
            }
            c.environments.retain(|e| !e.group_ids.is_empty());
            for e in &mut c.environments {
                e.group_ids.sort_by(|x, y| x.name.cmp(&y.name));
                e.group_ids.dedup();
                e.option_ids.sort_by(|x, y| x.name.cmp(&y.name));
                e.option_ids.dedup();
            }
            let ids: Vec<String> = c.groups.iter().map(|g| g.id.clone()).collect();
            for cat in &mut c.categories {
                cat.group_ids.retain(|g| ids.contains(&g.name));
                cat.group_ids.sort_by(|x, y| x.name.cmp(&y.name));
                cat.group_ids.dedup();
            }
            c.categories.retain(|c| !c.group_ids.is_empty());
        }
        assert_eq!(a.groups.len(), b.groups.len(), "{rel}");
        for (x, y) in a.groups.iter().zip(&b.groups) {
            assert_eq!(x, y, "{rel}: group {}", x.id);
        }
        assert_eq!(a.environments, b.environments, "{rel}");
        assert_eq!(a.categories, b.categories, "{rel}");
        assert_eq!(a.langpacks, b.langpacks, "{rel}");
    }
}

/// The XML-tree layer keeps everything too: parse → lxml-style write →
/// parse gives the same tree (positions aside).
#[test]
fn real_comps_tree_round_trip() {
    for rel in ["libcomps/fedora_comps.xml", "fedora-comps/comps-f41.xml.in"] {
        let Some(p) = realdata(rel) else { continue };
        let text = std::fs::read_to_string(&p).unwrap();
        let a = Document::parse(&text, &p).unwrap();
        let b = Document::parse(&a.to_lxml_string(), &p).unwrap();
        fn strip(e: &mut kiln_comps::tree::Element) {
            e.pos = Default::default();
            for c in e.elements_mut() {
                strip(c);
            }
        }
        let (mut ra, mut rb) = (a.root.clone(), b.root.clone());
        strip(&mut ra);
        strip(&mut rb);
        assert!(ra == rb, "{rel} changed in a round trip");
    }
}
