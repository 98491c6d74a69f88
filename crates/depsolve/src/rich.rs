//! Rich (boolean) dependencies: `(a and b)`, `(a or b)`, `(a if b [else c])`,
//! `(a unless b [else c])`, `(a with b)`, `(a without b)`, nested at will.

use crate::evr::{Evr, Op};

/// One `name [op evr]` leaf of a dependency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Atom {
    pub name: String,
    pub op: Op,
    pub evr: Option<Evr>,
}

/// A parsed boolean dependency over atoms of type `A`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rich<A> {
    Atom(A),
    And(Vec<Rich<A>>),
    Or(Vec<Rich<A>>),
    /// All operands must be met by one and the same package.
    With(Vec<Rich<A>>),
    /// A package meeting the first operand but not the second.
    Without(Box<Rich<A>>, Box<Rich<A>>),
    /// `then if cond [else otherwise]`
    If(Box<Rich<A>>, Box<Rich<A>>, Option<Box<Rich<A>>>),
    /// `then unless cond [else otherwise]`
    Unless(Box<Rich<A>>, Box<Rich<A>>, Option<Box<Rich<A>>>),
}

impl<A> Rich<A> {
    pub fn map<B>(self, f: &mut dyn FnMut(A) -> B) -> Rich<B> {
        let bx = |r: Box<Rich<A>>, f: &mut dyn FnMut(A) -> B| Box::new(r.map(f));
        match self {
            Rich::Atom(a) => Rich::Atom(f(a)),
            Rich::And(v) => Rich::And(v.into_iter().map(|r| r.map(f)).collect()),
            Rich::Or(v) => Rich::Or(v.into_iter().map(|r| r.map(f)).collect()),
            Rich::With(v) => Rich::With(v.into_iter().map(|r| r.map(f)).collect()),
            Rich::Without(a, b) => {
                let a = bx(a, f);
                Rich::Without(a, bx(b, f))
            }
            Rich::If(a, b, c) => {
                let a = bx(a, f);
                let b = bx(b, f);
                Rich::If(a, b, c.map(|c| bx(c, f)))
            }
            Rich::Unless(a, b, c) => {
                let a = bx(a, f);
                let b = bx(b, f);
                Rich::Unless(a, b, c.map(|c| bx(c, f)))
            }
        }
    }

    /// Every atom, in order.
    pub fn atoms<'a>(&'a self, out: &mut Vec<&'a A>) {
        match self {
            Rich::Atom(a) => out.push(a),
            Rich::And(v) | Rich::Or(v) | Rich::With(v) => v.iter().for_each(|r| r.atoms(out)),
            Rich::Without(a, b) => {
                a.atoms(out);
                b.atoms(out);
            }
            Rich::If(a, b, c) | Rich::Unless(a, b, c) => {
                a.atoms(out);
                b.atoms(out);
                if let Some(c) = c {
                    c.atoms(out);
                }
            }
        }
    }

    /// True when the meaning depends on what else is chosen (`if`/`unless`).
    pub fn is_conditional(&self) -> bool {
        match self {
            Rich::Atom(_) => false,
            Rich::And(v) | Rich::Or(v) | Rich::With(v) => v.iter().any(Rich::is_conditional),
            Rich::Without(a, b) => a.is_conditional() || b.is_conditional(),
            Rich::If(..) | Rich::Unless(..) => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad rich dependency {text:?}: {reason}")]
pub struct RichError {
    pub text: String,
    pub reason: &'static str,
}

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    Word(&'a str),
}

fn tokenize(s: &str) -> Result<Vec<Tok<'_>>, &'static str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            _ => {
                // A name may hold balanced parentheses itself: `perl(Foo::Bar)`.
                let start = i;
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        b'(' => depth += 1,
                        b')' if depth == 0 => break,
                        b')' => depth -= 1,
                        c if c.is_ascii_whitespace() && depth == 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                if depth != 0 {
                    return Err("unbalanced parentheses in a name");
                }
                out.push(Tok::Word(&s[start..i]));
            }
        }
    }
    Ok(out)
}

