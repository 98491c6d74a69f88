//! Reading a config: YAML → typed [`Config`] → cross-option rules → paths resolved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Problem};
use crate::options::{Config, RELEASE_TYPES};
use crate::phases;

/// Loads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    // pungi's own configs are `.conf` files in kobo's syntax.
    if path.extension().is_some_and(|x| x == "conf") {
        return crate::pungi::load_pungi(path);
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    load_str(&text, path, &base)
}

/// Validates config text; `file` names it in errors, relative paths are resolved against `base`.
pub fn load_str(text: &str, file: &Path, base: &Path) -> Result<Config, ConfigError> {
    let keys = KeyLines::scan(text);
    let at = |key: &str, message: String| {
        let (line, column) = keys.find(key);
        Problem {
            file: file.to_owned(),
            line,
            column,
            message,
        }
    };

    // Unknown keys first, all of them, each with a suggestion: serde stops at the first one.
    let raw: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| yaml_problem(file, text, &e))?;
    let Some(map) = raw.as_object() else {
        return Err(ConfigError::Invalid(vec![Problem {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: "the config must be a mapping of option names to values".to_owned(),
        }]));
    };
    let known = known_keys();
    let unknown: Vec<Problem> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| {
            let hint = suggest(k, &known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            at(k, format!("unknown option `{k}`{hint}"))
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ConfigError::Invalid(unknown));
    }

    let mut config: Config =
        serde_saphyr::from_str(text).map_err(|e| yaml_problem(file, text, &e))?;
    let mut problems = check(&config, &at);
    problems.extend(check_extra_file_targets(&config, text, file));
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    resolve_paths(&mut config, base);
    config.origin = crate::Origin {
        file: file.to_owned(),
        keys: keys.0.clone(),
    };
    if let Some(path) = &config.gather_prepopulate
        && let Err(message) = crate::read_prepopulate(path)
    {
        return Err(ConfigError::Invalid(vec![at(
            "gather_prepopulate",
            message,
        )]));
    }
    if let Some(path) = &config.gather_source_mapping
        && let Err(message) = crate::read_source_mapping(path)
    {
        return Err(ConfigError::Invalid(vec![at(
            "gather_source_mapping",
            message,
        )]));
    }
    Ok(config)
}

fn yaml_problem(file: &Path, text: &str, err: &serde_saphyr::Error) -> ConfigError {
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    if let serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } = err.without_snippet() {
        let first = first_occurrence(text, key, line, column)
            .map(|(l, c)| format!(" (first set at line {l}, column {c})"))
            .unwrap_or_default();
        return ConfigError::Invalid(vec![Problem {
            file: file.to_owned(),
            line,
            column,
            message: format!(
                "`{key}` is set twice in the same mapping{first}; delete one of the two"
            ),
        }]);
    }
    let message = err.without_snippet().to_string();
    // The library prefixes its own "line:col" in some messages; keep ours only.
    let message = message
        .split_once(" at line ")
        .map(|(m, _)| m.to_owned())
        .unwrap_or(message);
    ConfigError::Invalid(vec![Problem {
        file: file.to_owned(),
        line,
        column,
        message,
    }])
}

/// Where `key` was first set in the block mapping whose later entry is at `line`:`column`: the
/// nearest line above at the same indentation that sets it, looking no further up than the
/// mapping's parent (a line indented less).
fn first_occurrence(text: &str, key: &str, line: u64, column: u64) -> Option<(u64, u64)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = usize::try_from(column).ok()?.checked_sub(1)?;
    let end = usize::try_from(line).ok()?.checked_sub(1)?;
    for (i, l) in lines.get(..end)?.iter().enumerate().rev() {
        let body = l.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let at = l.len() - body.len();
        if at < indent {
            return None;
        }
        if at == indent {
            let name = body
                .split_once(':')
                .map(|(k, _)| k.trim().trim_matches(['"', '\'']));
            if name == Some(key) {
                return Some((i as u64 + 1, column));
            }
        }
    }
    None
}

pub(crate) fn known_keys() -> Vec<&'static str> {
    // The schema's properties are the struct's fields, so the list can never drift from the type.
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let schema = crate::json_schema();
        schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| {
                p.keys()
                    .map(|k| &*Box::leak(k.clone().into_boxed_str()))
                    .collect()
            })
            .unwrap_or_default()
    })
    .clone()
}

