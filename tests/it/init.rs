//! The init phase on the mini distro: the per-variant comps keep what real
//! pungi kept (pungi-run.md §5, reference/pungi-compose comps files), and
//! bad comps or variants stop the compose with a located error.

use std::path::Path;

use crate::common::{kiln, mini_config, text};

/// Runs init alone; `replace` swaps a top-level option line (`key: value`).
fn just_init(dir: &Path, replace: &str) -> (std::process::Output, std::path::PathBuf) {
    let cfg = mini_config(dir, "");
    if let Some((key, _)) = replace.split_once(':') {
        let text = std::fs::read_to_string(&cfg).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key}:")) {
                    replace.trim_end().to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&cfg, text.join("\n")).unwrap();
    }
    let out = kiln(
        &[
            "compose",
            cfg.to_str().unwrap(),
            "--target-dir",
            "t",
            "--no-label",
            "--just-phase",
            "init",
        ],
        dir,
    );
    (out, dir.join("t/Mini-36-20261121.0"))
}

fn ids(xml: &str, tag: &str) -> Vec<String> {
    let comps = kiln_comps::Comps::parse(xml, Path::new("x")).unwrap();
    match tag {
        "group" => comps.groups.iter().map(|g| g.id.clone()).collect(),
        "environment" => comps.environments.iter().map(|g| g.id.clone()).collect(),
        _ => comps.categories.iter().map(|g| g.id.clone()).collect(),
    }
}

#[test]
fn variant_comps_keep_what_pungi_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (out, top) = just_init(dir.path(), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let work = top.join("work");
    let global = std::fs::read(work.join("global/comps/comps-global.xml")).unwrap();
    assert_eq!(global, std::fs::read(crate::common::mini().comps).unwrap());
    let arch = std::fs::read_to_string(work.join("x86_64/comps/comps-x86_64.xml")).unwrap();
    // Arch filtering only: the ppc64le-only group and packagereq are gone.
    assert!(
        !arch.contains("power-tools") && !arch.contains("mini-powerpc-utils"),
        "{arch}"
    );
    assert!(arch.starts_with("<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE comps PUBLIC"));

    let base = std::fs::read_to_string(work.join("x86_64/comps/comps-BaseOS.x86_64.xml")).unwrap();
    let app =
        std::fs::read_to_string(work.join("x86_64/comps/comps-AppStream.x86_64.xml")).unwrap();
    assert_eq!(ids(&base, "group"), ["core", "standard"]);
    assert_eq!(ids(&base, "environment"), ["minimal-environment"]);
    assert!(ids(&base, "category").is_empty());
    assert_eq!(ids(&app, "group"), ["editors", "web-server"]);
    assert_eq!(ids(&app, "environment"), ["web-server-environment"]);
    assert_eq!(ids(&app, "category"), ["servers"]);
    // `variant="AppStream"` keeps mini-editor out of BaseOS's standard group.
    assert!(!base.contains(">mini-editor<"), "{base}");

    // Against what real pungi wrote for the same variants: same groups with
    // the same packages (ours adds translations, a conditional and langpacks).
    let reference = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/pungi-compose/compose"
    ));
    for (v, ours) in [("BaseOS", &base), ("AppStream", &app)] {
        let Some(file) = std::fs::read_dir(reference.join(v).join("x86_64/os/repodata"))
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().ends_with(".x86_64.xml"))
            })
        else {
            eprintln!(
                "skipping reference comparison: {} absent",
                reference.display()
            );
            return;
        };
        let theirs = kiln_comps::Comps::from_file(&file).unwrap();
        let ours = kiln_comps::Comps::parse(ours, Path::new(v)).unwrap();
        for g in &theirs.groups {
            let mine = ours
                .group(&g.id)
                .unwrap_or_else(|| panic!("{v}: no group {}", g.id));
            let names = |g: &kiln_comps::Group| {
                g.packages
                    .iter()
                    .filter(|p| p.kind != kiln_comps::PackageType::Conditional)
                    .map(|p| (p.name.clone(), p.kind.as_str().to_owned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(g), names(mine), "{v}: group {}", g.id);
            assert_eq!(
                (g.default, g.uservisible),
                (mine.default, mine.uservisible),
                "{v}: {}",
                g.id
            );
        }
        for e in &theirs.environments {
            let mine = ours.environment(&e.id).unwrap();
            assert_eq!(e.group_ids, mine.group_ids, "{v}: {}", e.id);
            assert_eq!(e.option_ids, mine.option_ids, "{v}: {}", e.id);
        }
    }
}

/// With pungi-run's own comps (no kiln extras), kiln's per-variant files are
/// byte-identical to the ones real pungi wrote.
#[test]
fn variant_comps_are_byte_identical_to_pungis() {
    let reference = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/pungi-compose/compose"
    ));
    if !reference.exists() {
        eprintln!("skipping: {} absent", reference.display());
        return;
    }
    let plain: String = xtask::fixtures::mini::COMPS_XML
        .lines()
        .filter(|l| {
            !l.contains("xml:lang")
                && !l.contains("conditional")
                && !l.contains("variant=\"AppStream\"")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let plain = cut(&plain, "  <group arch=\"ppc64le\">", "  </group>\n");
    let plain = cut(&plain, "  <langpacks>", "  </langpacks>\n");
    let global = kiln_comps::tree::Document::parse(&plain, Path::new("comps.xml")).unwrap();
    let variants = kiln_variants::Variants::from_xml_str(
        xtask::fixtures::mini::VARIANTS_XML,
        Path::new("variants.xml"),
    )
    .unwrap();
    let config = kiln_config::load_str(
        "release_name: Mini\nrelease_short: Mini\nrelease_version: '36'\nvariants_file: v.xml\ncomps_file: c.xml\npkgset_repos: {x86_64: [r]}\n",
        Path::new("kiln.yaml"),
        Path::new("."),
    )
    .unwrap();
    for v in &variants.all {
        let spec = kiln_phase_init::variant_spec(v, &variants, &config);
        let (ours, unmatched) = kiln_comps::variant_comps(&global, "x86_64", &spec).unwrap();
        assert!(unmatched.is_empty());
        let dir = reference.join(&v.uid).join("x86_64/os/repodata");
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".x86_64.xml"))
            .unwrap();
        assert_eq!(ours, std::fs::read_to_string(&file).unwrap(), "{}", v.uid);
    }
}

fn cut(text: &str, start: &str, end: &str) -> String {
    match text.find(start) {
        Some(i) => match text[i..].find(end) {
            Some(j) => format!("{}{}", &text[..i], &text[i + j + end.len()..]),
            None => text.to_owned(),
        },
        None => text.to_owned(),
    }
}

#[test]
fn malformed_comps_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-comps.xml");
    std::fs::write(
        &bad,
        "<comps>\n  <group>\n    <id>core</id>\n  </grop>\n</comps>\n",
    )
    .unwrap();
    let (out, _) = just_init(dir.path(), &format!("comps_file: {}\n", bad.display()));
    assert_ne!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.contains("bad-comps.xml:4:"), "{t}");
}

#[test]
fn a_variant_naming_a_missing_group_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let variants = xtask::fixtures::mini::VARIANTS_XML.replace(">editors<", ">no-such-group<");
    let vfile = dir.path().join("my-variants.xml");
    std::fs::write(&vfile, variants).unwrap();
    let (out, _) = just_init(dir.path(), &format!("variants_file: {}\n", vfile.display()));
    assert_ne!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(
        t.contains("variant AppStream.x86_64 requires comps group no-such-group"),
        "{t}"
    );
    assert!(t.contains("my-variants.xml"), "{t}");
}
