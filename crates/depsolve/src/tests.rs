//! Closure and repoclosure on hand-built pools.

use crate::*;

struct P {
    b: PoolBuilder<'static>,
    main: RepoId,
}

impl P {
    fn new() -> Self {
        let mut b = PoolBuilder::new();
        let main = b.add_repo("main", false);
        P { b, main }
    }
    fn add(&mut self, nevra: &str, f: impl FnOnce(&mut PkgSpec)) -> SolvId {
        self.add_to(self.main, nevra, f)
    }
    fn add_to(&mut self, repo: RepoId, nevra: &str, f: impl FnOnce(&mut PkgSpec)) -> SolvId {
        // "name-version-release.arch"
        let (nvr, arch) = nevra.rsplit_once('.').unwrap();
        let (nv, r) = nvr.rsplit_once('-').unwrap();
        let (n, v) = nv.rsplit_once('-').unwrap();
        let mut s = PkgSpec::new(n, &format!("{v}-{r}"), arch);
        if arch != "src" {
            s.sourcerpm = Some(format!("{n}-{v}-{r}.src.rpm"));
        }
        f(&mut s);
        self.b.add(repo, s)
    }
}

fn req(s: &mut PkgSpec, r: &str) {
    s.requires.push(atom(r));
}
fn prov(s: &mut PkgSpec, r: &str) {
    s.provides.push(atom(r));
}
fn src(s: &mut PkgSpec, srpm: &str) {
    s.sourcerpm = Some(srpm.to_owned());
}

fn opts() -> GatherOptions {
    GatherOptions {
        arch: "x86_64".into(),
        resolve_deps: true,
        ..Default::default()
    }
}

fn run(pool: &Pool, o: &GatherOptions, inc: &[&str]) -> GatherOutcome {
    gather(
        pool,
        o,
        &GatherRequest {
            includes: inc.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    )
}

fn names(pool: &Pool, ids: &[SolvId]) -> Vec<String> {
    ids.iter().map(|&i| pool.nvra(i)).collect()
}

#[test]
fn versioned_file_and_shortest_name() {
    let mut p = P::new();
    p.add("app-1-1.x86_64", |s| {
        req(s, "lib >= 2");
        req(s, "/usr/bin/perl");
        req(s, "webserver");
        req(s, "rpmlib(CompressedFileNames) <= 3.0.4-1");
    });
    p.add("lib-1-1.x86_64", |_| {});
    p.add("libnew-3-1.x86_64", |s| prov(s, "lib = 3"));
    p.add("perl-5-1.x86_64", |s| s.files.push("/usr/bin/perl".into()));
    p.add("nginx-1-1.x86_64", |s| prov(s, "webserver"));
    p.add("httpd-1-1.x86_64", |s| prov(s, "webserver"));
    p.add("apache-1-1.x86_64", |s| prov(s, "webserver"));
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["app"]);
    assert_eq!(
        names(&pool, &out.binary),
        // shortest name, then alphabetical: httpd beats nginx (same length) and apache.
        [
            "app-1-1.x86_64",
            "httpd-1-1.x86_64",
            "libnew-3-1.x86_64",
            "perl-5-1.x86_64"
        ]
    );
    assert!(out.unresolved.is_empty(), "{:?}", out.unresolved);
}

#[test]
fn release_compared_only_when_both_have_one() {
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| req(s, "b = 2.0"));
    p.add("b-2.0-9.x86_64", |_| {});
    p.add("c-1-1.x86_64", |s| req(s, "b = 2.0-8"));
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["a", "c"]);
    assert_eq!(
        names(&pool, &out.binary),
        ["a-1-1.x86_64", "b-2.0-9.x86_64", "c-1-1.x86_64"]
    );
    assert_eq!(
        out.unresolved,
        [Unresolved {
            package: "c-1-1.x86_64".into(),
            requirement: "b = 2.0-8".into()
        }]
    );
}

#[test]
fn prefers_already_chosen_and_native() {
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| req(s, "mta"));
    p.add("zzz-mailer-1-1.x86_64", |s| prov(s, "mta"));
    p.add("exim-1-1.x86_64", |s| prov(s, "mta"));
    p.add("lib32-1-1.i686", |s| prov(s, "only32"));
    p.add("b-1-1.x86_64", |s| req(s, "only32"));
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["a", "zzz-mailer", "b"]);
    // zzz-mailer was an input, so it satisfies "mta" instead of the shorter exim.
    assert_eq!(
        names(&pool, &out.binary),
        [
            "a-1-1.x86_64",
            "b-1-1.x86_64",
            "lib32-1-1.i686",
            "zzz-mailer-1-1.x86_64"
        ]
    );
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| req(s, "libx"));
    p.add("libx-1-1.i686", |_| {});
    p.add("libx-1-1.x86_64", |_| {});
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["a"]);
    assert_eq!(
        names(&pool, &out.binary),
        ["a-1-1.x86_64", "libx-1-1.x86_64"]
    );
}

