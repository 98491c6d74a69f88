//! Mastering one ISO from graft entries: xorriso, implanted MD5, manifest. Shared with extraisos.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_checksum::Algorithm;
use std::collections::BTreeMap;

use kiln_engine::{PhaseContext, PhaseError, RecordedDigests};
use kiln_iso::{Boot, IsoSpec};

/// One ISO to make.
#[derive(Debug, Clone)]
pub struct IsoJob {
    /// File name, e.g. `Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso`.
    pub name: String,
    /// Where the ISO goes (the real directory when `symlink_isos_to` is set).
    pub dir: PathBuf,
    /// `work/<arch>/iso/<name>`: graft points and per-disc metadata.
    pub staging: PathBuf,
    /// The arch whose logs/ and work/ it uses (`src` for source media).
    pub arch: String,
    pub volid: String,
    pub iso_level: Option<u8>,
    pub boot: Boot,
    /// (path in the ISO, source file), in graft order.
    pub files: Vec<(String, PathBuf)>,
    /// `implantisomd5 --supported-iso`.
    pub supported: bool,
    /// Copy files with several hard links into staging first (`createiso_break_hardlinks`).
    pub break_hardlinks: bool,
    /// Replay this boot.iso's boot setup instead of `boot`'s mkisofs arguments (empanadas' way,
    /// `createiso_replay_boot_iso`): the image starts as boot.iso and gets the tree's files.
    pub replay: Option<PathBuf>,
    /// Whether an image of the same recipe in the old compose may be hard-linked instead
    /// (`createiso_allow_reuse`, `extraiso_allow_reuse`). The recipe is written either way.
    pub reuse: bool,
}

/// What came out.
#[derive(Debug, Clone)]
pub struct MadeIso {
    pub path: PathBuf,
    pub size: u64,
    pub implant_md5: Option<String>,
    /// `media_checksums` of the finished image, by name (`sha256`), for images.json and CHECKSUM.
    pub checksums: BTreeMap<String, String>,
}

/// A `Command` from an argv the kiln-iso builders return.
pub fn command(argv: Vec<std::ffi::OsString>) -> Command {
    let mut it = argv.into_iter();
    let mut c = Command::new(it.next().unwrap_or_default());
    c.args(it);
    c
}

/// Copies of multiply-linked files, so that xorriso's hard-link handling and later edits of
/// the pool never reach the ISO (pungi runs `hardlink`-breaking the same way).
fn break_hardlinks(ctx: &PhaseContext, job: &IsoJob) -> Result<Vec<(String, PathBuf)>, PhaseError> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::with_capacity(job.files.len());
    for (iso, src) in &job.files {
        let meta = std::fs::metadata(src)
            .map_err(|e| PhaseError::with(format!("cannot read {}", src.display()), e))?;
        if meta.nlink() > 1 {
            let copy = job.staging.join("unlinked").join(iso);
            if let Some(d) = copy.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::copy(src, &copy)
                .map_err(|e| PhaseError::with(format!("cannot copy {}", src.display()), e))?;
            ctx.produced(&copy);
            out.push((iso.clone(), copy));
        } else {
            out.push((iso.clone(), src.clone()));
        }
    }
    Ok(out)
}

/// The file an ISO streams into, with the MD5 implant computed on the way.
struct IsoSink {
    file: std::io::BufWriter<std::fs::File>,
    implanter: kiln_iso::implant::Implanter,
}

