//! `kiln compose` and `kiln plan`: pungi-koji's command line over kiln's engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use kiln_compose::{
    BaseProduct, Compose, ComposeInfo, ComposeLock, ComposeType, Paths, Release, compose_date,
    verify_label,
};
use kiln_config::Config;
use kiln_engine::executor::{ExecError, Options, Outcome};
use kiln_engine::plan::Selection;
use kiln_engine::{CancelToken, Executor, LocalRunner, PhaseLogLayer};
use kiln_variants::Variants;
use serde::{Deserialize, Serialize};

use crate::console::{Console, Verbosity};
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    /// The compose config (YAML). With --resume it defaults to the config the compose was made from.
    pub config: Option<PathBuf>,
    /// Make a new compose in <DIR>/<compose id>.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["compose_dir", "resume"])]
    pub target_dir: Option<PathBuf>,
    /// Run in this existing or new compose folder instead (pungi's --compose-dir).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub compose_dir: Option<PathBuf>,
    /// Continue a compose that failed or was stopped: re-run only what is missing, failed or stale.
    #[arg(long, value_name = "COMPOSE_DIR")]
    pub resume: Option<PathBuf>,
    /// Where earlier composes are (repeatable; pungi's option): the newest finished one of the
    /// same release and type lends its repodata and ISOs wherever this compose's would be the
    /// same bytes. Default: the folder the compose is made in.
    #[arg(long, value_name = "DIR")]
    pub old_composes: Vec<PathBuf>,
    /// Make everything afresh, reusing nothing of earlier composes.
    #[arg(long, conflicts_with = "old_composes")]
    pub no_old_composes: bool,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Compose label, e.g. RC-1.0 or Beta-1.2.
    #[arg(long, conflicts_with = "no_label")]
    pub label: Option<String>,
    /// Make a production compose without a label.
    #[arg(long)]
    pub no_label: bool,
    /// Make a test compose (ID suffix .t); the default is production.
    #[arg(long, group = "kind")]
    pub test: bool,
    /// Make a nightly compose (ID suffix .n).
    #[arg(long, group = "kind")]
    pub nightly: bool,
    /// Make a CI compose (ID suffix .ci).
    #[arg(long, group = "kind")]
    pub ci: bool,
    /// Make a development compose (ID suffix .d).
    #[arg(long, group = "kind")]
    pub development: bool,
    /// Make a production compose (no suffix; needs --label or --no-label).
    #[arg(long, group = "kind")]
    pub production: bool,
    /// Print every external command with its arguments.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Do not run this phase (repeatable; pungi names are accepted).
    #[arg(long = "skip-phase", value_name = "PHASE")]
    pub skip_phase: Vec<String>,
    /// Run only these phases (repeatable); init and imagechecksum always run.
    #[arg(long = "just-phase", value_name = "PHASE")]
    pub just_phase: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    pub config: Option<PathBuf>,
    /// Show what resuming this compose would keep and re-run.
    #[arg(long, value_name = "COMPOSE_DIR")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What a compose folder remembers about itself, so that `--resume` continues the same compose.
