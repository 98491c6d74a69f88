//! pungi's own config syntax: pungi's dummy config converts, and the bundled example written as
//! pungi configs (mini.conf importing mini-base.conf) composes exactly what kiln.yaml composes.

use std::path::{Path, PathBuf};

use crate::common::{compose_args, compose_dir, kiln, mini, mini_config, text};

const DUMMY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/realdata/pungi/data/dummy-pungi.conf"
);

#[test]
fn pungis_dummy_config_converts_whole_and_plans() {
    if !Path::new(DUMMY).exists() {
        eprintln!("skipping: {DUMMY} is absent");
        return;
    }
    let out = kiln(&["config", "convert", DUMMY], Path::new("."));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_saphyr::from_str(&yaml).expect("the output is YAML");
    assert_eq!(doc["release_short"], "DP");
    assert_eq!(doc["multilib"][0][1]["*"][1], "runtime");
    // kobo takes a list item without its comma; so does kiln.
    assert_eq!(
        doc["extra_isos"]["^Server$"][0]["filename"],
        "extra-{filename}"
    );
    // Every option it sets is one kiln takes (its `runroot_tag` too, since the Koji runner).
    assert!(!text(&out).contains("is not supported"), "{}", text(&out));
    assert_eq!(doc["runroot_tag"], "");
    // As it is, with its per-source gather_method, it is a config kiln plans a compose from.
    let plan = kiln(&["plan", DUMMY], Path::new("."));
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(text(&plan).contains("gather"), "{}", text(&plan));
}

/// The example's pungi configs in `dir`, pointing at the mini fixture.
fn pungi_configs(dir: &Path) -> PathBuf {
    let root = mini().repo.parent().unwrap().display().to_string();
    // mini_config copies the extra files the example ships.
    mini_config(dir, "");
    for name in ["mini.conf", "mini-base.conf"] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/mini")
                .join(name),
        )
        .unwrap()
        .replace("input/mini", &root);
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.join("mini.conf")
}

#[test]
fn the_example_in_pungi_syntax_composes_what_the_yaml_composes() {
    let a = tempfile::tempdir().unwrap();
    let conf = pungi_configs(a.path());
    let out = kiln(&compose_args(&conf, &[]), a.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("mini.conf:33: pungi option `translate_paths` is not supported"),
        "{}",
        text(&out)
    );
    let from_conf = compose_dir(&a.path().join("t"));

    let b = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(b.path(), ""), &[]), b.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let from_yaml = compose_dir(&b.path().join("t"));
    for file in ["rpms.json", "images.json", "composeinfo.json"] {
        let x = std::fs::read(from_conf.join("compose/metadata").join(file)).unwrap();
        let y = std::fs::read(from_yaml.join("compose/metadata").join(file)).unwrap();
        assert!(x == y, "{file} differs between mini.conf and kiln.yaml");
    }

    // A wrong value is reported at its line of the pungi config.
    let c = tempfile::tempdir().unwrap();
    let conf = pungi_configs(c.path());
    let text_conf = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("check_deps = True", "check_deps = \"maybe\"");
    std::fs::write(&conf, text_conf).unwrap();
    let out = kiln(&compose_args(&conf, &[]), c.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("mini.conf:6:"), "{}", text(&out));
}
