//! Executing a parse tree over a JSON value: fields (matched case-insensitively as docker's Go
//! types are), variables, pipelines, control flow, and printing values as Go's `%v` does.

use std::fmt::Write as _;

use super::funcs::call;
use super::parser::{Command, Node, Operand, Pipeline};
use super::{parse_err, Res, TemplateError};
use crate::json::Value;

pub(super) fn exec_err(pipe_pos: usize, at: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError(format!(
        "template parsing error: template: :1:{pipe_pos}: executing \"\" at <{at}>: {msg}"
    ))
}

pub(super) type Vars = Vec<(String, Value)>;

/// Not a name a template can write (`$` is followed by letters): marks a list row's root.
pub(super) const ROW_MARKER: &str = "$ row";

fn marshals_root(vars: &Vars, v: &Value) -> bool {
    vars.iter().any(|(k, _)| k == ROW_MARKER) && vars.first().is_some_and(|(_, root)| root == v)
}

pub(super) fn exec_nodes(
    nodes: &[Node],
    dot: &Value,
    vars: &mut Vars,
    out: &mut String,
) -> Res<()> {
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

/// Pointer fields of docker's types that dockerd leaves out of the JSON when nil
/// (`omitempty`): on docker's typed structs they still evaluate, to nil.
const OMITTED_POINTERS: &[&str] = &["Health", "Healthcheck"];
static NULL: Value = Value::Null;

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
                .or_else(|| OMITTED_POINTERS.contains(&name.as_str()).then_some(&NULL))
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

pub(super) fn go_type(v: &Value) -> &'static str {
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
        Some(
            "Health" | "Healthcheck" | "State" | "HostConfig" | "NetworkSettings" | "Metadata",
        ) => "<nil>",
        Some(_) => "[]",
        None => "<no value>",
    }
}

/// Go's `%v` for the decoded JSON.
pub(super) fn print_value(out: &mut String, v: &Value, hint: Option<&str>) {
    match v {
        Value::Null => out.push_str(null_text(hint)),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => match (hint, n.as_i64()) {
            // Go's time.Duration fields (a health check's) print as durations.
            (Some("Interval" | "Timeout" | "StartPeriod" | "StartInterval"), Some(ns))
                if ns >= 0 =>
            {
                out.push_str(&muelle_types::duration::format_go_duration(
                    std::time::Duration::from_nanos(ns as u64),
                ));
            }
            _ => {
                let _ = write!(out, "{n}");
            }
        },
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

pub(super) fn plain(v: &Value) -> String {
    let mut s = String::new();
    print_value(&mut s, v, None);
    s
}

pub(super) fn header_known(p: &Pipeline, header: &Value) -> bool {
    match p.cmds.as_slice() {
        [Command { args }] => match args.as_slice() {
            [Operand::Field(path, _)] if path.len() == 1 => header.get(&path[0]).is_some(),
            _ => false,
        },
        _ => false,
    }
}
