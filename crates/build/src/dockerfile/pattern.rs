//! The shell patterns of `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}` and `${V/p/r}`, as
//! BuildKit's lexer reads them: `*` any run of characters, `?` one character, `\*`, `\?`
//! and `\\` literal, `\}` and `\/` the plain character; no bracket expressions.

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    Lit(char),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(Vec<Tok>);

impl Pattern {
    /// `raw` still holds its escapes (the lexer keeps them for patterns). The error is
    /// BuildKit's `invalid escape '\x'`.
    pub fn compile(raw: &str) -> Result<Pattern, String> {
        let mut toks = Vec::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match chars.peek().copied() {
                    // Escaped only so the lexer would not end the word there.
                    Some('}' | '/') => {}
                    Some(n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        toks.push(Tok::Lit(n));
                    }
                    Some(n) => return Err(format!("invalid escape '\\{n}'")),
                    None => return Err("invalid escape '\\'".to_string()),
                },
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Pattern(toks))
    }

    /// Whether the whole of `s` matches (the classic two-pointer wildcard match: on a
    /// mismatch, the last `*` takes one more character).
    fn matches(&self, s: &[char]) -> bool {
        let p = &self.0;
        let (mut pi, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            match p.get(pi) {
                Some(Tok::Star) => {
                    star = Some((pi, si));
                    pi += 1;
                }
                Some(Tok::Any) => {
                    pi += 1;
                    si += 1;
                }
                Some(Tok::Lit(c)) if *c == s[si] => {
                    pi += 1;
                    si += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi.min(p.len())..].iter().all(|t| *t == Tok::Star)
    }

    /// `${V#p}` (shortest) / `${V##p}` (longest): `value` without the matching prefix.
    pub fn trim_prefix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let cut = if longest {
            (0..=n).rev().find(|&i| self.matches(&chars[..i]))
        } else {
            (0..=n).find(|&i| self.matches(&chars[..i]))
        };
        cut.map_or_else(|| value.to_string(), |i| chars[i..].iter().collect())
    }

    /// `${V%p}` (shortest) / `${V%%p}` (longest): `value` without the matching suffix.
    pub fn trim_suffix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let cut = if longest {
            (0..=n).find(|&i| self.matches(&chars[i..]))
        } else {
            (0..=n).rev().find(|&i| self.matches(&chars[i..]))
        };
        cut.map_or_else(|| value.to_string(), |i| chars[..i].iter().collect())
    }

    /// `${V/p/r}` (first match) / `${V//p/r}` (every match): leftmost matches, each as long
    /// as it can be; an empty match inserts `replacement` and moves one character on.
    pub fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut out = String::new();
        let mut start = 0;
        let mut replaced = false;
        // Go's rule: an empty match right after a match is not one.
        let mut last_end = None;
        while start <= n {
            let found = if replaced && !all {
                None
            } else {
                (start..=n)
                    .rev()
                    .find(|&end| self.matches(&chars[start..end]))
                    .filter(|&end| end > start || last_end != Some(start))
            };
            match found {
                Some(end) => {
                    out.push_str(replacement);
                    replaced = true;
                    last_end = Some(end);
                    if end == start {
                        if let Some(c) = chars.get(start) {
                            out.push(*c);
                        }
                        start += 1;
                    } else {
                        start = end;
                    }
                }
                None => {
                    if let Some(c) = chars.get(start) {
                        out.push(*c);
                    }
                    start += 1;
                }
            }
        }
        out
    }
}
