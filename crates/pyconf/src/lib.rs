//! pungi's configuration syntax, as kobo's `PyConfigParser` reads it: `name = value` where a value
//! is a string, a number, `True`/`False`/`None`, a list, a tuple, a dict, an earlier variable, or a
//! string `%`-formatted with a value; `from other import *` (or `import a, b`) reads `other.conf`
//! beside the file first; `global name` makes a variable visible to the files it imports. As in
//! kobo, commas between items may be left out and strings are taken as written (no escapes).
//!
//! Values come out as JSON (tuples as arrays), each assignment with the file and line it was made
//! on, so a tool can name the line of an option it does not take.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum PyConfError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

/// One assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub key: String,
    pub value: Value,
    /// Where it was made (an imported file for imported values).
    pub file: PathBuf,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(Value),
    Op(char),
    End,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Name(n) => write!(f, "`{n}`"),
            Tok::Str(s) => write!(f, "the string {s:?}"),
            Tok::Num(n) => write!(f, "the number {n}"),
            Tok::Op(c) => write!(f, "`{c}`"),
            Tok::End => f.write_str("the end of the file"),
        }
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.char_indices().peekable(),
            text,
            line: 1,
        }
    }

    /// The next token and the line it starts on; newlines and comments are skipped.
    fn next(&mut self) -> Result<(Tok, usize), String> {
        loop {
            let Some(&(i, c)) = self.chars.peek() else {
                return Ok((Tok::End, self.line));
            };
            if c == '\n' {
                self.line += 1;
                self.chars.next();
            } else if c.is_whitespace() || c == '\\' {
                self.chars.next();
            } else if c == '#' {
                while let Some(&(_, c)) = self.chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.chars.next();
                }
            } else if c == '"' || c == '\'' {
                return self.string(i, c);
            } else if c.is_ascii_digit() {
                let start = i;
                let mut end = i;
                while let Some(&(j, d)) = self.chars.peek() {
                    if d.is_ascii_digit() || d == '.' || d == '_' {
                        end = j + d.len_utf8();
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                let s = self.text[start..end].replace('_', "");
                let v = if s.contains('.') {
                    s.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                } else {
                    s.parse::<i64>().ok().map(Value::from)
                };
                return v
                    .map(|v| (Tok::Num(v), self.line))
                    .ok_or_else(|| format!("bad number {s}"));
            } else if c.is_alphabetic() || c == '_' {
                let start = i;
                let mut end = i;
                while let Some(&(j, d)) = self.chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        end = j + d.len_utf8();
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                let word = &self.text[start..end];
                // String prefixes: r'...', u"...".
                if matches!(word, "r" | "u" | "R" | "U")
                    && let Some(&(j, q)) = self.chars.peek()
                    && (q == '"' || q == '\'')
                {
                    return self.string(j, q);
                }
                return Ok((Tok::Name(word.to_owned()), self.line));
            } else {
                self.chars.next();
                return Ok((Tok::Op(c), self.line));
            }
        }
    }

    fn string(&mut self, start: usize, quote: char) -> Result<(Tok, usize), String> {
        let line = self.line;
        let triple = self.text[start..].starts_with(&quote.to_string().repeat(3));
        let open = if triple { 3 } else { 1 };
        for _ in 0..open {
            self.chars.next();
        }
        let body_start = start + open;
        let mut escaped = false;
        while let Some((j, c)) = self.chars.next() {
            if c == '\n' {
                if !triple {
                    return Err(format!("line {line}: a string is not closed"));
                }
                self.line += 1;
            }
            if escaped {
                escaped = false;
                continue;
            }
            if c == '\\' {
                escaped = true;
                continue;
            }
            if c == quote && (!triple || self.text[j..].starts_with(&quote.to_string().repeat(3))) {
                if triple {
                    self.chars.next();
                    self.chars.next();
                }
                return Ok((Tok::Str(self.text[body_start..j].to_owned()), line));
            }
        }
        Err(format!("line {line}: a string is not closed"))
    }
}

/// A parser over one file's tokens (one token of lookahead).
struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    line: usize,
    file: PathBuf,
}

/// What a file defines, in order, and the variables marked global.
#[derive(Debug, Default)]
struct Scope {
    vars: Map<String, Value>,
    order: Vec<Assignment>,
    globals: Vec<String>,
}

impl Scope {
    fn set(&mut self, a: Assignment) {
        self.vars.insert(a.key.clone(), a.value.clone());
        self.order.retain(|o| o.key != a.key);
        self.order.push(a);
    }
}

