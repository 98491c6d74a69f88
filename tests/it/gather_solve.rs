//! The gather solver on the mini distro: multilib, fulltree, nodeps and selfhosting choose what
//! pungi's options say they choose.

use std::path::Path;

use kiln_depsolve::GatherOptions;
use kiln_phase_gather::comps::{group_inputs, read_groups};
use kiln_phase_gather::{Method, PkgRecord, VariantPlan, solve_arch};
use kiln_rpm::ChecksumKind;
use kiln_variants::{VariantDef, Variants};

fn records(dir: &Path) -> Vec<PkgRecord> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| PkgRecord {
            package: kiln_rpm::read_package(&path, ChecksumKind::Sha256).unwrap(),
            path,
            stat: None,
        })
        .collect()
}

fn def(id: &str, groups: &[&str]) -> VariantDef {
    serde_json::from_value(serde_json::json!({
        "id": id, "arches": ["x86_64"], "groups": groups,
    }))
    .unwrap()
}

struct Mini {
    pkgset: Vec<PkgRecord>,
    groups: kiln_comps::Comps,
}

fn mini() -> Mini {
    let mini = crate::common::mini();
    let mut pkgset = records(&mini.packages);
    pkgset.extend(records(&mini.srpms));
    let groups = read_groups(&mini.comps, "BaseOS", "x86_64").unwrap();
    Mini { pkgset, groups }
}

/// BaseOS alone, with its pungi-run inputs, and options changed by `tweak`.
fn base_os(m: &Mini, method: Method, tweak: impl FnOnce(&mut GatherOptions)) -> Vec<String> {
    let variants = Variants::from_defs(&[def("BaseOS", &["core", "standard"])]).unwrap();
    let v = &variants.all[0];
    let (mut includes, conditional, _) = group_inputs(&m.groups, &v.groups);
    includes.push("mini-glibc-devel".into());
    let mut options = GatherOptions {
        arch: "x86_64".into(),
        resolve_deps: true,
        ..Default::default()
    };
    tweak(&mut options);
    let plan = VariantPlan {
        uid: v.uid.clone(),
        kind: v.kind,
        parent: None,
        method,
        includes,
        conditional,
        excludes: vec!["mini-filtered".into()],
        options,
        lookaside_variants: vec![],
        lookaside_packages: vec![],
        hidden: Default::default(),
        origins: Default::default(),
    };
    let sel = &solve_arch(&m.pkgset, &[plan]).unwrap()["BaseOS"];
    let mut out: Vec<String> = sel
        .binary
        .iter()
        .chain(&sel.debug)
        .chain(&sel.source)
        .map(|p| m.pkgset[p.index].package.nvra())
        .collect();
    out.sort();
    out
}

fn i686(v: &[String]) -> Vec<&str> {
    v.iter()
        .filter(|n| n.ends_with(".i686"))
        .map(String::as_str)
        .collect()
}

/// Two variants that see the same packages and no lookaside are solved over one shared pool:
/// each still gets what it gets solved alone, whatever the other asked for first.
#[test]
fn variants_sharing_a_pool_get_what_they_get_alone() {
    let m = mini();
    let plan = |uid: &str, includes: &[&str], multilib: bool| VariantPlan {
        uid: uid.into(),
        kind: kiln_variants::VariantKind::Variant,
        parent: None,
        method: Method::Deps,
        includes: includes.iter().map(|s| s.to_string()).collect(),
        conditional: vec![],
        excludes: vec!["mini-filtered".into()],
        options: GatherOptions {
            arch: "x86_64".into(),
            resolve_deps: true,
            multilib: kiln_depsolve::Multilib {
                methods: if multilib {
                    vec![kiln_depsolve::MultilibMethod::Devel]
                } else {
                    vec![]
                },
                ..Default::default()
            },
            ..Default::default()
        },
        lookaside_variants: vec![],
        lookaside_packages: vec![],
        hidden: Default::default(),
        origins: Default::default(),
    };
    let names = |sel: &kiln_phase_gather::Selection| {
        let mut v: Vec<String> = sel
            .binary
            .iter()
            .chain(&sel.source)
            .map(|p| m.pkgset[p.index].package.nvra())
            .collect();
        v.sort();
        v
    };
    let a = plan("A", &["mini-glibc-devel"], true);
    let b = plan("B", &["mini-httpd"], false);
    let both = solve_arch(&m.pkgset, &[a.clone(), b.clone()]).unwrap();
    let alone_a = solve_arch(&m.pkgset, &[a]).unwrap();
    let alone_b = solve_arch(&m.pkgset, &[b]).unwrap();
    assert_eq!(names(&both["A"]), names(&alone_a["A"]));
    assert_eq!(names(&both["B"]), names(&alone_b["B"]));
    assert!(names(&both["A"]).iter().any(|n| n.ends_with(".i686")));
    assert!(!names(&both["B"]).iter().any(|n| n.ends_with(".i686")));
    assert!(
        names(&both["B"])
            .iter()
            .any(|n| n.starts_with("mini-httpd-"))
    );
    assert!(
        !names(&both["A"])
            .iter()
            .any(|n| n.starts_with("mini-httpd-"))
    );
}

