//! Remote (http/https) repositories, mirrored into a download cache shared across composes:
//! `<cache>/downloads/<host>/<path>` holds repomd.xml, the metadata and the packages exactly where
//! the server has them.
//!
//! - repomd.xml is fetched every time (it says what the repository is now); metadata files and
//!   packages are fetched only when absent, and checked against the checksum their index lists.
//! - A file is written to `<name>.part` and renamed when its checksum is right, so a name in the
//!   cache always holds a complete, verified file. An interrupted transfer continues from the
//!   `.part` with an HTTP Range request, in the same run or the next one.
//! - A download whose checksum is wrong is thrown away and fetched once more; twice wrong is an
//!   error naming the URL and both checksums.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiln_rpm::{Checksum, Hasher, Package};

use crate::url::{Url, UrlError};

/// Transfers at once: enough to hide latency, few enough to be polite to a mirror.
pub const PARALLEL: usize = 4;
/// Attempts of one transfer that fails on the network (each resumes the `.part`).
const NET_ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot download {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error(
        "{url}: the download has {kind} {got}, but the repository says {expected} \
         (downloaded twice, wrong both times: the mirror serves a corrupt or replaced file)"
    )]
    Corrupt {
        url: String,
        kind: String,
        expected: String,
        got: String,
    },
    #[error("{url}: {path}: {source}")]
    Io {
        url: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{url}: {problem}")]
    Metadata { url: String, problem: String },
    #[error("download cancelled")]
    Cancelled,
}

/// One transfer's failure: worth another attempt, or not.
enum Failure {
    Retry(String),
    Fatal(DownloadError),
}

pub struct Downloader<'a> {
    agent: ureq::Agent,
    cancelled: &'a (dyn Fn() -> bool + Sync),
}

fn io(url: &Url, path: &Path, source: std::io::Error) -> DownloadError {
    DownloadError::Io {
        url: url.to_string(),
        path: path.to_owned(),
        source,
    }
}

fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

fn hash_file(path: &Path, expected: &Checksum) -> std::io::Result<Checksum> {
    let mut f = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut h = Hasher::new(expected.kind);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

impl<'a> Downloader<'a> {
    /// `cancelled` is polled between chunks so a cancelled compose stops downloading at once.
    pub fn new(cancelled: &'a (dyn Fn() -> bool + Sync)) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build();
        Downloader {
            agent: config.into(),
            cancelled,
        }
    }

    /// Makes `dest` a complete copy of `url`, verified against `expected` when given.
    pub fn fetch(
        &self,
        url: &Url,
        dest: &Path,
        expected: Option<&Checksum>,
    ) -> Result<(), DownloadError> {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(url, dir, e))?;
        }
        let part = part_path(dest);
        let mut second_chance = true;
        let mut attempts = 0;
        loop {
            if (self.cancelled)() {
                return Err(DownloadError::Cancelled);
            }
            attempts += 1;
            match self.transfer(url, &part) {
                Ok(()) => {}
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(message)) if attempts >= NET_ATTEMPTS => {
                    return Err(DownloadError::Unreachable {
                        url: url.to_string(),
                        message,
                    });
                }
                Err(Failure::Retry(message)) => {
                    tracing::warn!("{url}: {message}; trying again (attempt {})", attempts + 1);
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempts)));
                    continue;
                }
            }
            if let Some(exp) = expected {
                let got = hash_file(&part, exp).map_err(|e| io(url, &part, e))?;
                if got.hex != exp.hex {
                    let _ = std::fs::remove_file(&part);
                    if second_chance {
                        tracing::warn!(
                            "{url}: downloaded {} {}, expected {}; downloading it again",
                            exp.kind.as_str(),
                            got.hex,
                            exp.hex
                        );
                        second_chance = false;
                        continue;
                    }
                    return Err(DownloadError::Corrupt {
                        url: url.to_string(),
                        kind: exp.kind.as_str().to_owned(),
                        expected: exp.hex.clone(),
                        got: got.hex,
                    });
                }
            }
            return std::fs::rename(&part, dest).map_err(|e| io(url, dest, e));
        }
    }

    /// [`Self::fetch`], then the file's mtime set to `mtime` (seconds; primary's `time file`), so a
    /// mirrored package has the mtime it has in its repository and repodata written from it is
    /// the same as from a local copy.
    fn fetch_package(
        &self,
        url: &Url,
        dest: &Path,
        expected: &Checksum,
        mtime: u64,
    ) -> Result<(), DownloadError> {
        self.fetch(url, dest, Some(expected))?;
        if mtime > 0 {
            let when = std::time::UNIX_EPOCH + Duration::from_secs(mtime);
            File::options()
                .write(true)
                .open(dest)
                .and_then(|f| f.set_modified(when))
                .map_err(|e| io(url, dest, e))?;
        }
        Ok(())
    }

    /// One GET into `part`, continuing what it already holds.
    fn transfer(&self, url: &Url, part: &Path) -> Result<(), Failure> {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut req = self.agent.get(url.to_string());
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(416)) => {
                // The .part is not a prefix of what the server has now: start over.
                let _ = std::fs::remove_file(part);
                return Err(Failure::Retry("HTTP 416 for a resumed download".into()));
            }
            Err(ureq::Error::StatusCode(code)) if (400..500).contains(&code) => {
                return Err(Failure::Fatal(DownloadError::Unreachable {
                    url: url.to_string(),
                    message: format!("HTTP status {code}"),
                }));
            }
            Err(e) => return Err(Failure::Retry(e.to_string())),
        };
        let resumed = have > 0
            && resp.status().as_u16() == 206
            && resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
        let mut file = if resumed {
            OpenOptions::new().append(true).open(part)
        } else {
            File::create(part)
        }
        .map_err(|e| Failure::Fatal(io(url, part, e)))?;
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            if (self.cancelled)() {
                return Err(Failure::Fatal(DownloadError::Cancelled));
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // What arrived stays in the .part for the next attempt to continue.
                    let _ = file.flush();
                    return Err(Failure::Retry(format!("transfer interrupted: {e}")));
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| Failure::Fatal(io(url, part, e)))?;
        }
        file.flush().map_err(|e| Failure::Fatal(io(url, part, e)))
    }

    /// Fetches every job, [`PARALLEL`] at a time; `done` is called after
    /// each. Every failure is returned, in job order.
    pub fn fetch_all(&self, jobs: &[Job], done: &(dyn Fn() + Sync)) -> Vec<DownloadError> {
        let next = AtomicUsize::new(0);
        let errors: Mutex<Vec<(usize, DownloadError)>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..PARALLEL.min(jobs.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else {
                            break;
                        };
                        if let Err(e) =
                            self.fetch_package(&job.url, &job.dest, &job.checksum, job.mtime)
                        {
                            let stop = matches!(e, DownloadError::Cancelled);
                            if let Ok(mut v) = errors.lock() {
                                v.push((i, e));
                            }
                            if stop {
                                break;
                            }
                        }
                        done();
                    }
                });
            }
        });
        let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
        errors.sort_by_key(|(i, _)| *i);
        errors.into_iter().map(|(_, e)| e).collect()
    }
}