#[test]
fn greedy_all_and_build() {
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| req(s, "font"));
    p.add("font-a-1-1.noarch", |s| {
        prov(s, "font");
        src(s, "fonts-1-1.src.rpm");
    });
    p.add("font-b-1-1.noarch", |s| {
        prov(s, "font");
        src(s, "fonts-1-1.src.rpm");
    });
    p.add("font-other-1-1.noarch", |s| prov(s, "font"));
    let pool = p.b.build().unwrap();
    let mut o = opts();
    o.greedy = Greedy::All;
    assert_eq!(run(&pool, &o, &["a"]).binary.len(), 4);
    o.greedy = Greedy::Build;
    assert_eq!(
        names(&pool, &run(&pool, &o, &["a"]).binary),
        ["a-1-1.x86_64", "font-a-1-1.noarch", "font-b-1-1.noarch"]
    );
    o.greedy = Greedy::None;
    assert_eq!(run(&pool, &o, &["a"]).binary.len(), 2);
}

#[test]
fn rich_dependencies() {
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| {
        req(s, "(b or c)");
        req(s, "(d if e)");
        req(s, "(f if gone)");
        req(s, "(h >= 2 with h < 3)");
        req(s, "(missing1 or missing2)");
    });
    for n in ["b-1-1", "c-1-1", "d-1-1", "f-1-1", "h-1-1", "h2-2.5-1"] {
        p.add(&format!("{n}.x86_64"), |_| {});
    }
    p.add("e-1-1.x86_64", |_| {});
    p.add("wants-e-1-1.x86_64", |s| req(s, "e"));
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["a"]);
    assert_eq!(names(&pool, &out.binary), ["a-1-1.x86_64", "b-1-1.x86_64"]);
    assert_eq!(out.unresolved.len(), 2, "{:?}", out.unresolved);
    assert!(
        out.unresolved
            .iter()
            .any(|u| u.requirement == "(missing1 or missing2)")
    );
    assert!(
        out.unresolved
            .iter()
            .any(|u| u.requirement == "(h >= 2 with h < 3)")
    );
    // Once e is in, `(d if e)` pulls d.
    let out = run(&pool, &opts(), &["a", "wants-e"]);
    assert!(names(&pool, &out.binary).contains(&"d-1-1.x86_64".to_string()));
    assert!(!names(&pool, &out.binary).contains(&"f-1-1.x86_64".to_string()));
}

#[test]
fn sources_debug_fulltree_selfhosting() {
    let mut p = P::new();
    p.add("foo-1-1.x86_64", |_| {});
    p.add("foo-libs-1-1.x86_64", |s| src(s, "foo-1-1.src.rpm"));
    p.add("foo-doc-1-1.noarch", |s| src(s, "foo-1-1.src.rpm"));
    p.add("foo-libs-1-1.i686", |s| src(s, "foo-1-1.src.rpm"));
    p.add("foo-debuginfo-1-1.x86_64", |s| src(s, "foo-1-1.src.rpm"));
    p.add("foo-libs-debuginfo-1-1.x86_64", |s| {
        src(s, "foo-1-1.src.rpm")
    });
    p.add("foo-debugsource-1-1.x86_64", |s| src(s, "foo-1-1.src.rpm"));
    p.add("foo-1-1.src", |s| req(s, "gcc"));
    p.add("gcc-1-1.x86_64", |_| {});
    p.add("gcc-1-1.src", |_| {});
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["foo"]);
    assert_eq!(names(&pool, &out.binary), ["foo-1-1.x86_64"]);
    assert_eq!(names(&pool, &out.source), ["foo-1-1.src"]);
    assert_eq!(
        names(&pool, &out.debug),
        ["foo-debuginfo-1-1.x86_64", "foo-debugsource-1-1.x86_64"]
    );
    let mut o = opts();
    o.fulltree = true;
    let out = run(&pool, &o, &["foo"]);
    assert_eq!(
        names(&pool, &out.binary),
        [
            "foo-1-1.x86_64",
            "foo-doc-1-1.noarch",
            "foo-libs-1-1.x86_64"
        ]
    );
    assert_eq!(out.debug.len(), 3);
    assert_ne!(out.flags[&out.binary[1]] & flags::FULLTREE, 0);
    o.selfhosting = true;
    let out = run(&pool, &o, &["foo"]);
    assert!(names(&pool, &out.binary).contains(&"gcc-1-1.x86_64".to_string()));
    assert_eq!(names(&pool, &out.source), ["foo-1-1.src", "gcc-1-1.src"]);
}