#[derive(Debug, Serialize, Deserialize)]
struct Identity {
    info: ComposeInfo,
    timestamp: i64,
    config: PathBuf,
    /// The `--skip-phase`/`--just-phase` the compose was started with: a resume without its
    /// own keeps them, so it ends as the uninterrupted compose would have.
    #[serde(default, skip_serializing_if = "PhaseChoice::is_empty")]
    phases: PhaseChoice,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PhaseChoice {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    just: Vec<String>,
}

impl PhaseChoice {
    fn is_empty(&self) -> bool {
        self.skip.is_empty() && self.just.is_empty()
    }
    fn of(common: &CommonArgs) -> Self {
        PhaseChoice {
            skip: common.skip_phase.clone(),
            just: common.just_phase.clone(),
        }
    }
}

fn load_config(path: &Path) -> Result<Config, ExitCode> {
    if path.extension().is_some_and(|x| x == "conf")
        && let Ok(converted) = kiln_config::convert_pungi(path)
    {
        crate::config::print_unsupported(&converted);
    }
    kiln_config::load(path).map_err(|e| {
        eprintln!("kiln: {e}");
        ExitCode::from(exit::CONFIG_ERROR)
    })
}

fn release(config: &Config) -> Release {
    Release {
        name: config.release_name.clone(),
        short: config.release_short.clone(),
        version: config.release_version.clone(),
        release_type: config.release_type.clone(),
        internal: config.release_internal,
        base_product: config.base_product_short.as_ref().map(|short| BaseProduct {
            name: config.base_product_name.clone().unwrap_or_default(),
            short: short.clone(),
            version: config.base_product_version.clone().unwrap_or_default(),
            release_type: config.base_product_type.clone(),
        }),
    }
}

fn variants(config: &Config) -> anyhow::Result<Variants> {
    let mut v = match &config.variants_file {
        Some(path) => Variants::from_xml_file(path)?,
        None => Variants::from_defs(&config.variants)?,
    };
    v.restrict(&config.tree_variants, &config.tree_arches);
    if v.all.is_empty() {
        bail!("no variant is left to compose after tree_variants and tree_arches");
    }
    Ok(v)
}

fn compose_type(args: &ComposeArgs) -> ComposeType {
    if args.test {
        ComposeType::Test
    } else if args.nightly {
        ComposeType::Nightly
    } else if args.ci {
        ComposeType::Ci
    } else if args.development {
        ComposeType::Development
    } else {
        ComposeType::Production
    }
}

fn identity_path(topdir: &Path) -> PathBuf {
    Paths::new(topdir).composeinfo_base()
}

fn read_identity(topdir: &Path) -> anyhow::Result<Identity> {
    let path = identity_path(topdir);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "{} is not a kiln compose (no {})",
            topdir.display(),
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("cannot read {}", path.display()))
}

