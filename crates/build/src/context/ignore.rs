//! .dockerignore as moby/patternmatcher reads and applies it.
//!
//! Reading (`ignorefile.ReadAll`): a UTF-8 BOM dropped, lines starting with `#` skipped,
//! whitespace trimmed, `!` marks an exception, each pattern cleaned like Go's
//! `filepath.Clean` with one leading '/' dropped. Matching (`MatchesOrParentMatches`): the
//! patterns are tried in order, the last one that matches the path or one of its parent
//! directories decides; `*` and `?` stay within a path component, `**` spans any number of
//! them (`**/x` also matches `x`, a trailing `**` anything below), classes and escapes are
//! Go's `filepath.Match` ones.

use super::glob::{self, parse_class, Class};
use super::ContextError;

/// One step of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(char),
    /// `?`: one char other than '/'.
    Any,
    /// `*`: any run without '/'.
    Star,
    /// `**` before more pattern: nothing, or anything ending with '/' (regex `(.*/)?`).
    DirStar,
    /// `**` at the end: anything (regex `.*`).
    Tail,
    Class(Class),
}

#[derive(Debug, Clone)]
struct Pattern {
    exception: bool,
    text: String,
    tokens: Vec<Token>,
}

/// A parsed .dockerignore.
#[derive(Debug, Clone, Default)]
pub struct IgnoreMatcher {
    patterns: Vec<Pattern>,
}

impl IgnoreMatcher {
    /// Parses a .dockerignore's text.
    pub fn parse(text: &str) -> Result<IgnoreMatcher, ContextError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Self::from_patterns(read_lines(text))
    }

    /// A matcher that excludes nothing (no .dockerignore).
    pub fn empty() -> IgnoreMatcher {
        IgnoreMatcher::default()
    }

    /// A matcher from patterns as `ReadAll` returns them (`!` prefix for exceptions).
    pub fn from_patterns<I, S>(patterns: I) -> Result<IgnoreMatcher, ContextError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let p = clean(p);
            let (exception, p) = match p.strip_prefix('!') {
                Some("") => {
                    return Err(ContextError::BadPattern {
                        pattern: "!".into(),
                    })
                }
                Some(rest) => (true, rest.to_string()),
                None => (false, p),
            };
            glob::validate(&p).map_err(|_| ContextError::BadPattern { pattern: p.clone() })?;
            let tokens = compile(&p);
            out.push(Pattern {
                exception,
                text: p,
                tokens,
            });
        }
        Ok(IgnoreMatcher { patterns: out })
    }

    /// The matcher with `!name` appended for each name: what the docker CLI does so the
    /// Dockerfile and .dockerignore are always sent.
    pub fn with_exceptions(&self, names: &[&str]) -> IgnoreMatcher {
        let mut out = self.clone();
        for name in names {
            let p = clean(name);
            let p = p.trim_start_matches('/').to_string();
            if p.is_empty() || glob::validate(&p).is_err() || !self.excluded(&p, false) {
                continue;
            }
            out.patterns.push(Pattern {
                exception: true,
                tokens: literal(&p),
                text: p,
            });
        }
        out
    }

    /// Whether there are no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an exception (`!…`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// The patterns as cleaned, exceptions with their `!`.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exception {
                    format!("!{}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    /// Whether `path` (relative to the context root, '/'-separated) is excluded. `is_dir` is
    /// accepted for walkers' convenience: patternmatcher has no directory-only patterns.
    pub fn excluded(&self, path: &str, is_dir: bool) -> bool {
        let _ = is_dir;
        if self.patterns.is_empty() {
            return false;
        }
        let path = clean(path);
        let path = path.trim_start_matches('/');
        if path.is_empty() || path == "." {
            return false;
        }
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut matched = false;
        for p in &self.patterns {
            if p.exception != matched {
                continue;
            }
            let hit = matches(&p.tokens, path) || parents.iter().any(|d| matches(&p.tokens, d));
            if hit {
                matched = !p.exception;
            }
        }
        matched
    }

    /// The docker CLI's narrower test for entering an excluded directory: some exception's
    /// text starts with `dir/` literally. `!**/*.go` re-includes nothing below an
    /// excluded directory there, so the context tar does not either.
    pub fn cli_descends_into(&self, dir: &str) -> bool {
        let prefix = format!("{}/", clean(dir).trim_start_matches('/'));
        self.patterns
            .iter()
            .any(|p| p.exception && format!("{}/", p.text).starts_with(&prefix))
    }

    /// Whether an exception could re-include something below the excluded directory `dir`:
    /// a walker must then descend into it instead of skipping it.
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir = clean(dir);
        let dir = dir.trim_start_matches('/');
        let prefix = format!("{dir}/");
        self.patterns.iter().filter(|p| p.exception).any(|p| {
            live_after(&p.tokens, &prefix)
                || prefix
                    .match_indices('/')
                    .any(|(i, _)| matches(&p.tokens, &prefix[..i]))
        })
    }
}

