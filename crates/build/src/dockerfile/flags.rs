//! An instruction's `--flag` words checked against the flags it takes, as BuildKit's
//! `BFlags`: `--name=value` for strings (repeatable ones like `--mount` collect every
//! value), `--name` or `--name=true|false` for booleans; an unknown flag, a repeated
//! non-repeatable one or a missing value is an error naming the flag.

use std::collections::BTreeMap;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    String,
    /// Repeatable: `--mount=… --mount=…`.
    Strings,
}

/// The flags given, by name.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `raw` (the `--…` words as the line gave them) against `allowed`.
    pub fn parse(raw: &[String], allowed: &[(&'static str, Kind)]) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for word in raw {
            let Some(body) = word.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {word}"));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(key, kind)) = allowed.iter().find(|(n, _)| *n == name) else {
                return Err(format!("unknown flag: {name}"));
            };
            let seen = flags.values.entry(key).or_default();
            if !seen.is_empty() && kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {name}"));
            }
            match kind {
                Kind::Bool => {
                    let v = match value {
                        Some("") => return Err(format!("missing a value on flag: {name}")),
                        None => "true".to_string(),
                        Some(v) => match v.to_ascii_lowercase().as_str() {
                            "true" => "true".to_string(),
                            "false" => "false".to_string(),
                            _ => {
                                return Err(format!(
                                    "expecting boolean value for flag {name}, not: {v}"
                                ))
                            }
                        },
                    };
                    seen.push(v);
                }
                Kind::String | Kind::Strings => match value {
                    Some(v) => seen.push(v.to_string()),
                    None => return Err(format!("missing a value on flag: {name}")),
                },
            }
        }
        Ok(flags)
    }

    /// A string flag's value, `None` when not given.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    /// A boolean flag: given without `=false`.
    pub fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|v| v == "true")
    }

    /// Every value of a repeatable flag, in order.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}
