//! `--format`: the subset of Go's text/template that docker users write, and docker's tables.
//!
//! Supported: text, `{{.A.B}}`, `{{.}}`, `{{json .X}}`, pipes (`{{.X | json}}`), parentheses,
//! strings and integers, `$` and range variables (`{{range $k, $v := .Labels}}`), `if`/`else`/
//! `range`/`with`/`end`, `{{- -}}` trimming, and the functions docker adds (`json`, `join`,
//! `split`, `upper`, `lower`, `title`, `pad`, `truncate`) plus `index`, `len`, `eq`, `ne`,
//! `not`, `and`, `or`, `print`, `println`. Values are JSON ([`Value`]); the object printed
//! for a missing key is an error, as `docker inspect` has it.
//!
//! Formats: `""` → the command's default table, `table …` → a table whose header comes from the
//! command's header names, `json` → `{{json .}}` per line, anything else → one line per item.

use std::fmt::Write as _;

use crate::json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

type Res<T> = Result<T, TemplateError>;

fn parse_err(pos: usize, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError(format!("template parsing error: template: :1:{pos}: {msg}"))
}

#[derive(Debug, Clone)]
enum Operand {
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
struct Command {
    args: Vec<Operand>,
}

#[derive(Debug, Clone)]
struct Pipeline {
    /// `$k, $v :=` of a range, or `$x :=` of an action.
    decl: Vec<String>,
    cmds: Vec<Command>,
    pos: usize,
    text: String,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

// ---- lexing the template into text and actions ----

struct RawAction {
    body: String,
    /// Byte offset of the body in the template, for error messages like Go's.
    pos: usize,
}

enum Piece {
    Text(String),
    Action(RawAction),
}

fn split_pieces(src: &str) -> Res<Vec<Piece>> {
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

// ---- parsing one action ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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

fn lex_action(body: &str, pos: usize) -> Res<Vec<(Tok, usize)>> {
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

impl Template {
    pub fn parse(src: &str) -> Res<Template> {
        let mut pieces = split_pieces(src)?.into_iter().peekable();
        match parse_nodes(&mut pieces)? {
            (nodes, Stop::Eof) => Ok(Template { nodes }),
            (_, Stop::End) => Err(parse_err(0, "unexpected {{end}}")),
            (_, Stop::Else) => Err(parse_err(0, "unexpected {{else}}")),
        }
    }

    pub fn execute(&self, data: &Value) -> Res<String> {
        let mut out = String::new();
        let mut vars = vec![("$".to_owned(), data.clone())];
        exec_nodes(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }

    /// [`Template::execute`] for a list row (images, ps, history…): in docker such a row is
    /// a Go type with its own MarshalJSON, so `{{json .}}` keeps Go's HTML escaping.
    pub fn execute_row(&self, data: &Value) -> Res<String> {
        let mut out = String::new();
        let mut vars = vec![
            ("$".to_owned(), data.clone()),
            (ROW_MARKER.to_owned(), Value::Null),
        ];
        exec_nodes(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }
}

// ---- execution ----

fn exec_err(pipe_pos: usize, at: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError(format!(
        "template parsing error: template: :1:{pipe_pos}: executing \"\" at <{at}>: {msg}"
    ))
}

type Vars = Vec<(String, Value)>;

/// Not a name a template can write (`$` is followed by letters): marks a list row's root.
const ROW_MARKER: &str = "$ row";

fn marshals_root(vars: &Vars, v: &Value) -> bool {
    vars.iter().any(|(k, _)| k == ROW_MARKER) && vars.first().is_some_and(|(_, root)| root == v)
}

fn exec_nodes(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Res<()> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval_pipeline(p, dot, vars)?;
                if p.decl.is_empty() {
                    print_value(out, &v, null_hint(p));
                } else {
                    for name in &p.decl {
                        vars.push((name.clone(), v.clone()));
                    }
                }
            }
            Node::If(p, then, els) => {
                let v = eval_pipeline(p, dot, vars)?;
                let branch = if v.truthy() { then } else { els };
                exec_scoped(branch, dot, vars, out)?;
            }
            Node::With(p, then, els) => {
                let v = eval_pipeline(p, dot, vars)?;
                if v.truthy() {
                    exec_scoped(then, &v, vars, out)?;
                } else {
                    exec_scoped(els, dot, vars, out)?;
                }
            }
            Node::Range(p, body, els) => {
                let v = eval_pipeline(p, dot, vars)?;
                let items: Vec<(Value, Value)> = match &v {
                    Value::Array(a) => a
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (Value::Number((i as u64).into()), x.clone()))
                        .collect(),
                    Value::Object(o) => {
                        // Go ranges over a map in key order.
                        let mut fields = o.clone();
                        fields.sort_by(|a, b| a.0.cmp(&b.0));
                        fields
                            .into_iter()
                            .map(|(k, x)| (Value::String(k), x))
                            .collect()
                    }
                    Value::Null => Vec::new(),
                    other => {
                        return Err(exec_err(
                            p.pos,
                            &p.text,
                            format!("range can't iterate over {}", plain(other)),
                        ))
                    }
                };
                if items.is_empty() {
                    exec_scoped(els, dot, vars, out)?;
                }
                for (key, item) in items {
                    let depth = vars.len();
                    match p.decl.as_slice() {
                        [v] => vars.push((v.clone(), item.clone())),
                        [k, v] => {
                            vars.push((k.clone(), key));
                            vars.push((v.clone(), item.clone()));
                        }
                        _ => {}
                    }
                    exec_nodes(body, &item, vars, out)?;
                    vars.truncate(depth);
                }
            }
        }
    }
    Ok(())
}

fn exec_scoped(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Res<()> {
    let depth = vars.len();
    let r = exec_nodes(nodes, dot, vars, out);
    vars.truncate(depth);
    r
}

fn walk(mut v: &Value, path: &[String], pos: usize, at: &str) -> Res<Value> {
    for name in path {
        v = match v {
            Value::Object(fields) => v
                .get(name)
                // docker evaluates templates on its Go types first, whose field names differ
                // from the JSON keys only in case (`.ID` for "Id", `.APIVersion` for "ApiVersion").
                .or_else(|| {
                    fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, x)| x)
                })
                .ok_or_else(|| exec_err(pos, at, format!("map has no entry for key {name:?}")))?,
            Value::Null => {
                return Err(exec_err(
                    pos,
                    at,
                    format!("nil pointer evaluating interface {{}}.{name}"),
                ))
            }
            other => {
                return Err(exec_err(
                    pos,
                    at,
                    format!("can't evaluate field {name} in type {}", go_type(other)),
                ))
            }
        };
    }
    Ok(v.clone())
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "interface {}",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn eval_operand(op: &Operand, dot: &Value, vars: &Vars, pipe: &Pipeline) -> Res<Value> {
    match op {
        Operand::Field(path, at) => {
            let text = format!(".{}", path.join("."));
            walk(dot, path, *at, &text)
        }
        Operand::Var(name, path, at) => {
            let key = format!("${name}");
            let base = vars
                .iter()
                .rev()
                .find(|(n, _)| *n == key || (name.is_empty() && n == "$"))
                .map(|(_, v)| v)
                .ok_or_else(|| parse_err(*at, format!("undefined variable \"{key}\"")))?;
            walk(base, path, *at, &key)
        }
        Operand::Str(s) => Ok(Value::String(s.clone())),
        Operand::Int(n) => Ok(Value::Number((*n).into())),
        Operand::Bool(b) => Ok(Value::Bool(*b)),
        Operand::Ident(name, at) => call(name, Vec::new(), *at, pipe),
        Operand::Sub(p) => eval_pipeline(p, dot, vars),
    }
}

fn eval_pipeline(p: &Pipeline, dot: &Value, vars: &Vars) -> Res<Value> {
    let mut piped: Option<Value> = None;
    for cmd in &p.cmds {
        let value = match cmd.args.first() {
            Some(Operand::Ident(name, at)) => {
                let mut args = Vec::new();
                for a in &cmd.args[1..] {
                    args.push(eval_operand(a, dot, vars, p)?);
                }
                args.extend(piped.take());
                if name == "json" && args.len() == 1 && marshals_root(vars, &args[0]) {
                    // A list row is a Go type with MarshalJSON, whose output keeps
                    // encoding/json's HTML escaping; the `json` function itself does not
                    // escape (docker sets SetEscapeHTML(false)).
                    Value::String(args[0].to_go_json())
                } else {
                    call(name, args, *at, p)?
                }
            }
            Some(op) => {
                if cmd.args.len() > 1 || piped.is_some() {
                    return Err(exec_err(
                        p.pos,
                        &p.text,
                        "can't give argument to non-function",
                    ));
                }
                eval_operand(op, dot, vars, p)?
            }
            None => Value::Null,
        };
        piped = Some(value);
    }
    Ok(piped.unwrap_or_default())
}

fn arity(name: &str, args: &[Value], want: usize, at: usize, p: &Pipeline) -> Res<()> {
    if args.len() == want {
        Ok(())
    } else {
        Err(exec_err(
            at,
            &p.text,
            format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            ),
        ))
    }
}

fn call(name: &str, args: Vec<Value>, at: usize, p: &Pipeline) -> Res<Value> {
    let s = |v: &Value| plain(v);
    Ok(match name {
        "json" => {
            arity(name, &args, 1, at, p)?;
            Value::String(serde_json::to_string(&args[0]).unwrap_or_default())
        }
        "upper" => {
            arity(name, &args, 1, at, p)?;
            Value::String(s(&args[0]).to_uppercase())
        }
        "lower" => {
            arity(name, &args, 1, at, p)?;
            Value::String(s(&args[0]).to_lowercase())
        }
        "title" => {
            arity(name, &args, 1, at, p)?;
            let mut out = String::new();
            let mut start = true;
            for c in s(&args[0]).chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric();
            }
            Value::String(out)
        }
        "join" => {
            arity(name, &args, 2, at, p)?;
            let parts: Vec<String> = args[0].as_array().iter().map(plain).collect();
            Value::String(parts.join(&s(&args[1])))
        }
        "split" => {
            arity(name, &args, 2, at, p)?;
            let sep = s(&args[1]);
            let text = s(&args[0]);
            Value::Array(text.split(sep.as_str()).map(Value::from).collect())
        }
        "pad" => {
            arity(name, &args, 3, at, p)?;
            let l = args[1].as_i64().unwrap_or(0).max(0) as usize;
            let r = args[2].as_i64().unwrap_or(0).max(0) as usize;
            Value::String(format!("{}{}{}", " ".repeat(l), s(&args[0]), " ".repeat(r)))
        }
        "truncate" => {
            arity(name, &args, 2, at, p)?;
            let n = args[1].as_i64().unwrap_or(0).max(0) as usize;
            Value::String(s(&args[0]).chars().take(n).collect())
        }
        "len" => {
            arity(name, &args, 1, at, p)?;
            let n = match &args[0] {
                Value::String(x) => x.len(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                Value::Null => 0,
                other => {
                    return Err(exec_err(
                        at,
                        &p.text,
                        format!("len of type {}", go_type(other)),
                    ))
                }
            };
            Value::Number((n as u64).into())
        }
        "index" => {
            let mut it = args.into_iter();
            let mut v = it.next().unwrap_or_default();
            for key in it {
                v = match (&v, &key) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().unwrap_or(u64::MAX) as usize;
                        a.get(i).cloned().ok_or_else(|| {
                            exec_err(
                                at,
                                &p.text,
                                format!("error calling index: index out of range: {i}"),
                            )
                        })?
                    }
                    (Value::Object(_), Value::String(k)) => v.get(k).cloned().unwrap_or_default(),
                    (Value::Null, _) => Value::Null,
                    _ => {
                        return Err(exec_err(
                            at,
                            &p.text,
                            format!("error calling index: cannot index {}", go_type(&v)),
                        ))
                    }
                };
            }
            v
        }
        "eq" | "ne" => {
            if args.len() < 2 {
                return Err(exec_err(
                    at,
                    &p.text,
                    format!("missing arguments for {name}"),
                ));
            }
            let hit = args[1..].iter().any(|b| values_equal(&args[0], b));
            Value::Bool(if name == "eq" { hit } else { !hit })
        }
        "not" => {
            arity(name, &args, 1, at, p)?;
            Value::Bool(!args[0].truthy())
        }
        "and" => args
            .iter()
            .find(|v| !v.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or_default(),
        "or" => args
            .iter()
            .find(|v| v.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or_default(),
        "print" | "println" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                // Go's fmt.Sprint adds spaces only between operands that are not strings.
                let sep = name == "println"
                    || (i > 0
                        && !matches!(a, Value::String(_))
                        && !matches!(args[i - 1], Value::String(_)));
                if i > 0 && sep {
                    out.push(' ');
                }
                print_value(&mut out, a, None);
            }
            if name == "println" {
                out.push('\n');
            }
            Value::String(out)
        }
        other => {
            return Err(parse_err(at, format!("function {other:?} not defined")));
        }
    })
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// For a pipeline that is just `.Field`, the field name: docker's typed structs print a null
/// slice as `[]`, a null map as `map[]` and a null pointer as `<nil>`; the JSON alone cannot
/// tell these apart, so the well-known map and pointer fields are named here.
fn null_hint(p: &Pipeline) -> Option<&str> {
    match p.cmds.as_slice() {
        [Command { args }] => match args.as_slice() {
            [Operand::Field(path, _)] | [Operand::Var(_, path, _)] => {
                path.last().map(String::as_str)
            }
            _ => None,
        },
        _ => None,
    }
}