impl<'a> Parser<'a> {
    fn err(&self, message: impl Into<String>) -> PyConfError {
        PyConfError::Syntax {
            file: self.file.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    fn bump(&mut self) -> Result<(), PyConfError> {
        let (tok, line) = self.lex.next().map_err(|m| self.err(m))?;
        self.tok = tok;
        self.line = line;
        Ok(())
    }

    fn skip_commas(&mut self) -> Result<(), PyConfError> {
        while self.tok == Tok::Op(',') {
            self.bump()?;
        }
        Ok(())
    }

    fn value(&mut self, scope: &Scope) -> Result<Value, PyConfError> {
        let v = match std::mem::replace(&mut self.tok, Tok::End) {
            Tok::Op('-') => {
                self.bump()?;
                match &self.tok {
                    Tok::Num(Value::Number(n)) => {
                        if let Some(i) = n.as_i64() {
                            Value::from(-i)
                        } else {
                            Value::from(-n.as_f64().unwrap_or(0.0))
                        }
                    }
                    _ => return Err(self.err("a number must follow `-`")),
                }
            }
            Tok::Num(n) => n,
            Tok::Str(s) => {
                // `"fmt" % values`?
                let save = (self.lex.chars.clone(), self.lex.line);
                self.bump()?;
                if self.tok == Tok::Op('%') {
                    self.bump()?;
                    let args = self.value(scope)?;
                    return self.format(&s, &args).map(Value::String);
                }
                self.lex.chars = save.0;
                self.lex.line = save.1;
                self.tok = Tok::Str(s.clone());
                Value::String(s)
            }
            Tok::Name(n) => match n.as_str() {
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                "None" => Value::Null,
                _ => scope
                    .vars
                    .get(&n)
                    .cloned()
                    .ok_or_else(|| self.err(format!("undefined variable {n}")))?,
            },
            Tok::Op(open @ ('[' | '(')) => {
                let close = if open == '[' { ']' } else { ')' };
                let mut items = Vec::new();
                loop {
                    self.bump()?;
                    self.skip_commas()?;
                    if self.tok == Tok::Op(close) {
                        break;
                    }
                    if self.tok == Tok::End {
                        return Err(self.err(format!("`{open}` is not closed")));
                    }
                    items.push(self.value(scope)?);
                }
                Value::Array(items)
            }
            Tok::Op('{') => {
                let mut map = Map::new();
                loop {
                    self.bump()?;
                    self.skip_commas()?;
                    if self.tok == Tok::Op('}') {
                        break;
                    }
                    if self.tok == Tok::End {
                        return Err(self.err("`{` is not closed"));
                    }
                    // Keys are plain values (kobo's basic types): strings, numbers, names.
                    if !matches!(self.tok, Tok::Str(_) | Tok::Name(_) | Tok::Num(_)) {
                        return Err(self.err(format!("a dict key cannot be {}", self.tok)));
                    }
                    let key = match self.value(scope)? {
                        Value::String(k) => k,
                        Value::Null => "None".into(),
                        Value::Bool(b) => if b { "True" } else { "False" }.into(),
                        other => other.to_string(),
                    };
                    if map.contains_key(&key) {
                        return Err(self.err(format!("duplicate dict key {key:?}")));
                    }
                    self.bump()?;
                    if self.tok != Tok::Op(':') {
                        return Err(self.err(format!("`:` expected after dict key {key:?}")));
                    }
                    self.bump()?;
                    let v = self.value(scope)?;
                    map.insert(key, v);
                }
                Value::Object(map)
            }
            other => return Err(self.err(format!("a value expected, found {other}"))),
        };
        Ok(v)
    }

    /// Python's `%` for the `%s`, `%d`, `%%` and `%(key)s` forms configs use.
    fn format(&self, fmt: &str, args: &Value) -> Result<String, PyConfError> {
        let positional: Vec<Value> = match args {
            Value::Array(a) => a.clone(),
            Value::Object(_) => Vec::new(),
            other => vec![other.clone()],
        };
        let show = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            other => other.to_string(),
        };
        let mut out = String::new();
        let mut next = positional.iter();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('(') => {
                    let key: String = chars.by_ref().take_while(|&c| c != ')').collect();
                    chars.next(); // the conversion letter
                    let v = args
                        .get(&key)
                        .ok_or_else(|| self.err(format!("format key {key} is not in the dict")))?;
                    out.push_str(&show(v));
                }
                Some('s' | 'd' | 'i') => {
                    let v = next
                        .next()
                        .ok_or_else(|| self.err("not enough values for the format"))?;
                    out.push_str(&show(v));
                }
                other => {
                    return Err(self.err(format!("unsupported format %{}", other.unwrap_or(' '))));
                }
            }
        }
        Ok(out)
    }
}

