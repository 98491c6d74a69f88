//! Executor behaviour with test phases (test doubles live here, never in phases/).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiln_compose::{Compose, ComposeInfo, ComposeType, Paths, Release};
use kiln_config::Config;
use kiln_variants::{VariantDef, Variants};

use crate::executor::{Options, Outcome, PhaseResult};
use crate::plan::{PlanError, Selection};
use crate::{Executor, LocalRunner, Phase, PhaseContext, PhaseError, Silent, Work};

fn config(extra: &str) -> Config {
    let text = format!(
        "release_name: T\nrelease_short: T\nrelease_version: '1'\npkgset_repos: {{x86_64: [r]}}\nvariants: [{{id: V, arches: [x86_64]}}]\n{extra}"
    );
    kiln_config::load_str(&text, Path::new("t.yaml"), Path::new("/nonexistent")).unwrap()
}

fn compose(dir: &Path) -> Compose {
    let defs: Vec<VariantDef> =
        serde_json::from_value(serde_json::json!([{"id": "V", "arches": ["x86_64"]}])).unwrap();
    let release = Release {
        name: "T".into(),
        short: "T".into(),
        version: "1".into(),
        release_type: "ga".into(),
        internal: false,
        base_product: None,
    };
    Compose {
        info: ComposeInfo {
            id: ComposeInfo::make_id(&release, "20260101", ComposeType::Test, 0),
            date: "20260101".into(),
            compose_type: ComposeType::Test,
            respin: 0,
            label: None,
            release,
        },
        paths: Paths::new(dir.join("T-1-20260101.t.0")),
        variants: Variants::from_defs(&defs).unwrap(),
        timestamp: 1_767_225_600,
        old: None,
    }
}

type Body = Arc<dyn Fn(&PhaseContext) -> Result<(), PhaseError> + Send + Sync>;

/// A test phase: a name, what it needs, and what it does.
struct TestPhase {
    name: &'static str,
    needs: &'static [&'static str],
    work: Work,
    body: Body,
}

impl Phase for TestPhase {
    fn name(&self) -> &'static str {
        self.name
    }
    fn needs(&self) -> &'static [&'static str] {
        self.needs
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &["hashed_directories"]
    }
    fn work(&self) -> Work {
        self.work
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        (self.body)(ctx)
    }
}

fn phase(
    name: &'static str,
    needs: &'static [&'static str],
    body: impl Fn(&PhaseContext) -> Result<(), PhaseError> + Send + Sync + 'static,
) -> Box<dyn Phase> {
    Box::new(TestPhase {
        name,
        needs,
        work: Work::Cpu,
        body: Arc::new(body),
    })
}

/// A phase that writes `<compose>/compose/<name>.txt` from its needs' files, so the bytes of the
/// end result depend on every phase before it.
fn writer(name: &'static str, needs: &'static [&'static str]) -> Box<dyn Phase> {
    phase(name, needs, move |ctx| {
        let dir = ctx.compose.paths.compose_dir();
        let mut text = format!("{name}:");
        for n in ctx_needs(name) {
            text.push_str(&std::fs::read_to_string(dir.join(format!("{n}.txt")))?);
        }
        ctx.write(&dir.join(format!("{name}.txt")), text.as_bytes())
    })
}

fn ctx_needs(name: &str) -> &'static [&'static str] {
    match name {
        "gather" => &["pkgset"],
        "createrepo" => &["gather"],
        "createiso" => &["createrepo"],
        _ => &[],
    }
}

fn run(dir: &Path, phases: Vec<Box<dyn Phase>>, cfg: &Config, opts: &Options) -> crate::RunReport {
    let c = compose(dir);
    std::fs::create_dir_all(c.paths.topdir()).unwrap();
    let exec = Executor {
        phases,
        config: cfg,
        compose: &c,
        runner: &LocalRunner,
        observer: &Silent,
        cancel: crate::CancelToken::new(),
    };
    exec.run(opts).unwrap()
}