fn null_text(hint: Option<&str>) -> &'static str {
    match hint {
        Some(
            "Labels" | "Volumes" | "ExposedPorts" | "Options" | "Data" | "Annotations"
            | "DriverOpts" | "Ports" | "Networks" | "Sysctls" | "StorageOpt",
        ) => "map[]",
        Some("Healthcheck" | "State" | "HostConfig" | "NetworkSettings" | "Metadata") => "<nil>",
        Some(_) => "[]",
        None => "<no value>",
    }
}

/// Go's `%v` for the decoded JSON.
fn print_value(out: &mut String, v: &Value, hint: Option<&str>) {
    match v {
        Value::Null => out.push_str(null_text(hint)),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(out, item, Some(""));
            }
            out.push(']');
        }
        Value::Object(fields) => {
            let mut sorted: Vec<&(String, Value)> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push_str("map[");
            for (i, (k, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print_value(out, item, Some(k));
            }
            out.push(']');
        }
    }
}

fn plain(v: &Value) -> String {
    let mut s = String::new();
    print_value(&mut s, v, None);
    s
}

// ---- docker's format kinds and tables ----

pub enum Kind {
    Table(String),
    Json,
    Raw(String),
}

/// docker's `Format.IsTable`/`IsJSON` plus `preFormat`: `\t` and `\n` in the format are
/// the escapes, not the two characters.
pub fn kind(format: &str, default_table: &str) -> Kind {
    let format = if format.is_empty() {
        default_table
    } else {
        format
    };
    if format.trim() == "json" {
        return Kind::Json;
    }
    let unescape = |s: &str| s.trim().replace("\\t", "\t").replace("\\n", "\n");
    match format.strip_prefix("table") {
        Some("") => Kind::Table(unescape(
            default_table.strip_prefix("table").unwrap_or(default_table),
        )),
        Some(rest) => Kind::Table(unescape(rest)),
        None => Kind::Raw(unescape(format)),
    }
}

