//! lorax's command line as pungi builds it (`wrappers/lorax.py`), for the phases that run lorax:
//! buildinstall (the installer tree) and ostree_installer (the installer with ostree templates).

use std::ffi::OsString;
use std::path::Path;

/// The package repositories lorax installs an arch's installer from: the package set's own,
/// `pkgset_repos` as configured, or the repository pkgset wrote of a Koji tag.
pub fn package_set_sources(
    config: &kiln_config::Config,
    paths: &kiln_compose::Paths,
    arch: &str,
) -> Vec<String> {
    if config.pkgset_source == "koji" {
        let tags: Vec<String> = config
            .pkgset_koji_tag
            .iter()
            .flat_map(|t| t.to_vec())
            .collect();
        let dir = kiln_artifacts::PackageSet::repo_dir(paths, arch, &tags);
        return vec![format!("file://{}", dir.display())];
    }
    let mut sources: Vec<String> = config
        .pkgset_repos
        .iter()
        .filter(|(a, _)| *a == arch || a.as_str() == "*")
        .flat_map(|(_, r)| r.iter().cloned())
        .collect();
    sources.sort();
    sources
}

/// What a lorax run is asked for; the argv comes out in pungi's order.
#[derive(Debug)]
pub struct Lorax<'a> {
    pub product: &'a str,
    pub version: &'a str,
    pub release: &'a str,
    /// Package repositories: URLs, or paths (given as `file://`).
    pub sources: &'a [String],
    pub variant: Option<&'a str>,
    pub bugurl: Option<&'a str>,
    pub nomacboot: bool,
    pub noupgrade: bool,
    pub is_final: bool,
    pub buildarch: &'a str,
    pub volid: &'a str,
    pub installpkgs: &'a [String],
    pub add_template: &'a [String],
    pub add_arch_template: &'a [String],
    pub add_template_var: &'a [String],
    pub add_arch_template_var: &'a [String],
    pub logfile: Option<&'a Path>,
    pub rootfs_size: Option<u64>,
    pub skip_branding: bool,
    pub outdir: &'a Path,
}

impl<'a> Lorax<'a> {
    /// A run with what every lorax run names; the rest off.
    pub fn new(
        product: &'a str,
        version: &'a str,
        buildarch: &'a str,
        volid: &'a str,
        outdir: &'a Path,
    ) -> Self {
        Lorax {
            product,
            version,
            release: version,
            sources: &[],
            variant: None,
            bugurl: None,
            nomacboot: false,
            noupgrade: false,
            is_final: false,
            buildarch,
            volid,
            installpkgs: &[],
            add_template: &[],
            add_arch_template: &[],
            add_template_var: &[],
            add_arch_template_var: &[],
            logfile: None,
            rootfs_size: None,
            skip_branding: false,
            outdir,
        }
    }

    /// The arguments after `lorax`.
    pub fn argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![
            format!("--product={}", self.product).into(),
            format!("--version={}", self.version).into(),
            format!("--release={}", self.release).into(),
        ];
        for s in self.sources {
            let url = if s.contains("://") {
                s.clone()
            } else {
                format!("file://{s}")
            };
            argv.push(format!("--source={url}").into());
        }
        if let Some(v) = self.variant {
            argv.push(format!("--variant={v}").into());
        }
        if let Some(url) = self.bugurl {
            argv.push(format!("--bugurl={url}").into());
        }
        for (on, flag) in [
            (self.nomacboot, "--nomacboot"),
            (self.noupgrade, "--noupgrade"),
            (self.is_final, "--isfinal"),
        ] {
            if on {
                argv.push(flag.into());
            }
        }
        argv.push(format!("--buildarch={}", self.buildarch).into());
        argv.push(format!("--volid={}", self.volid).into());
        for (flag, values) in [
            ("--installpkgs", self.installpkgs),
            ("--add-template", self.add_template),
            ("--add-arch-template", self.add_arch_template),
            ("--add-template-var", self.add_template_var),
            ("--add-arch-template-var", self.add_arch_template_var),
        ] {
            for v in values {
                argv.push(format!("{flag}={v}").into());
            }
        }
        if let Some(log) = self.logfile {
            argv.push(format!("--logfile={}", log.display()).into());
        }
        if let Some(size) = self.rootfs_size {
            argv.push(format!("--rootfs-size={size}").into());
        }
        if self.skip_branding {
            argv.push("--skip-branding".into());
        }
        argv.push(self.outdir.into());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::Lorax;
    use std::path::Path;

    #[test]
    fn ostree_installer_options_come_in_pungis_order() {
        let argv: Vec<String> = Lorax {
            sources: &["https://r/os".to_owned(), "/local".to_owned()],
            variant: Some("IoT"),
            nomacboot: true,
            is_final: true,
            installpkgs: &["fedora-productimg-atomic".to_owned()],
            add_template: &["/t/embed.tmpl".to_owned()],
            add_template_var: &["ostree_ref=fedora/iot".to_owned()],
            rootfs_size: Some(3),
            skip_branding: true,
            ..Lorax::new(
                "Fedora",
                "41",
                "x86_64",
                "Fedora-41-IoT",
                Path::new("/w/out"),
            )
        }
        .argv()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        assert_eq!(
            argv,
            [
                "--product=Fedora",
                "--version=41",
                "--release=41",
                "--source=https://r/os",
                "--source=file:///local",
                "--variant=IoT",
                "--nomacboot",
                "--isfinal",
                "--buildarch=x86_64",
                "--volid=Fedora-41-IoT",
                "--installpkgs=fedora-productimg-atomic",
                "--add-template=/t/embed.tmpl",
                "--add-template-var=ostree_ref=fedora/iot",
                "--rootfs-size=3",
                "--skip-branding",
                "/w/out",
            ]
        );
    }
}
