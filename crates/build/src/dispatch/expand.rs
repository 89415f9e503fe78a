//! Variable substitution as the dispatcher uses it: one word (`word`) or a list split on
//! unquoted whitespace (`words`), with the stage's lookup, errors wrapped the way dockerd
//! words them (`failed to process "<word>": …`).
//!
//! The substitution itself belongs to the parser module (`crate::dockerfile::expand` and
//! `expand_words`). Until that lands on this branch, `standin_expand` and
//! `standin_expand_words` below are a minimal private lexer with the same signatures
//! (their errors already worded `failed to process "<word>": …`, as `ExpandError`'s
//! Display is); switching is replacing their two call sites in `word` and `words` with
//! `crate::dockerfile::expand` / `expand_words` and deleting the stand-in.

use super::error::DispatchError;

pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One word, quotes removed, variables substituted.
pub(crate) fn word(text: &str, escape: char, lookup: Lookup<'_>) -> Result<String, DispatchError> {
    standin_expand(text, escape, lookup).map_err(|e| DispatchError::Expand(e.to_string()))
}

/// Several words: split on unquoted whitespace, including whitespace that a variable's
/// value brings in (EXPOSE's `$PORTS`).
pub(crate) fn words(
    text: &str,
    escape: char,
    lookup: Lookup<'_>,
) -> Result<Vec<String>, DispatchError> {
    standin_expand_words(text, escape, lookup).map_err(|e| DispatchError::Expand(e.to_string()))
}

/// STAND-IN for `crate::dockerfile::expand` (switch when the parser lands).
fn standin_expand(text: &str, escape: char, lookup: Lookup<'_>) -> Result<String, String> {
    Lexer::run(text, escape, lookup)
        .map(|l| l.joined)
        .map_err(|m| format!("failed to process {}: {m}", super::gofmt::quote(text)))
}

/// STAND-IN for `crate::dockerfile::expand_words` (switch when the parser lands).
fn standin_expand_words(
    text: &str,
    escape: char,
    lookup: Lookup<'_>,
) -> Result<Vec<String>, String> {
    Lexer::run(text, escape, lookup)
        .map(|l| l.words)
        .map_err(|m| format!("failed to process {}: {m}", super::gofmt::quote(text)))
}

/// The result both ways: the word as one string, and split into words.
struct Lexed {
    joined: String,
    words: Vec<String>,
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: Lookup<'a>,
    joined: String,
    words: Vec<String>,
    current: String,
    in_word: bool,
}

impl<'a> Lexer<'a> {
    fn run(text: &str, escape: char, lookup: Lookup<'a>) -> Result<Lexed, String> {
        let mut lx = Lexer {
            chars: text.chars().collect(),
            pos: 0,
            escape,
            lookup,
            joined: String::new(),
            words: Vec::new(),
            current: String::new(),
            in_word: false,
        };
        lx.process(None)?;
        if lx.in_word {
            let w = std::mem::take(&mut lx.current);
            lx.words.push(w);
        }
        Ok(Lexed {
            joined: lx.joined,
            words: lx.words,
        })
    }

    fn raw(&mut self, s: &str) {
        self.joined.push_str(s);
        self.current.push_str(s);
        // As BuildKit's `addRawString`: an empty quoted string makes no word.
        if !s.is_empty() {
            self.in_word = true;
        }
    }

    fn split(&mut self, s: &str) {
        self.joined.push_str(s);
        for c in s.chars() {
            if c.is_whitespace() {
                if self.in_word && !self.current.is_empty() {
                    let w = std::mem::take(&mut self.current);
                    self.words.push(w);
                    self.in_word = false;
                }
            } else {
                self.current.push(c);
                self.in_word = true;
            }
        }
    }

