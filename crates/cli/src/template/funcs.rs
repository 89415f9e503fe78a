//! The template functions: Go's builtins that docker users write (`index`, `len`, `eq`,
//! `ne`, `not`, `and`, `or`, `print`, `println`) and those docker adds (`json`, `join`,
//! `split`, `upper`, `lower`, `title`, `pad`, `truncate`).

use super::eval::{exec_err, go_type, plain, print_value};
use super::parser::Pipeline;
use super::{parse_err, Res};
use crate::json::Value;

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

pub(super) fn call(name: &str, args: Vec<Value>, at: usize, p: &Pipeline) -> Res<Value> {
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
