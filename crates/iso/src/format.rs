//! pungi's name formats: both `{key}` (str.format) and `%(key)s` (old-style) placeholders.

use std::collections::BTreeMap;

use crate::IsoError;

/// Expand every `{key}` and `%(key)s` in `fmt` from `vars`. An unknown key is an error naming it
/// and the format, so a typo in `image_name_format` fails the phase instead of shipping
/// `{varaint}` in a file name.
pub fn expand(fmt: &str, vars: &BTreeMap<String, String>) -> Result<String, IsoError> {
    let mut out = String::with_capacity(fmt.len());
    let mut rest = fmt;
    while let Some(pos) = rest.find(['{', '%']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let (key, used) = if let Some(t) = tail.strip_prefix("%(") {
            match t.find(")s") {
                Some(end) => (&t[..end], end + 4),
                None => {
                    out.push('%');
                    rest = &tail[1..];
                    continue;
                }
            }
        } else if let Some(t) = tail.strip_prefix("{{") {
            let _ = t;
            out.push('{');
            rest = &tail[2..];
            continue;
        } else if let Some(t) = tail.strip_prefix('{') {
            match t.find('}') {
                Some(end) => (&t[..end], end + 2),
                None => {
                    return Err(IsoError::Format {
                        format: fmt.to_owned(),
                        problem: "unclosed `{`".into(),
                    });
                }
            }
        } else {
            out.push('%');
            rest = &tail[1..];
            continue;
        };
        let value = vars.get(key).ok_or_else(|| IsoError::Format {
            format: fmt.to_owned(),
            problem: format!(
                "unknown key {key:?} (known: {})",
                vars.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        out.push_str(value);
        rest = &tail[used..];
    }
    out.push_str(rest);
    Ok(out.replace("}}", "}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes_and_unknown_keys() {
        let vars: BTreeMap<String, String> = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]
        .into();
        assert_eq!(expand("{a}-%(b)s.iso", &vars).unwrap(), "1-2.iso");
        assert_eq!(expand("100% {a}", &vars).unwrap(), "100% 1");
        let e = expand("{c}", &vars).unwrap_err().to_string();
        assert!(e.contains("\"c\"") && e.contains("{c}"), "{e}");
    }
}
