//! Go's `path.Match` (what `filepath.Match` is on Linux): the glob language of COPY/ADD
//! sources and of .dockerignore lines. `*` and `?` never match '/', `[...]` classes with `^`
//! negation and ranges, `\` escapes. A malformed pattern is an error even when the name
//! fails to match earlier, as in Go.

/// A malformed pattern (Go's `ErrBadPattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern;

/// Whether `name` matches the shell pattern `pattern` (Go's `path.Match`).
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest unless it holds a '/'.
            return Ok(!name.contains('/'));
        }
        let first = match_chunk(chunk, name);
        if let Ok(Some(t)) = first {
            // The last chunk must use up the name; otherwise a star may still match.
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        first?;
        if star {
            for (i, c) in name.char_indices() {
                if c == '/' {
                    break;
                }
                let skip = i + c.len_utf8();
                match match_chunk(chunk, &name[skip..])? {
                    Some(t) if pattern.is_empty() && !t.is_empty() => continue,
                    Some(t) => {
                        name = t;
                        continue 'pattern;
                    }
                    None => {}
                }
            }
        }
        // A failed match still reports a malformed rest of the pattern.
        validate(pattern)?;
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Checks the whole pattern's syntax (Go: `Match(pattern, "")` errors).
pub fn validate(pattern: &str) -> Result<(), BadPattern> {
    let mut pattern = pattern;
    while !pattern.is_empty() {
        let (_, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        match_chunk(chunk, "")?;
    }
    Ok(())
}

/// Whether `s` holds an unescaped glob metacharacter (dockerd's `containsWildcards`).
pub fn has_wildcards(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Splits off the leading stars and the chunk up to the next star outside a class.
fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let trimmed = pattern.trim_start_matches('*');
    let star = trimmed.len() != pattern.len();
    let bytes = trimmed.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    // Escapes skip one byte; a multi-byte char after '\' cannot be '*', so i lands on a
    // char boundary or the end.
    let i = (i..=bytes.len())
        .find(|&j| trimmed.is_char_boundary(j))
        .unwrap_or(bytes.len());
    (star, &trimmed[..i], &trimmed[i..])
}

/// A bracket class: negation and inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Class {
    pub negated: bool,
    pub ranges: Vec<(char, char)>,
}

impl Class {
    pub(crate) fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// Parses a class after its '[': returns it and the rest after its ']'.
pub(crate) fn parse_class(chunk: &str) -> Result<(Class, &str), BadPattern> {
    let mut chunk = chunk;
    let negated = chunk.starts_with('^');
    if negated {
        chunk = &chunk[1..];
    }
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chunk.starts_with(']') {
            return Ok((Class { negated, ranges }, &chunk[1..]));
        }
        let (lo, rest) = get_esc(chunk)?;
        chunk = rest;
        let mut hi = lo;
        if let Some(after) = chunk.strip_prefix('-') {
            let (h, rest) = get_esc(after)?;
            hi = h;
            chunk = rest;
        }
        ranges.push((lo, hi));
    }
}

/// One possibly escaped class character; the class must go on after it.
fn get_esc(chunk: &str) -> Result<(char, &str), BadPattern> {
    let mut chunk = chunk;
    match chunk.chars().next() {
        None | Some('-') | Some(']') => return Err(BadPattern),
        Some('\\') => chunk = &chunk[1..],
        _ => {}
    }
    let c = chunk.chars().next().ok_or(BadPattern)?;
    let rest = &chunk[c.len_utf8()..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((c, rest))
}

/// Matches `chunk` (no stars) at the start of `s`: the rest of `s` when it matches. The
/// whole chunk is parsed even after a mismatch, so a malformed one is always reported.
fn match_chunk<'s>(chunk: &str, s: &'s str) -> Result<Option<&'s str>, BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some(p) = chunk.chars().next() {
        let next = s.chars().next();
        if next.is_none() {
            failed = true;
        }
        match p {
            '[' => {
                let (class, rest) = parse_class(&chunk[1..])?;
                chunk = rest;
                if let (false, Some(c)) = (failed, next) {
                    s = &s[c.len_utf8()..];
                    if !class.matches(c) {
                        failed = true;
                    }
                }
            }
            '?' => {
                chunk = &chunk[1..];
                if let (false, Some(c)) = (failed, next) {
                    failed = c == '/';
                    s = &s[c.len_utf8()..];
                }
            }
            _ => {
                let lit = if p == '\\' {
                    chunk = &chunk[1..];
                    chunk.chars().next().ok_or(BadPattern)?
                } else {
                    p
                };
                chunk = &chunk[lit.len_utf8()..];
                if let (false, Some(c)) = (failed, next) {
                    failed = c != lit;
                    s = &s[c.len_utf8()..];
                }
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_table() {
        // Cases from Go's path.Match tests.
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("[x-]", "-", Err(BadPattern)),
            ("[x-]", "z", Err(BadPattern)),
            ("[-x]", "x", Err(BadPattern)),
            ("[-x]", "-", Err(BadPattern)),
            ("[-x]", "a", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("a[", "x", Err(BadPattern)),
            ("a/b[", "x", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
        ];
        for (p, n, want) in cases {
            assert_eq!(&matches(p, n), want, "Match({p:?}, {n:?})");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(p in "[a-c*?\\[\\]\\\\^/☺-]{0,10}", n in "[a-c/☺*-]{0,10}") {
            let m = matches(&p, &n);
            // A pattern Go calls malformed is malformed whatever the name.
            proptest::prop_assert_eq!(m.is_err(), validate(&p).is_err());
        }
    }

    #[test]
    fn wildcards_detected_unless_escaped() {
        assert!(has_wildcards("a*"));
        assert!(has_wildcards("a?"));
        assert!(has_wildcards("[ab]"));
        assert!(!has_wildcards("plain/file.txt"));
        assert!(!has_wildcards("a\\*b"));
    }
}
