//! Runs a [`Plan`]: each phase starts the moment what it needs is done.
//!
//! The scheduler loop lives on the calling thread. CPU-bound phases are spawned onto rayon's pool
//! (where their own parallel loops also run); phases that wait on external tools get threads of
//! their own so they never hold a rayon worker while a child process runs. A failure cancels only
//! what depends on it: independent phases finish, then the compose is DOOMED.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiln_compose::{Compose, ComposeStatus, write_status};
use kiln_config::Config;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::Observer;
use crate::cancel::CancelToken;
use crate::context::PhaseContext;
use crate::deliverables::Deliverables;
use crate::notify::{Notifier, base_payload};
use crate::phase::{Phase, PhaseError, Work};
use crate::plan::{Action, Plan, PlanError, Selection};
use crate::record::{PhaseRecord, RECORD_VERSION, RecordStatus, describe};
use crate::runner::Runner;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub selection: Selection,
    /// Keep phases whose records are still valid (`kiln compose --resume`).
    pub resume: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    FinishedIncomplete,
    Doomed,
    Terminated,
}

impl Outcome {
    pub fn status(self) -> ComposeStatus {
        match self {
            Outcome::Finished => ComposeStatus::Finished,
            Outcome::FinishedIncomplete => ComposeStatus::FinishedIncomplete,
            Outcome::Doomed => ComposeStatus::Doomed,
            Outcome::Terminated => ComposeStatus::Terminated,
        }
    }
}

/// How one phase ended in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseResult {
    Ran,
    /// Resume: its record was valid, nothing was run.
    Kept,
    Skipped(String),
    Disabled,
    Failed(String),
    /// Not started because a phase it depends on failed or the compose was stopped.
    NotRun(String),
}

impl PhaseResult {
    /// Whether phases after it may start.
    fn lets_dependents_run(&self) -> bool {
        matches!(
            self,
            PhaseResult::Ran | PhaseResult::Kept | PhaseResult::Skipped(_) | PhaseResult::Disabled
        )
    }

    pub fn word(&self) -> &'static str {
        match self {
            PhaseResult::Ran => "done",
            PhaseResult::Kept => "kept",
            PhaseResult::Skipped(_) => "skipped",
            PhaseResult::Disabled => "not configured",
            PhaseResult::Failed(_) => "FAILED",
            PhaseResult::NotRun(_) => "not run",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub outcome: Outcome,
    /// In the order phases ended.
    pub results: Vec<(String, PhaseResult)>,
}

impl RunReport {
    pub fn result(&self, phase: &str) -> Option<&PhaseResult> {
        self.results
            .iter()
            .find(|(p, _)| p == phase)
            .map(|(_, r)| r)
    }
}

/// A tool a phase that will run needs, missing where the runner runs commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTool {
    pub phase: &'static str,
    pub tool: &'static str,
}

impl std::fmt::Display for MissingTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "phase {} needs `{}`, which is not installed; {}",
            self.phase,
            self.tool,
            crate::runner::install_hint(self.tool)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Found before anything ran: the compose was not started.
    #[error("{}", render_missing(.0))]
    MissingTools(Vec<MissingTool>),
    /// A phase that would run cannot do what the config asks; found before anything ran.
    /// `at` is where the phase's own option is set (`file:line:column: `), or empty.
    #[error("{at}cannot start the compose: phase {phase}: {why}")]
    Unsupported {
        phase: &'static str,
        why: String,
        at: String,
    },
    #[error(transparent)]
    Status(#[from] kiln_compose::StatusError),
    #[error(transparent)]
    Fs(#[from] kiln_fs::FsError),
}

fn render_missing(tools: &[MissingTool]) -> String {
    let lines: Vec<String> = tools.iter().map(ToString::to_string).collect();
    format!(
        "cannot start the compose:\n  {}\n(or skip those phases with --skip-phase)",
        lines.join("\n  ")
    )
}

/// Config options every phase reads implicitly: the compose's identity and its variants.
const COMMON_KEYS: &[&str] = &[
    "release_name",
    "release_short",
    "release_version",
    "release_type",
    "release_internal",
    "base_product_name",
    "base_product_short",
    "base_product_version",
    "base_product_type",
    "tree_arches",
    "tree_variants",
];

pub struct Executor<'a> {
    pub phases: Vec<Box<dyn Phase>>,
    pub config: &'a Config,
    pub compose: &'a Compose,
    pub runner: &'a dyn Runner,
    pub observer: &'a dyn Observer,
    pub cancel: CancelToken,
}

