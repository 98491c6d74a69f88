//! Just enough of URLs for repositories: `http(s)://authority/path`, relative `location` hrefs
//! resolved against a repository's URL, and the folder of the download cache a URL maps to.

use std::path::PathBuf;

/// An absolute http(s) URL without query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    /// As written, userinfo included (it is sent, never used for paths).
    authority: String,
    /// Path segments, dot segments resolved.
    segments: Vec<String>,
    /// Whether the path ends with `/` (a folder).
    dir: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{url}: {problem}")]
pub struct UrlError {
    pub url: String,
    pub problem: String,
}

fn err(url: &str, problem: &str) -> UrlError {
    UrlError {
        url: url.to_owned(),
        problem: problem.to_owned(),
    }
}

/// Appends the segments of `path` to `out`, resolving `.` and `..`; climbing above the root is an
/// error, since it would leave the host's folder of the cache.
fn push_segments(out: &mut Vec<String>, path: &str, url: &str) -> Result<bool, UrlError> {
    let mut dir = path.is_empty() || path.ends_with('/');
    for seg in path.split('/') {
        match seg {
            "" | "." => dir = true,
            ".." => {
                if out.pop().is_none() {
                    return Err(err(url, "the path climbs above the server's root"));
                }
                dir = true;
            }
            s => {
                out.push(s.to_owned());
                dir = false;
            }
        }
    }
    Ok(dir || path.ends_with('/'))
}

impl Url {
    pub fn is_remote(s: &str) -> bool {
        let l = s.to_ascii_lowercase();
        l.starts_with("http://") || l.starts_with("https://")
    }

    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| err(s, "not an absolute URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(err(s, "only http and https URLs can be downloaded"));
        }
        if rest.contains(['?', '#']) {
            return Err(err(s, "query strings and fragments are not supported"));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() || authority.contains(char::is_whitespace) {
            return Err(err(s, "no host"));
        }
        let mut segments = Vec::new();
        let dir = push_segments(&mut segments, path, s)?;
        Ok(Url {
            scheme,
            authority: authority.to_owned(),
            segments,
            dir,
        })
    }

    /// The same URL as a folder (a repository's root), so hrefs resolve inside it.
    pub fn as_dir(mut self) -> Url {
        self.dir = true;
        self
    }

    /// `href` resolved against this URL, as a browser would (RFC 3986 §5.2, without queries).
    pub fn join(&self, href: &str) -> Result<Url, UrlError> {
        if href.contains("://") {
            return Url::parse(href);
        }
        let shown = format!("{self} + {href}");
        if href.contains(['?', '#']) {
            return Err(err(&shown, "query strings and fragments are not supported"));
        }
        let mut segments = if href.starts_with('/') {
            Vec::new()
        } else {
            let mut s = self.segments.clone();
            if !self.dir {
                s.pop();
            }
            s
        };
        let dir = push_segments(&mut segments, href.trim_start_matches('/'), &shown)?;
        Ok(Url {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            segments,
            dir,
        })
    }

    /// Where this URL lives in a download cache: `<host[_port]>/<path>`. Userinfo never reaches
    /// the file system, and characters a shell or another OS would trip on become `_`.
    pub fn cache_path(&self) -> PathBuf {
        let host = self
            .authority
            .rsplit_once('@')
            .map_or(self.authority.as_str(), |(_, h)| h);
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-+~%".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let mut p = PathBuf::from(clean(&host.to_ascii_lowercase()));
        for s in &self.segments {
            p.push(clean(s));
        }
        p
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}/{}",
            self.scheme,
            self.authority,
            self.segments.join("/")
        )?;
        if self.dir && !self.segments.is_empty() {
            f.write_str("/")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_a_browser() {
        let base = Url::parse("http://h:8080/a/b").unwrap().as_dir();
        assert_eq!(base.to_string(), "http://h:8080/a/b/");
        let j = base.join("Packages/x.rpm").unwrap();
        assert_eq!(j.to_string(), "http://h:8080/a/b/Packages/x.rpm");
        assert_eq!(
            base.join("../c/x.rpm").unwrap().to_string(),
            "http://h:8080/a/c/x.rpm"
        );
        assert_eq!(
            base.join("/x.rpm").unwrap().to_string(),
            "http://h:8080/x.rpm"
        );
        assert!(base.join("../../../x").is_err());
        assert_eq!(j.cache_path(), PathBuf::from("h_8080/a/b/Packages/x.rpm"));
        let u = Url::parse("https://user:pw@Mirror.example/r/").unwrap();
        assert_eq!(u.cache_path(), PathBuf::from("mirror.example/r"));
        assert!(Url::parse("ftp://h/x").is_err());
        assert!(Url::parse("http://h/x?y").is_err());
    }
}