fn status(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("T-1-20260101.t.0/STATUS")).unwrap()
}

#[test]
fn independent_phases_overlap_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let mk = |name: &'static str, work: Work| -> Box<dyn Phase> {
        let spans = spans.clone();
        Box::new(TestPhase {
            name,
            needs: &[],
            work,
            body: Arc::new(move |_| {
                let start = Instant::now();
                std::thread::sleep(Duration::from_millis(300));
                spans.lock().unwrap().push((start, Instant::now()));
                Ok(())
            }),
        })
    };
    let report = run(
        dir.path(),
        vec![
            mk("buildinstall", Work::External),
            mk("extrafiles", Work::Cpu),
        ],
        &config(""),
        &Options::default(),
    );
    assert_eq!(report.outcome, Outcome::Finished);
    let s = spans.lock().unwrap();
    assert_eq!(s.len(), 2);
    let overlap = s[0].0.max(s[1].0) < s[0].1.min(s[1].1);
    assert!(overlap, "the two phases ran one after the other: {s:?}");
    assert_eq!(status(dir.path()), "FINISHED\n");
    assert!(dir.path().join("latest-T-1").exists());
}

#[test]
fn a_failure_stops_its_dependents_only() {
    let dir = tempfile::tempdir().unwrap();
    let phases = vec![
        writer("pkgset", &[]),
        phase("gather", &["pkgset"], |_| {
            Err(PhaseError::msg("no provider for foo"))
        }),
        writer("createrepo", &["gather"]),
        writer("extrafiles", &[]),
    ];
    let report = run(dir.path(), phases, &config(""), &Options::default());
    assert_eq!(report.outcome, Outcome::Doomed);
    assert_eq!(
        report.result("gather"),
        Some(&PhaseResult::Failed("no provider for foo".into()))
    );
    assert!(matches!(
        report.result("createrepo"),
        Some(PhaseResult::NotRun(_))
    ));
    assert_eq!(report.result("extrafiles"), Some(&PhaseResult::Ran));
    assert_eq!(status(dir.path()), "DOOMED\n");
    assert!(
        !dir.path().join("latest-T-1").exists(),
        "a doomed compose is never latest"
    );
    assert!(
        !dir.path()
            .join("T-1-20260101.t.0/compose/metadata/composeinfo.json")
            .exists()
    );
}

#[test]
fn a_failable_failure_finishes_incomplete_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("failable_deliverables:\n  - ['^V$', {'*': [iso]}]\n");
    let phases = vec![phase("createiso", &[], |ctx| {
        ctx.failable("iso", "V", "x86_64", || {
            Err::<(), _>(PhaseError::msg("xorriso died"))
        })?;
        // The same failure where it is not failable still dooms the compose.
        Ok(())
    })];
    let report = run(dir.path(), phases, &cfg, &Options::default());
    assert_eq!(report.outcome, Outcome::FinishedIncomplete);
    assert_eq!(status(dir.path()), "FINISHED_INCOMPLETE\n");
    let d: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("T-1-20260101.t.0/logs/global/deliverables.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        d["failed"]["iso"][0],
        serde_json::json!(["V", "x86_64", null])
    );

    let dir = tempfile::tempdir().unwrap();
    let phases = vec![phase("createiso", &[], |ctx| {
        ctx.failable("iso", "V", "x86_64", || {
            Err::<(), _>(PhaseError::msg("xorriso died"))
        })?;
        Ok(())
    })];
    let report = run(dir.path(), phases, &config(""), &Options::default());
    assert_eq!(report.outcome, Outcome::Doomed);
}

