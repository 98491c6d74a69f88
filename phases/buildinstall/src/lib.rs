//! buildinstall: the installer tree (kernel, initrd, stage2, isolinux, EFI, boot.iso), made by the
//! real `lorax`, as pungi's buildinstall phase does with `buildinstall_method: lorax`.
//!
//! For every top-level variant and arch (unless `buildinstall_skip` says otherwise) it runs lorax
//! with pungi's command line into `work/<arch>/buildinstall/<V>/`, then copies that tree into
//! `compose/<V>/<arch>/os/` so that createiso makes bootable media from it. lorax's own `.treeinfo`
//! and `.discinfo` are left out: the tree metadata is written when the tree is complete.
//! lorax is not packaged for Debian; where it is missing the phase fails naming it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_engine::{Config, Phase, PhaseContext, PhaseError, Work};
use kiln_iso::volid::{VolidRequest, volume_id};

pub struct BuildinstallPhase;

/// pungi's lorax argv (wrappers/lorax.py), minus the options kiln has no source for yet.
pub fn lorax_argv(
    config: &Config,
    variant: &str,
    arch: &str,
    volid: &str,
    sources: &[String],
    logfile: &Path,
    outdir: &Path,
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        format!("--product={}", config.release_name).into(),
        format!("--version={}", config.release_version).into(),
        format!("--release={}", config.release_version).into(),
    ];
    for s in sources {
        let url = if s.contains("://") {
            s.clone()
        } else {
            format!("file://{s}")
        };
        argv.push(format!("--source={url}").into());
    }
    argv.push(format!("--variant={variant}").into());
    let opts = config.lorax_options.last_for(variant, arch);
    let flag = |name: &str| opts.and_then(|o| o.get(name)).and_then(|v| v.as_bool());
    if flag("nomacboot").unwrap_or(true) {
        argv.push("--nomacboot".into());
    }
    if flag("noupgrade").unwrap_or(true) {
        argv.push("--noupgrade".into());
    }
    if let Some(url) = opts.and_then(|o| o.get("bugurl")).and_then(|v| v.as_str()) {
        argv.push(format!("--bugurl={url}").into());
    }
    argv.push(format!("--buildarch={arch}").into());
    argv.push(format!("--volid={volid}").into());
    argv.push(format!("--logfile={}", logfile.display()).into());
    argv.push(outdir.into());
    argv
}

fn volid(config: &Config, variant: &str, arch: &str) -> Result<String, PhaseError> {
    let vars: BTreeMap<String, String> = [
        ("release_short", config.release_short.as_str()),
        ("version", config.release_version.as_str()),
        ("variant", variant),
        ("arch", arch),
        ("disc_type", "boot"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    volume_id(&VolidRequest {
        formats: &config.image_volid_formats,
        vars: &vars,
        substitutions: &config.volume_id_substitutions,
        restricted: config.restricted_volid,
        variant,
    })
    .map_err(|e| PhaseError::with(format!("volume ID of {variant}.{arch}"), e))
}

impl Phase for BuildinstallPhase {
    fn name(&self) -> &'static str {
        "buildinstall"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["pkgset"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "buildinstall_method",
            "lorax_options",
            "buildinstall_skip",
            "pkgset_repos",
            "image_volid_formats",
            "volume_id_substitutions",
            "restricted_volid",
        ]
    }
    fn enabled(&self, config: &Config) -> bool {
        config.buildinstall_method.is_some()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["lorax"]
    }

    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let paths = &ctx.compose.paths;
        for v in ctx.compose.variants.top_level() {
            for arch in &v.arches {
                if ctx
                    .config
                    .buildinstall_skip
                    .last_for(&v.uid, arch)
                    .copied()
                    .unwrap_or(false)
                {
                    tracing::info!("[SKIP ] buildinstall for {}.{arch}", v.uid);
                    continue;
                }
                ctx.check_cancelled()?;
                let outdir = paths.work_dir(arch).join("buildinstall").join(&v.uid);
                // lorax refuses an existing output folder, and a retry must not mix two attempts.
                if outdir.exists() {
                    std::fs::remove_dir_all(&outdir)?;
                }
                if let Some(parent) = outdir.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let logdir = paths
                    .log_dir(arch)
                    .join(format!("buildinstall-{}-logs", v.uid));
                std::fs::create_dir_all(&logdir)?;
                let mut sources: Vec<String> = ctx
                    .config
                    .pkgset_repos
                    .iter()
                    .filter(|(a, _)| *a == arch || a.as_str() == "*")
                    .flat_map(|(_, r)| r.clone())
                    .collect();
                sources.sort();
                let volid = volid(ctx.config, &v.uid, arch)?;
                let argv = lorax_argv(
                    ctx.config,
                    &v.uid,
                    arch,
                    &volid,
                    &sources,
                    &logdir.join("lorax.log"),
                    &outdir,
                );
                let mut cmd = Command::new("lorax");
                cmd.args(&argv);
                ctx.failable("buildinstall", &v.uid, arch, || {
                    ctx.run(
                        &cmd,
                        &paths.log_file(arch, &format!("buildinstall-{}", v.uid)),
                    )?;
                    let os = paths.os_tree(v, arch);
                    copy_tree(&outdir, &os, ctx)
                })?;
            }
        }
        Ok(())
    }
}

/// Copies lorax's tree into the os tree, recording each file; the tree metadata is not copied.
fn copy_tree(from: &Path, to: &Path, ctx: &PhaseContext) -> Result<(), PhaseError> {
    let mut stack: Vec<PathBuf> = vec![from.to_owned()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let src = e.path();
            let rel = src.strip_prefix(from).unwrap_or(&src);
            if matches!(rel.to_str(), Some(".treeinfo" | ".discinfo")) {
                continue;
            }
            let dst = to.join(rel);
            if e.file_type()?.is_dir() {
                stack.push(src);
            } else {
                if let Some(p) = dst.parent() {
                    std::fs::create_dir_all(p)?;
                }
                kiln_fs::copy_atomic(&src, &dst)?;
                ctx.produced(&dst);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lorax_gets_pungis_command_line() {
        let config = kiln_config::load_str(
            "release_name: Mini Linux\nrelease_short: Mini\nrelease_version: '36'\nvariants: [{id: BaseOS, arches: [x86_64]}]\npkgset_repos: {x86_64: [/repo]}\nbuildinstall_method: lorax\n",
            Path::new("k.yaml"),
            Path::new("/"),
        )
        .unwrap();
        let volid = volid(&config, "BaseOS", "x86_64").unwrap();
        assert_eq!(volid, "Mini-36 BaseOS.x86_64");
        let argv = lorax_argv(
            &config,
            "BaseOS",
            "x86_64",
            &volid,
            &["/repo".to_owned()],
            Path::new("/l/lorax.log"),
            Path::new("/w/BaseOS"),
        );
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "--product=Mini Linux",
                "--version=36",
                "--release=36",
                "--source=file:///repo",
                "--variant=BaseOS",
                "--nomacboot",
                "--noupgrade",
                "--buildarch=x86_64",
                "--volid=Mini-36 BaseOS.x86_64",
                "--logfile=/l/lorax.log",
                "/w/BaseOS",
            ]
        );
    }
}
