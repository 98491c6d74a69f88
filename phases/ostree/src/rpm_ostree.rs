//! `ostree_method: rpm-ostree`: pungi's way, the real `rpm-ostree compose tree` (commits) and
//! `rpm-ostree compose image` (container images) through the runner, with pungi's arguments.
//!
//! As pungi's `tweak_treeconf` does, the treefile's folder is copied into the task's work folder,
//! the block's repositories are written there as `pungi.repo` (`repo-0`, `repo-1`, ...: names
//! without timestamps, so rpm-ostree's change detection works), and the treefile is rewritten as
//! JSON with those repos (after its own with `keep_original_sources`) and the block's
//! `ostree_ref`. rpm-ostree writes the commit ID to a file and touches a stamp only when it made a
//! new commit; the ref is then moved by kiln (pungi writes `refs/heads/<ref>` itself), unless
//! `tag_ref` is false.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_config::OstreeBlock;
use kiln_engine::{PhaseContext, PhaseError};
use serde_json::{Value, json};

use super::{Committed, Task, config_dir, ensure_repo, repo_url, stdout_line, version};

/// The treefile as rpm-ostree gets it: `dir` copied to `work/config`, `pungi.repo` beside the
/// treefile, the treefile as JSON with the repositories and ref set. Returns its path.
pub fn tweak_treefile(
    dir: &Path,
    treefile: &str,
    work: &Path,
    repo_urls: &[String],
    keep_original_sources: bool,
    ostree_ref: Option<&str>,
) -> Result<PathBuf, PhaseError> {
    let copy = work.join("config");
    let _ = std::fs::remove_dir_all(&copy);
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry =
            entry.map_err(|e| PhaseError::msg(format!("cannot read {}: {e}", dir.display())))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        if rel.starts_with(".git") {
            continue;
        }
        let dst = copy.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dst)?;
        } else {
            std::fs::copy(entry.path(), &dst).map_err(|e| {
                PhaseError::with(format!("cannot copy {}", entry.path().display()), e)
            })?;
        }
    }
    let path = copy.join(treefile);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| PhaseError::with(format!("cannot read treefile {}", path.display()), e))?;
    let is_yaml = treefile.ends_with(".yaml") || treefile.ends_with(".yml");
    let mut doc: Value = if is_yaml {
        serde_saphyr::from_str(&text)
            .map_err(|e| PhaseError::msg(format!("treefile {}: {e}", path.display())))?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| PhaseError::msg(format!("treefile {}: {e}", path.display())))?
    };
    let Some(map) = doc.as_object_mut() else {
        return Err(PhaseError::msg(format!(
            "treefile {}: not a mapping",
            path.display()
        )));
    };
    let mut repo_file = String::new();
    let mut names = Vec::new();
    for (i, url) in repo_urls.iter().enumerate() {
        let name = format!("repo-{i}");
        repo_file.push_str(&format!(
            "[{name}]\nname={name}\nbaseurl={url}\ngpgcheck=0\n"
        ));
        names.push(Value::String(name));
    }
    let parent = path.parent().unwrap_or(&copy).to_owned();
    std::fs::write(parent.join("pungi.repo"), repo_file)?;
    let mut repos: Vec<Value> = if keep_original_sources {
        map.get("repos")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    repos.extend(names);
    map.insert("repos".into(), Value::Array(repos));
    if let Some(r) = ostree_ref {
        map.insert("ref".into(), Value::String(r.to_owned()));
    }
    let out = if is_yaml {
        path.with_extension("json")
    } else {
        path.clone()
    };
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| PhaseError::msg(e.to_string()))?;
    bytes.push(b'\n');
    std::fs::write(&out, bytes)?;
    Ok(out)
}

/// The ref a rewritten treefile names (`${basearch}` replaced).
fn treefile_ref(treefile: &Path, arch: &str) -> Result<String, PhaseError> {
    let doc: Value = std::fs::read(treefile)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    doc.get("ref")
        .and_then(Value::as_str)
        .map(|r| r.replace("${basearch}", arch))
        .ok_or_else(|| {
            PhaseError::msg(format!(
                "treefile {} names no ref, and the block no ostree_ref",
                treefile.display()
            ))
        })
}

/// The block's repositories as URLs, for `pungi.repo`.
fn repo_urls(ctx: &PhaseContext, task: &Task) -> Result<Vec<String>, PhaseError> {
    task.source()
        .repo
        .iter()
        .map(|r| repo_url(ctx, r, &task.arch))
        .collect()
}

/// The folders and log of a task, the treefile rewritten for rpm-ostree.
struct Setup {
    work: PathBuf,
    log: PathBuf,
    treefile: PathBuf,
    version: Option<String>,
}

fn setup(ctx: &PhaseContext, task: &Task, keep_original: bool) -> Result<Setup, PhaseError> {
    let src = task.source();
    let work = ctx
        .compose
        .paths
        .work_dir(&task.arch)
        .join(format!("ostree-{}", task.number));
    std::fs::create_dir_all(&work)
        .map_err(|e| PhaseError::with(format!("cannot create {}", work.display()), e))?;
    let log = ctx.log_file(
        &task.arch,
        &format!("ostree-{}-{}", task.number, task.variant.uid),
    );
    let _ = std::fs::remove_file(&log);
    let dir = config_dir(ctx, &src, &work, &log)?;
    let urls = repo_urls(ctx, task)?;
    let treefile = tweak_treefile(
        &dir,
        src.treefile,
        &work,
        &urls,
        keep_original,
        src.ostree_ref,
    )?;
    let version = version(ctx.compose, src.version).map_err(PhaseError::msg)?;
    Ok(Setup {
        work,
        log,
        treefile,
        version,
    })
}

