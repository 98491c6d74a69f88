//! pungi's depsolver test matrix (pungi 4.3.x `tests/test_gather.py`, its DNF class) run
//! through `kiln gather` on kiln's generated copies of pungi's fixture repositories. The
//! scenarios and pungi's expected lists are data (`gather_pungi.cases`, format at its top);
//! each case is one test named after pungi's.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use xtask::fixtures::PungiRepos;

const CASES: &str = include_str!("gather_pungi.cases");

#[derive(Debug, Default)]
struct Case {
    args: Vec<String>,
    /// `rpm`, `srpm`, `debuginfo`, `not rpm`, ..., `unresolved`, `flags NVRA`, `skip`.
    expect: BTreeMap<String, Vec<String>>,
}

fn cases() -> &'static BTreeMap<String, Case> {
    static CASES_PARSED: OnceLock<BTreeMap<String, Case>> = OnceLock::new();
    CASES_PARSED.get_or_init(|| parse(CASES))
}

fn parse(text: &str) -> BTreeMap<String, Case> {
    let mut out: BTreeMap<String, Case> = BTreeMap::new();
    let mut name = String::new();
    let mut key = String::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let case = || format!("gather_pungi.cases line {}", i + 1);
        if let Some(more) = line.strip_prefix("    ") {
            let case = out.get_mut(&name).unwrap_or_else(|| panic!("{}", case()));
            let list = if key == "args" {
                &mut case.args
            } else {
                case.expect.get_mut(&key).unwrap_or_else(|| panic!("{key}"))
            };
            list.extend(more.split_whitespace().map(str::to_owned));
        } else if let Some(body) = line.strip_prefix("  ") {
            let (k, v) = body.split_once(':').unwrap_or_else(|| panic!("{}", case()));
            key = k.to_owned();
            let words: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
            let case = out.get_mut(&name).unwrap_or_else(|| panic!("{}", case()));
            if key == "args" {
                case.args = words;
            } else {
                case.expect.insert(key.clone(), words);
            }
        } else {
            name = line.trim().to_owned();
            assert!(
                out.insert(name.clone(), Case::default()).is_none(),
                "{name} twice"
            );
        }
    }
    out
}

fn repos() -> &'static PungiRepos {
    static REPOS: OnceLock<PungiRepos> = OnceLock::new();
    REPOS.get_or_init(|| {
        xtask::fixtures::pungi_gather_repos_cached().expect("making pungi's fixture repos")
    })
}

/// `kiln gather` output: section → the packages (NVRA) in it, with their flags.
fn sections(stdout: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in stdout.lines() {
        if let Some(pkg) = line.strip_prefix("  ") {
            let (nvra, flags) = pkg.split_once(' ').unwrap_or((pkg, "[]"));
            let flags = flags.trim_matches(['[', ']']);
            out.entry(section.clone()).or_default().insert(
                nvra.to_owned(),
                flags
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        } else {
            section = line.trim_end_matches(':').to_owned();
            out.entry(section.clone()).or_default();
        }
    }
    out
}

fn run(name: &str) {
    let case = cases()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not in gather_pungi.cases"));
    let repos = repos();
    let mut args: Vec<String> = vec!["gather".into(), "--flags".into()];
    let mut has_repo = false;
    let mut words = case.args.iter();
    while let Some(w) = words.next() {
        args.push(w.clone());
        if w == "--repo" || w == "--lookaside" {
            has_repo |= w == "--repo";
            let repo = words.next().expect("a repository name");
            args.push(repos.repo(repo).display().to_string());
        }
    }
    if !has_repo {
        args.extend(["--repo".into(), repos.repo("repo").display().to_string()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = crate::common::kiln(&argv, Path::new("."));
    let shown = crate::common::text(&out);
    assert!(out.status.success(), "pungi's {name}: {shown}");
    let got = sections(&String::from_utf8_lossy(&out.stdout));
    let section = |key: &str| match key {
        "rpm" => "binary",
        "srpm" => "source",
        "debuginfo" => "debug",
        _ => unreachable!(),
    };
    for (key, want) in &case.expect {
        if let Some(kind) = key.strip_prefix("not ") {
            let have = &got[section(kind)];
            let wrong: Vec<&String> = want.iter().filter(|p| have.contains_key(*p)).collect();
            assert!(
                wrong.is_empty(),
                "pungi's {name}: {wrong:?} must not be in {kind}\n{shown}"
            );
        } else if let Some(nvra) = key.strip_prefix("flags ") {
            let flags = got
                .values()
                .find_map(|s| s.get(nvra))
                .unwrap_or_else(|| panic!("pungi's {name}: {nvra} is not gathered\n{shown}"));
            assert_eq!(flags, want, "pungi's {name}: the flags of {nvra}\n{shown}");
        } else if key == "unresolved" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("unresolved"),
                "pungi's {name}: every dependency resolves\n{shown}"
            );
        } else {
            let mut want = want.clone();
            want.sort();
            let have: Vec<String> = got[section(key)].keys().cloned().collect();
            assert_eq!(have, want, "pungi's {name}: {key}\n{shown}");
        }
    }
}

macro_rules! pungi_cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            #[allow(non_snake_case)] // pungi's names, as they are
            fn $name() {
                run(stringify!($name));
            }
        )*

        /// Every case of the data file that pungi runs is one of the tests above; the ones it
        /// skips say why.
        #[test]
        fn every_case_is_a_test() {
            let tests = [$(stringify!($name)),*];
            let data: Vec<&str> = cases()
                .iter()
                .filter(|(_, c)| match c.expect.get("skip") {
                    Some(why) => {
                        assert!(!why.is_empty());
                        false
                    }
                    None => true,
                })
                .map(|(n, _)| n.as_str())
                .collect();
            let mut sorted = tests.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, data);
        }
    };
}

