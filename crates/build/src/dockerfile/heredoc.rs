//! Here-documents as BuildKit finds them: any word of a RUN/COPY/ADD line (shell form)
//! that reads `[n]<<[-]DELIM` opens one, several per line allowed, bodies following the
//! line in order. A delimiter with any quoting (`<<"EOF"`, `<<'EOF'`, `<<E"OF"`) means the
//! body is not expanded; `<<-` strips leading tabs from the body's lines and the
//! delimiter's.

use super::words::parse_words;

/// A heredoc opener found in a line, before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opener {
    /// The delimiter, quotes removed.
    pub name: String,
    pub expand: bool,
    pub chomp: bool,
}

/// The openers in `line` (the whole instruction text), in order. BuildKit lexes with `\`
/// whatever the escape directive says, and so does this.
pub(crate) fn openers(line: &str) -> Vec<Opener> {
    if !line.contains("<<") {
        return Vec::new();
    }
    parse_words(line, '\\')
        .iter()
        .filter_map(|w| opener(w))
        .collect()
}

/// One word as `^(\d*)<<(-?)([^<]*)$` with a non-empty delimiter that is one word.
pub(crate) fn opener(word: &str) -> Option<Opener> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (name, quoted) = unquote(rest)?;
    // `<<""` names nothing (BuildKit's lexer yields no word for it); whitespace can only
    // be there quoted, which BuildKit keeps in the name.
    if name.is_empty() {
        return None;
    }
    Some(Opener {
        name,
        expand: !quoted,
        chomp,
    })
}

/// The delimiter with its quotes and `\` escapes removed, and whether any quote was used;
/// `None` for an unterminated quote.
fn unquote(word: &str) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => out.push(c),
                    }
                }
            }
            '"' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            n @ ('"' | '$' | '\\') => out.push(n),
                            n => {
                                out.push('\\');
                                out.push(n);
                            }
                        },
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    Some((out, quoted))
}

/// `<<-`: leading tabs removed from every line of the body (BuildKit's
/// `ChompHeredocContent`).
pub(crate) fn chomp(body: &str) -> String {
    body.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}
