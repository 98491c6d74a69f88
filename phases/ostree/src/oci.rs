//! An OCI image archive (`oci-archive`: an OCI image layout in a tar) of one file system tree:
//! one gzip'd layer, its config and manifest, an index naming the image. Written by kiln itself
//! (the `tar` crate, flate2, sha2), byte for byte the same for the same tree and timestamp: entries
//! sorted, times set to the compose's, gzip without a name or time.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

/// What the image is of, for its annotations.
pub struct ImageInfo<'a> {
    /// `ref.name` in the index (`name:tag` as podman shows it).
    pub name: &'a str,
    pub arch: &'a str,
    pub timestamp: i64,
    pub commit: &'a str,
    pub ostree_ref: &'a str,
    pub version: Option<&'a str>,
}

fn oci_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i386" => "386",
        other => other,
    }
}

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The tree as an uncompressed tar, entries in path order, owners and modes as on disk.
fn layer_tar(root: &Path, timestamp: i64) -> std::io::Result<Vec<u8>> {
    let mut paths = Vec::new();
    collect(root, root, &mut paths)?;
    paths.sort();
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Deterministic);
    for rel in paths {
        let full = root.join(&rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
        {
            use std::os::unix::fs::MetadataExt;
            h.set_uid(u64::from(meta.uid()));
            h.set_gid(u64::from(meta.gid()));
            h.set_mode(meta.mode() & 0o7777);
        }
        h.set_mtime(timestamp.max(0) as u64);
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full)?;
            h.set_size(0);
            b.append_link(&mut h, &rel, target)?;
        } else if meta.is_dir() {
            h.set_size(0);
            b.append_data(&mut h, &rel, std::io::empty())?;
        } else {
            h.set_size(meta.len());
            b.append_data(&mut h, &rel, std::fs::File::open(&full)?)?;
        }
    }
    b.into_inner()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).to_owned();
        let ft = e.file_type()?;
        out.push(rel);
        if ft.is_dir() {
            collect(root, &p, out)?;
        }
    }
    Ok(())
}

/// Writes the OCI archive of the tree at `root` to `dest` (through a temporary name).
pub fn write_archive(root: &Path, dest: &Path, info: &ImageInfo) -> std::io::Result<()> {
    let layer = layer_tar(root, info.timestamp)?;
    let diff_id = sha(&layer);
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&layer)?;
    let layer_gz = gz.finish()?;
    let layer_digest = sha(&layer_gz);
    let created = crate::iso8601(info.timestamp);
    let config = serde_json::to_vec(&json!({
        "architecture": oci_arch(info.arch),
        "os": "linux",
        "created": created,
        "config": {
            "Labels": {
                "ostree.commit": info.commit,
                "ostree.ref": info.ostree_ref,
            }
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created": created, "created_by": "kiln ostree_container"}],
    }))?;
    let config_digest = sha(&config);
    let mut annotations = serde_json::Map::new();
    annotations.insert("ostree.commit".into(), info.commit.into());
    annotations.insert("ostree.ref".into(), info.ostree_ref.into());
    if let Some(v) = info.version {
        annotations.insert("org.opencontainers.image.version".into(), v.into());
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer_gz.len(),
        }],
        "annotations": annotations,
    }))?;
    let manifest_digest = sha(&manifest);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": info.name},
        }],
    }))?;
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec();

    let part = dest.with_file_name(format!(
        ".{}.part",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    let file = std::fs::File::create(&part)?;
    let mut out = tar::Builder::new(std::io::BufWriter::new(file));
    let mut add = |path: &str, data: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(if path.ends_with('/') { 0o755 } else { 0o644 });
        h.set_mtime(info.timestamp.max(0) as u64);
        h.set_entry_type(if path.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        out.append_data(&mut h, path, data)
    };
    add("oci-layout", &layout)?;
    add("index.json", &index)?;
    add("blobs/", &[])?;
    add("blobs/sha256/", &[])?;
    let mut blobs = [
        (config_digest, config),
        (layer_digest, layer_gz),
        (manifest_digest, manifest),
    ];
    blobs.sort_by(|a, b| a.0.cmp(&b.0));
    for (digest, data) in &blobs {
        add(&format!("blobs/sha256/{digest}"), data)?;
    }
    let w = out.into_inner()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&part, dest)
}
