//! `logs/report.html`: one self-contained page about a compose (inline CSS and SVG, no script,
//! nothing fetched): its status, the phase timeline with the critical path, what was kept,
//! skipped or not run and why, package and image counts per variant and arch, repoclosure
//! problems, and failed deliverables with the end of their phase's log.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use kiln_productmd::images::Images;
use kiln_productmd::rpms::{RpmCategory, Rpms};
use serde::Deserialize;

use crate::InspectError;

#[derive(Debug, Deserialize)]
struct Timeline {
    #[serde(default)]
    phases: Vec<PhaseTime>,
}

#[derive(Debug, Clone, Deserialize)]
struct PhaseTime {
    phase: String,
    result: String,
    why: Option<String>,
    start: f64,
    seconds: f64,
    #[serde(default)]
    needs: Vec<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The phases on the longest chain of waits: from the phase that ended last, back through the
/// need of each that ended last.
fn critical_path(phases: &[PhaseTime]) -> Vec<String> {
    let end = |p: &PhaseTime| p.start + p.seconds;
    let by_name: BTreeMap<&str, &PhaseTime> =
        phases.iter().map(|p| (p.phase.as_str(), p)).collect();
    let mut at = phases
        .iter()
        .filter(|p| p.seconds > 0.0)
        .max_by(|a, b| end(a).total_cmp(&end(b)));
    let mut path = Vec::new();
    while let Some(p) = at {
        if path.contains(&p.phase) {
            break;
        }
        path.push(p.phase.clone());
        at = p
            .needs
            .iter()
            .filter_map(|n| by_name.get(n.as_str()).copied())
            .filter(|n| n.seconds > 0.0)
            .max_by(|a, b| end(a).total_cmp(&end(b)));
    }
    path.reverse();
    path
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The report of the compose at `dir`.
pub fn render(dir: &Path) -> Result<String, InspectError> {
    let id = read(&dir.join("COMPOSE_ID"))
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| InspectError::NotACompose {
            path: dir.to_owned(),
            why: "no COMPOSE_ID".into(),
        })?;
    let status = read(&dir.join("STATUS")).map_or("UNKNOWN".into(), |s| s.trim().to_owned());
    let timeline: Timeline = read(&dir.join("logs/global/timeline.json"))
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Timeline { phases: Vec::new() });
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{id} — kiln compose report</title><style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}\
         td.n{{text-align:right}}.status{{font-weight:bold}}.FINISHED{{color:#070}}.DOOMED,.TERMINATED{{color:#b00}}\
         .FINISHED_INCOMPLETE{{color:#a60}}rect.bar{{fill:#7aa6d8}}rect.critical{{fill:#d8743a}}\
         svg text{{font-size:12px}}pre{{background:#f4f4f4;padding:.5em;overflow:auto}}\
         </style></head><body>\n<h1>{id}</h1>\n<p>Status: <span id=\"status\" class=\"status {status}\">{status}</span></p>\n",
        id = esc(&id),
        status = esc(&status),
    );

    // Timeline.
    let critical = critical_path(&timeline.phases);
    let total = timeline
        .phases
        .iter()
        .map(|p| p.start + p.seconds)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    h.push_str("<h2>Phases</h2>\n");
    if !critical.is_empty() {
        let _ = writeln!(
            h,
            "<p>Critical path: <span id=\"critical-path\">{}</span></p>",
            esc(&critical.join(" → "))
        );
    }
    let (width, row) = (640.0, 18.0);
    let _ = writeln!(
        h,
        "<svg id=\"timeline\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"phase timeline\">",
        width + 140.0,
        row * timeline.phases.len() as f64 + 20.0
    );
    for (i, p) in timeline.phases.iter().enumerate() {
        let y = i as f64 * row;
        let x = 130.0 + p.start / total * width;
        let w = (p.seconds / total * width).max(1.0);
        let class = if critical.contains(&p.phase) {
            "bar critical"
        } else {
            "bar"
        };
        let _ = writeln!(
            h,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect class=\"{class}\" data-phase=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{} {:.2} s</title></rect>",
            y + 13.0,
            esc(&p.phase),
            esc(&p.phase),
            y + 2.0,
            row - 4.0,
            esc(&p.phase),
            p.seconds
        );
    }
    h.push_str("</svg>\n<table id=\"phases\"><tr><th>phase</th><th>result</th><th>start (s)</th><th>seconds</th><th>why</th></tr>\n");
    for p in &timeline.phases {
        let _ = writeln!(
            h,
            "<tr data-phase=\"{}\"><td>{}</td><td>{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td>{}</td></tr>",
            esc(&p.phase),
            esc(&p.phase),
            esc(&p.result),
            p.start,
            p.seconds,
            esc(p.why.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>\n");

    // Packages.
    let rpms_path = dir.join("compose/metadata/rpms.json");
    if rpms_path.is_file() {
        let (_, rpms) = Rpms::load(&rpms_path)?;
        h.push_str("<h2>Packages</h2>\n<table id=\"packages\"><tr><th>variant.arch</th><th>binary</th><th>debug</th><th>source</th></tr>\n");
        for (variant, arches) in &rpms.rpms {
            for (arch, srpms) in arches {
                let mut counts = [0usize; 3];
                for e in srpms.values().flat_map(|p| p.values()) {
                    counts[match e.category {
                        RpmCategory::Binary => 0,
                        RpmCategory::Debug => 1,
                        RpmCategory::Source => 2,
                    }] += 1;
                }
                let _ = writeln!(
                    h,
                    "<tr data-tree=\"{v}.{a}\"><td>{v}.{a}</td><td class=\"n binary\">{}</td><td class=\"n debug\">{}</td><td class=\"n source\">{}</td></tr>",
                    counts[0],
                    counts[1],
                    counts[2],
                    v = esc(variant),
                    a = esc(arch)
                );
            }
        }
        h.push_str("</table>\n");
    }

    // Images.
    let images_path = dir.join("compose/metadata/images.json");
    if images_path.is_file() {
        let (_, images) = Images::load(&images_path)?;
        h.push_str("<h2>Images</h2>\n<table id=\"images\"><tr><th>variant.arch</th><th>type</th><th>path</th><th>size</th></tr>\n");
        for (variant, arches) in &images.images {
            for (arch, list) in arches {
                for i in list {
                    let _ = writeln!(
                        h,
                        "<tr data-tree=\"{v}.{a}\"><td>{v}.{a}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                        esc(&i.kind),
                        esc(&i.path),
                        i.size,
                        v = esc(variant),
                        a = esc(arch)
                    );
                }
            }
        }
        h.push_str("</table>\n");
    }

    // Repoclosure problems.
    let mut problems = Vec::new();
    if let Ok(arches) = std::fs::read_dir(dir.join("logs")) {
        let mut logs: Vec<_> = arches
            .flatten()
            .filter_map(|a| std::fs::read_dir(a.path()).ok())
            .flat_map(|d| d.flatten().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("repoclosure-"))
            })
            .collect();
        logs.sort();
        for log in logs {
            let text = read(&log).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("package: ") || l.starts_with("    "))
                .collect();
            if !lines.is_empty() {
                problems.push((log, lines.join("\n")));
            }
        }
    }
    h.push_str("<h2>Repoclosure</h2>\n");
    if problems.is_empty() {
        h.push_str("<p id=\"repoclosure\">No problems.</p>\n");
    } else {
        for (log, text) in &problems {
            let _ = writeln!(
                h,
                "<h3>{}</h3><pre class=\"repoclosure\">{}</pre>",
                esc(&log.file_name().unwrap_or_default().to_string_lossy()),
                esc(text)
            );
        }
    }

    // Failed deliverables.
    let failed = read(&dir.join("logs/global/deliverables.json"))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("failed").cloned())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    h.push_str("<h2>Failed deliverables</h2>\n");
    if failed.is_empty() {
        h.push_str("<p id=\"failed\">None.</p>\n");
    } else {
        h.push_str("<table id=\"failed\"><tr><th>deliverable</th><th>variant.arch</th></tr>\n");
        for (kind, list) in &failed {
            for entry in list.as_array().into_iter().flatten() {
                let v = entry.get(0).and_then(|x| x.as_str()).unwrap_or("");
                let a = entry.get(1).and_then(|x| x.as_str()).unwrap_or("");
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}.{}</td></tr>",
                    esc(kind),
                    esc(v),
                    esc(a)
                );
            }
        }
        h.push_str("</table>\n");
    }
    for p in timeline
        .phases
        .iter()
        .filter(|p| p.result.starts_with("fail") || p.result == "failed")
    {
        let log = dir.join(format!("logs/global/{}.global.log", p.phase));
        let text = read(&log).unwrap_or_default();
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let _ = writeln!(
            h,
            "<h3>{} failed</h3><pre class=\"failure\">{}</pre>",
            esc(&p.phase),
            esc(&tail.join("\n"))
        );
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes `logs/report.html` of the compose at `dir` (temp file and rename).
pub fn write(dir: &Path) -> Result<std::path::PathBuf, InspectError> {
    let html = render(dir)?;
    let path = dir.join("logs/report.html");
    let tmp = dir.join("logs/.report.html.tmp");
    std::fs::write(&tmp, html).map_err(|source| InspectError::Read {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| InspectError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(phase: &str, start: f64, seconds: f64, needs: &[&str]) -> PhaseTime {
        PhaseTime {
            phase: phase.into(),
            result: "done".into(),
            why: None,
            start,
            seconds,
            needs: needs.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn the_critical_path_follows_the_need_that_ended_last() {
        let phases = vec![
            p("init", 0.0, 0.1, &[]),
            p("pkgset", 0.1, 1.0, &["init"]),
            p("buildinstall", 1.1, 0.2, &["pkgset"]),
            p("gather", 1.1, 2.0, &["pkgset", "init"]),
            p("createrepo", 3.1, 0.5, &["gather"]),
            p("createiso", 3.6, 3.0, &["createrepo", "buildinstall"]),
            p("repoclosure", 3.1, 0.4, &["gather"]),
        ];
        assert_eq!(
            critical_path(&phases),
            ["init", "pkgset", "gather", "createrepo", "createiso"]
        );
    }
}
