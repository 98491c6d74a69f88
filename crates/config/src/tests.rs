//! What a release engineer sees when a config is wrong: every problem, located in the file.

use std::path::Path;

use crate::{ConfigError, load_str};

const GOOD: &str = "\
release_name: Mini
release_short: Mini
release_version: '36'
variants_file: variants.xml
comps_file: comps.xml
pkgset_repos:
  x86_64: [repo]
filter_packages:
  - ['^BaseOS$', {'*': [mini-filtered]}]
";

fn problems(text: &str) -> Vec<String> {
    match load_str(text, Path::new("kiln.yaml"), Path::new("/cfg")) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(ConfigError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn a_good_config_loads_with_pungi_defaults_and_paths_next_to_the_file() {
    let c = load_str(GOOD, Path::new("kiln.yaml"), Path::new("/cfg")).unwrap();
    assert_eq!(c.release_type, "ga");
    assert_eq!(c.media_checksums, ["md5", "sha1", "sha256"]);
    assert_eq!(c.sigkeys, [None]);
    assert_eq!(
        c.variants_file.as_deref(),
        Some(Path::new("/cfg/variants.xml"))
    );
    assert_eq!(c.pkgset_repos["x86_64"], ["/cfg/repo"]);
    assert_eq!(
        c.filter_packages.list_for("BaseOS", "x86_64"),
        ["mini-filtered"]
    );
    assert!(c.filter_packages.list_for("BaseOS", "src").is_empty());
}

#[test]
fn unknown_keys_name_line_column_and_a_suggestion() {
    let text = format!("{GOOD}gather_metod: deps\nwhatever_this_is: 1\n");
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p[0],
        "kiln.yaml:10:1: unknown option `gather_metod`; did you mean `gather_method`?"
    );
    assert_eq!(p[1], "kiln.yaml:11:1: unknown option `whatever_this_is`");
}

#[test]
fn wrong_types_point_at_the_value() {
    let text = GOOD.replace("comps_file: comps.xml", "hashed_directories: maybe");
    let p = problems(&text);
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("kiln.yaml:5:"), "{p:?}");
    assert!(p[0].contains("bool"), "{p:?}");
}

#[test]
fn wrong_values_and_cross_option_rules_are_all_reported() {
    let text = format!(
        "{GOOD}gather_method: magic\nskip_phases: [creatiso]\nmedia_checksums: [crc32]\nvariants: [{{id: X, arches: [x86_64]}}]\n"
    );
    let p = problems(&text);
    let joined = p.join("\n");
    assert!(
        joined.contains(
            "kiln.yaml:10:1: `gather_method` is \"magic\"; expected one of: deps, nodeps, hybrid"
        ),
        "{joined}"
    );
    assert!(
        joined.contains(
            "kiln.yaml:11:1: unknown phase `creatiso` in skip_phases; did you mean `createiso`?"
        ),
        "{joined}"
    );
    assert!(
        joined.contains("kiln.yaml:12:1: `media_checksums` is \"crc32\""),
        "{joined}"
    );
    assert!(
        joined.contains("kiln.yaml:13:1: set either `variants_file` or `variants`"),
        "{joined}"
    );
}

#[test]
fn broken_yaml_is_located() {
    let p = problems("release_name: [unclosed\nrelease_short: x\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("kiln.yaml:"), "{p:?}");
    assert!(
        !p[0].starts_with("kiln.yaml:1:1: "),
        "no real location: {p:?}"
    );
}

#[test]
fn bad_variant_regex_is_reported() {
    let text = GOOD.replace("'^BaseOS$'", "'^Base(OS$'");
    let p = problems(&text);
    assert!(p[0].starts_with("kiln.yaml:8:1: variant pattern"), "{p:?}");
}

#[test]
fn schema_on_disk_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/config.schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let fresh = serde_json::to_string_pretty(&crate::json_schema()).unwrap() + "\n";
    if std::env::var_os("KILN_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        on_disk == fresh,
        "schemas/config.schema.json is stale: run `KILN_BLESS=1 cargo test -p kiln-config schema` and commit it"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Whatever the bytes, loading returns a config or errors; it never panics.
        #[test]
        fn random_text_never_panics(text in "\\PC{0,200}") {
            let _ = load_str(&text, Path::new("f.yaml"), Path::new("/"));
        }

        #[test]
        fn mutated_configs_never_panic(cut in 0usize..GOOD.len(), junk in "[-:\\[\\]{}'\" \n#&*!|>a-z0-9]{0,12}") {
            let mut text = GOOD.to_owned();
            text.insert_str(cut, &junk);
            let _ = load_str(&text, Path::new("f.yaml"), Path::new("/"));
        }
    }
}

