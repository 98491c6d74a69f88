//! RPM version comparison: rpm's `rpmvercmp` segment rules (epoch, `~`, `^`,
//! alphanumeric segments) through the `rpm-version` crate, plus rpm's
//! dependency-range overlap (`rpmdsCompare`), which compares releases only
//! when both sides carry one.

use std::cmp::Ordering;

use rpm_version::Evr;

use crate::package::Cmp;

/// Split rpm's `[E:]V[-R]` the way rpm's `parseEVR` does: the epoch is the
/// leading digits before a `:`, the release follows the last `-`.
pub fn split_evr(evr: &str) -> (Option<&str>, &str, Option<&str>) {
    let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if evr.as_bytes().get(digits) == Some(&b':') {
        (Some(&evr[..digits]), &evr[digits + 1..])
    } else {
        (None, evr)
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], Some(&rest[i + 1..])),
        None => (epoch, rest, None),
    }
}

/// `rpmvercmp` of two version (or release) strings.
pub fn vercmp(a: &str, b: &str) -> Ordering {
    Evr::new("", a, "").cmp(&Evr::new("", b, ""))
}

/// Compare two full EVRs the way `rpm.labelCompare` does (missing epoch = 0,
/// releases always compared).
pub fn compare(a: (u32, &str, &str), b: (u32, &str, &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then_with(|| vercmp(a.1, b.1))
        .then_with(|| vercmp(a.2, b.2))
}

/// Compare two `[E:]V[-R]` strings as `labelCompare` would.
pub fn compare_str(a: &str, b: &str) -> Ordering {
    let (ae, av, ar) = split_evr(a);
    let (be, bv, br) = split_evr(b);
    let ep = |e: Option<&str>| e.and_then(|e| e.parse::<u64>().ok()).unwrap_or(0);
    ep(ae)
        .cmp(&ep(be))
        .then_with(|| vercmp(av, bv))
        .then_with(|| vercmp(ar.unwrap_or(""), br.unwrap_or("")))
}

fn sense(c: Cmp) -> (bool, bool, bool) {
    // (less, equal, greater)
    match c {
        Cmp::EQ => (false, true, false),
        Cmp::LT => (true, false, false),
        Cmp::LE => (true, true, false),
        Cmp::GT => (false, false, true),
        Cmp::GE => (false, true, true),
    }
}

/// Whether two dependency ranges overlap, with rpm's `rpmdsCompare` rules:
/// an unversioned side or an empty EVR matches everything; epochs compare
/// only when both are given (a missing one equals 0); releases compare only
/// when both sides have one, and a release-less side with `=` matches any
/// release. Use it as `range_overlap(provide, require)`.
pub fn range_overlap(a: (Option<Cmp>, &str), b: (Option<Cmp>, &str)) -> bool {
    let (Some(fa), Some(fb)) = (a.0, b.0) else {
        return true;
    };
    if a.1.is_empty() || b.1.is_empty() {
        return true;
    }
    let (ae, av, ar) = split_evr(a.1);
    let (be, bv, br) = split_evr(b.1);
    let ae = ae.filter(|e| !e.is_empty());
    let be = be.filter(|e| !e.is_empty());
    let ar = ar.filter(|r| !r.is_empty());
    let br = br.filter(|r| !r.is_empty());
    let (al, aq, ag) = sense(fa);
    let (bl, bq, bg) = sense(fb);

    let positive = |e: &str| e.parse::<u64>().map(|n| n > 0).unwrap_or(true);
    let mut ord = match (ae, be) {
        (Some(x), Some(y)) => vercmp(x, y),
        (Some(x), None) if positive(x) => Ordering::Greater,
        (None, Some(y)) if positive(y) => Ordering::Less,
        _ => Ordering::Equal,
    };
    if ord == Ordering::Equal {
        ord = vercmp(av, bv);
        if ord == Ordering::Equal {
            match (ar, br) {
                (Some(x), Some(y)) => ord = vercmp(x, y),
                (Some(_), None) if bq => return true,
                (None, Some(_)) if aq => return true,
                _ => {}
            }
        }
    }
    match ord {
        Ordering::Less => ag || bl,
        Ordering::Greater => al || bg,
        Ordering::Equal => (aq && bq) || (al && bl) || (ag && bg),
    }
}

/// Whether a package's own EVR satisfies a versioned requirement (the package
/// provides `name = E:V-R` of itself).
pub fn satisfies(evr: &str, require: (Option<Cmp>, &str)) -> bool {
    range_overlap((Some(Cmp::EQ), evr), require)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cases from rpm's own test suite (tests/rpmvercmp.at).
    const RPMVERCMP: &[(&str, &str, i32)] = &[
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("2.0", "1.0", 1),
        ("2.0.1", "2.0.1", 0),
        ("2.0", "2.0.1", -1),
        ("2.0.1", "2.0", 1),
        ("2.0.1a", "2.0.1a", 0),
        ("2.0.1a", "2.0.1", 1),
        ("2.0.1", "2.0.1a", -1),
        ("5.5p1", "5.5p1", 0),
        ("5.5p1", "5.5p2", -1),
        ("5.5p2", "5.5p1", 1),
        ("5.5p10", "5.5p10", 0),
        ("5.5p1", "5.5p10", -1),
        ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1),
        ("10.1xyz", "10xyz", 1),
        ("xyz10", "xyz10", 0),
        ("xyz10", "xyz10.1", -1),
        ("xyz10.1", "xyz10", 1),
        ("xyz.4", "xyz.4", 0),
        ("xyz.4", "8", -1),
        ("8", "xyz.4", 1),
        ("xyz.4", "2", -1),
        ("2", "xyz.4", 1),
        ("5.5p2", "5.6p1", -1),
        ("5.6p1", "5.5p2", 1),
        ("5.6p1", "6.5p1", -1),
        ("6.5p1", "5.6p1", 1),
        ("6.0.rc1", "6.0", 1),
        ("6.0", "6.0.rc1", -1),
        ("10b2", "10a1", 1),
        ("10a2", "10b2", -1),
        ("1.0aa", "1.0aa", 0),
        ("1.0a", "1.0aa", -1),
        ("1.0aa", "1.0a", 1),
        ("10.0001", "10.0001", 0),
        ("10.0001", "10.1", 0),
        ("10.1", "10.0001", 0),
        ("10.0001", "10.0039", -1),
        ("10.0039", "10.0001", 1),
        ("4.999.9", "5.0", -1),
        ("5.0", "4.999.9", 1),
        ("20101121", "20101121", 0),
        ("20101121", "20101122", -1),
        ("20101122", "20101121", 1),
        ("2_0", "2_0", 0),
        ("2.0", "2_0", 0),
        ("2_0", "2.0", 0),
        ("a", "a", 0),
        ("a+", "a+", 0),
        ("a+", "a_", 0),
        ("a_", "a+", 0),
        ("+a", "+a", 0),
        ("+a", "_a", 0),
        ("_a", "+a", 0),
        ("+_", "+_", 0),
        ("_+", "+_", 0),
        ("_+", "_+", 0),
        ("+", "_", 0),
        ("_", "+", 0),
        ("1.0~rc1", "1.0~rc1", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc2", "1.0~rc1", 1),
        ("1.0~rc1~git123", "1.0~rc1~git123", 0),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0~rc1", "1.0~rc1~git123", 1),
        ("1.0^", "1.0^", 0),
        ("1.0^", "1.0", 1),
        ("1.0", "1.0^", -1),
        ("1.0^git1", "1.0^git1", 0),
        ("1.0^git1", "1.0", 1),
        ("1.0", "1.0^git1", -1),
        ("1.0^git1", "1.0^git2", -1),
        ("1.0^git2", "1.0^git1", 1),
        ("1.0^git1", "1.01", -1),
        ("1.01", "1.0^git1", 1),
        ("1.0^20160101", "1.0^20160101", 0),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0.1", "1.0^20160101", 1),
        ("1.0^20160101^git1", "1.0^20160101^git1", 0),
        ("1.0^20160102", "1.0^20160101^git1", 1),
        ("1.0^20160101^git1", "1.0^20160102", -1),
        ("1.0~rc1^git1", "1.0~rc1^git1", 0),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc1^git1", -1),
        ("1.0^git1~pre", "1.0^git1~pre", 0),
        ("1.0^git1", "1.0^git1~pre", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
    ];

    #[test]
    fn rpmvercmp_known_cases() {
        for &(a, b, want) in RPMVERCMP {
            assert_eq!(vercmp(a, b) as i32, want, "rpmvercmp({a:?}, {b:?})");
        }
    }

    #[test]
    fn split_like_parse_evr() {
        assert_eq!(split_evr("1:2.3-4.el9"), (Some("1"), "2.3", Some("4.el9")));
        assert_eq!(split_evr("2.3"), (None, "2.3", None));
        assert_eq!(split_evr("a:b-c-d"), (None, "a:b-c", Some("d")));
        assert_eq!(split_evr(":1-2"), (Some(""), "1", Some("2")));
    }

    #[test]
    fn labelcompare_epoch_wins() {
        assert_eq!(compare_str("1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(compare_str("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(compare_str("1.0-1", "1.0-2"), Ordering::Less);
    }

    #[test]
    fn ranges_like_rpmdscompare() {
        use Cmp::*;
        // release-less require matches any release
        assert!(range_overlap((Some(EQ), "1.0-5"), (Some(EQ), "1.0")));
        assert!(range_overlap((Some(EQ), "1.0"), (Some(GE), "1.0-5")));
        assert!(range_overlap((Some(EQ), "1.0-5"), (Some(GE), "1.0-3")));
        assert!(!range_overlap((Some(EQ), "1.0-2"), (Some(GE), "1.0-3")));
        assert!(!range_overlap((Some(EQ), "1.0-5"), (Some(LT), "1.0")));
        assert!(range_overlap((Some(EQ), "2.0"), (Some(GT), "1.0")));
        assert!(!range_overlap((Some(EQ), "1:1.0"), (Some(LT), "2.0")));
        assert!(range_overlap((Some(EQ), "0:1.0"), (Some(EQ), "1.0")));
        assert!(range_overlap((None, ""), (Some(GE), "1.0")));
        assert!(range_overlap((Some(LT), "3"), (Some(GT), "1")));
        assert!(!range_overlap((Some(LT), "1"), (Some(GT), "3")));
        assert!(range_overlap((Some(GE), "2"), (Some(LE), "2")));
        assert!(!range_overlap((Some(GT), "2"), (Some(LT), "2")));
        assert!(range_overlap((Some(EQ), "1.0~rc1"), (Some(LT), "1.0")));
    }
}