/// Creates `<target>/<id>` with the first free respin, as pungi does. `create_dir` (not
/// `create_dir_all`) makes two runs on the same day race safely for the name.
fn new_compose_dir(
    target: &Path,
    release: &Release,
    date: &str,
    kind: ComposeType,
) -> anyhow::Result<(PathBuf, u32)> {
    std::fs::create_dir_all(target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    for respin in 0..10_000 {
        let dir = target.join(ComposeInfo::make_id(release, date, kind, respin));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, respin)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    bail!("no free respin left for {date} in {}", target.display())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn install_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry().with(PhaseLogLayer::new());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

pub fn compose(args: ComposeArgs) -> anyhow::Result<ExitCode> {
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let mut common = args.common.clone();
    let (topdir, identity, config) = match (&args.resume, &args.target_dir, &args.compose_dir) {
        (Some(dir), _, _) => {
            let identity = read_identity(dir)?;
            let given = PhaseChoice::of(&common);
            if given.is_empty() && !identity.phases.is_empty() {
                common.skip_phase = identity.phases.skip.clone();
                common.just_phase = identity.phases.just.clone();
                if verbosity != Verbosity::Quiet {
                    eprintln!(
                        "kiln: resuming with the phases the compose was started with{}{}",
                        if common.skip_phase.is_empty() {
                            String::new()
                        } else {
                            format!(" (skipped: {})", common.skip_phase.join(", "))
                        },
                        if common.just_phase.is_empty() {
                            String::new()
                        } else {
                            format!(" (only: {})", common.just_phase.join(", "))
                        }
                    );
                }
            }
            if kiln_compose::read_status(dir)? == Some(kiln_compose::ComposeStatus::Finished) {
                // Nothing failed and nothing is left to do; the compose stays untouched.
                if verbosity != Verbosity::Quiet {
                    eprintln!(
                        "kiln: {} is FINISHED: nothing to resume (a finished compose is never changed)",
                        dir.display()
                    );
                }
                return Ok(ExitCode::from(exit::FINISHED));
            }
            let config_path = args
                .config
                .clone()
                .unwrap_or_else(|| identity.config.clone());
            let config = match load_config(&config_path) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            if let Some(code) = preflight(&config, Some(dir), &common)? {
                return Ok(code);
            }
            let identity = Identity {
                config: std::path::absolute(&config_path)?,
                phases: PhaseChoice::of(&common),
                ..identity
            };
            (dir.clone(), identity, config)
        }
        (None, target, compose_dir) => {
            let Some(config_path) = &args.config else {
                eprintln!("kiln: a config file is needed (kiln compose CONFIG --target-dir DIR)");
                return Ok(ExitCode::from(exit::CONFIG_ERROR));
            };
            let config = match load_config(config_path) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            if let Some(code) = preflight(&config, None, &common)? {
                return Ok(code);
            }
            let kind = compose_type(&args);
            if let Some(label) = &args.label {
                if let Err(e) = verify_label(label) {
                    eprintln!("kiln: {e}");
                    return Ok(ExitCode::from(exit::CONFIG_ERROR));
                }
            } else if kind == ComposeType::Production && !args.no_label {
                eprintln!("kiln: {}", kiln_compose::IdError::LabelRequired);
                return Ok(ExitCode::from(exit::CONFIG_ERROR));
            }
            let sde = std::env::var("SOURCE_DATE_EPOCH").ok();
            let (date, timestamp) = compose_date(sde.as_deref(), now())?;
            let release = release(&config);
            let (topdir, respin) = match (target, compose_dir) {
                (Some(t), None) => new_compose_dir(t, &release, &date, kind)?,
                (None, Some(d)) => {
                    if let Ok(existing) = read_identity(d) {
                        let respin = existing.info.respin;
                        (d.clone(), respin)
                    } else {
                        std::fs::create_dir_all(d)?;
                        (d.clone(), 0)
                    }
                }
                _ => {
                    eprintln!(
                        "kiln: say where the compose goes: --target-dir DIR, --compose-dir DIR or --resume DIR"
                    );
                    return Ok(ExitCode::from(exit::CONFIG_ERROR));
                }
            };
            let identity = match read_identity(&topdir) {
                Ok(existing) => existing,
                Err(_) => Identity {
                    info: ComposeInfo {
                        id: ComposeInfo::make_id(&release, &date, kind, respin),
                        date,
                        compose_type: kind,
                        respin,
                        label: args.label.clone(),
                        release,
                    },
                    timestamp,
                    config: std::path::absolute(config_path)?,
                    phases: PhaseChoice::of(&common),
                },
            };
            (topdir, identity, config)
        }
    };
    let topdir = std::path::absolute(&topdir)?;
    let _lock = ComposeLock::acquire(&topdir)?;
    let paths = Paths::new(&topdir);
    kiln_fs::write_atomic(&topdir.join("COMPOSE_ID"), identity.info.id.as_bytes())?;
    let mut ident_json = serde_json::to_vec_pretty(&identity)?;
    ident_json.push(b'\n');
    kiln_fs::write_atomic(&identity_path(&topdir), &ident_json)?;
    let config_copy = paths.log_dir("global").join("config-copy");
    if let Some(name) = identity.config.file_name() {
        kiln_fs::copy_atomic(&identity.config, &config_copy.join(name))?;
    }
    let mut dump = serde_json::to_vec_pretty(&config)?;
    dump.push(b'\n');
    kiln_fs::write_atomic(&paths.log_file("global", "config-dump"), &dump)?;

    let old = if args.no_old_composes {
        None
    } else {
        let dirs = if args.old_composes.is_empty() {
            topdir.parent().map(Path::to_owned).into_iter().collect()
        } else {
            args.old_composes.clone()
        };
        find_old_compose(&dirs, &identity.info, &topdir)
    };
    let compose = Compose {
        info: identity.info.clone(),
        paths,
        variants: variants(&config)?,
        timestamp: identity.timestamp,
        old,
    };
    install_logging();
    let console = Console::new(verbosity);
    let cancel = CancelToken::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.flag())?;
    }
    let runners = runners(&config, compose.paths.topdir());
    let exec = Executor {
        phases: crate::phases::all(),
        config: &config,
        compose: &compose,
        runner: &runners,
        observer: &console,
        cancel,
    };
    let opts = options(&common, args.resume.is_some());
    console.line(&format!(
        "compose {} in {}",
        compose.info.id,
        topdir.display()
    ));
    if let Some(old) = &compose.old {
        console.line(&format!(
            "reusing what has not changed from {}",
            old.display()
        ));
    }
    let report = match exec.run(&opts) {
        Ok(r) => r,
        Err(
            e @ (ExecError::Plan(_) | ExecError::MissingTools(_) | ExecError::Unsupported { .. }),
        ) => {
            eprintln!("kiln: {e}");
            return Ok(ExitCode::from(exit::CONFIG_ERROR));
        }
        Err(e) => return Err(e.into()),
    };
    // The compose report, whatever the outcome: a failed compose needs it most.
    if let Err(e) = kiln_inspect::report::write(&topdir) {
        console.error_line(&format!("cannot write the compose report: {e}"));
    }
    let status = report.outcome.status().as_str();
    if report.outcome == Outcome::Finished || verbosity != Verbosity::Quiet {
        console.line(&format!("{status}: {}", topdir.display()));
    } else {
        console.error_line(&format!("{status}: {}", topdir.display()));
    }
    for (phase, result) in &report.results {
        if let kiln_engine::executor::PhaseResult::Failed(_) = result {
            let log = compose.paths.log_file("global", phase);
            eprintln!(
                "kiln: phase {phase} failed (its error is above; log: {})",
                log.display()
            );
        }
    }
    Ok(ExitCode::from(match report.outcome {
        Outcome::Finished => exit::FINISHED,
        Outcome::FinishedIncomplete => exit::FINISHED_INCOMPLETE,
        Outcome::Doomed => exit::DOOMED,
        Outcome::Terminated => exit::TERMINATED,
    }))
}

