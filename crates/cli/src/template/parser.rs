//! The parse tree (text, actions, `if`/`range`/`with` blocks; pipelines of commands over
//! operands) and the parser that builds it from the lexer's pieces and tokens.

use super::lexer::{lex_action, split_pieces, Piece, Tok};
use super::{parse_err, Res};

#[derive(Debug, Clone)]
pub(super) enum Operand {
    /// `.A.B` relative to dot (empty path is `.` itself).
    Field(Vec<String>, usize),
    /// `$name.A.B`; `$` is the root.
    Var(String, Vec<String>, usize),
    Str(String),
    Int(i64),
    Bool(bool),
    Ident(String, usize),
    Sub(Pipeline),
}

#[derive(Debug, Clone)]
pub(super) struct Command {
    pub(super) args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    /// `$k, $v :=` of a range, or `$x :=` of an action.
    pub(super) decl: Vec<String>,
    pub(super) cmds: Vec<Command>,
    pub(super) pos: usize,
    pub(super) text: String,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

struct ActionParser<'a> {
    toks: &'a [(Tok, usize)],
    i: usize,
    pos: usize,
}

impl ActionParser<'_> {
    fn pipeline(&mut self, text: &str, allow_decl: bool) -> Res<Pipeline> {
        let mut decl = Vec::new();
        if allow_decl {
            // `$v :=` or `$k, $v :=`
            let save = self.i;
            let mut names = Vec::new();
            while let Some((Tok::Var(name, path), _)) = self.toks.get(self.i) {
                if !path.is_empty() {
                    break;
                }
                names.push(format!("${name}"));
                self.i += 1;
                if let Some((Tok::Comma, _)) = self.toks.get(self.i) {
                    self.i += 1;
                    continue;
                }
                break;
            }
            if !names.is_empty() && matches!(self.toks.get(self.i), Some((Tok::Declare, _))) {
                self.i += 1;
                decl = names;
            } else {
                self.i = save;
            }
        }
        let mut cmds = Vec::new();
        loop {
            let mut args = Vec::new();
            while let Some((tok, at)) = self.toks.get(self.i) {
                let op = match tok {
                    Tok::Pipe | Tok::Close => break,
                    Tok::Field(p) => Operand::Field(p.clone(), *at),
                    Tok::Var(v, p) => Operand::Var(v.clone(), p.clone(), *at),
                    Tok::Str(s) => Operand::Str(s.clone()),
                    Tok::Int(n) => Operand::Int(*n),
                    Tok::Ident(name) if name == "true" || name == "false" => {
                        Operand::Bool(name == "true")
                    }
                    Tok::Ident(name) => Operand::Ident(name.clone(), *at),
                    Tok::Open => {
                        self.i += 1;
                        let sub = self.pipeline(text, false)?;
                        if !matches!(self.toks.get(self.i), Some((Tok::Close, _))) {
                            return Err(parse_err(*at, "unclosed left paren"));
                        }
                        Operand::Sub(sub)
                    }
                    Tok::Comma | Tok::Declare => {
                        return Err(parse_err(*at, format!("unexpected token in {text:?}")))
                    }
                };
                args.push(op);
                self.i += 1;
            }
            if args.is_empty() {
                return Err(parse_err(
                    self.pos,
                    format!("missing value for command in {text:?}"),
                ));
            }
            cmds.push(Command { args });
            match self.toks.get(self.i) {
                Some((Tok::Pipe, _)) => self.i += 1,
                _ => break,
            }
        }
        Ok(Pipeline {
            decl,
            cmds,
            pos: self.pos,
            text: text.to_owned(),
        })
    }
}

fn parse_pipeline(body: &str, pos: usize, allow_decl: bool) -> Res<Pipeline> {
    let toks = lex_action(body, pos)?;
    let mut p = ActionParser {
        toks: &toks,
        i: 0,
        pos,
    };
    let pipe = p.pipeline(body, allow_decl)?;
    if p.i != toks.len() {
        return Err(parse_err(pos, format!("unexpected token in {body:?}")));
    }
    Ok(pipe)
}

enum Stop {
    End,
    Else,
    Eof,
}

fn parse_nodes(
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
) -> Res<(Vec<Node>, Stop)> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        let action = match piece {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action(a) => a,
        };
        let body = action.body.as_str();
        if body.starts_with("/*") {
            continue;
        }
        let (word, rest) = match body.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim_start()),
            None => (body, ""),
        };
        let rest_pos = action.pos + (body.len() - rest.len());
        match word {
            "end" => return Ok((nodes, Stop::End)),
            "else" => return Ok((nodes, Stop::Else)),
            "if" | "range" | "with" => {
                let pipe = parse_pipeline(rest, rest_pos, word == "range")?;
                let (then, stop) = parse_nodes(pieces)?;
                let els = match stop {
                    Stop::End => Vec::new(),
                    Stop::Else => match parse_nodes(pieces)? {
                        (els, Stop::End) => els,
                        _ => {
                            return Err(parse_err(action.pos, format!("unexpected EOF in {word}")))
                        }
                    },
                    Stop::Eof => {
                        return Err(parse_err(action.pos, format!("unexpected EOF in {word}")))
                    }
                };
                nodes.push(match word {
                    "if" => Node::If(pipe, then, els),
                    "range" => Node::Range(pipe, then, els),
                    _ => Node::With(pipe, then, els),
                });
            }
            _ => nodes.push(Node::Action(parse_pipeline(body, action.pos, true)?)),
        }
    }
    Ok((nodes, Stop::Eof))
}

/// The template's nodes; a stray `{{end}}` or `{{else}}` is an error.
pub(super) fn parse(src: &str) -> Res<Vec<Node>> {
    let mut pieces = split_pieces(src)?.into_iter().peekable();
    match parse_nodes(&mut pieces)? {
        (nodes, Stop::Eof) => Ok(nodes),
        (_, Stop::End) => Err(parse_err(0, "unexpected {{end}}")),
        (_, Stop::Else) => Err(parse_err(0, "unexpected {{else}}")),
    }
}
