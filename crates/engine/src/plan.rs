//! What a compose will do, decided before anything runs: the phase graph, which phases run, which
//! are skipped or not configured, and (with `--resume`) which are kept from the compose's records.

use std::collections::{BTreeMap, BTreeSet};

use kiln_config::{Config, phases};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::phase::Phase;
use crate::record::{PhaseRecord, RecordStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Runs (or, with `--resume`, runs unless its record proves it is still valid).
    Run,
    /// `--resume`: its record is done and valid as of now; it re-runs only if a phase it needs
    /// re-runs and produces different files.
    Keep,
    Skip(String),
    /// Nothing configured for it.
    Disabled,
}

#[derive(Debug, Clone)]
pub struct PlannedPhase {
    pub name: &'static str,
    pub action: Action,
    pub needs: Vec<&'static str>,
    pub after: Vec<&'static str>,
    /// Why it runs again on resume (record missing, failed, stale), when it does.
    pub why: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// In an order where every phase comes after what it needs.
    pub phases: Vec<PlannedPhase>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("unknown phase `{name}`{hint}")]
    UnknownPhase { name: String, hint: String },
    #[error("phase {phase} needs `{need}`, which is not a phase")]
    UnknownNeed { phase: String, need: String },
    #[error("the phases depend on each other in a cycle through {0}")]
    Cycle(String),
    #[error("phase {0} cannot be skipped")]
    NotSkippable(String),
    #[error(
        "phase {need} is skipped but phase {phase} needs its output; run {need} too, or use --resume on a compose where {need} is done"
    )]
    SkippedNeeded { phase: String, need: String },
}

/// Which phases the user asked to leave out.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub skip: Vec<String>,
    pub just: Vec<String>,
}

fn canonical_list(names: &[String]) -> Result<BTreeSet<&'static str>, PlanError> {
    names
        .iter()
        .map(|n| {
            phases::canonical(n).ok_or_else(|| PlanError::UnknownPhase {
                name: n.clone(),
                hint: phases::suggest(n)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl Plan {
    /// Builds the plan. `records` gives a phase's record in the compose being resumed (None for a
    /// new compose); `verify` tells whether a record's files are still intact.
    pub fn build(
        phases: &[Box<dyn Phase>],
        config: &Config,
        selection: &Selection,
        records: &dyn Fn(&str) -> Option<PhaseRecord>,
        verify: &dyn Fn(&PhaseRecord) -> Result<(), String>,
    ) -> Result<Plan, PlanError> {
        let skip = canonical_list(&selection.skip)?;
        let just = canonical_list(&selection.just)?;
        let by_name: BTreeMap<&str, &dyn Phase> =
            phases.iter().map(|p| (p.name(), p.as_ref())).collect();

        let mut graph = DiGraph::<&'static str, ()>::new();
        let nodes: BTreeMap<&str, NodeIndex> = phases
            .iter()
            .map(|p| (p.name(), graph.add_node(p.name())))
            .collect();
        for p in phases {
            for dep in p.needs().iter().chain(p.after()) {
                let Some(&from) = nodes.get(dep) else {
                    if p.needs().contains(dep) {
                        return Err(PlanError::UnknownNeed {
                            phase: p.name().into(),
                            need: (*dep).into(),
                        });
                    }
                    continue;
                };
                graph.add_edge(from, nodes[p.name()], ());
            }
        }
        let order = petgraph::algo::toposort(&graph, None)
            .map_err(|c| PlanError::Cycle(graph[c.node_id()].to_owned()))?;

        let mut planned: Vec<PlannedPhase> = Vec::new();
        for idx in order {
            let name = graph[idx];
            let phase = by_name[name];
            let user_skipped = config.skips(name)
                || skip.contains(name)
                || (!just.is_empty() && !just.contains(name));
            if !phase.skippable() && skip.contains(name) {
                return Err(PlanError::NotSkippable(name.into()));
            }
            let record = records(name);
            let (action, why) = if !phase.enabled(config) {
                (Action::Disabled, None)
            } else if user_skipped && phase.skippable() {
                let reason = if skip.contains(name) {
                    "--skip-phase"
                } else if config.skips(name) {
                    "skip_phases in the config"
                } else {
                    "not in --just-phase"
                };
                (Action::Skip(reason.into()), None)
            } else {
                match &record {
                    None => (Action::Run, Some("no record".to_owned())),
                    Some(r) if r.status != RecordStatus::Done => (
                        Action::Run,
                        Some(format!("its last run {:?}", r.status).to_lowercase()),
                    ),
                    Some(r) => match verify(r) {
                        Ok(()) => (Action::Keep, None),
                        Err(e) => (Action::Run, Some(e)),
                    },
                }
            };
            planned.push(PlannedPhase {
                name,
                action,
                needs: phase.needs().to_vec(),
                after: phase.after().to_vec(),
                why,
            });
        }

        // A phase that will run cannot do without what it needs.
        let actions: BTreeMap<&str, Action> =
            planned.iter().map(|p| (p.name, p.action.clone())).collect();
        for p in &planned {
            if matches!(p.action, Action::Skip(_) | Action::Disabled) {
                continue;
            }
            for need in &p.needs {
                if let Some(Action::Skip(_)) = actions.get(need) {
                    let supplied = records(need)
                        .filter(|r| r.status == RecordStatus::Done)
                        .is_some_and(|r| verify(&r).is_ok());
                    if !supplied {
                        return Err(PlanError::SkippedNeeded {
                            phase: p.name.into(),
                            need: (*need).into(),
                        });
                    }
                }
            }
        }
        Ok(Plan { phases: planned })
    }

    pub fn get(&self, name: &str) -> Option<&PlannedPhase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// Human-readable: one line per phase with what will happen and why.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.phases {
            let what = match &p.action {
                Action::Run => match &p.why {
                    Some(w) if w != "no record" => format!("re-run ({w})"),
                    _ => "run".to_owned(),
                },
                Action::Keep => "keep (record valid; re-checked if a need re-runs)".to_owned(),
                Action::Skip(why) => format!("skip ({why})"),
                Action::Disabled => "not configured".to_owned(),
            };
            let needs = if p.needs.is_empty() {
                String::new()
            } else {
                format!("  needs: {}", p.needs.join(", "))
            };
            out.push_str(&format!("{:<14} {what}{needs}\n", p.name));
        }
        out
    }
}