#[test]
fn multilib_methods() {
    let mut p = P::new();
    for arch in ["x86_64", "i686"] {
        p.add(&format!("libfoo-1-1.{arch}"), |s| {
            s.files.push(format!(
                "/usr/{}/libfoo.so.1",
                if arch == "i686" { "lib" } else { "lib64" }
            ))
        });
        p.add(&format!("foo-devel-1-1.{arch}"), |s| req(s, "libfoo"));
        p.add(&format!("tool-1-1.{arch}"), |_| {});
    }
    let pool = p.b.build().unwrap();
    let inc = ["libfoo", "foo-devel", "tool"];
    let mut o = opts();
    assert_eq!(run(&pool, &o, &inc).binary.len(), 3);
    o.multilib.methods = vec![MultilibMethod::Runtime];
    assert_eq!(
        names(&pool, &run(&pool, &o, &inc).binary)
            .into_iter()
            .filter(|n| n.ends_with("i686"))
            .collect::<Vec<_>>(),
        ["libfoo-1-1.i686"]
    );
    o.multilib.methods = vec![MultilibMethod::Devel];
    let out = run(&pool, &o, &inc);
    let i686: Vec<String> = names(&pool, &out.binary)
        .into_iter()
        .filter(|n| n.ends_with("i686"))
        .collect();
    assert_eq!(i686, ["foo-devel-1-1.i686", "libfoo-1-1.i686"]);
    o.multilib.blacklist = vec!["foo-*".into()];
    let out = run(&pool, &o, &inc);
    assert!(!names(&pool, &out.binary).contains(&"foo-devel-1-1.i686".to_string()));
    o.multilib.methods = vec![MultilibMethod::All];
    o.multilib.blacklist.clear();
    assert_eq!(run(&pool, &o, &inc).binary.len(), 6);
    o.multilib.methods.clear();
    o.multilib.whitelist = vec!["tool".into()];
    assert!(names(&pool, &run(&pool, &o, &inc).binary).contains(&"tool-1-1.i686".to_string()));
}

#[test]
fn excludes_lookaside_conditional_missing() {
    let mut p = P::new();
    let look = p.b.add_repo("parent", true);
    p.add("app-1-1.x86_64", |s| {
        req(s, "base");
        req(s, "filtered");
        s.requires.push(Atom {
            name: "weak".into(),
            op: Op::Any,
            evr: None,
        });
        s.requires.pop();
    });
    p.add("base-1-1.x86_64", |_| {});
    p.add_to(look, "base-1-1.x86_64", |_| {});
    p.add("filtered-1-1.x86_64", |_| {});
    p.add("extra-1-1.x86_64", |_| {});
    let pool = p.b.build().unwrap();
    let out = gather(
        &pool,
        &opts(),
        &GatherRequest {
            includes: vec!["app".into(), "nothing-*".into()],
            excludes: vec!["filtered".into()],
            conditional: vec![("app".into(), "extra".into())],
        },
    );
    assert_eq!(
        names(&pool, &out.binary),
        ["app-1-1.x86_64", "extra-1-1.x86_64"]
    );
    assert_eq!(names(&pool, &out.lookaside), ["base-1-1.x86_64"]);
    assert_eq!(pool.repo(out.lookaside[0]), look);
    assert_eq!(out.missing, ["nothing-*"]);
    assert_eq!(out.unresolved.len(), 1);
    assert_eq!(out.unresolved[0].requirement, "filtered");
}

#[test]
fn repoclosure_finds_problems() {
    let mut p = P::new();
    p.add("a-1-1.x86_64", |s| {
        req(s, "b >= 2");
        req(s, "/usr/bin/missing");
        req(s, "(c or zz)");
        req(s, "(yy or zz)");
        req(s, "/bin/sh");
    });
    p.add("b-1-1.x86_64", |_| {});
    p.add("c-1-1.x86_64", |s| s.files.push("/bin/sh".into()));
    let pool = p.b.build().unwrap();
    let probs = repoclosure(&pool, &ClosureScope::default());
    assert_eq!(probs.len(), 1);
    assert_eq!(
        probs[0].unresolved,
        ["(yy or zz)", "/usr/bin/missing", "b >= 2"]
    );
    let text = format_dnf(&probs);
    assert!(text.starts_with("package: a-1-1.x86_64 from main\n  unresolved deps:\n"));
}