#[test]
fn skipping_a_needed_phase_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let c = compose(dir.path());
    let cfg = config("skip_phases: [gather]\n");
    let exec = Executor {
        phases: vec![
            writer("pkgset", &[]),
            writer("gather", &["pkgset"]),
            writer("createrepo", &["gather"]),
        ],
        config: &cfg,
        compose: &c,
        runner: &LocalRunner,
        observer: &Silent,
        cancel: crate::CancelToken::new(),
    };
    let err = exec.plan(&Options::default()).unwrap_err();
    assert_eq!(
        err,
        PlanError::SkippedNeeded {
            phase: "createrepo".into(),
            need: "gather".into()
        }
    );
    assert!(
        err.to_string()
            .contains("phase gather is skipped but phase createrepo needs its output")
    );

    let cfg = config("");
    let exec = Executor {
        config: &cfg,
        ..exec
    };
    let just = Options {
        selection: Selection {
            skip: vec![],
            just: vec!["createrepo".into()],
        },
        resume: false,
    };
    assert!(matches!(
        exec.plan(&just),
        Err(PlanError::SkippedNeeded { .. })
    ));
    let typo = Options {
        selection: Selection {
            skip: vec!["creatrepo".into()],
            just: vec![],
        },
        resume: false,
    };
    assert_eq!(
        exec.plan(&typo).unwrap_err().to_string(),
        "unknown phase `creatrepo`; did you mean `createrepo`?"
    );
}

#[test]
fn cycles_and_unknown_needs_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let c = compose(dir.path());
    let cfg = config("");
    let exec = Executor {
        phases: vec![
            writer("gather", &["createrepo"]),
            writer("createrepo", &["gather"]),
        ],
        config: &cfg,
        compose: &c,
        runner: &LocalRunner,
        observer: &Silent,
        cancel: crate::CancelToken::new(),
    };
    assert!(matches!(
        exec.plan(&Options::default()),
        Err(PlanError::Cycle(_))
    ));
    let exec = Executor {
        phases: vec![writer("gather", &["nosuch"])],
        ..exec
    };
    assert!(
        exec.plan(&Options::default())
            .unwrap_err()
            .to_string()
            .contains("`nosuch`")
    );
}

/// Reads every file under `root` (logs and records aside) into a sorted map.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir(root) {
        let rel = e.strip_prefix(root).unwrap().to_owned();
        let s = rel.to_string_lossy();
        if s.starts_with("logs") || s.starts_with("work/global/phases") || s.ends_with(".kiln.lock")
        {
            continue;
        }
        out.push((rel, std::fs::read(&e).unwrap()));
    }
    out.sort();
    out
}

fn walkdir(p: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                v.extend(walkdir(&e.path()));
            } else {
                v.push(e.path());
            }
        }
    }
    v
}