impl std::io::Write for IsoSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.implanter.write_all(&buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Make the ISO: graft points, then `xorriso -as mkisofs -o -` streaming into a temporary file
/// beside the final one while kiln computes isomd5sum's implant from the same bytes (so the
/// image is never read back for it: no implantisomd5, no checkisomd5 in the compose), the
/// implant written in place, the compose's mtime set, and a rename: an ISO under its final name
/// is always complete. The image's dates are the compose's, so the same tree gives the same bytes.
///
/// When the compose has an old compose holding an image of the same recipe (see
/// [`crate::reuse`]), that image is hard-linked instead: the bytes are the same.
pub fn make_iso(
    ctx: &PhaseContext,
    job: &IsoJob,
    recorded: &RecordedDigests,
) -> Result<MadeIso, PhaseError> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;

    // Named, not located: the runner resolves it where it runs commands.
    let xorriso = Path::new("xorriso");
    std::fs::create_dir_all(&job.dir)?;
    std::fs::create_dir_all(&job.staging)?;
    let files = if job.break_hardlinks {
        break_hardlinks(ctx, job)?
    } else {
        job.files.clone()
    };
    let graft = job
        .staging
        .with_file_name(format!("{}-graft-points", job.name));
    ctx.write(&graft, kiln_iso::mkisofs::graft_points(&files).as_bytes())?;

    let iso = job.dir.join(&job.name);
    let part = job.dir.join(format!(".{}.part", job.name));
    // Leftovers of an interrupted run: a stale image must not survive a failed remake.
    for stale in [&iso, &part] {
        match std::fs::remove_file(stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(PhaseError::with(
                    format!("cannot remove {}", stale.display()),
                    e,
                ));
            }
        }
    }
    let log = ctx.log_file(&job.arch, &format!("createiso-{}", job.name));
    // A rerun appends to the log; start it fresh so it tells about this run only.
    let _ = std::fs::remove_file(&log);
    let media: Vec<String> = crate::media_algorithms(ctx.config)?
        .iter()
        .map(|a| a.name().to_owned())
        .collect();
    let version = ctx.run(&command(vec!["xorriso".into(), "-version".into()]), &log)?;
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let recipe = crate::reuse::recipe_digest(ctx, job, &files, recorded, &media, &version)?;
    if job.reuse
        && let Some(old_top) = &ctx.compose.old
        && let Some((old_image, old)) = crate::reuse::find_in_old(old_top, &job.arch, &recipe)
    {
        return reuse_iso(ctx, job, &iso, &old_image, old, &media);
    }
    let spec = IsoSpec {
        output: PathBuf::from("-"),
        volid: job.volid.clone(),
        iso_level: job.iso_level,
        graft_points: graft,
        boot: job.boot.clone(),
        timestamp: ctx.compose.timestamp,
    };
    let mut mk = match &job.replay {
        None => command(kiln_iso::mkisofs::mkisofs_argv(xorriso, &spec)),
        Some(boot_iso) => {
            let script = job.staging.with_file_name(format!("{}-replay", job.name));
            let text = kiln_iso::mkisofs::replay_script(
                boot_iso,
                &job.volid,
                &files,
                ctx.compose.timestamp,
            );
            ctx.write(&script, text.as_bytes())?;
            command(kiln_iso::mkisofs::replay_argv(xorriso, &script))
        }
    };
    mk.current_dir(&job.dir);
    let cannot = |what: &str, e: std::io::Error| {
        PhaseError::with(format!("cannot {what} {}", part.display()), e)
    };
    let file = std::fs::File::create(&part).map_err(|e| cannot("create", e))?;
    let mut sink = IsoSink {
        file: std::io::BufWriter::with_capacity(1 << 20, file),
        implanter: kiln_iso::implant::Implanter::new(),
    };
    let made = (|| {
        ctx.run_into(&mk, &log, &mut sink)?;
        sink.flush().map_err(|e| cannot("write", e))?;
        let IsoSink { file, implanter } = sink;
        let size = implanter.len();
        let implant = implanter
            .finish(job.supported)
            .map_err(|e| PhaseError::msg(format!("{}: {e}", job.name)))?;
        let file = file
            .into_inner()
            .map_err(|e| cannot("write", e.into_error()))?;
        file.write_all_at(&implant.appdata, implant.offset)
            .and_then(|()| file.sync_all())
            .map_err(|e| cannot("write", e))?;
        Ok::<_, PhaseError>((size, implant.md5))
    })();
    let (size, implant_md5) = match made {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    };
    set_mtime(&part, ctx.compose.timestamp)?;
    std::fs::rename(&part, &iso).map_err(|e| {
        PhaseError::with(
            format!("cannot rename {} to {}", part.display(), iso.display()),
            e,
        )
    })?;
    // From what went in, not from reading the image: the same listing `xorriso -find` gives.
    // A replayed image also holds boot.iso's own files, so only its directory is read then.
    let manifest = match &job.replay {
        None => kiln_iso::manifest::manifest_from_grafts(&files, &job.boot),
        Some(_) => {
            let found = ctx.run(&command(kiln_iso::manifest::find_argv(xorriso, &iso)), &log)?;
            kiln_iso::manifest::manifest_from_find(&String::from_utf8_lossy(&found.stdout))
        }
    };
    ctx.write(
        &job.dir.join(format!("{}.manifest", job.name)),
        manifest.as_bytes(),
    )?;
    // They cover the implant, which exists only once the last byte was written, so the stream
    // cannot give them: one read while the image is still in the page cache.
    let (_, all) = image_digests(ctx, &iso)?;
    let rec = crate::reuse::Recipe {
        recipe,
        image: iso
            .strip_prefix(ctx.compose.paths.topdir())
            .unwrap_or(&iso)
            .to_owned(),
        size,
        implant_md5: Some(implant_md5.clone()),
        checksums: all.clone(),
        reused_from: None,
    };
    write_recipe(ctx, job, &rec)?;
    Ok(MadeIso {
        path: iso,
        size,
        implant_md5: Some(implant_md5),
        checksums: only(&all, &media),
    })
}