/// The compose as planning sees it: the real one when resuming (its records decide what is
/// kept), else a stand-in at a path that does not exist, since nothing may be created yet.
fn planning_compose(config: &Config, topdir: Option<&Path>) -> anyhow::Result<Compose> {
    let info = match topdir {
        Some(dir) => read_identity(dir)?.info,
        None => {
            let release = release(config);
            ComposeInfo {
                id: ComposeInfo::make_id(&release, "YYYYMMDD", ComposeType::Production, 0),
                date: "YYYYMMDD".into(),
                compose_type: ComposeType::Production,
                respin: 0,
                label: None,
                release,
            }
        }
    };
    Ok(Compose {
        info,
        paths: Paths::new(
            topdir
                .map(Path::to_owned)
                .unwrap_or_else(|| PathBuf::from("/nonexistent")),
        ),
        variants: variants(config)?,
        timestamp: 0,
        old: None,
    })
}

/// The RPM packages of a phase's tools, for its Koji runroot tasks' `--package`.
fn runroot_packages(config: &Config, phase: &str) -> Vec<String> {
    let mut out: Vec<String> = crate::phases::all()
        .iter()
        .filter(|p| p.name() == phase)
        .flat_map(|p| p.tools(config))
        .flat_map(kiln_engine::rpm_packages)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Where each phase's commands run (`runroot_method`): locally, or in podman containers,
/// Kubernetes Jobs or Koji runroot tasks that see the compose's top folder at its own path.
fn runners(config: &Config, topdir: &Path) -> kiln_engine::PhaseRunners {
    let podman = |s: &kiln_config::PodmanRunroot| -> Box<dyn kiln_engine::Runner> {
        let mut mounts = vec![topdir.to_owned()];
        mounts.extend(s.mounts.iter().cloned());
        Box::new(kiln_engine::PodmanRunner {
            image: s.image.clone(),
            mounts,
            network: s.network,
            args: s.args.clone(),
        })
    };
    let koji = |phase: Option<&str>| -> Box<dyn kiln_engine::Runner> {
        Box::new(kiln_engine::KojiRunner {
            profile: config.koji_profile.clone().unwrap_or_else(|| "koji".into()),
            tag: config.runroot_tag.clone().unwrap_or_default(),
            channel: config.runroot_channel.clone(),
            weight: phase.and_then(|p| {
                config
                    .runroot_weights
                    .iter()
                    .find(|(k, _)| kiln_config::phases::canonical(k) == Some(p))
                    .map(|(_, w)| *w)
            }),
            packages: phase
                .map(|p| runroot_packages(config, p))
                .unwrap_or_default(),
            mounts: vec![topdir.to_owned()],
            io_dir: topdir.join("work/global/koji-io"),
            default_arch: std::env::consts::ARCH.to_owned(),
        })
    };
    let kubernetes = |s: &kiln_config::KubernetesRunroot| -> Box<dyn kiln_engine::Runner> {
        let mut mounts = vec![topdir.to_owned()];
        mounts.extend(s.mounts.iter().cloned());
        Box::new(kiln_engine::KubernetesRunner {
            image: s.image.clone(),
            namespace: s.namespace.clone(),
            kubeconfig: s.kubeconfig.clone(),
            context: s.context.clone(),
            mounts,
            claim: s.persistent_volume_claim.clone(),
            node_selectors: s.node_selectors.clone(),
            resources: s.resources.clone(),
            backoff_limit: s.backoff_limit,
            active_deadline_seconds: s.active_deadline_seconds,
            image_pull_policy: s.image_pull_policy.clone(),
            host_network: s.host_network,
            poll: std::time::Duration::from_secs_f64(s.poll_seconds),
            io_dir: topdir.join("work/global/kubernetes-io"),
            default_arch: std::env::consts::ARCH.to_owned(),
        })
    };
    // The config check makes sure the settings of every method named are there.
    let make = |method: &str, phase: Option<&str>| -> Option<Box<dyn kiln_engine::Runner>> {
        match method {
            "podman" => config.runroot_podman.as_ref().map(podman),
            "kubernetes" => config.runroot_kubernetes.as_ref().map(kubernetes),
            "koji" => Some(koji(phase)),
            _ => None,
        }
    };
    let mut per_phase = std::collections::BTreeMap::new();
    let mut default: Box<dyn kiln_engine::Runner> = Box::new(LocalRunner);
    match &config.runroot_method {
        kiln_config::RunrootMethod::One(m) => {
            if let Some(r) = make(m, None) {
                default = r;
            }
            if m == "koji" {
                // Each phase's tasks ask for its own tools' packages, as pungi's phases do.
                for phase in crate::phases::all() {
                    per_phase.insert(phase.name().to_owned(), koji(Some(phase.name())));
                }
            }
        }
        kiln_config::RunrootMethod::PerPhase(map) => {
            for (phase, m) in map {
                let name = kiln_config::phases::canonical(phase).unwrap_or(phase);
                if let Some(r) = make(m, Some(name)) {
                    per_phase.insert(name.to_owned(), r);
                }
            }
        }
    }
    kiln_engine::PhaseRunners { default, per_phase }
}

/// The newest finished (or finished-incomplete) compose of the same release and compose type in
/// `dirs`, other than `topdir` itself, as pungi's `find_old_compose` picks one.
fn find_old_compose(dirs: &[PathBuf], info: &ComposeInfo, topdir: &Path) -> Option<PathBuf> {
    use kiln_compose::ComposeStatus as S;
    let mut best: Option<((String, u32), PathBuf)> = None;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_symlink() || std::path::absolute(&path).ok().as_deref() == Some(topdir) {
                continue;
            }
            let Ok(old) = read_identity(&path) else {
                continue;
            };
            let finished = matches!(
                kiln_compose::read_status(&path),
                Ok(Some(S::Finished | S::FinishedIncomplete))
            );
            let same = old.info.release.short == info.release.short
                && old.info.release.version == info.release.version
                && old.info.compose_type == info.compose_type;
            let key = (old.info.date.clone(), old.info.respin);
            if finished && same && best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, path));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn options(common: &CommonArgs, resume: bool) -> Options {
    Options {
        selection: Selection {
            skip: common.skip_phase.clone(),
            just: common.just_phase.clone(),
        },
        resume,
    }
}