fn pipeline(
    fail_at: Option<&'static str>,
    runs: Arc<Mutex<Vec<&'static str>>>,
) -> Vec<Box<dyn Phase>> {
    let names: [(&'static str, &'static [&'static str]); 4] = [
        ("pkgset", &[]),
        ("gather", &["pkgset"]),
        ("createrepo", &["gather"]),
        ("createiso", &["createrepo"]),
    ];
    names
        .into_iter()
        .map(|(name, needs)| {
            let runs = runs.clone();
            let inner = writer(name, needs);
            phase(name, needs, move |ctx| {
                runs.lock().unwrap().push(name);
                inner.run(ctx)?;
                if fail_at == Some(name) {
                    return Err(PhaseError::msg(format!("injected failure in {name}")));
                }
                Ok(())
            })
        })
        .collect()
}

#[test]
fn resume_after_a_failure_anywhere_ends_byte_identical() {
    let clean = tempfile::tempdir().unwrap();
    let report = run(
        clean.path(),
        pipeline(None, Arc::default()),
        &config(""),
        &Options::default(),
    );
    assert_eq!(report.outcome, Outcome::Finished);
    let expected = tree(&clean.path().join("T-1-20260101.t.0"));

    for (i, fail_at) in ["pkgset", "gather", "createrepo", "createiso"]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let report = run(
            dir.path(),
            pipeline(Some(fail_at), Arc::default()),
            &config(""),
            &Options::default(),
        );
        assert_eq!(report.outcome, Outcome::Doomed, "{fail_at}");
        let runs: Arc<Mutex<Vec<&'static str>>> = Arc::default();
        let resume = Options {
            resume: true,
            ..Options::default()
        };
        let report = run(
            dir.path(),
            pipeline(None, runs.clone()),
            &config(""),
            &resume,
        );
        assert_eq!(report.outcome, Outcome::Finished, "{fail_at}");
        let ran = runs.lock().unwrap().clone();
        let all = ["pkgset", "gather", "createrepo", "createiso"];
        assert_eq!(
            ran,
            all[i..].to_vec(),
            "resume after {fail_at} re-ran the wrong phases"
        );
        assert_eq!(
            tree(&dir.path().join("T-1-20260101.t.0")),
            expected,
            "after {fail_at}"
        );
    }
}

#[test]
fn resume_reruns_a_phase_whose_config_or_files_changed() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    run(
        dir.path(),
        pipeline(None, runs.clone()),
        &config(""),
        &Options::default(),
    );
    let resume = Options {
        resume: true,
        ..Options::default()
    };

    // Resume is for composes that did not finish; pretend this one failed late.
    let doom = || std::fs::write(dir.path().join("T-1-20260101.t.0/STATUS"), "DOOMED\n").unwrap();
    doom();
    // Nothing changed: nothing runs.
    runs.lock().unwrap().clear();
    run(
        dir.path(),
        pipeline(None, runs.clone()),
        &config(""),
        &resume,
    );
    assert!(runs.lock().unwrap().is_empty());

    // An output was damaged: its phase re-runs; what follows keeps its record (same bytes again).
    let top = dir.path().join("T-1-20260101.t.0/compose");
    std::fs::write(top.join("gather.txt"), "tampered").unwrap();
    doom();
    run(
        dir.path(),
        pipeline(None, runs.clone()),
        &config(""),
        &resume,
    );
    assert_eq!(*runs.lock().unwrap(), vec!["gather"]);

    // A config option every phase reads changed: everything re-runs.
    runs.lock().unwrap().clear();
    doom();
    run(
        dir.path(),
        pipeline(None, runs.clone()),
        &config("hashed_directories: true\n"),
        &resume,
    );
    assert_eq!(runs.lock().unwrap().len(), 4);
}

#[test]
fn cancel_stops_the_running_command_and_leaves_a_resumable_compose() {
    let dir = tempfile::tempdir().unwrap();
    let c = compose(dir.path());
    std::fs::create_dir_all(c.paths.topdir()).unwrap();
    let cfg = config("");
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let slow: Box<dyn Phase> = Box::new(TestPhase {
        name: "createiso",
        needs: &[],
        work: Work::External,
        body: Arc::new(move |ctx| {
            s2.store(true, Ordering::SeqCst);
            let mut cmd = std::process::Command::new("sleep");
            cmd.arg("30");
            ctx.run(&cmd, &ctx.log_file("x86_64", "sleep"))?;
            Ok(())
        }),
    });
    let cancel = crate::CancelToken::new();
    let exec = Executor {
        phases: vec![slow],
        config: &cfg,
        compose: &c,
        runner: &LocalRunner,
        observer: &Silent,
        cancel: cancel.clone(),
    };
    let t = std::thread::spawn(move || {
        while !started.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        cancel.cancel();
    });
    let begin = Instant::now();
    let report = exec.run(&Options::default()).unwrap();
    t.join().unwrap();
    assert!(begin.elapsed() < Duration::from_secs(10));
    assert_eq!(report.outcome, Outcome::Terminated);
    assert_eq!(status(dir.path()), "TERMINATED\n");
    let rec = crate::record::PhaseRecord::load(&c.paths.phase_record("createiso")).unwrap();
    assert_eq!(rec.status, crate::record::RecordStatus::Failed);
}