#[test]
fn multilib_methods_on_the_mini_distro() {
    let m = mini();
    let plain = base_os(&m, Method::Deps, |_| {});
    assert!(i686(&plain).is_empty(), "{plain:?}");
    let devel = base_os(&m, Method::Deps, |o| {
        o.multilib.methods = vec![kiln_depsolve::MultilibMethod::Devel]
    });
    let got = i686(&devel);
    assert!(
        got.iter().any(|n| n.starts_with("mini-glibc-devel-")),
        "{got:?}"
    );
    // Only packages whose native twin is in get a multilib copy.
    for n in &got {
        let native = n.replace(".i686", ".x86_64");
        assert!(devel.contains(&native), "{n} without {native}");
    }
    let black = base_os(&m, Method::Deps, |o| {
        o.multilib.methods = vec![kiln_depsolve::MultilibMethod::Devel];
        o.multilib.blacklist = vec!["mini-glibc*".into()];
    });
    assert!(
        !i686(&black).iter().any(|n| n.starts_with("mini-glibc")),
        "{black:?}"
    );
}

#[test]
fn fulltree_takes_every_sibling_and_nodeps_takes_none() {
    let m = mini();
    let plain = base_os(&m, Method::Deps, |_| {});
    let full = base_os(&m, Method::Deps, |o| o.fulltree = true);
    assert!(full.len() > plain.len());
    assert!(plain.iter().all(|p| full.contains(p)));
    // Every x86_64/noarch binary built from a shipped source is shipped.
    for r in &m.pkgset {
        let p = &r.package;
        let Some(src) = &p.sourcerpm else { continue };
        let src_shipped = full.iter().any(|n| format!("{n}.rpm") == *src);
        if src_shipped
            && !p.is_debug()
            && (p.arch == "x86_64" || p.arch == "noarch")
            && !p.name.contains("filtered")
        {
            assert!(full.contains(&p.nvra()), "fulltree misses {}", p.nvra());
        }
    }
    let nodeps = base_os(&m, Method::Nodeps, |_| {});
    assert!(nodeps.len() < plain.len());
    // Inputs are in, with their sources and debuginfo, but not what they require.
    assert!(nodeps.iter().any(|n| n.starts_with("mini-bash-")));
    assert!(nodeps.iter().any(|n| n.starts_with("mini-bash-debuginfo-")));
    assert!(
        nodeps
            .iter()
            .any(|n| n.ends_with(".src") && n.starts_with("mini-bash-"))
    );
}

#[test]
fn selfhosting_pulls_build_requires() {
    let m = mini();
    let plain = base_os(&m, Method::Deps, |_| {});
    let hosted = base_os(&m, Method::Deps, |o| o.selfhosting = true);
    assert!(plain.iter().all(|p| hosted.contains(p)));
    assert!(hosted.len() > plain.len(), "selfhosting added nothing");
    // Every BuildRequires of every shipped source package is met by a shipped binary.
    let names: std::collections::BTreeSet<&str> = hosted
        .iter()
        .filter_map(|n| m.pkgset.iter().find(|r| r.package.nvra() == *n))
        .flat_map(|r| {
            std::iter::once(r.package.name.as_str())
                .chain(r.package.provides.iter().map(|d| d.name.as_str()))
        })
        .collect();
    for r in m
        .pkgset
        .iter()
        .filter(|r| r.package.is_source && hosted.contains(&r.package.nvra()))
    {
        for d in &r.package.requires {
            if d.name.starts_with("rpmlib(") || d.name.starts_with('/') || d.name.starts_with('(') {
                continue;
            }
            assert!(
                names.contains(d.name.as_str()),
                "{} BuildRequires {} but it is not shipped",
                r.package.nvra(),
                d.name
            );
        }
    }
}