/// `ignorefile.ReadAll`: the patterns of a .dockerignore's lines.
fn read_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (invert, rest) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let mut p = String::new();
        if !rest.is_empty() {
            p = clean(rest);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

/// Go's `path.Clean`: `.` and empty components dropped, `..` resolved lexically (kept at
/// the start of a relative path, dropped at the root of an absolute one).
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The tokens of a cleaned pattern, as patternmatcher's regexp conversion reads it.
fn compile(p: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = p;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '*' if rest.starts_with('*') => {
                rest = rest[1..].strip_prefix('/').unwrap_or(&rest[1..]);
                tokens.push(if rest.is_empty() {
                    Token::Tail
                } else {
                    Token::DirStar
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match rest.chars().next() {
                Some(n) => {
                    rest = &rest[n.len_utf8()..];
                    tokens.push(Token::Lit(n));
                }
                None => tokens.push(Token::Lit('\\')),
            },
            '[' => match parse_class(rest) {
                Ok((class, after)) => {
                    rest = after;
                    tokens.push(Token::Class(class));
                }
                // Validated beforehand; a class that does not parse stays literal.
                Err(_) => tokens.push(Token::Lit('[')),
            },
            c => tokens.push(Token::Lit(c)),
        }
    }
    tokens
}

fn literal(p: &str) -> Vec<Token> {
    p.chars().map(Token::Lit).collect()
}

/// The NFA's states: `2*i` is "before token i", `2*i+1` "inside the `**` of token i".
fn closure(tokens: &[Token], states: &mut [bool]) {
    for i in 0..tokens.len() {
        if states[2 * i] && matches!(tokens[i], Token::Star | Token::DirStar | Token::Tail) {
            states[2 * (i + 1)] = true;
        }
    }
}

fn step(tokens: &[Token], states: &[bool], c: char) -> Vec<bool> {
    let mut next = vec![false; states.len()];
    for (i, tok) in tokens.iter().enumerate() {
        if states[2 * i] {
            match tok {
                Token::Lit(l) if *l == c => next[2 * (i + 1)] = true,
                Token::Any if c != '/' => next[2 * (i + 1)] = true,
                Token::Class(class) if class.matches(c) => next[2 * (i + 1)] = true,
                Token::Star if c != '/' => next[2 * i] = true,
                Token::Tail => next[2 * i] = true,
                Token::DirStar => {
                    next[2 * i + 1] = true;
                    if c == '/' {
                        next[2 * (i + 1)] = true;
                    }
                }
                _ => {}
            }
        }
        if states[2 * i + 1] {
            next[2 * i + 1] = true;
            if c == '/' {
                next[2 * (i + 1)] = true;
            }
        }
    }
    closure(tokens, &mut next);
    next
}

fn run(tokens: &[Token], text: &str) -> Vec<bool> {
    let mut states = vec![false; 2 * (tokens.len() + 1)];
    states[0] = true;
    closure(tokens, &mut states);
    for c in text.chars() {
        states = step(tokens, &states, c);
        if !states.iter().any(|s| *s) {
            break;
        }
    }
    states
}

/// Whether the whole of `text` matches.
fn matches(tokens: &[Token], text: &str) -> bool {
    run(tokens, text)[2 * tokens.len()]
}

/// Whether some string starting with `prefix` could still match.
fn live_after(tokens: &[Token], prefix: &str) -> bool {
    run(tokens, prefix).iter().any(|s| *s)
}

#[cfg(test)]
#[path = "ignore_tests.rs"]
mod tests;