    /// Until `stop` (for `${V:-word}`'s word) or the end.
    fn process(&mut self, stop: Option<char>) -> Result<(), String> {
        while let Some(&c) = self.chars.get(self.pos) {
            if Some(c) == stop {
                return Ok(());
            }
            self.pos += 1;
            match c {
                '\'' => {
                    let mut lit = String::new();
                    loop {
                        match self.chars.get(self.pos) {
                            None => return Err("unexpected end of statement while looking for matching single-quote".into()),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(&ch) => {
                                lit.push(ch);
                                self.pos += 1;
                            }
                        }
                    }
                    self.raw(&lit);
                }
                '"' => {
                    loop {
                        match self.chars.get(self.pos) {
                            None => return Err("unexpected end of statement while looking for matching double-quote".into()),
                            Some('"') => {
                                self.pos += 1;
                                break;
                            }
                            Some('$') => {
                                self.pos += 1;
                                let v = self.dollar()?;
                                self.raw(&v);
                            }
                            Some(&ch) if ch == self.escape => {
                                self.pos += 1;
                                match self.chars.get(self.pos) {
                                    Some(&n @ ('"' | '$')) => {
                                        self.pos += 1;
                                        self.raw(&n.to_string());
                                    }
                                    Some(&n) if n == self.escape => {
                                        self.pos += 1;
                                        self.raw(&n.to_string());
                                    }
                                    _ => self.raw(&ch.to_string()),
                                }
                            }
                            Some(&ch) => {
                                self.pos += 1;
                                self.raw(&ch.to_string());
                            }
                        }
                    }
                }
                '$' => {
                    let v = self.dollar()?;
                    self.split(&v);
                }
                c if c == self.escape => match self.chars.get(self.pos) {
                    Some(&n) => {
                        self.pos += 1;
                        self.raw(&n.to_string());
                    }
                    None => self.raw(&c.to_string()),
                },
                c => self.split(&c.to_string()),
            }
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        match self.chars.get(self.pos) {
            Some('{') => {
                self.pos += 1;
                let name = self.name();
                if name.is_empty() {
                    return Err("bad substitution".into());
                }
                let value = (self.lookup)(&name);
                match self.chars.get(self.pos) {
                    Some('}') => {
                        self.pos += 1;
                        Ok(value.unwrap_or_default())
                    }
                    Some(':') | Some('-') | Some('+') | Some('?') => {
                        let colon = self.chars.get(self.pos) == Some(&':');
                        if colon {
                            self.pos += 1;
                        }
                        let op = self.chars.get(self.pos).copied();
                        self.pos += 1;
                        let word = self.sub_word()?;
                        let set = match &value {
                            Some(v) => !(colon && v.is_empty()),
                            None => false,
                        };
                        match op {
                            Some('-') => Ok(if set { value.unwrap_or_default() } else { word }),
                            Some('+') => Ok(if set { word } else { String::new() }),
                            Some('?') if !set => Err(if word.is_empty() {
                                format!("{name}: is not allowed to be unset")
                            } else {
                                format!("{name}: {word}")
                            }),
                            Some('?') => Ok(value.unwrap_or_default()),
                            _ => Err(format!("unsupported modifier in substitution of {name}")),
                        }
                    }
                    _ => Err("missing '}'".into()),
                }
            }
            _ => {
                let name = self.name();
                if name.is_empty() {
                    return Ok("$".into());
                }
                Ok((self.lookup)(&name).unwrap_or_default())
            }
        }
    }

    /// The word of `${V:-word}`, itself substituted, up to the closing `}`.
    fn sub_word(&mut self) -> Result<String, String> {
        let mut inner = Lexer {
            chars: self.chars.clone(),
            pos: self.pos,
            escape: self.escape,
            lookup: self.lookup,
            joined: String::new(),
            words: Vec::new(),
            current: String::new(),
            in_word: false,
        };
        inner.process(Some('}'))?;
        if inner.chars.get(inner.pos) != Some(&'}') {
            return Err("missing '}'".into());
        }
        self.pos = inner.pos + 1;
        Ok(inner.joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("a".into()),
            "E" => Some(String::new()),
            "P" => Some("80 443".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_unquotes() {
        let w = |t: &str| word(t, '\\', &env).unwrap();
        assert_eq!(w("$A"), "a");
        assert_eq!(w("${A}x"), "ax");
        assert_eq!(w("\"y z\""), "y z");
        assert_eq!(w("'x $A'"), "x $A");
        assert_eq!(w("${N:-d}"), "d");
        assert_eq!(w("${E:-d}"), "d");
        assert_eq!(w("${E-d}"), "");
        assert_eq!(w("${A:+s}"), "s");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("f\\\"g"), "f\"g");
        assert_eq!(
            word("${N:?bad}", '\\', &env).unwrap_err().to_string(),
            "failed to process \"${N:?bad}\": N: bad"
        );
        assert_eq!(words("$P 8", '\\', &env).unwrap(), ["80", "443", "8"]);
        assert_eq!(words("\"$P\"", '\\', &env).unwrap(), ["80 443"]);
        assert!(words("$N", '\\', &env).unwrap().is_empty());
    }
}