fn parse_file(path: &Path, inherited: &Map<String, Value>) -> Result<Scope, PyConfError> {
    let text = std::fs::read_to_string(path).map_err(|source| PyConfError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut scope = Scope {
        vars: inherited.clone(),
        ..Scope::default()
    };
    scope.globals = inherited.keys().cloned().collect();
    let mut p = Parser {
        lex: Lexer::new(&text),
        tok: Tok::End,
        line: 1,
        file: path.to_owned(),
    };
    p.bump()?;
    loop {
        match p.tok.clone() {
            Tok::End => break,
            Tok::Name(n) if n == "from" => {
                let line = p.line;
                let mut module = String::new();
                loop {
                    p.bump()?;
                    match &p.tok {
                        Tok::Name(w) if w == "import" => break,
                        Tok::Name(w) | Tok::Str(w) => module.push_str(w),
                        Tok::Op(c) => module.push(*c),
                        Tok::Num(v) => module.push_str(&v.to_string()),
                        Tok::End => return Err(p.err("`import` expected")),
                    }
                }
                let mut names = Vec::new();
                p.bump()?;
                while p.line == line {
                    match &p.tok {
                        Tok::Op('*') => names.push("*".to_owned()),
                        Tok::Name(w) => names.push(w.clone()),
                        Tok::Op(',') => {}
                        _ => break,
                    }
                    p.bump()?;
                }
                let file = path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(format!("{module}.conf"));
                let globals: Map<String, Value> = scope
                    .globals
                    .iter()
                    .filter_map(|g| scope.vars.get(g).map(|v| (g.clone(), v.clone())))
                    .collect();
                let imported = parse_file(&file, &globals)?;
                for g in &imported.globals {
                    if !scope.globals.contains(g) {
                        scope.globals.push(g.clone());
                    }
                }
                for a in imported.order {
                    if names.iter().any(|n| n == "*" || *n == a.key) {
                        scope.set(a);
                    }
                }
                for n in names.iter().filter(|n| *n != "*") {
                    if !scope.vars.contains_key(n) {
                        return Err(p.err(format!("cannot import {n} from {}", file.display())));
                    }
                }
                continue;
            }
            Tok::Name(n) if n == "global" => {
                p.bump()?;
                let Tok::Name(g) = p.tok.clone() else {
                    return Err(p.err("a name expected after `global`"));
                };
                scope.globals.push(g.clone());
                scope.vars.entry(g).or_insert(Value::Null);
                p.bump()?;
            }
            Tok::Name(key) => {
                let line = p.line;
                p.bump()?;
                if p.tok != Tok::Op('=') {
                    return Err(p.err(format!("`=` expected after {key}")));
                }
                p.bump()?;
                let value = p.value(&scope)?;
                scope.set(Assignment {
                    key,
                    value,
                    file: path.to_owned(),
                    line,
                });
                p.bump()?;
            }
            other => return Err(p.err(format!("an option name expected, found {other}"))),
        }
    }
    Ok(scope)
}

/// Every option the config at `path` sets (its imports included), in the order set.
pub fn parse(path: &Path) -> Result<Vec<Assignment>, PyConfError> {
    Ok(parse_file(path, &Map::new())?.order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kobo_syntax_with_imports_globals_and_formatting() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.conf"),
            "# shared\nrelease_short = 'F'\ntags = ['a' 'b',]\nname = \"%s-%s\" % (release_short, version)\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("main.conf"),
            "global version\nversion = '41'\nfrom base import *\n\
             multilib = [\n  ('^Server$', {'x86_64': ['devel'], 'src': None}),\n]\n\
             n = -3\nf = 1.5\nok = True\nraw = r'^.*\\.x86_64$'\n\
             tmpl = '%(a)s/%(b)s' % {'a': 1, 'b': 'two'}\n",
        )
        .unwrap();
        let got = parse(&dir.path().join("main.conf")).unwrap();
        let get = |k: &str| got.iter().find(|a| a.key == k).map(|a| a.value.clone());
        assert_eq!(get("name"), Some(Value::from("F-41")));
        assert_eq!(get("tags"), Some(serde_json::json!(["a", "b"])));
        assert_eq!(
            get("multilib"),
            Some(serde_json::json!([["^Server$", {"x86_64": ["devel"], "src": null}]]))
        );
        assert_eq!(get("n"), Some(Value::from(-3)));
        assert_eq!(get("f"), Some(Value::from(1.5)));
        assert_eq!(get("ok"), Some(Value::Bool(true)));
        assert_eq!(get("raw"), Some(Value::from("^.*\\.x86_64$")));
        assert_eq!(get("tmpl"), Some(Value::from("1/two")));
        let name = got.iter().find(|a| a.key == "name").unwrap();
        assert!(
            name.file.ends_with("base.conf") && name.line == 4,
            "{name:?}"
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.conf");
        std::fs::write(&f, "a = 1\nb = {'x': 1, 'x': 2}\n").unwrap();
        let e = parse(&f).unwrap_err().to_string();
        assert!(e.ends_with("bad.conf:2: duplicate dict key \"x\""), "{e}");
        std::fs::write(&f, "a = 1\nb = c\n").unwrap();
        assert!(
            parse(&f)
                .unwrap_err()
                .to_string()
                .contains(":2: undefined variable c")
        );
        std::fs::write(&f, "from missing import *\n").unwrap();
        assert!(parse(&f).unwrap_err().to_string().contains("missing.conf"));
    }
}
