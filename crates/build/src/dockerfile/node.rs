//! The first of Docker's two passes: a logical line into a node — keyword, flag words and
//! arguments cut the way BuildKit's parser dispatch table cuts them for that keyword —
//! with the bodies of the heredocs it opens. Errors here are the ones dockerd reports as
//! `failed to parse Dockerfile: …` (bad JSON arrays, ENV/LABEL pairs, heredocs); what the
//! instruction then means is `instructions`' business.

use super::ast::{Heredoc, Pos};
use super::heredoc;
use super::lines::Reader;
use super::words::{self, parse_json, parse_words, split_blanks, split_first, Json};

/// The arguments, as the keyword's parse function leaves them.
#[derive(Debug, Clone)]
pub(crate) enum Args {
    /// Nothing after the keyword (and flags).
    Empty,
    /// A JSON array of strings.
    Json(Vec<String>),
    /// The text as one string (shell form, WORKDIR, USER, …).
    Text(String),
    /// Separate words (FROM, EXPOSE, non-JSON COPY/ADD/VOLUME, raw ARG words).
    Words(Vec<String>),
    /// ENV/LABEL key-value pairs, raw.
    Pairs(Vec<(String, String)>),
    /// HEALTHCHECK: its type word and what follows it.
    Health(String, Box<Args>),
    /// ONBUILD's instruction.
    Sub(Box<Node>),
    /// A keyword Docker does not know (refused in the second pass).
    Unknown,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    /// Upper case.
    pub keyword: String,
    /// Docker's `Original`, trimmed as its legacy builder prints it.
    pub original: String,
    /// Raw `--flag[=value]` words.
    pub flags: Vec<String>,
    pub args: Args,
    /// Bodies already chomped for `<<-`.
    pub heredocs: Vec<Heredoc>,
}

/// A node error: the message and the line it belongs to.
pub(crate) type NodeError = (Pos, String);

/// The node for one logical line; heredoc bodies are read from `reader`.
pub(crate) fn node(line: &str, pos: Pos, reader: &mut Reader<'_>) -> Result<Node, NodeError> {
    let escape = reader.directives.escape;
    let mut node = node_from_line(line, pos, escape)?;
    let opens_heredocs = {
        let target = match &node.args {
            Args::Sub(sub) => sub.as_ref(),
            _ => &node,
        };
        matches!(target.keyword.as_str(), "RUN" | "COPY" | "ADD")
            && !matches!(target.args, Args::Json(_))
    };
    if opens_heredocs {
        let mut docs = Vec::new();
        for open in heredoc::openers(line) {
            let Some(body) = reader.heredoc_body(&open.name, open.chomp) else {
                return Err((
                    pos,
                    format!(
                        "unterminated heredoc {:?} (opened on line {}, the file ends at line {})",
                        open.name,
                        pos.line,
                        reader.current_line()
                    ),
                ));
            };
            let content = if open.chomp {
                heredoc::chomp(&body)
            } else {
                body
            };
            docs.push(Heredoc {
                name: open.name,
                content,
                expand: open.expand,
                chomp: open.chomp,
            });
        }
        match &mut node.args {
            Args::Sub(sub) => sub.heredocs = docs,
            _ => node.heredocs = docs,
        }
    }
    Ok(node)
}

/// BuildKit's `newNodeFromLine` without heredocs.
fn node_from_line(line: &str, pos: Pos, escape: char) -> Result<Node, NodeError> {
    let (keyword, flags, rest) = words::split_command(line);
    let keyword = keyword.to_ascii_uppercase();
    let fail = |message: String| (pos, message);
    let args = match keyword.as_str() {
        "ADD" | "COPY" | "VOLUME" => match parse_json(rest) {
            Json::Array(a) => Args::Json(a),
            Json::NotStrings => return Err(fail(words::NOT_STRINGS.to_string())),
            Json::Shell => words_or_empty(split_blanks(rest)),
        },
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" => maybe_json(rest).map_err(fail)?,
        "ARG" => words_or_empty(parse_words(rest, escape)),
        "ENV" | "LABEL" => name_values(rest, &keyword, escape).map_err(fail)?,
        "FROM" | "EXPOSE" => words_or_empty(split_blanks(rest)),
        "MAINTAINER" | "STOPSIGNAL" | "USER" | "WORKDIR" => {
            if rest.is_empty() {
                Args::Empty
            } else {
                Args::Text(rest.to_string())
            }
        }
        "HEALTHCHECK" => health(rest).map_err(fail)?,
        "ONBUILD" => {
            if rest.is_empty() {
                Args::Empty
            } else {
                // `rest` is a slice of `line`: its offset gives the trigger's column.
                let offset = (rest.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
                let column = pos.column + line.get(..offset).map_or(0, |s| s.chars().count());
                let sub_pos = Pos {
                    line: pos.line,
                    column,
                };
                let mut sub = node_from_line(rest, sub_pos, escape)?;
                sub.original = strip_onbuild(line.trim()).to_string();
                Args::Sub(Box::new(sub))
            }
        }
        _ => Args::Unknown,
    };
    Ok(Node {
        pos,
        keyword,
        original: line.trim().to_string(),
        flags,
        args,
        heredocs: Vec::new(),
    })
}

fn words_or_empty(words: Vec<String>) -> Args {
    if words.is_empty() {
        Args::Empty
    } else {
        Args::Words(words)
    }
}

/// RUN, CMD, ENTRYPOINT, SHELL: a JSON array of strings, or the text as the shell form.
fn maybe_json(rest: &str) -> Result<Args, String> {
    if rest.is_empty() {
        return Ok(Args::Empty);
    }
    match parse_json(rest) {
        Json::Array(a) => Ok(Args::Json(a)),
        Json::NotStrings => Err(words::NOT_STRINGS.to_string()),
        Json::Shell => Ok(Args::Text(rest.to_string())),
    }
}

/// ENV and LABEL: `k=v …` (each word must hold `=`), or the legacy `k v…` when the first
/// word has no `=` (the value is the rest of the line, as written).
fn name_values(rest: &str, keyword: &str, escape: char) -> Result<Args, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Args::Empty);
    };
    if !first.contains('=') {
        let (key, value) = split_first(rest);
        return match value {
            Some(v) if !v.is_empty() => Ok(Args::Pairs(vec![(key.to_string(), v.to_string())])),
            _ => Err(format!("{keyword} must have two arguments")),
        };
    }
    let mut pairs = Vec::with_capacity(words.len());
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(Args::Pairs(pairs))
}

/// HEALTHCHECK: the type word (`CMD`, `NONE`) and the maybe-JSON command after it.
fn health(rest: &str) -> Result<Args, String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok(Args::Empty);
    }
    let typ = &rest[..sep];
    let cmd = maybe_json(rest[sep..].trim_start())?;
    Ok(Args::Health(typ.to_string(), Box::new(cmd)))
}

/// Docker's `(?i)^\s*ONBUILD\s*` removed: the trigger's own text.
fn strip_onbuild(original: &str) -> &str {
    let t = original.trim_start();
    match t.get(..7) {
        Some(k) if k.eq_ignore_ascii_case("ONBUILD") => t[7..].trim_start(),
        _ => t,
    }
}
