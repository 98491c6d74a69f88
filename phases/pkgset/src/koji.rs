//! `pkgset_source: koji`, as pungi's pkgset reads a tag: the hub's `listTaggedRPMS` (latest
//! builds, with inheritance unless `pkgset_koji_inherit` is false) at one event, and each RPM's
//! file on the Koji volume — the first `sigkeys` key with a signed copy
//! (`packages/<N>/<V>/<R>/data/signed/<key>/<arch>/<nvra>.rpm`), or the unsigned copy when the
//! list allows it (`null`). The event is the hub's last when the compose starts, unless
//! `koji_event` names one, and is recorded in `work/global/koji-event` as pungi records it.
//! `pkgset_koji_builds` adds builds by NVR (`getBuild` and `listRPMs`) whether tagged or not.
//!
//! The hub is asked through kiln-koji (the real `koji` client), and the volume's top folder is
//! the profile's `topdir`, so kiln sees exactly what that profile sees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_engine::{PhaseContext, PhaseError};
use kiln_koji::Koji;
use serde::Deserialize;
use serde_json::Value;

use crate::sources::{Expected, Listing};

/// The `kind` of a Koji listing's expectations: only the NEVRA is checked (Koji's payload hash
/// is no file checksum kiln computes).
const KOJI: &str = "koji";

#[derive(Debug, Deserialize)]
struct Rpm {
    name: String,
    version: String,
    release: String,
    #[serde(default)]
    epoch: Option<u64>,
    arch: String,
    build_id: u64,
}

/// A build as `listTaggedRPMS` lists it (Koji's build dicts carry `build_id` and
/// `package_name` beside `id` and `name`; these two are the ones every hub version sends).
#[derive(Debug, Deserialize)]
struct Build {
    build_id: u64,
    package_name: String,
    version: String,
    release: String,
}

/// An RPM's unsigned and signed paths under the volume's top folder, as Koji's pathinfo lays
/// them out.
pub fn rpm_paths(
    topdir: &Path,
    build: (&str, &str, &str),
    nvra: &str,
    arch: &str,
    key: Option<&str>,
) -> PathBuf {
    let (n, v, r) = build;
    let base = topdir.join("packages").join(n).join(v).join(r);
    match key {
        None => base.join(arch).join(format!("{nvra}.rpm")),
        Some(k) => base
            .join("data/signed")
            .join(k.to_lowercase())
            .join(arch)
            .join(format!("{nvra}.rpm")),
    }
}

/// The event the tag is read at: configured, recorded by an earlier run of this compose, or the
/// hub's last (then recorded).
fn event(ctx: &PhaseContext, koji: &Koji) -> Result<u64, PhaseError> {
    let path = ctx.compose.paths.work_dir("global").join("koji-event");
    if let Some(id) = ctx.config.koji_event {
        ctx.write(&path, format!("{{\"id\": {id}}}\n").as_bytes())?;
        return Ok(id);
    }
    if let Some(id) = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["id"].as_u64())
    {
        return Ok(id);
    }
    let last = koji.call("getLastEvent", &[], &[])?;
    let id = last["id"]
        .as_u64()
        .ok_or_else(|| PhaseError::msg(format!("koji getLastEvent gave no event ID: {last}")))?;
    let mut bytes = serde_json::to_vec(&last).map_err(|e| PhaseError::msg(e.to_string()))?;
    bytes.push(b'\n');
    ctx.write(&path, &bytes)?;
    Ok(id)
}