fn only(all: &BTreeMap<String, String>, media: &[String]) -> BTreeMap<String, String> {
    all.iter()
        .filter(|(k, _)| media.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn write_recipe(
    ctx: &PhaseContext,
    job: &IsoJob,
    rec: &crate::reuse::Recipe,
) -> Result<(), PhaseError> {
    ctx.write_json(&crate::reuse::recipe_path(job), rec)
}

/// The old compose's image of the same recipe, hard-linked into place with its manifest: the
/// digests come from its recipe, so neither image is read.
fn reuse_iso(
    ctx: &PhaseContext,
    job: &IsoJob,
    iso: &Path,
    old_image: &Path,
    old: crate::reuse::Recipe,
    media: &[String],
) -> Result<MadeIso, PhaseError> {
    crate::reuse::link_into_place(old_image, iso)?;
    let old_manifest = old_image.with_file_name(format!(
        "{}.manifest",
        old_image.file_name().unwrap_or_default().to_string_lossy()
    ));
    let manifest = std::fs::read(&old_manifest)
        .map_err(|e| PhaseError::with(format!("cannot read {}", old_manifest.display()), e))?;
    ctx.write(&job.dir.join(format!("{}.manifest", job.name)), &manifest)?;
    match old.checksums.get("sha256") {
        Some(sha256) => ctx.produced_with_sha256(iso, sha256),
        None => ctx.produced(iso),
    }
    tracing::info!("{}: the same as {}, reused", job.name, old_image.display());
    let rec = crate::reuse::Recipe {
        image: iso
            .strip_prefix(ctx.compose.paths.topdir())
            .unwrap_or(iso)
            .to_owned(),
        reused_from: Some(old_image.to_owned()),
        ..old.clone()
    };
    write_recipe(ctx, job, &rec)?;
    Ok(MadeIso {
        path: iso.to_owned(),
        size: old.size,
        implant_md5: old.implant_md5,
        checksums: only(&old.checksums, media),
    })
}

/// The one read of a finished image: its size and every `media_checksums` digest (by name, for
/// images.json and CHECKSUM, which imagechecksum then takes as they are), with the sha256 the
/// phase record wants taken in the same pass, and the image recorded as the phase's output.
pub fn file_image_digests(
    ctx: &PhaseContext,
    image: &Path,
) -> Result<(u64, BTreeMap<String, String>), PhaseError> {
    let media: Vec<String> = crate::media_algorithms(ctx.config)?
        .iter()
        .map(|a| a.name().to_owned())
        .collect();
    let (size, all) = image_digests(ctx, image)?;
    Ok((size, only(&all, &media)))
}

/// [`file_image_digests`] with the sha256 kept whether `media_checksums` asks for it or not.
fn image_digests(
    ctx: &PhaseContext,
    image: &Path,
) -> Result<(u64, BTreeMap<String, String>), PhaseError> {
    let media = crate::media_algorithms(ctx.config)?;
    let mut algs = media.clone();
    if !algs.contains(&Algorithm::Sha256) {
        algs.push(Algorithm::Sha256);
    }
    let digests =
        kiln_checksum::file_digests(image, &algs).map_err(|e| PhaseError::msg(e.to_string()))?;
    match digests.hex(Algorithm::Sha256) {
        Some(sha256) => ctx.produced_with_sha256(image, sha256),
        None => ctx.produced(image),
    }
    let checksums = digests
        .hex
        .iter()
        .map(|(a, h)| (a.name().to_owned(), h.clone()))
        .collect();
    Ok((digests.size, checksums))
}

/// images.json's mtime is the compose timestamp; the file says the same.
pub fn set_mtime(path: &Path, timestamp: i64) -> Result<(), PhaseError> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(timestamp.max(0) as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .map_err(|e| PhaseError::with(format!("cannot set the mtime of {}", path.display()), e))
}

/// Enforce `createiso_max_size[_is_strict]` (or an extra ISO's `max_size`).
pub fn check_size(
    iso: &Path,
    size: u64,
    limit: Option<u64>,
    strict: bool,
) -> Result<(), PhaseError> {
    let Some(limit) = limit else { return Ok(()) };
    if size <= limit {
        return Ok(());
    }
    let msg = format!(
        "ISO {} is {size} bytes, larger than the limit of {limit} bytes",
        iso.display()
    );
    if strict {
        Err(PhaseError::msg(msg))
    } else {
        tracing::warn!("{msg}");
        Ok(())
    }
}
