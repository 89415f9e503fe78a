//! JSON as the docker CLI shows it: objects keep the daemon's key order (serde_json's map is
//! sorted and its `preserve_order` feature would change the image crate's canonical JSON, since
//! features unify across the workspace), `json` output escapes `<`, `>`, `&` as Go's encoder
//! does, and `inspect` re-indents the daemon's bytes without re-encoding them (docker uses
//! `json.Indent`, so escapes and number spellings survive).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    #[cfg_attr(not(test), allow(dead_code))] // tests read cells with it
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => None,
        }
    }

    pub fn as_array(&self) -> &[Value] {
        match self {
            Value::Array(items) => items,
            _ => &[],
        }
    }

    /// Truth as Go templates judge it (`{{if}}`): empty and zero values are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }

    /// `{{json .}}`: compact, with Go's HTML escaping.
    pub fn to_go_json(&self) -> String {
        let s = serde_json::to_string(self).unwrap_or_default();
        go_escape(&s)
    }

    pub fn object<I: IntoIterator<Item = (K, Value)>, K: Into<String>>(fields: I) -> Value {
        Value::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// Go's encoding/json escapes these even outside HTML; structural JSON never contains them,
/// so replacing them anywhere in serialized output only touches string contents.
pub fn go_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut fields: Vec<(String, Value)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    // A repeated key replaces the earlier value, as Go's decoder does.
                    match fields.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = v,
                        None => fields.push((k, v)),
                    }
                }
                Ok(Value::Object(fields))
            }
        }
        d.deserialize_any(V)
    }
}

/// Re-indents JSON text the way Go's `json.Indent(dst, src, "", indent)` does: the bytes of
/// strings and numbers are copied as they are, empty `[]`/`{}` stay on one line.
pub fn indent(src: &[u8], indent: &str) -> Result<String, String> {
    // Validate first so the copier below can assume well-formed input.
    serde_json::from_slice::<serde::de::IgnoredAny>(src).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Set after `[` or `{`: the newline is written only once we know the container is not empty.
    let mut pending_open = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    for &b in src {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        if pending_open {
            pending_open = false;
            if b == b']' || b == b'}' {
                depth -= 1;
                out.push(b);
                continue;
            }
            newline(&mut out, depth);
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'[' | b'{' => {
                out.push(b);
                depth += 1;
                pending_open = true;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_round_trips() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":[true,null,"x"],"c":{"z":1.5,"y":{}}}"#)
            .unwrap_or_default();
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"b":1,"a":[true,null,"x"],"c":{"z":1.5,"y":{}}}"#
        );
        assert_eq!(v.get("b").and_then(Value::as_i64), Some(1));
    }

    #[test]
    fn go_escaping() {
        let v = Value::from("<none>&");
        assert_eq!(v.to_go_json(), r#""\u003cnone\u003e\u0026""#);
    }

    #[test]
    fn indent_like_go() {
        let src = br#"[{"Id":"sha256:ab","RepoTags":["a:1","b:2"],"Empty":[],"E":{},"N":1.50,"S":"a,b:{\"x\u003c"}]"#;
        let want = "[\n    {\n        \"Id\": \"sha256:ab\",\n        \"RepoTags\": [\n            \"a:1\",\n            \"b:2\"\n        ],\n        \"Empty\": [],\n        \"E\": {},\n        \"N\": 1.50,\n        \"S\": \"a,b:{\\\"x\\u003c\"\n    }\n]";
        assert_eq!(indent(src, "    ").as_deref(), Ok(want));
        assert_eq!(indent(b"[]", "    ").as_deref(), Ok("[]"));
        assert!(indent(b"[{]", "    ").is_err());
    }
}