/// Renders list items: a table with a header line (names from `headers`, field → header),
/// `json` lines, or one template line per item.
pub fn render(
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    items: &[Value],
) -> Res<String> {
    match kind(format, default_table) {
        Kind::Json => {
            let mut out = String::new();
            for item in items {
                out.push_str(&item.to_go_json());
                out.push('\n');
            }
            Ok(out)
        }
        Kind::Raw(src) => {
            let t = Template::parse(&src)?;
            let mut out = String::new();
            for item in items {
                out.push_str(&t.execute_row(item)?);
                out.push('\n');
            }
            Ok(out)
        }
        Kind::Table(src) => {
            let t = Template::parse(&src)?;
            let header = Value::object(headers.iter().map(|(k, h)| (*k, Value::from(*h))));
            let mut lines = Vec::with_capacity(items.len() + 1);
            // Header cells for fields without a name are left empty, as docker's header map does.
            lines.push(t.execute_lenient(&header));
            for item in items {
                lines.push(t.execute_row(item)?);
            }
            Ok(tabwrite(&lines.join("\n")))
        }
    }
}

impl Template {
    fn execute_lenient(&self, data: &Value) -> String {
        let mut out = String::new();
        let mut vars = vec![("$".to_owned(), data.clone())];
        let nodes: Vec<Node> = self
            .nodes
            .iter()
            .map(|n| match n {
                Node::Action(p) if !header_known(p, data) => Node::Text(String::new()),
                other => other.clone(),
            })
            .collect();
        let _ = exec_nodes(&nodes, data, &mut vars, &mut out);
        out
    }
}