struct Finished {
    name: &'static str,
    result: PhaseResult,
    record: Option<PhaseRecord>,
    started: Instant,
    seconds: f64,
}

impl<'a> Executor<'a> {
    fn old_record(&self, phase: &str) -> Option<PhaseRecord> {
        PhaseRecord::load(&self.compose.paths.phase_record(phase))
    }

    pub fn plan(&self, opts: &Options) -> Result<Plan, PlanError> {
        let topdir = self.compose.paths.topdir();
        let records = |p: &str| {
            if opts.resume {
                self.old_record(p)
            } else {
                None
            }
        };
        Plan::build(
            &self.phases,
            self.config,
            &opts.selection,
            &records,
            &|r: &PhaseRecord| r.verify(topdir),
        )
    }

    /// The plan, once every tool its running phases need is known to be there: a compose that
    /// would fail on a missing tool after hours of work fails now instead, naming them all.
    pub fn preflight(&self, opts: &Options) -> Result<Plan, ExecError> {
        let plan = self.plan(opts)?;
        let by_name: HashMap<&str, &dyn Phase> =
            self.phases.iter().map(|p| (p.name(), p.as_ref())).collect();
        let mut missing = Vec::new();
        for planned in plan.phases.iter().filter(|p| p.action == Action::Run) {
            let Some(phase) = by_name.get(planned.name) else {
                continue;
            };
            if let Some(why) = phase
                .unsupported(self.config)
                .or_else(|| phase.refused(self.config, self.compose))
            {
                // A phase's own option comes first in its config keys: the refusal points there.
                let at = phase
                    .config_keys()
                    .first()
                    .and_then(|k| self.config.origin.locate(k))
                    .map(|at| format!("{at}: "))
                    .unwrap_or_default();
                return Err(ExecError::Unsupported {
                    phase: planned.name,
                    why,
                    at,
                });
            }
            let runner = self.runner.for_phase(planned.name).unwrap_or(self.runner);
            for tool in phase.tools(self.config) {
                if !runner.has_tool(tool) {
                    missing.push(MissingTool {
                        phase: planned.name,
                        tool,
                    });
                }
            }
        }
        if missing.is_empty() {
            Ok(plan)
        } else {
            Err(ExecError::MissingTools(missing))
        }
    }

