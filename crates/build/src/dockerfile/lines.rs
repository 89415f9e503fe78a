//! Physical lines into logical ones, as BuildKit's `parser.Parse` reads a Dockerfile: the
//! byte-order mark dropped, directives looked at, comment and blank lines skipped, a line
//! ending in the escape character (blanks after it allowed) continued by the next one —
//! comment lines and empty lines inside a continuation skipped (the latter with a
//! warning) — and the bodies of heredocs read raw after the line that opened them.

use super::ast::Pos;
use super::directives::Directives;

/// One instruction's text, continuations joined by nothing.
#[derive(Debug, Clone)]
pub(crate) struct Logical {
    /// Leading whitespace of the first line removed, the rest as written (Docker's
    /// `Original` before its final trim).
    pub text: String,
    pub pos: Pos,
    /// An empty line was skipped inside the continuation (Docker warns).
    pub empty_continuation: bool,
}

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) struct LineError {
    pub line: usize,
    pub message: String,
}

pub(crate) struct Reader<'a> {
    lines: Vec<&'a str>,
    /// Index of the next physical line (0-based), so also the number of lines read.
    next: usize,
    pub directives: Directives,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Reader {
            lines: text.split_inclusive('\n').collect(),
            next: 0,
            directives: Directives::default(),
        }
    }

    /// The line number (1-based) of the last line read.
    pub fn current_line(&self) -> usize {
        self.next
    }

    fn take(&mut self) -> Option<&'a str> {
        let line = self.lines.get(self.next).copied()?;
        self.next += 1;
        Some(line)
    }

    /// The next instruction's text, `None` at the end of the file.
    pub fn next_logical(&mut self) -> Result<Option<Logical>, LineError> {
        while let Some(raw) = self.take() {
            let number = self.next;
            let line = trim_newline(raw);
            let stripped = line.trim_start();
            self.directives
                .observe(stripped)
                .map_err(|message| LineError {
                    line: number,
                    message,
                })?;
            let content = if is_comment(stripped) { "" } else { stripped };
            let (first, mut ended) = trim_continuation(content, self.directives.escape);
            if ended && first.is_empty() {
                continue;
            }
            let column = line[..line.len() - stripped.len()].chars().count() + 1;
            let mut text = first.to_string();
            let mut empty_continuation = false;
            while !ended {
                let Some(raw) = self.take() else { break };
                let line = trim_newline(raw);
                self.directives.observe(line).map_err(|message| LineError {
                    line: self.next,
                    message,
                })?;
                if is_comment(line) {
                    continue;
                }
                if line.trim_start().is_empty() {
                    empty_continuation = true;
                    continue;
                }
                let (part, end) = trim_continuation(line, self.directives.escape);
                text.push_str(part);
                ended = end;
            }
            return Ok(Some(Logical {
                text,
                pos: Pos {
                    line: number,
                    column,
                },
                empty_continuation,
            }));
        }
        Ok(None)
    }

    /// The body of a heredoc, read raw up to the line that is its delimiter (leading tabs
    /// ignored on that line for `<<-`); `None` when the file ends first.
    pub fn heredoc_body(&mut self, name: &str, chomp: bool) -> Option<String> {
        let mut body = String::new();
        while let Some(raw) = self.take() {
            let mut candidate = trim_newline(raw);
            if chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == name {
                return Some(body);
            }
            body.push_str(raw);
        }
        None
    }
}

/// Go's `bytes.TrimRight(line, "\r\n")`.
fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// A comment is a line whose first non-blank character is `#`.
pub(crate) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing escape character (blanks after it allowed); the bool says whether the
/// line ends the instruction (no continuation). An escaped escape (`echo a\\`) does not
/// continue, as BuildKit's `([^\\])\\[ \t]*$|^\\[ \t]*$` has it (dockerd 20.10 runs
/// `RUN echo a\\` as is).
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(kept) if !kept.ends_with(escape) => (kept, false),
        _ => (line, true),
    }
}
