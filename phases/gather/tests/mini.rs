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