const KEYWORDS: [&str; 7] = ["and", "or", "if", "else", "unless", "with", "without"];

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<&Tok<'a>> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }

    fn operand(&mut self) -> Result<Rich<Atom>, &'static str> {
        match self.next() {
            Some(Tok::Open) => {
                let r = self.inner()?;
                match self.next() {
                    Some(Tok::Close) => Ok(r),
                    _ => Err("missing ')'"),
                }
            }
            Some(Tok::Word(w)) if KEYWORDS.contains(w) => {
                Err("operator where a dependency was expected")
            }
            Some(Tok::Word(w)) => {
                let name = (*w).to_owned();
                if let Some(Tok::Word(op)) = self.peek()
                    && let Some(op) = Op::parse(op)
                {
                    self.pos += 1;
                    match self.next() {
                        Some(Tok::Word(v)) => Ok(Rich::Atom(Atom {
                            name,
                            op,
                            evr: Some(Evr::parse(v)),
                        })),
                        _ => Err("missing version after a comparison"),
                    }
                } else {
                    Ok(Rich::Atom(Atom {
                        name,
                        op: Op::Any,
                        evr: None,
                    }))
                }
            }
            Some(Tok::Close) => Err("empty parentheses"),
            None => Err("unexpected end"),
        }
    }

    fn inner(&mut self) -> Result<Rich<Atom>, &'static str> {
        let first = self.operand()?;
        let Some(Tok::Word(kw)) = self.peek() else {
            return Ok(first);
        };
        let kw = *kw;
        match kw {
            "and" | "or" | "with" => {
                let mut items = vec![first];
                while let Some(Tok::Word(k)) = self.peek() {
                    if *k != kw {
                        return Err("mixed operators need parentheses");
                    }
                    self.pos += 1;
                    items.push(self.operand()?);
                }
                Ok(match kw {
                    "and" => Rich::And(items),
                    "or" => Rich::Or(items),
                    _ => Rich::With(items),
                })
            }
            "without" => {
                self.pos += 1;
                let second = self.operand()?;
                Ok(Rich::Without(Box::new(first), Box::new(second)))
            }
            "if" | "unless" => {
                self.pos += 1;
                let cond = self.operand()?;
                let otherwise = if let Some(Tok::Word("else")) = self.peek() {
                    self.pos += 1;
                    Some(Box::new(self.operand()?))
                } else {
                    None
                };
                Ok(if kw == "if" {
                    Rich::If(Box::new(first), Box::new(cond), otherwise)
                } else {
                    Rich::Unless(Box::new(first), Box::new(cond), otherwise)
                })
            }
            _ => Err("unknown operator"),
        }
    }
}

/// Parses a rich dependency; `text` starts with `(`.
pub fn parse_rich(text: &str) -> Result<Rich<Atom>, RichError> {
    let err = |reason| RichError {
        text: text.to_owned(),
        reason,
    };
    let toks = tokenize(text).map_err(err)?;
    let mut p = Parser { toks, pos: 0 };
    if p.peek() != Some(&Tok::Open) {
        return Err(err("a rich dependency starts with '('"));
    }
    let r = p.operand().map_err(err)?;
    if p.pos != p.toks.len() {
        return Err(err("trailing text after the closing ')'"));
    }
    Ok(r)
}

/// Whether a dependency name is a rich dependency.
pub fn is_rich(name: &str) -> bool {
    name.starts_with('(')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(name: &str) -> Rich<Atom> {
        Rich::Atom(Atom {
            name: name.into(),
            op: Op::Any,
            evr: None,
        })
    }

    #[test]
    fn parses_nested() {
        let r = parse_rich("(perl(Foo::Bar) or (b >= 1.2-3 and c))").unwrap();
        let Rich::Or(v) = r else { panic!("{r:?}") };
        assert_eq!(v[0], atom("perl(Foo::Bar)"));
        let Rich::And(w) = &v[1] else { panic!() };
        assert_eq!(w[1], atom("c"));
        let Rich::Atom(b) = &w[0] else { panic!() };
        assert_eq!(b.op, Op::Ge);
        assert_eq!(b.evr.as_ref().unwrap().release.as_deref(), Some("3"));
    }

    #[test]
    fn parses_if_else() {
        let r = parse_rich("(a if b else c)").unwrap();
        assert_eq!(
            r,
            Rich::If(
                Box::new(atom("a")),
                Box::new(atom("b")),
                Some(Box::new(atom("c")))
            )
        );
        assert!(r.is_conditional());
        let r = parse_rich("(a without b)").unwrap();
        assert!(matches!(r, Rich::Without(..)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["(a and)", "(a and b or c)", "(a", "(a) b", "()", "(and b)"] {
            assert!(parse_rich(bad).is_err(), "{bad}");
        }
    }
}
