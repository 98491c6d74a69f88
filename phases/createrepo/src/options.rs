//! Config options (pungi's names) turned into repodata options.

use kiln_config::Config;
use kiln_repodata::{Compression, RepoOptions};
use kiln_rpm::ChecksumKind;

/// `createrepo_extra_args` that kiln understands; the rest are reported and ignored.
pub fn repo_options(config: &Config, timestamp: u64) -> Result<(RepoOptions, Vec<String>), String> {
    let checksum = ChecksumKind::parse(&config.createrepo_checksum).ok_or_else(|| {
        format!(
            "createrepo_checksum: unknown checksum {:?}",
            config.createrepo_checksum
        )
    })?;
    let mut compression = match &config.createrepo_compress_type {
        Some(c) => {
            Compression::parse(c).ok_or_else(|| format!("createrepo_compress_type: {c:?}"))?
        }
        None if config.createrepo_use_xz => Compression::Xz,
        None => Compression::Gz,
    };
    let mut general = if config.createrepo_use_xz {
        Compression::Xz
    } else {
        Compression::Gz
    };
    let mut opts = RepoOptions {
        checksum,
        timestamp: Some(timestamp),
        ..RepoOptions::default()
    };
    let mut ignored = Vec::new();
    let mut args = config.createrepo_extra_args.iter().flat_map(|a| {
        // both `--opt=value` and `--opt value`
        match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => vec![k.to_owned(), v.to_owned()],
            _ => vec![a.clone()],
        }
    });
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("createrepo_extra_args: {name} needs a value"))
        };
        match a.as_str() {
            "--compress-type" => {
                let v = value("--compress-type")?;
                compression = Compression::parse(&v)
                    .ok_or_else(|| format!("createrepo_extra_args: compression {v:?}"))?;
            }
            "--general-compress-type" => {
                let v = value("--general-compress-type")?;
                general = Compression::parse(&v)
                    .ok_or_else(|| format!("createrepo_extra_args: compression {v:?}"))?;
            }
            "--xz" => {
                compression = Compression::Xz;
                general = Compression::Xz;
            }
            "--changelog-limit" => {
                let v = value("--changelog-limit")?;
                opts.changelog_limit = v
                    .parse()
                    .map_err(|_| format!("createrepo_extra_args: --changelog-limit {v:?}"))?;
            }
            "--simple-md-filenames" => opts.unique_names = false,
            "--unique-md-filenames" => opts.unique_names = true,
            "--revision" => opts.revision = Some(value("--revision")?),
            "--content" => opts.content_tags.push(value("--content")?),
            "--repo" => opts.repo_tags.push(value("--repo")?),
            "--distro" => {
                let v = value("--distro")?;
                opts.distro_tags.push(match v.split_once(',') {
                    Some((c, n)) => (Some(c.to_owned()), n.to_owned()),
                    None => (None, v),
                });
            }
            "--no-database" | "--database" | "-d" | "--skip-stat" | "--update" => {}
            other => ignored.push(other.to_owned()),
        }
    }
    opts.compression = compression;
    opts.general_compression = general;
    Ok((opts, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str]) -> Config {
        let mut c: Config = serde_json::from_str(
            r#"{"release_name":"Mini","release_short":"Mini","release_version":"36"}"#,
        )
        .unwrap_or_else(|e| panic!("default config: {e}"));
        c.createrepo_extra_args = extra.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn pungi_options_and_extra_args() {
        let mut c = config(&[
            "--compress-type=zstd",
            "--changelog-limit",
            "3",
            "--zck",
            "--distro=cpe:/o:x,X",
        ]);
        c.createrepo_checksum = "sha512".into();
        c.createrepo_use_xz = true;
        let (o, ignored) = repo_options(&c, 7).expect("valid");
        assert_eq!(o.checksum, ChecksumKind::Sha512);
        assert_eq!(o.compression, Compression::Zstd);
        assert_eq!(o.general_compression, Compression::Xz);
        assert_eq!(o.changelog_limit, 3);
        assert_eq!(o.timestamp, Some(7));
        assert_eq!(o.distro_tags, vec![(Some("cpe:/o:x".into()), "X".into())]);
        assert_eq!(ignored, vec!["--zck".to_string()]);
        c.createrepo_checksum = "crc32".into();
        assert!(repo_options(&c, 0).is_err());
    }
}