#[test]
fn each_phase_logs_to_its_own_file_and_the_main_log() {
    use tracing_subscriber::layer::SubscriberExt;
    let dir = tempfile::tempdir().unwrap();
    // Phases run on rayon's threads, so the layer must be the process-wide subscriber (as the
    // binary installs it); no other test in this binary installs one.
    let subscriber = tracing_subscriber::registry().with(crate::PhaseLogLayer::new());
    let _ = tracing::subscriber::set_global_default(subscriber);
    let seen_while_running = Arc::new(AtomicBool::new(false));
    let seen = seen_while_running.clone();
    {
        let phases = vec![
            phase("pkgset", &[], |_| {
                tracing::info!("read 3 headers");
                Ok(())
            }),
            phase("gather", &["pkgset"], |ctx| {
                tracing::warn!("mini-foo has no provider");
                use rayon::prelude::*;
                ["x86_64", "aarch64"].par_iter().for_each(|arch| {
                    let _arch = ctx.arch_span(arch);
                    tracing::info!("solved {arch}");
                });
                Ok(())
            }),
            phase("buildinstall", &["gather"], move |ctx| {
                // Lines are buffered, but a person following the log of a phase that runs for
                // hours sees them while it runs.
                tracing::info!("running lorax");
                let log = ctx.compose.paths.log_file("global", "buildinstall");
                let begin = Instant::now();
                while begin.elapsed() < Duration::from_secs(5) {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    if text.contains("running lorax") {
                        seen.store(true, Ordering::SeqCst);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(())
            }),
        ];
        run(dir.path(), phases, &config(""), &Options::default());
    }
    assert!(
        seen_while_running.load(Ordering::SeqCst),
        "a running phase's line stays in its buffer"
    );
    let logs = dir.path().join("T-1-20260101.t.0/logs/global");
    let gather = std::fs::read_to_string(logs.join("gather.global.log")).unwrap();
    assert!(
        gather.contains("[gather      ] [WARN ] mini-foo has no provider"),
        "{gather}"
    );
    assert!(!gather.contains("read 3 headers"));
    assert!(gather.contains("solved aarch64"), "{gather}");
    let arch_log = dir
        .path()
        .join("T-1-20260101.t.0/logs/x86_64/gather.x86_64.log");
    let arch_log = std::fs::read_to_string(arch_log).unwrap();
    assert!(
        arch_log.contains("solved x86_64") && !arch_log.contains("solved aarch64"),
        "{arch_log}"
    );
    let main = std::fs::read_to_string(logs.join("kiln.global.log")).unwrap();
    assert!(main.contains("read 3 headers") && main.contains("mini-foo has no provider"));
}

#[test]
fn a_digest_the_phase_already_has_is_recorded_without_reading_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let phases = vec![phase("gather", &[], |ctx| {
        let p = ctx.compose.paths.compose_dir().join("Packages/a.rpm");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"package bytes").unwrap();
        // A made-up sha256 standing in for the one pkgset computed during its header read.
        let hex = "5b0ad7a2c4a1ba3a2b0c8f1ab9e2d1ad7f2c9ad1e8a0e3a1b9d0f6d6a0c41a1b";
        ctx.produced_with_sha256(&p, hex);
        Ok(())
    })];
    run(dir.path(), phases, &config(""), &Options::default());
    let top = dir.path().join("T-1-20260101.t.0");
    let rec = crate::record::PhaseRecord::load(&Paths::new(&top).phase_record("gather")).unwrap();
    // The recorded digest is the one handed over: the engine did not hash the file itself.
    assert_eq!(
        rec.outputs[0].digest,
        "sha256:5b0ad7a2c4a1ba3a2b0c8f1ab9e2d1ad7f2c9ad1e8a0e3a1b9d0f6d6a0c41a1b"
    );
    // When the mtime no longer vouches for the file, verification recomputes the same
    // algorithm: here the handed-over digest was made up, so the file does not match it.
    let f = top.join("compose/Packages/a.rpm");
    std::fs::write(&f, b"package bytez").unwrap();
    assert!(rec.verify(&top).is_err());
}