pungi_cases!(
    test_kernel,
    test_kernel_fulltree,
    test_kernel_fulltree_excludes,
    test_kernel_doc_fulltree,
    test_bash_noarch_pulls_64bit,
    test_foo32_doc_fulltree,
    test_bash_exclude_debuginfo,
    test_bash_multilib_exclude_debuginfo,
    test_bash,
    test_bash_s390x,
    test_bash_greedy,
    test_system_release,
    test_system_release_greedy,
    test_smtpdaemon,
    test_smtpdaemon_sendmail,
    test_smtpdaemon_greedy_all,
    test_smtpdaemon_greedy_all_explicit_postfix,
    test_smtpdaemon_greedy_all_explicit_sendmail,
    test_firefox,
    test_firefox_selfhosting,
    test_firefox_selfhosting_with_krb5_lookaside,
    test_old_dep_in_lookaside_is_not_pulled_in,
    test_does_not_exclude_from_lookaside,
    test_firefox_fulltree,
    test_firefox_selfhosting_fulltree,
    test_krb5_fulltree,
    test_bash_multilib,
    test_wildcard_with_multilib_blacklist,
    test_bash_multilib_exclude,
    test_bash_multilib_exclude_source,
    test_bash_multilib_greedy,
    test_bash_multilib_filter_greedy,
    test_bash_filter_greedy,
    test_ipw3945_kmod,
    test_multilib_method_devel_runtime,
    test_selinux_policy_base,
    test_selinux_policy_base_greedy_build,
    test_selinux_policy_base_existing_provides,
    test_selinux_policy_doc_fulltree,
    test_AdobeReader_enu_nosrc,
    test_imsettings,
    test_imsettings_basic_desktop,
    test_imsettings_basic_desktop_nodeps,
    test_imsettings_basic_desktop_and_qt,
    test_bash_nodeps,
    test_bash_fulltree_nodeps,
    test_lookaside_empty,
    test_exclude_wildcards,
    test_atlas_greedy_none,
    test_atlas_greedy_build,
    test_atlas_greedy_build_multilib_devel,
    test_atlas_greedy_build_multilib_devel_32bit,
    test_atlas_greedy_all,
    test_skype,
    test_prepopulate,
    test_langpacks,
    test_multilib_whitelist,
    test_noarch_debuginfo,
    test_input_by_wildcard,
    test_requires_pre_post,
    test_multilib_exclude_pattern_does_not_match_noarch,
    test_only_required_debuginfo_pulled_in,
    test_exclude_source,
    test_exclude_debug,
    test_explicit_debug
);