/// `rpm-ostree compose tree` into the block's repository.
pub fn compose_tree(
    ctx: &PhaseContext,
    task: &Task,
    block: &OstreeBlock,
) -> Result<Committed, PhaseError> {
    let uid = &task.variant.uid;
    let arch = &task.arch;
    let Setup {
        work,
        log,
        treefile,
        version,
    } = setup(ctx, task, block.keep_original_sources)?;
    let ref_ = treefile_ref(&treefile, arch)?;
    let repo = &block.ostree_repo;
    ensure_repo(ctx, repo, &log)?;
    let repo_arg = format!("--repo={}", repo.display());
    let mut rev = Command::new("ostree");
    rev.args(["rev-parse", &repo_arg, &ref_]);
    let parent = ctx
        .run_status(&rev, &log)
        .ok()
        .filter(|o| o.success())
        .map(|o| stdout_line(&o))
        .filter(|s| !s.is_empty());

    let commitid_file = work.join("commitid.log");
    let stamp = work.join("commitid.log.stamp");
    let _ = std::fs::remove_file(&commitid_file);
    let _ = std::fs::remove_file(&stamp);
    let mut cmd = Command::new("rpm-ostree");
    cmd.args(["compose", "tree"])
        .arg(&repo_arg)
        .arg(format!("--write-commitid-to={}", commitid_file.display()))
        .arg(format!("--touch-if-changed={}", stamp.display()));
    if block.unified_core {
        cmd.arg("--unified-core");
    }
    if let Some(v) = &version {
        cmd.arg(format!("--add-metadata-string=version={v}"));
    }
    if block.force_new_commit {
        cmd.arg("--force-nocache");
    }
    cmd.arg(&treefile);
    ctx.run(&cmd, &log)?;

    let (commitid, new_commit) = if stamp.exists() {
        let id = std::fs::read_to_string(&commitid_file)
            .map_err(|e| {
                PhaseError::with(
                    format!(
                        "rpm-ostree touched {} but wrote no {}",
                        stamp.display(),
                        commitid_file.display()
                    ),
                    e,
                )
            })?
            .trim()
            .to_owned();
        if block.tag_ref {
            let head = repo.join("refs/heads").join(&ref_);
            if let Some(d) = head.parent() {
                std::fs::create_dir_all(d)?;
            }
            kiln_fs::write_atomic(&head, format!("{id}\n").as_bytes())?;
        }
        (id, true)
    } else {
        let Some(p) = parent.clone() else {
            return Err(PhaseError::msg(format!(
                "ostree {uid}.{arch}: rpm-ostree made no commit and {ref_} has none yet"
            )));
        };
        (p, false)
    };
    if block.update_summary {
        let mut summary = Command::new("ostree");
        summary.args(["summary", "-u", &repo_arg]);
        ctx.run(&summary, &log)?;
    }
    tracing::info!(
        "ostree {uid}.{arch} (rpm-ostree): {ref_} {} {commitid}",
        if new_commit {
            "committed"
        } else {
            "unchanged at"
        }
    );
    ctx.notify(
        "ostree",
        json!({
            "variant": uid, "arch": arch, "ref": ref_, "commitid": commitid,
            "repo_path": repo.display().to_string(),
            "local_repo_path": repo.display().to_string(),
        }),
    );
    Ok(Committed {
        variant: uid.clone(),
        arch: arch.clone(),
        ref_,
        commitid,
        parent: if new_commit { parent } else { None },
        new_commit,
        version,
        repo: repo.clone(),
    })
}

/// `rpm-ostree compose image` of an `ostree_container` block: the OCI archive it writes at
/// `dest`.
pub fn compose_image(ctx: &PhaseContext, task: &Task, dest: &Path) -> Result<(), PhaseError> {
    let Setup {
        work,
        log,
        treefile,
        ..
    } = setup(ctx, task, false)?;
    let stamp = work.join(format!(
        "{}.stamp",
        dest.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let mut cmd = Command::new("rpm-ostree");
    cmd.args(["compose", "image", "--initialize"])
        .arg(format!("--touch-if-changed={}", stamp.display()))
        .arg(&treefile)
        .arg(dest);
    ctx.run(&cmd, &log)?;
    if !dest.is_file() {
        return Err(PhaseError::msg(format!(
            "ostree_container {}.{}: rpm-ostree compose image wrote no {}",
            task.variant.uid,
            task.arch,
            dest.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tweak_treefile;

    #[test]
    fn the_treefile_gets_pungis_repos_and_ref() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join(".git")).expect("mkdir");
        std::fs::write(
            src.join("host.yaml"),
            "ref: fedora/${basearch}/iot\nrepos: [fedora]\npackages: [bash]\n",
        )
        .expect("write");
        let work = dir.path().join("work");
        let urls = [
            "file:///c/BaseOS/x86_64/os".to_owned(),
            "https://r".to_owned(),
        ];
        let out =
            tweak_treefile(&src, "host.yaml", &work, &urls, true, Some("x/y")).expect("tweak");
        assert_eq!(out, work.join("config/host.json"));
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
        assert_eq!(
            doc["repos"],
            serde_json::json!(["fedora", "repo-0", "repo-1"])
        );
        assert_eq!(doc["ref"], "x/y");
        assert_eq!(doc["packages"], serde_json::json!(["bash"]));
        assert_eq!(
            std::fs::read_to_string(work.join("config/pungi.repo")).expect("repo"),
            "[repo-0]\nname=repo-0\nbaseurl=file:///c/BaseOS/x86_64/os\ngpgcheck=0\n\
             [repo-1]\nname=repo-1\nbaseurl=https://r\ngpgcheck=0\n"
        );
        assert!(!work.join("config/.git").exists());
        // The original folder is untouched.
        assert!(!src.join("pungi.repo").exists());
    }
}