/// One package to download.
pub struct Job {
    pub url: Url,
    pub dest: PathBuf,
    pub checksum: Checksum,
    /// Seconds since the epoch for the file's mtime; 0 leaves the download time.
    pub mtime: u64,
}

/// A remote repository's metadata, mirrored.
pub struct Mirror {
    pub url: Url,
    /// The local copy of the repository's root (holds `repodata/`).
    pub root: PathBuf,
    pub repomd: kiln_repodata::RepoMd,
}

/// Fetches repomd.xml and the metadata files of `kinds` (those the repository has) of the
/// repository at `url` into `<cache>/downloads/...`.
pub fn mirror_metadata(
    dl: &Downloader,
    url: &str,
    cache: &Path,
    kinds: &[&str],
) -> Result<Mirror, DownloadError> {
    let url = Url::parse(url)?.as_dir();
    let root = cache.join("downloads").join(url.cache_path());
    let md_url = url.join("repodata/repomd.xml")?;
    let md_path = root.join("repodata/repomd.xml");
    // Always fresh: never resume an older repomd.xml's partial copy.
    let _ = std::fs::remove_file(part_path(&md_path));
    dl.fetch(&md_url, &md_path, None)?;
    let f = File::open(&md_path).map_err(|e| io(&md_url, &md_path, e))?;
    let repomd =
        kiln_repodata::RepoMd::parse(BufReader::new(f), &md_url.to_string()).map_err(|e| {
            DownloadError::Metadata {
                url: md_url.to_string(),
                problem: e.to_string(),
            }
        })?;
    for kind in kinds {
        let Some(rec) = repomd.record(kind) else {
            if *kind == "primary" {
                return Err(DownloadError::Metadata {
                    url: md_url.to_string(),
                    problem: "no primary record".into(),
                });
            }
            continue;
        };
        let file_url = url.join(&rec.href)?;
        let dest = root.join(url_rel(&url, &file_url, &rec.href)?);
        let fresh = dest.is_file()
            && hash_file(&dest, &rec.checksum).is_ok_and(|c| c.hex == rec.checksum.hex);
        if !fresh {
            let _ = std::fs::remove_file(&dest);
            dl.fetch(&file_url, &dest, Some(&rec.checksum))?;
        }
    }
    Ok(Mirror { url, root, repomd })
}

/// Where under the mirror's root a file of the repository goes; metadata must stay inside it.
fn url_rel(repo: &Url, file: &Url, href: &str) -> Result<PathBuf, DownloadError> {
    file.cache_path()
        .strip_prefix(repo.cache_path())
        .map(Path::to_owned)
        .map_err(|_| DownloadError::Metadata {
            url: repo.to_string(),
            problem: format!("{href} is outside the repository"),
        })
}

/// A package the mirrored primary lists: where it is, where it goes, what it must be.
pub struct RemotePackage {
    pub url: Url,
    pub dest: PathBuf,
    pub package: Package,
}

/// Every package of a mirrored repository's primary. Packages outside the repository's folder
/// (`../` hrefs, or another `xml:base`) go to their own place in the cache.
pub fn packages(mirror: &Mirror, cache: &Path) -> Result<Vec<RemotePackage>, DownloadError> {
    let meta_err = |problem: String| DownloadError::Metadata {
        url: mirror.url.to_string(),
        problem,
    };
    let rec = mirror
        .repomd
        .record("primary")
        .ok_or_else(|| meta_err("no primary record".into()))?;
    let primary_url = mirror.url.join(&rec.href)?;
    let path = mirror
        .root
        .join(url_rel(&mirror.url, &primary_url, &rec.href)?);
    let reader =
        kiln_repodata::compress::open_read(&path).map_err(|e| io(&primary_url, &path, e))?;
    let mut out = Vec::new();
    for item in kiln_repodata::PrimaryReader::new(reader, &primary_url.to_string()) {
        let (package, loc) = item.map_err(|e| meta_err(e.to_string()))?;
        let base = match loc.base.as_deref() {
            Some(b) if Url::is_remote(b) => Url::parse(b)?.as_dir(),
            _ => mirror.url.clone(),
        };
        let url = base.join(&loc.href)?;
        let dest = cache.join("downloads").join(url.cache_path());
        out.push(RemotePackage { url, dest, package });
    }
    Ok(out)
}