/// Everything that can be known to fail before the compose starts: the phase selection and the
/// tools of every phase that will run. Prints the problem and returns exit 2, before any folder is
/// created or any STATUS written.
fn preflight(
    config: &Config,
    resume: Option<&Path>,
    common: &CommonArgs,
) -> anyhow::Result<Option<ExitCode>> {
    if config.runroot_method.methods().contains(&"koji")
        && kiln_engine::find_on_path("koji").is_none()
    {
        eprintln!(
            "kiln: runroot_method uses koji, but the `koji` client is not installed; {} \
             (or `python3 -m pip install koji`)",
            kiln_engine::install_hint("koji")
        );
        return Ok(Some(ExitCode::from(exit::CONFIG_ERROR)));
    }
    if config.runroot_method.methods().contains(&"kubernetes")
        && kiln_engine::find_on_path("kubectl").is_none()
    {
        eprintln!(
            "kiln: runroot_method uses kubernetes, but `kubectl` is not installed; {}",
            kiln_engine::install_hint("kubectl")
        );
        return Ok(Some(ExitCode::from(exit::CONFIG_ERROR)));
    }
    let compose = planning_compose(config, resume)?;
    let runners = runners(config, compose.paths.topdir());
    let exec = Executor {
        phases: crate::phases::all(),
        config,
        compose: &compose,
        runner: &runners,
        observer: &kiln_engine::Silent,
        cancel: CancelToken::new(),
    };
    match exec.preflight(&options(common, resume.is_some())) {
        Ok(_) => Ok(None),
        Err(
            e @ (ExecError::Plan(_) | ExecError::MissingTools(_) | ExecError::Unsupported { .. }),
        ) => {
            eprintln!("kiln: {e}");
            Ok(Some(ExitCode::from(exit::CONFIG_ERROR)))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let (topdir, config_path) = match (&args.resume, &args.config) {
        (Some(dir), given) => {
            let identity = read_identity(dir)?;
            (Some(dir.clone()), given.clone().unwrap_or(identity.config))
        }
        (None, Some(c)) => (None, c.clone()),
        (None, None) => {
            eprintln!("kiln: a config file is needed (kiln plan CONFIG)");
            return Ok(ExitCode::from(exit::CONFIG_ERROR));
        }
    };
    let config = match load_config(&config_path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let compose = planning_compose(&config, topdir.as_deref())?;
    let runners = runners(&config, compose.paths.topdir());
    let exec = Executor {
        phases: crate::phases::all(),
        config: &config,
        compose: &compose,
        runner: &runners,
        observer: &kiln_engine::Silent,
        cancel: CancelToken::new(),
    };
    let opts = options(&args.common, topdir.is_some());
    match exec.plan(&opts) {
        Ok(plan) => {
            print!("{}", plan.render());
            // The plan is shown either way; a compose of it would refuse to start, so say why.
            match exec.preflight(&opts) {
                Err(e @ (ExecError::MissingTools(_) | ExecError::Unsupported { .. })) => {
                    eprintln!("kiln: {e}");
                    Ok(ExitCode::from(exit::CONFIG_ERROR))
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        Err(e) => {
            eprintln!("kiln: {e}");
            Ok(ExitCode::from(exit::CONFIG_ERROR))
        }
    }
}