/// Every RPM of the configured tags, at their files on the Koji volume.
pub fn list_tags(ctx: &PhaseContext) -> Result<Listing, PhaseError> {
    let config = ctx.config;
    let koji = Koji::new(ctx, ctx.compose.paths.log_file("global", "pkgset_koji"));
    let event = event(ctx, &koji)?;
    let top = koji.topdir()?;
    let tags = config
        .pkgset_koji_tag
        .as_ref()
        .map(|t| t.to_vec())
        .unwrap_or_default();
    // (where they come from, their RPMs, their builds): the tags, then `pkgset_koji_builds`.
    let mut listings: Vec<(String, Vec<Rpm>, Vec<Build>)> = Vec::new();
    for tag in &tags {
        let answer = koji.call(
            "listTaggedRPMS",
            &[tag.as_str().into()],
            &[
                ("event", event.into()),
                ("inherit", config.pkgset_koji_inherit.into()),
                ("latest", true.into()),
            ],
        )?;
        let (rpms, builds): (Vec<Rpm>, Vec<Build>) = serde_json::from_value(answer)
            .map_err(|e| PhaseError::msg(format!("koji listTaggedRPMS {tag}: {e}")))?;
        tracing::info!(
            "koji tag {tag} at event {event}: {} builds, {} RPMs",
            builds.len(),
            rpms.len()
        );
        listings.push((format!("koji listTaggedRPMS {tag}"), rpms, builds));
    }
    for nvr in &config.pkgset_koji_builds {
        let build = koji.call("getBuild", &[nvr.as_str().into()], &[])?;
        if build.is_null() {
            return Err(PhaseError::msg(format!(
                "pkgset_koji_builds: Koji has no build {nvr}"
            )));
        }
        let build: Build = serde_json::from_value(build)
            .map_err(|e| PhaseError::msg(format!("koji getBuild {nvr}: {e}")))?;
        let rpms = koji.call("listRPMs", &[], &[("buildID", build.build_id.into())])?;
        let rpms: Vec<Rpm> = serde_json::from_value(rpms)
            .map_err(|e| PhaseError::msg(format!("koji listRPMs {nvr}: {e}")))?;
        tracing::info!("koji build {nvr} (pkgset_koji_builds): {} RPMs", rpms.len());
        listings.push((format!("koji build {nvr}"), rpms, vec![build]));
    }
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for (source, rpms, builds) in &listings {
        let builds: BTreeMap<u64, &Build> = builds.iter().map(|b| (b.build_id, b)).collect();
        for rpm in rpms {
            let Some(build) = builds.get(&rpm.build_id) else {
                return Err(PhaseError::msg(format!(
                    "{source}: {}-{}-{} names build {} it does not list",
                    rpm.name, rpm.version, rpm.release, rpm.build_id
                )));
            };
            let nvra = format!("{}-{}-{}.{}", rpm.name, rpm.version, rpm.release, rpm.arch);
            let nvr = (
                build.package_name.as_str(),
                build.version.as_str(),
                build.release.as_str(),
            );
            let found = config.sigkeys.iter().find_map(|key| {
                let p = rpm_paths(&top, nvr, &nvra, &rpm.arch, key.as_deref());
                p.is_file().then_some(p)
            });
            match found {
                Some(path) => files.push((
                    path,
                    Some(Expected {
                        nevra: format!(
                            "{}-{}:{}-{}.{}",
                            rpm.name,
                            rpm.epoch.unwrap_or(0),
                            rpm.version,
                            rpm.release,
                            rpm.arch
                        ),
                        checksum_kind: KOJI.into(),
                        checksum: String::new(),
                    }),
                )),
                None => missing.push(nvra),
            }
        }
    }
    if !missing.is_empty() {
        let keys: Vec<String> = config
            .sigkeys
            .iter()
            .map(|k| k.clone().unwrap_or_else(|| "unsigned".into()))
            .collect();
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        return Err(PhaseError::msg(format!(
            "{} RPM(s) of {} have no copy under {} for sigkeys [{}]: {}{}",
            missing.len(),
            tags.join(", "),
            top.display(),
            keys.join(", "),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    Ok(Listing {
        files,
        modules: None,
    })
}

#[cfg(test)]
mod tests {
    use super::rpm_paths;
    use std::path::Path;

    #[test]
    fn paths_are_kojis_pathinfo() {
        let top = Path::new("/mnt/koji");
        let b = ("bash", "5.2", "1.fc41");
        assert_eq!(
            rpm_paths(top, b, "bash-doc-5.2-1.fc41.noarch", "noarch", None),
            Path::new("/mnt/koji/packages/bash/5.2/1.fc41/noarch/bash-doc-5.2-1.fc41.noarch.rpm")
        );
        assert_eq!(
            rpm_paths(top, b, "bash-5.2-1.fc41.x86_64", "x86_64", Some("A15B79CC")),
            Path::new(
                "/mnt/koji/packages/bash/5.2/1.fc41/data/signed/a15b79cc/x86_64/bash-5.2-1.fc41.x86_64.rpm"
            )
        );
    }
}
