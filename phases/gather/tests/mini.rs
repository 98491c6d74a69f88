#![allow(clippy::unwrap_used)]
//! The mini distro gathered as pungi-run configured it must ship exactly what pungi shipped
//! (shared/reference/pungi-compose/compose/metadata/rpms.json).

use std::path::Path;

use kiln_compose::Paths;
use kiln_depsolve::GatherOptions;
use kiln_phase_gather::comps::{group_inputs, parse_groups};
use kiln_phase_gather::output::{add_to_rpms, build_result, link_result};
use kiln_phase_gather::{Method, PkgRecord, VariantPlan, solve_arch};
use kiln_productmd::rpms::Rpms;
use kiln_rpm::ChecksumKind;
use kiln_variants::{VariantDef, Variants};

const REFERENCE: &str = "/work/shared/reference/pungi-compose/compose/metadata/rpms.json";

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
        })
        .collect()
}

fn def(id: &str, groups: &[&str]) -> VariantDef {
    serde_json::from_value(serde_json::json!({
        "id": id, "arches": ["x86_64"], "groups": groups,
    }))
    .unwrap()
}

#[test]
fn mini_distro_matches_pungi() {
    if !Path::new(REFERENCE).exists() {
        eprintln!("skipping: {REFERENCE} is absent");
        return;
    }
    let mini = xtask::fixtures::mini_distro_cached().unwrap();
    let mut pkgset = records(&mini.packages);
    pkgset.extend(records(&mini.srpms));
    let groups = parse_groups(&std::fs::read_to_string(&mini.comps).unwrap()).unwrap();
    let variants = Variants::from_defs(&[
        def("BaseOS", &["core", "standard"]),
        def("AppStream", &["editors", "web-server"]),
    ])
    .unwrap();
    let plans: Vec<VariantPlan> = variants
        .all
        .iter()
        .map(|v| {
            let (mut includes, conditional, missing) =
                group_inputs(&groups, &v.groups, &v.uid, "x86_64");
            assert!(missing.is_empty());
            if v.uid == "BaseOS" {
                includes.push("mini-glibc-devel".into());
            }
            VariantPlan {
                uid: v.uid.clone(),
                kind: v.kind,
                parent: v.parent.clone(),
                method: Method::Deps,
                includes,
                conditional,
                excludes: vec!["mini-filtered".into()],
                options: GatherOptions {
                    arch: "x86_64".into(),
                    ..Default::default()
                },
                lookaside_variants: if v.uid == "AppStream" {
                    vec!["BaseOS".into()]
                } else {
                    vec![]
                },
                lookaside_packages: vec![],
            }
        })
        .collect();
    let selections = solve_arch(&pkgset, &plans).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths::new(tmp.path());
    let mut rpms = Rpms::default();
    for v in &variants.all {
        let sel = &selections[&v.uid];
        assert!(sel.unresolved.is_empty(), "{:?}", sel.unresolved);
        let result = build_result(&paths, v, "x86_64", Method::Deps, sel, &pkgset, true);
        add_to_rpms(&mut rpms, &result);
        let made =
            link_result(tmp.path(), &result, kiln_fs::link::LinkKind::HardlinkOrCopy).unwrap();
        assert!(made.iter().all(|p| p.is_file()));
        // The result JSON round-trips.
        let back: kiln_phase_gather::GatherResult =
            serde_json::from_slice(&result.to_json()).unwrap();
        assert_eq!(back, result);
    }
    let (_, mut want) = Rpms::load(Path::new(REFERENCE)).unwrap();
    // pungi's run was unsigned; the fixture is signed with c0ffee36.
    for r in [&mut rpms, &mut want] {
        for e in r
            .rpms
            .values_mut()
            .flat_map(|a| a.values_mut())
            .flat_map(|s| s.values_mut())
            .flat_map(|n| n.values_mut())
        {
            e.sigkey = None;
        }
    }
    let flat = |r: &Rpms| -> Vec<String> {
        let mut v = Vec::new();
        for (var, arches) in &r.rpms {
            for (arch, srpms) in arches {
                for (srpm, pkgs) in srpms {
                    for (nevra, e) in pkgs {
                        v.push(format!(
                            "{var} {arch} {srpm} {nevra} {:?} {}",
                            e.category, e.path
                        ));
                    }
                }
            }
        }
        v
    };
    let (got, want) = (flat(&rpms), flat(&want));
    assert_eq!(got.len(), want.len());
    assert!(got.len() > 70, "{}", got.len());
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
}

struct Mini {
    pkgset: Vec<PkgRecord>,
    groups: kiln_phase_gather::comps::Groups,
}

fn mini() -> Mini {
    let mini = xtask::fixtures::mini_distro_cached().unwrap();
    let mut pkgset = records(&mini.packages);
    pkgset.extend(records(&mini.srpms));
    let groups = parse_groups(&std::fs::read_to_string(&mini.comps).unwrap()).unwrap();
    Mini { pkgset, groups }
}

/// BaseOS alone, with its pungi-run inputs, and options changed by `tweak`.
fn base_os(m: &Mini, method: Method, tweak: impl FnOnce(&mut GatherOptions)) -> Vec<String> {
    let variants = Variants::from_defs(&[def("BaseOS", &["core", "standard"])]).unwrap();
    let v = &variants.all[0];
    let (mut includes, conditional, _) = group_inputs(&m.groups, &v.groups, &v.uid, "x86_64");
    includes.push("mini-glibc-devel".into());
    let mut options = GatherOptions {
        arch: "x86_64".into(),
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