#[test]
fn gather_method_takes_pungis_per_source_form() {
    let text = format!(
        "{GOOD}gather_method:\n  '^.*$': {{comps: deps, module: nodeps}}\n  '^AppStream$': hybrid\n"
    );
    let c = load_str(&text, Path::new("kiln.yaml"), Path::new("/cfg")).unwrap();
    assert_eq!(c.gather_method.for_variant("BaseOS"), "deps");
    assert_eq!(
        c.gather_method.source_method("BaseOS", "module"),
        Some("nodeps")
    );
    assert_eq!(c.gather_method.for_variant("AppStream"), "hybrid");
    let bad = format!("{GOOD}gather_method:\n  '^.*$': {{comps: magic}}\n");
    assert!(
        problems(&bad)
            .iter()
            .any(|p| p.contains("`gather_method` is \"magic\"")),
        "{:?}",
        problems(&bad)
    );
}

#[test]
fn the_kubernetes_runner_needs_its_settings_and_takes_kubernetes_values() {
    let p = problems(&format!(
        "{GOOD}runroot_method: {{createiso: kubernetes}}\n"
    ))
    .join("\n");
    assert!(
        p.contains(
            "`runroot_method` uses kubernetes, but `runroot_kubernetes` (its image) is not set"
        ),
        "{p}"
    );
    let p = problems(&format!(
        "{GOOD}runroot_method: kubernetes\nrunroot_kubernetes:\n  image: tools\n  \
         image_pull_policy: Sometimes\n  resources: {{request: {{cpu: '2'}}}}\n  poll_seconds: 0\n"
    ))
    .join("\n");
    for want in [
        "`runroot_kubernetes.image_pull_policy` is \"Sometimes\"; expected one of: Always, IfNotPresent, Never",
        "`runroot_kubernetes.resources` is \"request\"; expected one of: requests, limits",
        "`runroot_kubernetes.poll_seconds` must be above 0",
    ] {
        assert!(p.contains(want), "{want} not in\n{p}");
    }
    let ok = load_str(
        &format!(
            "{GOOD}runroot_method: kubernetes\nrunroot_kubernetes:\n  image: tools\n  \
             node_selectors: {{x86_64: {{kubernetes.io/arch: amd64}}}}\n  backoff_limit: 2\n"
        ),
        Path::new("kiln.yaml"),
        Path::new("/cfg"),
    )
    .unwrap();
    let k = ok.runroot_kubernetes.unwrap();
    assert_eq!(k.node_selectors["x86_64"]["kubernetes.io/arch"], "amd64");
    assert_eq!((k.backoff_limit, k.poll_seconds), (2, 1.0));
}

#[test]
fn a_live_media_block_is_built_from_a_kickstart_or_a_kiwi_description() {
    let kiwi = "kiwi: {description_scm: /d, description_path: live}";
    let p = problems(&format!(
        "{GOOD}live_media:\n  ^A$: [{{kickstart: a.ks, {kiwi}}}, {{name: x}}]\n"
    ))
    .join("\n");
    assert!(
        p.contains("a live_media block for ^A$ has both a `kickstart` (built by Koji) and `kiwi` (built here); give one"),
        "{p}"
    );
    assert!(
        p.contains("a live_media block for ^A$ has neither a `kickstart` (built by Koji) nor `kiwi` (built here); give one"),
        "{p}"
    );
    let ok = load_str(
        &format!("{GOOD}live_media:\n  ^A$: {{{kiwi}}}\n"),
        Path::new("kiln.yaml"),
        Path::new("/cfg"),
    )
    .unwrap();
    let block = ok.live_media["^A$"].iter().next().unwrap();
    assert_eq!(block.kiwi.as_ref().unwrap().description_path, "live");
}
