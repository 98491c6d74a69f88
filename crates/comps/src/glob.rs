//! Python's `fnmatch.fnmatch` on POSIX (case-sensitive): `*`, `?`, `[seq]`,
//! `[!seq]`; pungi matches group globs from variants.xml with it.

pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    matches(&n, &p)
}

fn matches(n: &[char], p: &[char]) -> bool {
    let (mut ni, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(&p[pi..], n[ni]) {
                        if ok {
                            ni += 1;
                            pi += next;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Match `c` against the class at the start of `p`; returns (matched,
/// length of the class) or None when the `[` is not a class (no `]`).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let first = i;
    let mut hit = false;
    while i < p.len() {
        if p[i] == ']' && i > first {
            return Some((hit != negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
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
    use super::fnmatch;

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
}