pub(crate) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Lines of the top-level keys, so rules checked after parsing can still point into the file.
struct KeyLines(BTreeMap<String, (u64, u64)>);

impl KeyLines {
    fn scan(text: &str) -> Self {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with([' ', '\t', '#', '-']) {
                continue;
            }
            if let Some((key, _)) = line.split_once(':') {
                let key = key.trim().trim_matches(['"', '\'']);
                map.entry(key.to_owned()).or_insert((i as u64 + 1, 1));
            }
        }
        KeyLines(map)
    }

    fn find(&self, key: &str) -> (u64, u64) {
        self.0.get(key).copied().unwrap_or((1, 1))
    }
}

/// `extra_files` targets (of variants and of `extra_isos` blocks) that would leave the tree: an
/// absolute path or one with `..`. Checked here so that a typo stops the compose before anything
/// runs; the extrafiles phase still checks symlinks on the way, which only the tree can show.
fn check_extra_file_targets(c: &Config, text: &str, file: &Path) -> Vec<Problem> {
    let targets = c
        .extra_files
        .0
        .iter()
        .flat_map(|(_, arches)| arches.values().flatten())
        .chain(
            c.extra_isos
                .values()
                .flat_map(|blocks| blocks.iter().flat_map(|b| b.extra_files.iter())),
        )
        .map(|e| e.target.as_str());
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for target in targets {
        let path = Path::new(target);
        let why = if path.is_absolute() {
            "is absolute; it must be relative to the tree's root"
        } else if path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            "contains `..`, which would leave the tree"
        } else {
            continue;
        };
        if !seen.insert(target) {
            continue;
        }
        let (line, column) = value_location(text, "target", target);
        problems.push(Problem {
            file: file.to_owned(),
            line,
            column,
            message: format!("extra_files target {target:?} {why}"),
        });
    }
    problems
}

/// Line and column of the first `key: value` in the text (block or flow style, quoted or not),
/// for values that only exist deep inside the config.
fn value_location(text: &str, key: &str, value: &str) -> (u64, u64) {
    let wanted = format!("{key}:");
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(pos) = line[from..].find(&wanted) {
            let start = from + pos;
            let before_ok = start == 0
                || !line[..start]
                    .chars()
                    .next_back()
                    .is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
            let rest = &line[start + wanted.len()..];
            let trimmed = rest.trim_start();
            let unquoted = trimmed.trim_start_matches(['"', '\'']);
            if before_ok && unquoted.starts_with(value) {
                let col = line.len() - trimmed.len();
                return (i as u64 + 1, col as u64 + 1);
            }
            from = start + wanted.len();
        }
    }
    (1, 1)
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Option<String> {
    (!allowed.contains(&value)).then(|| {
        format!(
            "`{key}` is {value:?}; expected one of: {}",
            allowed.join(", ")
        )
    })
}