/// A hard link whose stat the phase knows (pkgset's stat of the package) is recorded with it:
/// the record holds what the phase said, not what a stat of its own would have found.
#[test]
fn a_stat_the_phase_already_has_is_recorded_without_a_stat() {
    let dir = tempfile::tempdir().unwrap();
    let hex = "5b0ad7a2c4a1ba3a2b0c8f1ab9e2d1ad7f2c9ad1e8a0e3a1b9d0f6d6a0c41a1b";
    let phases = vec![phase("gather", &[], move |ctx| {
        let p = ctx.compose.paths.compose_dir().join("Packages/a.rpm");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"package bytes").unwrap();
        ctx.produced_hard_link(&p, hex, 4242, 17);
        ctx.produced_with_sha256(&p.with_file_name("b.rpm"), hex);
        std::fs::write(p.with_file_name("b.rpm"), b"b").unwrap();
        Ok(())
    })];
    run(dir.path(), phases, &config(""), &Options::default());
    let top = dir.path().join("T-1-20260101.t.0");
    let rec = crate::record::PhaseRecord::load(&Paths::new(&top).phase_record("gather")).unwrap();
    let a = &rec.outputs[0];
    assert_eq!(a.path, Path::new("compose/Packages/a.rpm"));
    assert_eq!((a.size, a.mtime_ns), (4242, 17));
    assert_eq!(a.digest, format!("sha256:{hex}"));
    // Without a stat from the phase the engine takes its own.
    let b = &rec.outputs[1];
    assert_eq!(b.size, 1);
    // A record that no longer describes the file fails verification: a resumed compose runs
    // the phase again rather than trust it.
    assert!(rec.verify(&top).is_err());
}

#[test]
fn verification_recomputes_a_recorded_sha256() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.rpm");
    std::fs::write(&f, b"package bytes").unwrap();
    let hex = hex::encode(sha2::Sha256::digest(b"package bytes"));
    let rec = crate::record::PhaseRecord {
        version: crate::record::RECORD_VERSION,
        phase: "gather".into(),
        status: crate::record::RecordStatus::Done,
        fingerprint: String::new(),
        tools: Default::default(),
        outputs: vec![crate::record::OutputFile {
            path: "a.rpm".into(),
            size: 13,
            mtime_ns: 0, // never the file's: forces the digest check
            digest: format!("sha256:{hex}"),
        }],
        failed_deliverables: Vec::new(),
        error: None,
    };
    assert_eq!(rec.verify(dir.path()), Ok(()));
    std::fs::write(&f, b"package bytez").unwrap();
    assert!(rec.verify(dir.path()).is_err());
}

/// What keeps `--resume` cheap: a recorded file whose size and mtime are unchanged is trusted
/// without being read. Its bytes are swapped for others of the same size and the mtime put back,
/// which only a re-hash would notice; moving the mtime makes verification read it again.
#[test]
fn a_file_with_its_recorded_size_and_mtime_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let phases = vec![phase("gather", &[], |ctx| {
        let p = ctx.compose.paths.compose_dir().join("Packages/a.rpm");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        ctx.write(&p, b"package bytes")
    })];
    run(dir.path(), phases, &config(""), &Options::default());
    let top = dir.path().join("T-1-20260101.t.0");
    let rec = crate::record::PhaseRecord::load(&Paths::new(&top).phase_record("gather")).unwrap();
    let f = top.join("compose/Packages/a.rpm");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::write(&f, b"package bytez").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(rec.verify(&top), Ok(()), "verification read the file");
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime + std::time::Duration::from_secs(1))
        .unwrap();
    assert!(
        rec.verify(&top).is_err(),
        "a moved mtime must make it re-hash"
    );
}

