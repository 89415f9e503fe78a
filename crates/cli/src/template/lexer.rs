//! Splitting a template into text and actions (`{{…}}`, with `{{-`/`-}}` trimming), and
//! lexing an action's body into tokens.

use super::{parse_err, Res};

pub(super) struct RawAction {
    pub(super) body: String,
    /// Byte offset of the body in the template, for error messages like Go's.
    pub(super) pos: usize,
}

pub(super) enum Piece {
    Text(String),
    Action(RawAction),
}

pub(super) fn split_pieces(src: &str) -> Res<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut offset = 0;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_before = after.starts_with("- ") || after.starts_with("-\t") || after == "-";
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_owned()));
        }
        let body_start = if trim_before { 1 } else { 0 };
        let close = find_close(&after[body_start..])
            .ok_or_else(|| parse_err(offset + start, "unclosed action"))?;
        let mut body = &after[body_start..body_start + close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let lead = body.len() - body.trim_start().len();
        pieces.push(Piece::Action(RawAction {
            body: body.trim().to_owned(),
            pos: offset + start + 2 + body_start + lead,
        }));
        let consumed = start + 2 + body_start + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_owned()));
    }
    Ok(pieces)
}

/// Position of `}}` outside string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' && q == b'"' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i] == b'"' || b[i] == b'`' {
                    quote = Some(b[i]);
                } else if b[i] == b'}' && b.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Ident(String),
    Pipe,
    Open,
    Close,
    Comma,
    Declare,
}

pub(super) fn lex_action(body: &str, pos: usize) -> Res<Vec<(Tok, usize)>> {
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut i = 0;
    let path_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let (at, c) = chars[i];
        let here = pos + at;
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                toks.push((Tok::Pipe, here));
                i += 1;
            }
            '(' => {
                toks.push((Tok::Open, here));
                i += 1;
            }
            ')' => {
                toks.push((Tok::Close, here));
                i += 1;
            }
            ',' => {
                toks.push((Tok::Comma, here));
                i += 1;
            }
            ':' if chars.get(i + 1).map(|c| c.1) == Some('=') => {
                toks.push((Tok::Declare, here));
                i += 2;
            }
            '.' | '$' => {
                let mut j = i + 1;
                let mut var = String::new();
                if c == '$' {
                    while j < chars.len() && path_char(chars[j].1) {
                        var.push(chars[j].1);
                        j += 1;
                    }
                }
                let mut path = Vec::new();
                // `.` alone, or `.A.B`; after `$x`, optional `.A.B`.
                let mut k = if c == '.' { i } else { j };
                while k < chars.len() && chars[k].1 == '.' {
                    let mut name = String::new();
                    let mut m = k + 1;
                    while m < chars.len() && path_char(chars[m].1) {
                        name.push(chars[m].1);
                        m += 1;
                    }
                    if name.is_empty() {
                        if c == '.' && k == i && path.is_empty() {
                            k = m;
                            break;
                        }
                        return Err(parse_err(here, format!("bad field in {body:?}")));
                    }
                    path.push(name);
                    k = m;
                }
                toks.push((
                    if c == '.' {
                        Tok::Field(path)
                    } else {
                        Tok::Var(var, path)
                    },
                    here,
                ));
                i = k;
            }
            '"' | '`' => {
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch == c {
                        closed = true;
                        break;
                    }
                    if ch == '\\' && c == '"' {
                        j += 1;
                        match chars.get(j).map(|c| c.1) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(other) => s.push(other),
                            None => break,
                        }
                    } else {
                        s.push(ch);
                    }
                    j += 1;
                }
                if !closed {
                    return Err(parse_err(here, "unterminated quoted string"));
                }
                toks.push((Tok::Str(s), here));
                i = j + 1;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].1.is_ascii_digit() {
                    j += 1;
                }
                let text: String = chars[i..j].iter().map(|c| c.1).collect();
                let n = text
                    .parse::<i64>()
                    .map_err(|_| parse_err(here, format!("bad number syntax: {text:?}")))?;
                toks.push((Tok::Int(n), here));
                i = j;
            }
            c if path_char(c) => {
                let mut j = i;
                let mut name = String::new();
                while j < chars.len() && path_char(chars[j].1) {
                    name.push(chars[j].1);
                    j += 1;
                }
                toks.push((Tok::Ident(name), here));
                i = j;
            }
            other => return Err(parse_err(here, format!("unexpected {other:?} in command"))),
        }
    }
    Ok(toks)
}