    /// Runs the compose to its end and writes STATUS, deliverables.json, composeinfo.json and the
    /// `latest-*` link (FINISHED only).
    pub fn run(&self, opts: &Options) -> Result<RunReport, ExecError> {
        let plan = self.preflight(opts)?;
        let paths = &self.compose.paths;
        if kiln_compose::read_status(paths.topdir())? == Some(ComposeStatus::Finished) {
            return Err(
                kiln_compose::StatusError::AlreadyFinished(paths.topdir().to_owned()).into(),
            );
        }
        let notifier = Notifier::new(
            self.config.notification_script.to_vec(),
            base_payload(self.compose),
            paths.log_dir("global").join("notifications"),
        );
        let deliverables = Deliverables::default();
        let set_status = |status: ComposeStatus| -> Result<(), ExecError> {
            deliverables.save(&paths.log_dir("global").join("deliverables.json"))?;
            write_status(paths.topdir(), status)?;
            notifier.send(
                self.runner,
                "status-change",
                json!({"status": status.as_str()}),
            );
            Ok(())
        };
        set_status(ComposeStatus::Started)?;

        let by_name: HashMap<&str, &dyn Phase> =
            self.phases.iter().map(|p| (p.name(), p.as_ref())).collect();
        let mut results: BTreeMap<&'static str, PhaseResult> = BTreeMap::new();
        let mut order: Vec<(String, PhaseResult)> = Vec::new();
        let records: Mutex<BTreeMap<&'static str, PhaseRecord>> = Mutex::new(BTreeMap::new());
        let tool_versions: Mutex<HashMap<&'static str, String>> = Mutex::new(HashMap::new());
        let (tx, rx) = mpsc::channel::<Finished>();
        let mut in_flight: std::collections::HashSet<&'static str> = Default::default();
        // When each phase that ran started (seconds into this run) and how long it took.
        let t0 = Instant::now();
        let mut times: BTreeMap<&'static str, (f64, f64)> = BTreeMap::new();
        let mut dependents = Dependents::new(&plan, &by_name);

        std::thread::scope(|threads| {
            rayon::in_place_scope(|pool| {
                loop {
                    // Start everything that can start.
                    for planned in &plan.phases {
                        let name = planned.name;
                        if results.contains_key(name) || in_flight.contains(name) {
                            continue;
                        }
                        let deps: Vec<&str> = planned
                            .needs
                            .iter()
                            .chain(&planned.after)
                            .copied()
                            .collect();
                        if let Some(bad) = deps
                            .iter()
                            .find(|d| results.get(*d).is_some_and(|r| !r.lets_dependents_run()))
                        {
                            let why = format!("{bad} did not finish");
                            self.observer.phase_not_run(name, &why);
                            results.insert(name, PhaseResult::NotRun(why.clone()));
                            order.push((name.into(), PhaseResult::NotRun(why)));
                            dependents.settle(name);
                            continue;
                        }
                        if !deps
                            .iter()
                            .all(|d| results.contains_key(d) || !by_name.contains_key(d))
                        {
                            continue;
                        }
                        if self.cancel.is_cancelled() {
                            let why = "the compose was stopped".to_owned();
                            results.insert(name, PhaseResult::NotRun(why.clone()));
                            order.push((name.into(), PhaseResult::NotRun(why)));
                            dependents.settle(name);
                            continue;
                        }
                        let not_run = match &planned.action {
                            Action::Skip(why) => Some(PhaseResult::Skipped(why.clone())),
                            Action::Disabled => Some(PhaseResult::Disabled),
                            Action::Run | Action::Keep => None,
                        };
                        if let Some(result) = not_run {
                            self.note_not_run(name, &result, opts.resume, &records);
                            self.observer.phase_not_run(name, &describe_result(&result));
                            results.insert(name, result.clone());
                            order.push((name.into(), result));
                            dependents.settle(name);
                            continue;
                        }
                        in_flight.insert(name);
                        let phase = by_name[name];
                        let tx = tx.clone();
                        let job = {
                            let records = &records;
                            let tool_versions = &tool_versions;
                            let notifier = &notifier;
                            let deliverables = &deliverables;
                            let resume = opts.resume;
                            move || {
                                let done = self.run_phase(
                                    phase,
                                    resume,
                                    records,
                                    tool_versions,
                                    notifier,
                                    deliverables,
                                );
                                let _ = tx.send(done);
                            }
                        };
                        match phase.work() {
                            Work::Cpu => pool.spawn(move |_| job()),
                            Work::External => {
                                threads.spawn(job);
                            }
                        }
                    }
                    if in_flight.is_empty() {
                        break;
                    }
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(done) => {
                            in_flight.remove(done.name);
                            times.insert(
                                done.name,
                                (done.started.duration_since(t0).as_secs_f64(), done.seconds),
                            );
                            if let (Some(rec), Ok(mut r)) = (done.record, records.lock()) {
                                r.insert(done.name, rec);
                            }
                            self.observer.phase_finished(
                                done.name,
                                &describe_result(&done.result),
                                done.seconds,
                            );
                            results.insert(done.name, done.result.clone());
                            order.push((done.name.into(), done.result));
                            dependents.settle(done.name);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            });
        });

        let failed = order
            .iter()
            .any(|(_, r)| matches!(r, PhaseResult::Failed(_)));
        let outcome = if self.cancel.is_cancelled() {
            Outcome::Terminated
        } else if failed {
            Outcome::Doomed
        } else if deliverables.any_failed() {
            Outcome::FinishedIncomplete
        } else {
            Outcome::Finished
        };
        self.write_timeline(&plan, &order, &times, outcome);
        if matches!(outcome, Outcome::Finished | Outcome::FinishedIncomplete) {
            self.write_composeinfo()?;
        }
        set_status(outcome.status())?;
        if outcome == Outcome::Finished {
            self.switch_latest_link()?;
        }
        Ok(RunReport {
            outcome,
            results: order,
        })
    }

    /// Records a skipped or unconfigured phase. On resume a skipped phase keeps a valid done
    /// record: that is how `--resume --skip-phase X` supplies X's output to what needs it.
    fn note_not_run(
        &self,
        name: &'static str,
        result: &PhaseResult,
        resume: bool,
        records: &Mutex<BTreeMap<&'static str, PhaseRecord>>,
    ) {
        let topdir = self.compose.paths.topdir();
        let kept = resume
            .then(|| self.old_record(name))
            .flatten()
            .filter(|r| r.status == RecordStatus::Done && r.verify(topdir).is_ok());
        let record = kept.unwrap_or_else(|| PhaseRecord {
            version: RECORD_VERSION,
            phase: name.into(),
            status: RecordStatus::Skipped,
            fingerprint: String::new(),
            tools: BTreeMap::new(),
            outputs: Vec::new(),
            failed_deliverables: Vec::new(),
            error: Some(describe_result(result)),
        });
        if record.status == RecordStatus::Skipped {
            let _ = record.save(&self.compose.paths.phase_record(name));
        }
        if let Ok(mut r) = records.lock() {
            r.insert(name, record);
        }
    }

    fn fingerprint(
        &self,
        phase: &dyn Phase,
        records: &Mutex<BTreeMap<&'static str, PhaseRecord>>,
        tool_versions: &Mutex<HashMap<&'static str, String>>,
    ) -> (String, BTreeMap<String, String>) {
        let config = serde_json::to_value(self.config).unwrap_or(Value::Null);
        let mut cfg = serde_json::Map::new();
        for key in COMMON_KEYS.iter().chain(phase.config_keys()) {
            let v = config.get(*key).cloned().unwrap_or(Value::Null);
            cfg.insert(
                (*key).to_owned(),
                with_file_digests(v, phase.config_outputs()),
            );
        }
        let mut needs = BTreeMap::new();
        if let Ok(r) = records.lock() {
            for dep in phase.needs().iter().chain(phase.after()) {
                let digest = r
                    .get(dep)
                    .map(|rec| rec.outputs_digest())
                    .unwrap_or_else(|| "absent".into());
                needs.insert((*dep).to_owned(), digest);
            }
        }
        let mut tools = BTreeMap::new();
        for tool in phase.tools(self.config) {
            let version = {
                let mut cache = tool_versions.lock().unwrap_or_else(|e| e.into_inner());
                cache
                    .entry(tool)
                    .or_insert_with(|| tool_version(tool))
                    .clone()
            };
            tools.insert(tool.to_owned(), version);
        }
        let doc = json!({
            "record_version": RECORD_VERSION,
            "kiln": env!("CARGO_PKG_VERSION"),
            "phase": phase.name(),
            "compose_id": self.compose.info.id,
            "timestamp": self.compose.timestamp,
            "variants": self.compose.variants,
            "config": cfg,
            "needs": needs,
            "tools": tools,
        });
        let digest = blake3::hash(&serde_json::to_vec(&doc).unwrap_or_default())
            .to_hex()
            .to_string();
        (digest, tools)
    }

    fn run_phase(
        &self,
        phase: &dyn Phase,
        resume: bool,
        records: &Mutex<BTreeMap<&'static str, PhaseRecord>>,
        tool_versions: &Mutex<HashMap<&'static str, String>>,
        notifier: &Notifier,
        deliverables: &Deliverables,
    ) -> Finished {
        let name = phase.name();
        let start = Instant::now();
        let paths = &self.compose.paths;
        let topdir = paths.topdir();
        let (fingerprint, tools) = self.fingerprint(phase, records, tool_versions);
        let old = self.old_record(name);

        if let Some(rec) = old.as_ref().filter(|r| {
            resume
                && r.status == RecordStatus::Done
                && r.fingerprint == fingerprint
                && r.verify(topdir).is_ok()
        }) {
            for d in &rec.failed_deliverables {
                deliverables.attempt(d, true);
                deliverables.fail(d.clone());
            }
            return Finished {
                name,
                result: PhaseResult::Kept,
                record: Some(rec.clone()),
                started: start,
                seconds: start.elapsed().as_secs_f64(),
            };
        }
        // Whatever an earlier attempt left behind goes first: a re-run must not inherit it.
        if let Some(rec) = &old {
            rec.remove_outputs(topdir);
        }

        self.observer.phase_started(name);
        notifier.send(self.runner, "phase-start", json!({"phase_name": name}));
        let span = tracing::info_span!(
            "phase",
            phase = name,
            phase_log = %paths.log_file("global", name).display(),
            main_log = %paths.log_file("global", "kiln").display(),
        );
        let _enter = span.enter();
        tracing::info!("[BEGIN] {name}");

        let ctx = PhaseContext {
            config: self.config,
            compose: self.compose,
            cancel: &self.cancel,
            phase: name,
            span: span.clone(),
            runner: self.runner.for_phase(name).unwrap_or(self.runner),
            observer: self.observer,
            notifier,
            deliverables,
            outputs: Mutex::new(Vec::new()),
            known_digests: Mutex::new(HashMap::new()),
            failed: Mutex::new(Vec::new()),
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            failpoint(&ctx, "hang")?;
            phase.run(&ctx)?;
            failpoint(&ctx, "fail")
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PhaseError::msg(format!("phase {name} panicked: {what}")))
        });
        let produced = ctx
            .outputs
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default();
        let failed_deliverables = ctx.failed.lock().map(|f| f.clone()).unwrap_or_default();
        let known = ctx
            .known_digests
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default();
        let outputs = describe(topdir, &produced, &known);

        let (status, result, error) = match (&outcome, &outputs) {
            (Ok(()), Ok(_)) => (RecordStatus::Done, PhaseResult::Ran, None),
            (Ok(()), Err(e)) => {
                let msg = format!("cannot record the outputs of {name}: {e}");
                (
                    RecordStatus::Failed,
                    PhaseResult::Failed(msg.clone()),
                    Some(msg),
                )
            }
            (Err(PhaseError::Cancelled), _) => (
                RecordStatus::Failed,
                PhaseResult::NotRun("the compose was stopped".into()),
                Some("cancelled".into()),
            ),
            (Err(e), _) => {
                let msg = e.to_string();
                (
                    RecordStatus::Failed,
                    PhaseResult::Failed(msg.clone()),
                    Some(msg),
                )
            }
        };
        if let Some(e) = &error {
            tracing::error!("[FAIL] {name}: {e}");
            self.observer.error(name, e);
        } else {
            tracing::info!("[DONE ] {name}");
        }
        let record = PhaseRecord {
            version: RECORD_VERSION,
            phase: name.into(),
            status,
            fingerprint,
            tools,
            outputs: outputs.unwrap_or_default(),
            failed_deliverables,
            error,
        };
        if let Err(e) = record.save(&paths.phase_record(name)) {
            tracing::error!("cannot save the record of {name}: {e}");
        }
        notifier.send(self.runner, "phase-stop", json!({"phase_name": name}));
        Finished {
            name,
            result,
            record: Some(record),
            started: start,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// `logs/global/timeline.json`: every phase of this run with its result, when it started and
    /// how long it took, and what it waited for; the compose report draws its timeline from it.
    fn write_timeline(
        &self,
        plan: &Plan,
        order: &[(String, PhaseResult)],
        times: &BTreeMap<&'static str, (f64, f64)>,
        outcome: Outcome,
    ) {
        let phases: Vec<Value> = order
            .iter()
            .map(|(name, result)| {
                let (start, seconds) = times.get(name.as_str()).copied().unwrap_or((0.0, 0.0));
                let planned = plan.phases.iter().find(|p| p.name == name);
                let needs: Vec<&str> = planned
                    .map(|p| p.needs.iter().chain(&p.after).copied().collect())
                    .unwrap_or_default();
                let why = match result {
                    PhaseResult::Skipped(w) | PhaseResult::Failed(w) | PhaseResult::NotRun(w) => {
                        Some(w.clone())
                    }
                    _ => None,
                };
                json!({
                    "phase": name,
                    "result": result.word(),
                    "why": why,
                    "start": (start * 1000.0).round() / 1000.0,
                    "seconds": (seconds * 1000.0).round() / 1000.0,
                    "needs": needs,
                })
            })
            .collect();
        let doc = json!({
            "compose": self.compose.info.id,
            "status": outcome.status().as_str(),
            "phases": phases,
        });
        let mut bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        bytes.push(b'\n');
        let path = self.compose.paths.log_dir("global").join("timeline.json");
        if let Err(e) = kiln_fs::write_atomic(&path, &bytes) {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }

    fn write_composeinfo(&self) -> Result<(), ExecError> {
        let text = crate::composeinfo::render(self.compose);
        kiln_fs::write_atomic(
            &self.compose.paths.metadata_dir().join("composeinfo.json"),
            text.as_bytes(),
        )?;
        Ok(())
    }

    fn switch_latest_link(&self) -> Result<(), ExecError> {
        let topdir = self.compose.paths.topdir();
        let (Some(parent), Some(name)) = (topdir.parent(), topdir.file_name()) else {
            return Ok(());
        };
        let link = parent.join(self.compose.info.latest_link_name());
        kiln_fs::symlink_atomic(Path::new(name), &link)?;
        Ok(())
    }
}

fn describe_result(r: &PhaseResult) -> String {
    match r {
        PhaseResult::Skipped(why) => format!("skipped ({why})"),
        PhaseResult::Failed(e) => format!("FAILED: {e}"),
        PhaseResult::NotRun(why) => format!("not run: {why}"),
        other => other.word().to_owned(),
    }
}

/// Which phases still wait on each phase of a run, to call [`Phase::dependents_done`] once none
/// does.
struct Dependents<'a> {
    phases: &'a HashMap<&'a str, &'a dyn Phase>,
    needs: HashMap<&'static str, Vec<&'static str>>,
    /// Per phase: the planned phases that need it and have not settled yet.
    waiting: HashMap<&'static str, usize>,
    settled: std::collections::HashSet<&'static str>,
}

impl<'a> Dependents<'a> {
    fn new(plan: &Plan, phases: &'a HashMap<&'a str, &'a dyn Phase>) -> Self {
        let mut waiting: HashMap<&'static str, usize> =
            plan.phases.iter().map(|p| (p.name, 0)).collect();
        let mut needs = HashMap::new();
        for p in &plan.phases {
            for d in &p.needs {
                if let Some(n) = waiting.get_mut(d) {
                    *n += 1;
                }
            }
            needs.insert(p.name, p.needs.clone());
        }
        Dependents {
            phases,
            needs,
            waiting,
            settled: Default::default(),
        }
    }

    /// `name` has finished or will not run.
    fn settle(&mut self, name: &'static str) {
        self.settled.insert(name);
        if self.waiting.get(name) == Some(&0) {
            self.release(name);
        }
        for d in self.needs.get(name).cloned().unwrap_or_default() {
            if let Some(n) = self.waiting.get_mut(d) {
                *n = n.saturating_sub(1);
                if *n == 0 && self.settled.contains(d) {
                    self.release(d);
                }
            }
        }
    }

    fn release(&self, name: &str) {
        if let Some(p) = self.phases.get(name) {
            p.dependents_done();
        }
    }
}

/// Fault injection for end-to-end tests of resume and cancellation on the real pipeline:
/// `KILN_FAILPOINT=fail:<phase>` fails that phase after it has written its outputs (the worst
/// moment: everything on disk, no record); `KILN_FAILPOINT=hang:<phase>` makes it wait on a child
/// process before it starts, so a signal finds a command to kill.
fn failpoint(ctx: &PhaseContext, kind: &str) -> Result<(), PhaseError> {
    let Ok(spec) = std::env::var("KILN_FAILPOINT") else {
        return Ok(());
    };
    if spec != format!("{kind}:{}", ctx.phase()) {
        return Ok(());
    }
    match kind {
        "hang" => {
            let mut cmd = std::process::Command::new("sleep");
            cmd.arg("600");
            ctx.run(&cmd, &ctx.log_file("global", "failpoint"))?;
            Ok(())
        }
        _ => Err(PhaseError::msg(format!(
            "failure injected by KILN_FAILPOINT in {}",
            ctx.phase()
        ))),
    }
}

/// `tool --version` (or its own flag), first line; the version enters the fingerprint of phases that run the tool.
fn tool_version(tool: &str) -> String {
    match std::process::Command::new(tool)
        .arg(crate::runner::version_flag(tool))
        .output()
    {
        Ok(out) => crate::runner::first_line(&out.stdout, &out.stderr),
        Err(_) => "missing".into(),
    }
}

/// Replaces config strings that name existing files or folders with a digest of their content, so
/// that editing comps.xml or adding a package to a repo makes the phases that read them stale.
///
/// Values under a key named in `outputs` (paths the phase writes to) stay as they are.
fn with_file_digests(v: Value, outputs: &[&str]) -> Value {
    match v {
        Value::String(s) if s.starts_with('/') && Path::new(&s).exists() => {
            json!({"path": s, "content": content_digest(Path::new(&s))})
        }
        Value::Array(a) => Value::Array(
            a.into_iter()
                .map(|v| with_file_digests(v, outputs))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = if outputs.contains(&k.as_str()) {
                        v
                    } else {
                        with_file_digests(v, outputs)
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Files: their bytes. Folders (package repos can hold thousands of RPMs): every entry's relative
/// path, size and mtime, which changes whenever a file is added, removed or rewritten.
fn content_digest(path: &Path) -> String {
    let mut h = blake3::Hasher::new();
    if path.is_file() {
        if let Ok(f) = std::fs::File::open(path) {
            let _ = h.update_reader(f);
        }
    } else {
        let mut entries = Vec::new();
        walk(path, &mut entries);
        entries.sort();
        for e in entries {
            h.update(e.as_bytes());
            h.update(b"\n");
        }
    }
    h.finalize().to_hex().to_string()
}

fn walk(root: &Path, out: &mut Vec<String>) {
    // The listing names what is a folder; only files need a stat, and package repositories hold
    // tens of thousands of them: they are stat'ed on every core.
    let mut files = Vec::new();
    list_files(root, &mut files);
    out.par_extend(files.par_iter().filter_map(|p| {
        let meta = std::fs::symlink_metadata(p).ok()?;
        let rel = p.strip_prefix(root).unwrap_or(p).to_string_lossy();
        Some(format!(
            "{rel}\t{}\t{}",
            meta.len(),
            crate::record::mtime_ns(&meta)
        ))
    }));
}

/// Every entry under `dir` that is not a folder (symlinks are not followed).
fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => list_files(&e.path(), out),
            Ok(_) => out.push(e.path()),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder's digest follows every file under it, at any depth, and keeps the line format
    /// earlier records were made with (so a new kiln does not re-run every phase).
    #[test]
    fn a_folder_digest_follows_its_files_and_keeps_its_format() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("Packages/a")).unwrap();
        std::fs::write(repo.join("Packages/a/a.rpm"), b"a").unwrap();
        std::fs::write(repo.join("top.rpm"), b"top").unwrap();
        let first = content_digest(&repo);
        assert_eq!(first, content_digest(&repo), "same folder, same digest");

        let line = |rel: &str| {
            let m = std::fs::symlink_metadata(repo.join(rel)).unwrap();
            format!("{rel}\t{}\t{}\n", m.len(), crate::record::mtime_ns(&m))
        };
        let mut h = blake3::Hasher::new();
        h.update(line("Packages/a/a.rpm").as_bytes());
        h.update(line("top.rpm").as_bytes());
        assert_eq!(first, h.finalize().to_hex().to_string());

        std::fs::write(repo.join("Packages/a/b.rpm"), b"b").unwrap();
        let added = content_digest(&repo);
        assert_ne!(first, added, "a file added deep down");
        std::fs::write(repo.join("Packages/a/b.rpm"), b"bb").unwrap();
        assert_ne!(added, content_digest(&repo), "a file rewritten");
    }
}
