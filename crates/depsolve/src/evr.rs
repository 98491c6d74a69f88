//! RPM version comparison and the range-overlap rule of dependency matching.

use std::cmp::Ordering;

/// rpm's `rpmvercmp`: segments of digits compare numerically, letters lexically, a digit
/// segment beats a letter one, `~` sorts before everything (even the end), `^` after the end
/// but before anything else.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let numeric = ca.is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        if j == sj {
            // `a` has digits where `b` has letters: numbers are newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[si..i], &b[sj..j]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

/// An epoch:version-release with optional parts, as dependencies carry them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Evr {
    pub epoch: Option<u32>,
    pub version: String,
    pub release: Option<String>,
}

impl Evr {
    /// Parses `[epoch:]version[-release]` (the right-most `-` splits off the release).
    pub fn parse(s: &str) -> Self {
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
                (e.parse().ok(), rest)
            }
            _ => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v.to_owned(), Some(r.to_owned())),
            None => (rest.to_owned(), None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }
}

impl std::fmt::Display for Evr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

/// Compares two EVRs the way rpm matches dependencies: a missing epoch is 0, and the release is
/// compared only when both sides carry one (`Requires: foo = 1.0` is met by `foo-1.0-7`).
pub fn compare_dep_evr(
    a: (Option<u32>, &str, Option<&str>),
    b: (Option<u32>, &str, Option<&str>),
) -> Ordering {
    let ord = a.0.unwrap_or(0).cmp(&b.0.unwrap_or(0));
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = rpmvercmp(a.1, b.1);
    if ord != Ordering::Equal {
        return ord;
    }
    match (a.2, b.2) {
        (Some(ra), Some(rb)) if !ra.is_empty() && !rb.is_empty() => rpmvercmp(ra, rb),
        _ => Ordering::Equal,
    }
}

/// Compares two package EVRs completely (both always carry a release).
pub fn compare_pkg_evr(a: (u32, &str, &str), b: (u32, &str, &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then_with(|| rpmvercmp(a.1, b.1))
        .then_with(|| rpmvercmp(a.2, b.2))
}

/// Comparison operators of a dependency (rpm's LESS/GREATER/EQUAL sense bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Op {
    #[default]
    Any,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<" | "LT" => Op::Lt,
            "<=" | "=<" | "LE" => Op::Le,
            "=" | "==" | "EQ" => Op::Eq,
            ">=" | "=>" | "GE" => Op::Ge,
            ">" | "GT" => Op::Gt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Any => "",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    fn less(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
    fn greater(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
    fn equal(self) -> bool {
        matches!(self, Op::Le | Op::Eq | Op::Ge)
    }
}

/// rpm's range overlap: do `(op_a, evr_a)` and `(op_b, evr_b)` admit a common EVR?
/// `sense` is `evr_a` compared with `evr_b` under [`compare_dep_evr`].
pub fn ranges_overlap(op_a: Op, op_b: Op, sense: Ordering) -> bool {
    if op_a == Op::Any || op_b == Op::Any {
        return true;
    }
    match sense {
        Ordering::Less => op_a.greater() || op_b.less(),
        Ordering::Greater => op_a.less() || op_b.greater(),
        Ordering::Equal => {
            (op_a.equal() && op_b.equal())
                || (op_a.less() && op_b.less())
                || (op_a.greater() && op_b.greater())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn vercmp_matches_rpm() {
        // Cases from rpm's own test suite (rpmvercmp.at).
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p10", Less),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("1.0aa", "1.0a", Greater),
            ("1b.fc17", "1.fc17", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0^git1", "1.0~rc1", Greater),
            ("a+", "a_", Equal),
            ("001", "1", Equal),
            ("2a", "2.0", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn release_only_when_both_have_one() {
        assert_eq!(
            compare_dep_evr((None, "1.0", None), (Some(0), "1.0", Some("7"))),
            Equal
        );
        assert_eq!(
            compare_dep_evr((None, "1.0", Some("1")), (Some(0), "1.0", Some("7"))),
            Less
        );
        assert_eq!(
            compare_dep_evr((Some(1), "0.1", None), (None, "9", None)),
            Greater
        );
    }

    #[test]
    fn overlap() {
        // provide = 1.0 vs require >= 2
        assert!(!ranges_overlap(Op::Eq, Op::Ge, Less));
        assert!(ranges_overlap(Op::Eq, Op::Le, Less));
        assert!(ranges_overlap(Op::Eq, Op::Eq, Equal));
        assert!(!ranges_overlap(Op::Eq, Op::Lt, Equal));
        assert!(ranges_overlap(Op::Ge, Op::Lt, Less));
        assert!(!ranges_overlap(Op::Gt, Op::Lt, Equal));
    }

    #[test]
    fn parse_evr() {
        let e = Evr::parse("2:1.0-3.fc36");
        assert_eq!(e.epoch, Some(2));
        assert_eq!(e.version, "1.0");
        assert_eq!(e.release.as_deref(), Some("3.fc36"));
        assert_eq!(Evr::parse("1.0").release, None);
        assert_eq!(e.to_string(), "2:1.0-3.fc36");
    }
}