/// The scheduler waits on its own thread, never on a rayon worker: a CPU phase gets every worker
/// of the pool. Each of `n` tasks waits (10 s at most) until all `n` run at once, which they can
/// only do when no worker is held.
#[test]
fn a_cpu_phase_gets_every_rayon_worker() {
    use std::sync::{Condvar, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let all_met = Arc::new(Mutex::new(None::<bool>));
    let seen = all_met.clone();
    let phases = vec![phase("gather", &[], move |_| {
        let n = rayon::current_num_threads();
        let met = (Mutex::new(0usize), Condvar::new());
        let timed_out = std::sync::atomic::AtomicBool::new(false);
        rayon::scope(|s| {
            for _ in 0..n {
                s.spawn(|_| {
                    let (count, cv) = &met;
                    let mut c = count.lock().unwrap();
                    *c += 1;
                    cv.notify_all();
                    let (_c, wait) = cv
                        .wait_timeout_while(c, std::time::Duration::from_secs(10), |c| *c < n)
                        .unwrap();
                    if wait.timed_out() {
                        timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        *seen.lock().unwrap() = Some(!timed_out.load(std::sync::atomic::Ordering::SeqCst));
        Ok(())
    })];
    run(dir.path(), phases, &config(""), &Options::default());
    assert_eq!(
        *all_met.lock().unwrap(),
        Some(true),
        "the phase's tasks never ran side by side on every worker"
    );
}

/// A phase that logs its runs and `dependents_done` into one shared list of events.
struct Logged {
    name: &'static str,
    needs: &'static [&'static str],
    fail: bool,
    log: Arc<Mutex<Vec<String>>>,
}

impl Phase for Logged {
    fn name(&self) -> &'static str {
        self.name
    }
    fn needs(&self) -> &'static [&'static str] {
        self.needs
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[]
    }
    fn run(&self, _ctx: &PhaseContext) -> Result<(), PhaseError> {
        self.log.lock().unwrap().push(format!("ran {}", self.name));
        if self.fail {
            return Err(PhaseError::msg("failed"));
        }
        Ok(())
    }
    fn dependents_done(&self) {
        self.log
            .lock()
            .unwrap()
            .push(format!("released {}", self.name));
    }
}

/// A phase hears that it is no longer needed once every phase needing it has run or will not
/// run (here one of them fails, and another is never started because of that), and a phase
/// nothing needs hears it as soon as it is done.
#[test]
fn a_phase_is_told_when_no_dependent_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let mk = |name, needs, fail| -> Box<dyn Phase> {
        Box::new(Logged {
            name,
            needs,
            fail,
            log: log.clone(),
        })
    };
    run(
        dir.path(),
        vec![
            mk("pkgset", &[], false),
            mk("gather", &["pkgset"], false),
            mk("createrepo", &["pkgset", "gather"], true),
            mk("repoclosure", &["pkgset", "createrepo"], false),
        ],
        &config(""),
        &Options::default(),
    );
    let log = log.lock().unwrap().clone();
    let at = |e: &str| {
        log.iter()
            .position(|l| l == e)
            .unwrap_or_else(|| panic!("no {e}: {log:?}"))
    };
    assert!(at("released pkgset") > at("ran createrepo"), "{log:?}");
    assert!(at("released gather") > at("ran createrepo"), "{log:?}");
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("released pkgset"))
            .count(),
        1
    );
    assert!(!log.contains(&"ran repoclosure".to_owned()), "{log:?}");
    // Nothing needs repoclosure: it is released once it will not run.
    assert!(log.contains(&"released repoclosure".to_owned()), "{log:?}");
}

#[test]
fn a_path_of_the_compose_has_its_place_in_the_old_compose() {
    let mut c = compose(Path::new("/c"));
    let tree = c.paths.topdir().join("work/x86_64/buildinstall/BaseOS");
    assert_eq!(c.old_path(&tree), None, "there is no old compose");
    c.old = Some(PathBuf::from("/c/T-1-20251231.t.0"));
    assert_eq!(
        c.old_path(&tree),
        Some(PathBuf::from(
            "/c/T-1-20251231.t.0/work/x86_64/buildinstall/BaseOS"
        ))
    );
    assert_eq!(c.old_path(Path::new("/elsewhere/BaseOS")), None);
}