/// Rules no single type can express.
fn check(c: &Config, at: &dyn Fn(&str, String) -> Problem) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut push = |key: &str, msg: Option<String>| {
        if let Some(m) = msg {
            p.push(at(key, m));
        }
    };
    match (&c.variants_file, c.variants.is_empty()) {
        (None, true) => push(
            "release_name",
            Some("no variants: set `variants_file` (a pungi variants.xml) or `variants`".into()),
        ),
        (Some(_), false) => push(
            "variants",
            Some("set either `variants_file` or `variants`, not both".into()),
        ),
        _ => {}
    }
    for (key, value) in [
        ("release_short", &c.release_short),
        ("release_version", &c.release_version),
    ] {
        if value.is_empty() || value.contains(char::is_whitespace) || value.contains('/') {
            push(
                key,
                Some(format!(
                    "`{key}` {value:?} must be a non-empty word without spaces or '/'"
                )),
            );
        }
    }
    push(
        "release_type",
        one_of("release_type", &c.release_type, RELEASE_TYPES),
    );
    if c.is_layered() {
        push(
            "base_product_type",
            one_of("base_product_type", &c.base_product_type, RELEASE_TYPES),
        );
        if c.base_product_version.is_none() || c.base_product_name.is_none() {
            push(
                "base_product_short",
                Some("a layered product needs base_product_name, base_product_short and base_product_version".into()),
            );
        }
    }
    for name in &c.skip_phases {
        if phases::canonical(name).is_none() {
            let hint = phases::suggest(name)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            push(
                "skip_phases",
                Some(format!("unknown phase `{name}` in skip_phases{hint}")),
            );
        }
    }
    push(
        "pkgset_source",
        one_of("pkgset_source", &c.pkgset_source, &["repos", "koji"]),
    );
    push(
        "ostree_method",
        c.ostree_method
            .as_deref()
            .and_then(|m| one_of("ostree_method", m, &["dnf", "rpm-ostree"])),
    );
    if c.pkgset_source == "koji" && c.pkgset_koji_tag.is_none() {
        push(
            "pkgset_source",
            Some("pkgset_source koji needs `pkgset_koji_tag` (the tag to compose)".into()),
        );
    }
    if c.pkgset_source == "repos" && c.pkgset_repos.is_empty() {
        push(
            "pkgset_source",
            Some("pkgset_source repos needs `pkgset_repos: {arch: [path or URL]}`".into()),
        );
    }
    for m in c.gather_methods() {
        push(
            "gather_method",
            one_of("gather_method", m, &["deps", "nodeps", "hybrid"]),
        );
    }
    push(
        "greedy_method",
        one_of("greedy_method", &c.greedy_method, &["none", "all", "build"]),
    );
    push(
        "createrepo_checksum",
        one_of(
            "createrepo_checksum",
            &c.createrepo_checksum,
            &["sha256", "sha1", "sha224", "sha384", "sha512"],
        ),
    );
    if let Some(ct) = &c.createrepo_compress_type {
        push(
            "createrepo_compress_type",
            one_of("createrepo_compress_type", ct, &["gz", "zstd", "xz"]),
        );
    }
    push(
        "repoclosure_backend",
        one_of(
            "repoclosure_backend",
            &c.repoclosure_backend,
            &["native", "dnf"],
        ),
    );
    for (_, by_arch) in &c.repoclosure_strictness.0 {
        for v in by_arch.values() {
            push(
                "repoclosure_strictness",
                one_of("repoclosure_strictness", v, &["off", "lenient", "fatal"]),
            );
        }
    }
    for (_, by_arch) in &c.multilib.0 {
        for v in by_arch.values().flatten() {
            push(
                "multilib",
                one_of(
                    "multilib",
                    v,
                    &["devel", "runtime", "all", "kernel", "yaboot", "none"],
                ),
            );
        }
    }
    for sum in &c.media_checksums {
        push(
            "media_checksums",
            one_of("media_checksums", sum, &["md5", "sha1", "sha256", "sha512"]),
        );
    }
    if c.media_checksums.is_empty() {
        push(
            "media_checksums",
            Some("`media_checksums` must name at least one digest".into()),
        );
    }
    if c.create_jigdo {
        push(
            "create_jigdo",
            Some("jigdo files are not supported by kiln; set create_jigdo: false".into()),
        );
    }
    for m in c.runroot_method.methods() {
        push(
            "runroot_method",
            one_of(
                "runroot_method",
                m,
                &["local", "podman", "kubernetes", "koji"],
            ),
        );
    }
    if c.runroot_method.methods().contains(&"koji") && c.runroot_tag.is_none() {
        push(
            "runroot_method",
            Some(
                "`runroot_method` uses koji, but `runroot_tag` (the runroot build tag) is not set"
                    .into(),
            ),
        );
    }
    for phase in c.runroot_weights.keys() {
        if crate::phases::canonical(phase).is_none() {
            push(
                "runroot_weights",
                Some(format!(
                    "`runroot_weights` names {phase:?}, which is not a phase"
                )),
            );
        }
    }
    if let crate::RunrootMethod::PerPhase(map) = &c.runroot_method {
        for phase in map.keys() {
            if crate::phases::canonical(phase).is_none() {
                push(
                    "runroot_method",
                    Some(format!(
                        "`runroot_method` names {phase:?}, which is not a phase"
                    )),
                );
            }
        }
    }
    if c.runroot_method.methods().contains(&"podman") && c.runroot_podman.is_none() {
        push(
            "runroot_method",
            Some(
                "`runroot_method` uses podman, but `runroot_podman` (its image) is not set".into(),
            ),
        );
    }
    if c.runroot_method.methods().contains(&"kubernetes") && c.runroot_kubernetes.is_none() {
        push(
            "runroot_method",
            Some(
                "`runroot_method` uses kubernetes, but `runroot_kubernetes` (its image) is not set"
                    .into(),
            ),
        );
    }
    if let Some(k) = &c.runroot_kubernetes {
        if let Some(p) = &k.image_pull_policy {
            push(
                "runroot_kubernetes",
                one_of(
                    "runroot_kubernetes.image_pull_policy",
                    p,
                    &["Always", "IfNotPresent", "Never"],
                ),
            );
        }
        for key in k.resources.keys() {
            push(
                "runroot_kubernetes",
                one_of("runroot_kubernetes.resources", key, &["requests", "limits"]),
            );
        }
        if k.poll_seconds.is_nan() || k.poll_seconds <= 0.0 {
            push(
                "runroot_kubernetes",
                Some("`runroot_kubernetes.poll_seconds` must be above 0".into()),
            );
        }
    }
    for (re, blocks) in &c.live_media {
        for b in blocks.iter() {
            let why = match (&b.kickstart, &b.kiwi) {
                (Some(_), Some(_)) => {
                    Some("both a `kickstart` (built by Koji) and `kiwi` (built here)")
                }
                (None, None) => {
                    Some("neither a `kickstart` (built by Koji) nor `kiwi` (built here)")
                }
                _ => None,
            };
            push(
                "live_media",
                why.map(|w| format!("a live_media block for {re} has {w}; give one")),
            );
        }
    }
    if let Some(m) = &c.buildinstall_method {
        push(
            "buildinstall_method",
            one_of("buildinstall_method", m, &["lorax", "import"]),
        );
        if m == "import" && c.buildinstall_import.0.is_empty() {
            push(
                "buildinstall_method",
                Some(
                    "`buildinstall_method: import` needs `buildinstall_import`: the lorax tree \
                     (folder or tarball) of each variant/arch"
                        .into(),
                ),
            );
        }
    }
    for (_, by_arch) in &c.buildinstall_import.0 {
        for source in by_arch.values().filter(|s| is_url(s)) {
            let pinned = source.split_once("#sha256=").is_some_and(|(_, hex)| {
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !pinned {
                push(
                    "buildinstall_import",
                    Some(format!(
                        "buildinstall_import {source:?}: a URL needs the tarball's digest, \
                         `URL#sha256=<64 hex digits>`, so what is downloaded is verified"
                    )),
                );
            }
        }
    }
    if c.iso_size.0 <= c.split_iso_reserve.0 {
        push(
            "iso_size",
            Some(format!(
                "`iso_size` ({}) must be larger than `split_iso_reserve` ({})",
                c.iso_size.0, c.split_iso_reserve.0
            )),
        );
    }
    for (a, b) in &c.variant_as_lookaside {
        if a == b {
            push(
                "variant_as_lookaside",
                Some(format!("variant {a} cannot be its own lookaside")),
            );
        }
    }
    for (pattern, by_arch) in &c.ostree_installer.0 {
        for (arch, blocks) in by_arch {
            for b in blocks.iter() {
                if b.embedded().is_none() {
                    push(
                        "ostree_installer",
                        Some(format!(
                            "ostree_installer block for {pattern} {arch}: add_template_var must \
                             name the repository to embed and its ref (ostree_repo=PATH or URL, \
                             ostree_ref=REF)"
                        )),
                    );
                }
            }
        }
    }
    // Every variant regex must compile; pungi would only fail when the option is used.
    let maps: [(&str, Vec<&str>); 11] = [
        (
            "failable_deliverables",
            c.failable_deliverables.patterns().collect(),
        ),
        ("multilib", c.multilib.patterns().collect()),
        ("filter_packages", c.filter_packages.patterns().collect()),
        (
            "additional_packages",
            c.additional_packages.patterns().collect(),
        ),
        (
            "gather_lookaside_repos",
            c.gather_lookaside_repos.patterns().collect(),
        ),
        (
            "repoclosure_strictness",
            c.repoclosure_strictness.patterns().collect(),
        ),
        ("extra_files", c.extra_files.patterns().collect()),
        ("createiso_skip", c.createiso_skip.patterns().collect()),
        (
            "createiso_max_size",
            c.createiso_max_size.patterns().collect(),
        ),
        (
            "extra_isos",
            c.extra_isos.keys().map(String::as_str).collect(),
        ),
        ("ostree_installer", c.ostree_installer.patterns().collect()),
    ];
    for (key, patterns) in maps {
        for pat in patterns {
            if let Err(e) = regex::Regex::new(&format!("^(?:{pat})$")) {
                push(
                    key,
                    Some(format!("variant pattern {pat:?} is not a valid regex: {e}")),
                );
            }
        }
    }
    p
}

fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

fn is_url(s: &str) -> bool {
    s.contains("://")
}

/// Relative paths in a config mean "next to the config file", whatever the working directory.
fn resolve_paths(c: &mut Config, base: &Path) {
    for p in [
        &mut c.comps_file,
        &mut c.variants_file,
        &mut c.module_defaults_dir,
        &mut c.gather_prepopulate,
        &mut c.gather_source_mapping,
        &mut c.symlink_isos_to,
        &mut c.pkgset_cache_dir,
        &mut c.createrepo_reuse_from,
    ]
    .into_iter()
    .flatten()
    {
        resolve(base, p);
    }
    for repos in c.pkgset_repos.values_mut() {
        for r in repos.iter_mut().filter(|r| !is_url(r)) {
            *r = base.join(&*r).to_string_lossy().into_owned();
        }
    }
    for (_, by_arch) in c.buildinstall_import.0.iter_mut() {
        for r in by_arch.values_mut().filter(|r| !is_url(r)) {
            *r = base.join(&*r).to_string_lossy().into_owned();
        }
    }
    for blocks in c.ostree.values_mut() {
        let blocks: Vec<&mut crate::OstreeBlock> = match blocks {
            crate::OneOrMore::One(b) => vec![b],
            crate::OneOrMore::Many(v) => v.iter_mut().collect(),
        };
        for b in blocks {
            resolve(base, &mut b.ostree_repo);
            if !is_url(&b.config_url) {
                b.config_url = base.join(&b.config_url).to_string_lossy().into_owned();
            }
        }
    }
    for (_, by_arch) in c.ostree_installer.0.iter_mut() {
        for blocks in by_arch.values_mut() {
            let blocks: Vec<&mut crate::OstreeInstallerBlock> = match blocks {
                crate::OneOrMore::One(b) => vec![b],
                crate::OneOrMore::Many(v) => v.iter_mut().collect(),
            };
            for b in blocks {
                for kv in &mut b.add_template_var {
                    for key in ["ostree_repo=", "ostree_install_repo="] {
                        if let Some(v) = kv.strip_prefix(key)
                            && !is_url(v)
                        {
                            *kv = format!("{key}{}", base.join(v).display());
                        }
                    }
                }
            }
        }
    }
    for blocks in c.kiwibuild.values_mut() {
        let blocks: Vec<&mut crate::KiwiBlock> = match blocks {
            crate::OneOrMore::One(b) => vec![b],
            crate::OneOrMore::Many(v) => v.iter_mut().collect(),
        };
        for b in blocks {
            if !is_url(&b.description_scm) {
                b.description_scm = base.join(&b.description_scm).to_string_lossy().into_owned();
            }
        }
    }
    for blocks in c.ostree_container.values_mut() {
        let blocks: Vec<&mut crate::OstreeContainerBlock> = match blocks {
            crate::OneOrMore::One(b) => vec![b],
            crate::OneOrMore::Many(v) => v.iter_mut().collect(),
        };
        for b in blocks {
            if !is_url(&b.config_url) {
                b.config_url = base.join(&b.config_url).to_string_lossy().into_owned();
            }
        }
    }
    for (_, by_arch) in c.gather_lookaside_repos.0.iter_mut() {
        for r in by_arch.values_mut().flatten().filter(|r| !is_url(r)) {
            *r = base.join(&*r).to_string_lossy().into_owned();
        }
    }
    let file_scms = c
        .extra_files
        .0
        .iter_mut()
        .flat_map(|(_, m)| m.values_mut().flatten())
        .chain(
            c.extra_isos
                .values_mut()
                .flatten()
                .flat_map(|b| b.extra_files.iter_mut()),
        );
    for ef in file_scms {
        if ef.scm == "file" {
            for p in [&mut ef.file, &mut ef.dir] {
                match p {
                    crate::OneOrMany::One(s) => *s = base.join(&*s).to_string_lossy().into_owned(),
                    crate::OneOrMany::Many(v) => {
                        for s in v.iter_mut() {
                            *s = base.join(&*s).to_string_lossy().into_owned();
                        }
                    }
                    crate::OneOrMany::None => {}
                }
            }
        }
    }
    if let Some(scm) = &mut c.product_id
        && scm.scm == "file"
        && let crate::OneOrMany::One(s) = &mut scm.file
    {
        *s = base.join(&*s).to_string_lossy().into_owned();
    }
}