/// A package of the set, made in memory: solve_arch reads headers only.
fn pkg(name: &str, arch: &str, source: &str, requires: &[&str]) -> PkgRecord {
    let mut package = kiln_rpm::Package {
        name: name.into(),
        version: "1".into(),
        release: "1".into(),
        arch: arch.into(),
        is_source: arch == "src",
        ..Default::default()
    };
    if arch != "src" {
        package.sourcerpm = Some(format!("{source}-1-1.src.rpm"));
    }
    package.requires = requires
        .iter()
        .map(|r| kiln_rpm::Dependency {
            name: (*r).into(),
            flags: None,
            epoch: None,
            version: None,
            release: None,
            pre: false,
        })
        .collect();
    PkgRecord {
        path: format!("/set/{}", package.file_name()).into(),
        package,
        stat: None,
    }
}

fn plan(
    uid: &str,
    kind: kiln_variants::VariantKind,
    parent: Option<&str>,
    inputs: &[&str],
) -> VariantPlan {
    VariantPlan {
        uid: uid.into(),
        kind,
        parent: parent.map(str::to_owned),
        method: Method::Deps,
        includes: inputs.iter().map(|s| (*s).to_owned()).collect(),
        conditional: vec![],
        excludes: vec![],
        options: GatherOptions {
            arch: "x86_64".into(),
            resolve_deps: true,
            ..Default::default()
        },
        lookaside_variants: vec![],
        lookaside_packages: vec![],
        hidden: Default::default(),
        origins: Default::default(),
    }
}

/// pungi's trimming of child variants: an addon's dependency built from a source the parent
/// ships moves to the parent; a layered product does not repeat what an addon ships (but keeps
/// its sources); an optional variant repeats neither.
#[test]
fn child_variants_are_trimmed_as_pungi_trims_them() {
    use kiln_variants::VariantKind as K;
    let set = vec![
        pkg("lib", "x86_64", "lib", &[]),
        pkg("lib-extra", "x86_64", "lib", &[]),
        pkg("lib", "src", "lib", &[]),
        pkg("app", "x86_64", "app", &["lib-extra"]),
        pkg("app", "src", "app", &[]),
        pkg("tool", "x86_64", "tool", &["app"]),
        pkg("tool", "src", "tool", &[]),
        pkg("misc", "x86_64", "misc", &[]),
        pkg("misc", "src", "misc", &[]),
    ];
    let plans = vec![
        plan("Server", K::Variant, None, &["lib"]),
        plan("Server-HA", K::Addon, Some("Server"), &["app"]),
        plan("Server-LP", K::LayeredProduct, Some("Server"), &["tool"]),
        plan(
            "Server-optional",
            K::Optional,
            Some("Server"),
            &["app", "misc"],
        ),
    ];
    let out = solve_arch(&set, &plans).unwrap();
    let names = |uid: &str, list: usize| {
        let sel = &out[uid];
        let picks = [&sel.binary, &sel.debug, &sel.source][list];
        let mut v: Vec<String> = picks.iter().map(|p| set[p.index].package.nvra()).collect();
        v.sort();
        v
    };
    let (bin, src) = (0, 2);
    // lib-extra came into the addon only because the parent ships lib's source: it moved up.
    assert_eq!(
        names("Server", bin),
        ["lib-1-1.x86_64", "lib-extra-1-1.x86_64"]
    );
    assert_eq!(names("Server-HA", bin), ["app-1-1.x86_64"]);
    // The layered product does not repeat the addon's app, but keeps its source.
    assert_eq!(names("Server-LP", bin), ["tool-1-1.x86_64"]);
    assert!(
        names("Server-LP", src).contains(&"app-1-1.src".to_owned()),
        "{:?}",
        names("Server-LP", src)
    );
    // Optional repeats neither the addon's nor the parent's packages.
    assert_eq!(names("Server-optional", bin), ["misc-1-1.x86_64"]);
}