fn header_known(p: &Pipeline, header: &Value) -> bool {
    match p.cmds.as_slice() {
        [Command { args }] => match args.as_slice() {
            [Operand::Field(path, _)] if path.len() == 1 => header.get(&path[0]).is_some(),
            _ => false,
        },
        _ => false,
    }
}

/// Go's `tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)` as docker uses it: a tab ends a cell,
/// a column is as wide as its widest cell plus 3 (at least 10), the last cell of a line is
/// not padded, and a column block ends at a line that has fewer cells.
pub fn tabwrite(text: &str) -> String {
    tabwrite_min(text, 10)
}

/// [`tabwrite`] with another minimum cell width (`docker top` uses 20).
pub fn tabwrite_min(text: &str, min: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<Vec<usize>> = lines
        .iter()
        .map(|l| vec![0; l.len().saturating_sub(1)])
        .collect();
    let max_cols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    for col in 0..max_cols {
        let mut start = 0;
        while start < lines.len() {
            if lines[start].len() <= col + 1 {
                start += 1;
                continue;
            }
            let mut end = start;
            let mut w = 0;
            while end < lines.len() && lines[end].len() > col + 1 {
                w = w.max(lines[end][col].chars().count() + 3);
                end += 1;
            }
            let w = w.max(min);
            for row in widths.iter_mut().take(end).skip(start) {
                row[col] = w;
            }
            start = end;
        }
    }
    let mut out = String::new();
    for (line, width) in lines.iter().zip(&widths) {
        for (i, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = width.get(i) {
                let n = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
            }
        }
        // Go's tabwriter trims nothing, but docker's rows never end in a tab; keep lines exact.
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn run(t: &str, data: &str) -> Res<String> {
        Template::parse(t)?.execute(&v(data))
    }

    #[test]
    fn fields_and_json() {
        let d = r#"{"ID":"abc","Config":{"Cmd":["/bin/sh","-c"],"Env":null,"Labels":null},"Size":1985650,"R":{"Type":"layers","Layers":["x"]}}"#;
        assert_eq!(run("{{.ID}}", d).unwrap(), "abc");
        assert_eq!(run("{{.Config.Cmd}}", d).unwrap(), "[/bin/sh -c]");
        assert_eq!(
            run("{{.Config.Env}}|{{.Config.Labels}}", d).unwrap(),
            "[]|map[]"
        );
        assert_eq!(run("{{.Size}}", d).unwrap(), "1985650");
        assert_eq!(
            run("{{json .R}}", d).unwrap(),
            r#"{"Type":"layers","Layers":["x"]}"#
        );
        assert_eq!(
            run("{{.R | json}}", d).unwrap(),
            r#"{"Type":"layers","Layers":["x"]}"#
        );
        assert_eq!(run("{{json .Config.Env}}", d).unwrap(), "null");
        // A list row marshals itself with Go's HTML escaping; the json function does not.
        let row = v(r#"{"a":"<none>"}"#);
        assert_eq!(
            Template::parse("{{json .}} {{json .a}}")
                .unwrap()
                .execute_row(&row)
                .unwrap(),
            r#"{"a":"\u003cnone\u003e"} "<none>""#
        );
        assert_eq!(
            run("{{json .}}", r#"{"a":"<none>"}"#).unwrap(),
            r#"{"a":"<none>"}"#
        );
        assert_eq!(run("{{.}}", r#""x""#).unwrap(), "x");
        assert_eq!(
            run(
                "{{.ID}} {{.Server.APIVersion}}",
                r#"{"Id":"a","Server":{"ApiVersion":"1.41"}}"#
            )
            .unwrap(),
            "a 1.41"
        );
    }

    #[test]
    fn missing_key_is_an_error_like_docker() {
        let e = run("{{.Config.Cmd}} {{.Nope}}", r#"{"Config":{"Cmd":null}}"#).unwrap_err();
        assert_eq!(
            e.0,
            r#"template parsing error: template: :1:18: executing "" at <.Nope>: map has no entry for key "Nope""#
        );
    }

    #[test]
    fn control_flow_and_functions() {
        let d = r#"{"Tags":["a:1","b:2"],"Os":"linux","Parent":"","L":{"z":"1","a":"2"},"N":0}"#;
        assert_eq!(
            run("{{range .Tags}}<{{.}}>{{end}}", d).unwrap(),
            "<a:1><b:2>"
        );
        assert_eq!(
            run("{{index .Tags 1}} {{upper .Os}} {{len .Tags}}", d).unwrap(),
            "b:2 LINUX 2"
        );
        assert_eq!(run("{{join .Tags \",\"}}", d).unwrap(), "a:1,b:2");
        assert_eq!(run("{{if .Parent}}p{{else}}np{{end}}", d).unwrap(), "np");
        assert_eq!(
            run("{{range $k, $v := .L}}{{$k}}={{$v}};{{end}}", d).unwrap(),
            "a=2;z=1;"
        );
        assert_eq!(run("{{with .L}}{{.a}}{{end}}", d).unwrap(), "2");
        assert_eq!(run("{{if eq .Os \"linux\"}}yes{{end}}", d).unwrap(), "yes");
        assert_eq!(run("{{.L}}", d).unwrap(), "map[a:2 z:1]");
        assert_eq!(run("  {{- .Os -}}  !", d).unwrap(), "linux!");
        assert_eq!(run("{{title \"hello world\"}}", d).unwrap(), "Hello World");
        assert_eq!(run("{{json (index .Tags 0)}}", d).unwrap(), "\"a:1\"");
        assert_eq!(run("{{$.Os}}", d).unwrap(), "linux");
        assert_eq!(
            run("{{range .Tags}}{{$.Os}}{{end}}", d).unwrap(),
            "linuxlinux"
        );
    }

    #[test]
    fn parse_errors() {
        assert!(Template::parse("{{.ID").is_err());
        assert!(Template::parse("{{if .X}}a").is_err());
        assert!(Template::parse("{{end}}").is_err());
        assert!(run("{{nosuch .X}}", "{}").is_err());
        assert!(run("{{.X}}", r#"{"X":"a"}"#).is_ok());
    }

    #[test]
    fn tables_like_docker() {
        let rows = vec![
            v(
                r#"{"Repository":"busybox","Tag":"latest","ID":"5e72c6dd051f","CreatedSince":"2 hours ago","Size":"1.99MB"}"#,
            ),
            v(
                r#"{"Repository":"foo","Tag":"1","ID":"5e72c6dd051f","CreatedSince":"2 hours ago","Size":"1.99MB"}"#,
            ),
        ];
        let headers = [
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("CreatedSince", "CREATED"),
            ("Size", "SIZE"),
        ];
        let table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
        let out = render("", table, &headers, &rows).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             busybox      latest    5e72c6dd051f   2 hours ago   1.99MB\n\
             foo          1         5e72c6dd051f   2 hours ago   1.99MB\n"
        );
        let out = render(
            "table {{.Repository}}\\t{{.Other}}",
            table,
            &headers,
            &rows[..0],
        )
        .unwrap();
        assert_eq!(out, "REPOSITORY   \n");
        let out = render("{{.Repository}}:{{.Tag}}", table, &headers, &rows).unwrap();
        assert_eq!(out, "busybox:latest\nfoo:1\n");
        let out = render("json", table, &headers, &rows[1..]).unwrap();
        assert_eq!(
            out,
            "{\"Repository\":\"foo\",\"Tag\":\"1\",\"ID\":\"5e72c6dd051f\",\"CreatedSince\":\"2 hours ago\",\"Size\":\"1.99MB\"}\n"
        );
        assert!(render("{{.Nope}}", table, &headers, &rows).is_err());
    }
}