#[test]
fn ten_thousand_packages_fast() {
    let mut p = P::new();
    let n = 10_000;
    for i in 0..n {
        p.add(&format!("pkg{i}-1.0-1.x86_64"), |s| {
            for k in 1..4 {
                s.requires
                    .push(atom(&format!("cap{} >= 1", (i * 7 + k * 13) % n)));
            }
            s.requires
                .push(atom(&format!("/usr/share/p{}/file", (i + 1) % n)));
            s.provides.push(atom(&format!("cap{i} = 1.0")));
            s.files.push(format!("/usr/share/p{i}/file"));
            s.files.push(format!("/usr/share/p{i}/other"));
        });
    }
    let start = std::time::Instant::now();
    let pool = p.b.build().unwrap();
    let out = run(&pool, &opts(), &["pkg0"]);
    let probs = repoclosure(&pool, &ClosureScope::default());
    let took = start.elapsed();
    assert_eq!(out.binary.len(), n);
    assert!(probs.is_empty());
    // Debug builds are slow; the bench measures release builds.
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}

#[test]
fn nevra_order_without_strings_matches_string_order() {
    let mut p = P::new();
    // Names that are prefixes of others (`foo+` sorts before `foo` as text: '+' < '-'), a dash in
    // the name, multi-digit epochs (10 < 9 as text), names sharing more than a 16-byte prefix.
    for (nevra, epoch) in [
        ("foo-1.0-1.x86_64", 0),
        ("foo-1.0-1.i686", 0),
        ("foo-bar-1.0-1.noarch", 0),
        ("foo-1.0-1.x86_64", 10),
        ("foo-1.0-1.x86_64", 9),
        ("foo-1.0-10.x86_64", 0),
        ("foo-1.0.1-1.x86_64", 0),
        ("fo-2-1.x86_64", 0),
        ("foo0-1-1.x86_64", 0),
        ("foo+-1-1.x86_64", 0),
        ("python3-something-1-1.noarch", 0),
        ("python3-something+-1-1.noarch", 0),
        ("python3-something-else-1-1.noarch", 0),
        ("python3-somethin-1-1.noarch", 0),
        ("a-1-1.noarch", 4294967295),
    ] {
        p.add(nevra, |s| s.epoch = epoch);
    }
    let pool = p.b.build().unwrap();
    let mut by_cmp: Vec<SolvId> = pool.ids().collect();
    pool.sort_by_nevra(&mut by_cmp);
    let mut by_string: Vec<SolvId> = pool.ids().collect();
    by_string.sort_by_cached_key(|&id| pool.nevra(id));
    assert_eq!(by_cmp, by_string);
}

/// Specs that keep only the required paths (and the shared libraries multilib looks at) still
/// resolve every file dependency, and drop the files nothing names.
#[test]
fn specs_keeping_the_required_paths_resolve_file_dependencies() {
    use kiln_rpm::{Dependency, FileEntry, Package};
    let pkg = |name: &str, requires: &[&str], files: &[&str]| Package {
        name: name.into(),
        version: "1".into(),
        release: "1".into(),
        arch: "x86_64".into(),
        requires: requires
            .iter()
            .map(|r| Dependency::unversioned(*r))
            .collect(),
        files: files
            .iter()
            .map(|f| FileEntry {
                path: (*f).into(),
                kind: Default::default(),
            })
            .collect(),
        ..Default::default()
    };
    let pkgs = [
        pkg(
            "app",
            &["/usr/bin/perl", "(tool if /usr/bin/python3)"],
            &["/usr/bin/app"],
        ),
        pkg(
            "perl",
            &[],
            &[
                "/usr/bin/perl",
                "/usr/share/perl/a.pm",
                "/usr/lib64/libperl.so.5",
            ],
        ),
        pkg(
            "python3",
            &[],
            &["/usr/bin/python3", "/usr/lib/python3/x.py"],
        ),
        pkg("broken", &["(half if /opt/x"], &[]),
    ];
    let paths = crate::required_paths(&pkgs);
    let mut sorted: Vec<&str> = paths.iter().map(String::as_str).collect();
    sorted.sort();
    assert_eq!(sorted, ["/opt/x", "/usr/bin/perl", "/usr/bin/python3"]);
    let keep = |f: &str| paths.contains(f);
    let specs: Vec<PkgSpec> = pkgs[..3]
        .iter()
        .map(|p| PkgSpec::from_rpm_keeping(p, &keep))
        .collect();
    assert_eq!(specs[1].files, ["/usr/bin/perl", "/usr/lib64/libperl.so.5"]);
    assert!(specs[0].files.is_empty());
    let mut b = PoolBuilder::new();
    let repo = b.add_repo("r", false);
    for s in &specs {
        b.add_ref(repo, s);
    }
    let pool = b.build().unwrap();
    let out = run(&pool, &opts(), &["app"]);
    assert_eq!(
        names(&pool, &out.binary),
        ["app-1-1.x86_64", "perl-1-1.x86_64"]
    );
    assert!(out.unresolved.is_empty(), "{:?}", out.unresolved);
}
