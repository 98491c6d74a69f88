//! Python's `fnmatch.fnmatch` on POSIX (case-sensitive): `*`, `?`, `[seq]`,
//! `[!seq]`, and `*` matches `/` too. pungi matches group globs from
//! variants.xml and package patterns (excludes, multilib lists) with it, so
//! every kiln crate that takes a pungi glob uses this one.

/// Whether `pattern` contains glob syntax at all (plain names can take a hash lookup instead).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

pub fn fnmatch(name: &str, pattern: &str) -> bool {
    // Package and group names are ASCII: compare bytes without allocating. Anything else is
    // compared by character, as Python does.
    if name.is_ascii() && pattern.is_ascii() {
        return matches(name.as_bytes(), pattern.as_bytes());
    }
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    matches(&n, &p)
}

/// A unit of text: a byte of ASCII text or a char.
trait Unit: Copy + PartialOrd + From<u8> {}
impl Unit for u8 {}
impl Unit for char {}

fn matches<T: Unit>(n: &[T], p: &[T]) -> bool {
    let (star, any, open) = (T::from(b'*'), T::from(b'?'), T::from(b'['));
    let (mut ni, mut pi) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            let c = p[pi];
            if c == star {
                backtrack = Some((pi, ni));
                pi += 1;
                continue;
            }
            if c == any {
                ni += 1;
                pi += 1;
                continue;
            }
            if c == open {
                match class(&p[pi..], n[ni]) {
                    Some((true, len)) => {
                        ni += 1;
                        pi += len;
                        continue;
                    }
                    Some((false, _)) => {}
                    // No closing `]`: the `[` is literal.
                    None if n[ni] == open => {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                    None => {}
                }
            } else if c == n[ni] {
                ni += 1;
                pi += 1;
                continue;
            }
        }
        match backtrack {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                backtrack = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == star)
}

/// Match `c` against the class at the start of `p`; returns (matched,
/// length of the class) or None when the `[` is not a class (no `]`).
/// Only `!` negates (Python's fnmatch takes `^` literally).
fn class<T: Unit>(p: &[T], c: T) -> Option<(bool, usize)> {
    let (close, dash) = (T::from(b']'), T::from(b'-'));
    let mut i = 1;
    let negate = p.get(i) == Some(&T::from(b'!'));
    if negate {
        i += 1;
    }
    let first = i;
    let mut hit = false;
    while i < p.len() {
        if p[i] == close && i > first {
            return Some((hit != negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == dash && p[i + 2] != close {
            if p[i] <= c && c <= p[i + 2] {
                hit = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{fnmatch, is_glob};

    #[test]
    fn python_fnmatch_cases() {
        assert!(fnmatch("core", "core"));
        assert!(fnmatch("standard", "*a*"));
        assert!(!fnmatch("core", "*a*"));
        assert!(fnmatch("conflicts-server", "conflicts-*"));
        assert!(fnmatch("abc", "a?c"));
        assert!(!fnmatch("ac", "a?c"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("ax", "a[0-9]"));
        assert!(fnmatch("ax", "a[!0-9]"));
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("Core", "core"));
    }

    /// The cases kiln-depsolve's package-pattern matcher was tested with.
    #[test]
    fn package_patterns() {
        assert!(fnmatch("mini-foo", "mini-*"));
        assert!(fnmatch("glibc-devel", "*-devel"));
        assert!(!fnmatch("glibc-devel-x", "*-devel"));
        assert!(fnmatch("kernel", "k?rnel"));
        assert!(fnmatch("libbx", "lib[a-c]x"));
        assert!(!fnmatch("libbx", "lib[!a-c]x"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("axxbyyc", "a*b*c"));
        assert!(!fnmatch("axxbyy", "a*b*c"));
        assert!(fnmatch("exact", "exact"));
        assert!(is_glob("mini-*") && is_glob("a?") && is_glob("[ab]") && !is_glob("plain"));
    }

    /// What Python's fnmatch says beyond the basics; ASCII and non-ASCII paths agree.
    #[test]
    fn python_edge_cases() {
        assert!(fnmatch("usr/lib/x", "usr*x"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("a", "[!]]"));
        assert!(!fnmatch("]", "[!]]"));
        assert!(fnmatch("^", "[^a]"));
        assert!(!fnmatch("b", "[^a]"));
        assert!(fnmatch("é", "?"));
        assert!(fnmatch("aéb", "a[é]b"));
        assert!(fnmatch("a\\b", "a\\b"));
    }
}
