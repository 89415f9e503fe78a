//! `RUN --mount=…` in BuildKit's syntax: a CSV list of `key=value` fields (bare
//! `readonly`/`ro`/`rw`/`required` allowed), `type` cache|bind|secret|tmpfs (bind when
//! left out), values substituted with the stage's variables, keys read in order as
//! BuildKit reads them, defaults filled in (bind read-only, cache sharing `shared`, secret
//! target `/run/secrets/<id>` mode 0400), a relative target taken from WORKDIR. Errors
//! name the offending key or value in BuildKit's words.

use super::config::clean_path;
use super::error::DispatchError;
use super::expand::{self, Lookup};

/// One `RUN --mount`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    Cache {
        target: String,
        /// `None`: the target is the cache's id.
        id: Option<String>,
        /// shared, private or locked.
        sharing: String,
        from: Option<String>,
        source: Option<String>,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        readonly: bool,
    },
    Bind {
        target: String,
        /// A stage or image; `None`: the build context.
        from: Option<String>,
        /// Absolute in `from`'s tree (`/` when left out).
        source: String,
        /// Read-only unless `rw`.
        readonly: bool,
    },
    Secret {
        id: String,
        target: String,
        required: bool,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
}

/// The fields as read, before defaults.
#[derive(Default)]
struct Raw {
    kind: String,
    from: Option<String>,
    source: Option<String>,
    target: Option<String>,
    readonly: Option<bool>,
    required: bool,
    id: Option<String>,
    sharing: Option<String>,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
}

impl RunMount {
    /// Parses one `--mount` value; `workdir` resolves a relative target, `lookup` and
    /// `escape` substitute variables in the values.
    pub fn parse(
        value: &str,
        workdir: &str,
        lookup: Lookup<'_>,
        escape: char,
    ) -> Result<RunMount, DispatchError> {
        let bad = |m: String| DispatchError::Mount(m);
        let fields =
            csv_fields(value).map_err(|e| bad(format!("failed to parse csv mounts: {e}")))?;
        let mut m = Raw {
            kind: "bind".into(),
            ..Raw::default()
        };
        for field in &fields {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
                None => (field.to_ascii_lowercase(), None),
            };
            let unexpected_for_type = || {
                bad(format!(
                    "unexpected key '{key}' for mount type '{}'",
                    m.kind
                ))
            };
            let Some(raw_value) = value else {
                match key.as_str() {
                    "readonly" | "ro" => m.readonly = Some(true),
                    "readwrite" | "rw" => m.readonly = Some(false),
                    "required" if m.kind == "secret" => m.required = true,
                    "required" => return Err(unexpected_for_type()),
                    _ => {
                        return Err(bad(format!(
                            "invalid field '{field}' must be a key=value pair"
                        )))
                    }
                }
                continue;
            };
            let v = expand::word(raw_value, escape, lookup)?;
            let invalid = || bad(format!("invalid value for {key}: {v}"));
            match key.as_str() {
                "type" => {
                    let t = v.to_ascii_lowercase();
                    match t.as_str() {
                        "bind" | "cache" | "tmpfs" | "secret" => m.kind = t,
                        "ssh" => return Err(bad("mount type \"ssh\" is not supported".into())),
                        _ => return Err(bad(format!("unsupported mount type \"{v}\""))),
                    }
                }
                "from" => m.from = Some(v),
                "source" | "src" => m.source = Some(v),
                "target" | "dst" | "destination" => m.target = Some(v),
                "readonly" | "ro" => m.readonly = Some(go_bool(&v).ok_or_else(invalid)?),
                "readwrite" | "rw" => m.readonly = Some(!go_bool(&v).ok_or_else(invalid)?),
                "required" if m.kind == "secret" => m.required = go_bool(&v).ok_or_else(invalid)?,
                "required" => return Err(unexpected_for_type()),
                "size" if m.kind == "tmpfs" => m.size = Some(ram_in_bytes(&v).ok_or_else(invalid)?),
                "size" => return Err(unexpected_for_type()),
                "id" => m.id = Some(v),
                "sharing" if m.kind == "cache" => m.sharing = Some(v.to_ascii_lowercase()),
                "sharing" => return Err(unexpected_for_type()),
                "mode" => {
                    m.mode = Some(
                        u32::from_str_radix(&v, 8)
                            .ok()
                            .filter(|_| !v.starts_with(['+', '-']))
                            .ok_or_else(|| bad(format!("invalid value {v} for mode")))?,
                    )
                }
                "uid" | "gid" => {
                    let n = Some(&v)
                        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|s| s.parse::<u32>().ok())
                        .ok_or_else(|| bad(format!("invalid value {v} for {key}")))?;
                    if key == "uid" {
                        m.uid = Some(n);
                    } else {
                        m.gid = Some(n);
                    }
                }
                _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
            }
        }
        m.finish(workdir)
    }
}

impl Raw {
    fn finish(self, workdir: &str) -> Result<RunMount, DispatchError> {
        let bad = |m: String| DispatchError::Mount(m);
        if !matches!(self.kind.as_str(), "secret" | "cache") {
            for (key, set) in [
                ("mode", self.mode.is_some()),
                ("uid", self.uid.is_some()),
                ("gid", self.gid.is_some()),
            ] {
                if set {
                    return Err(bad(format!(
                        "{key} not allowed for \"{}\" type mounts",
                        self.kind
                    )));
                }
            }
        }
        let absolute = |t: &str| {
            if t.starts_with('/') {
                clean_path(t)
            } else {
                clean_path(&format!("/{workdir}/{t}"))
            }
        };
        let target = self
            .target
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(absolute);
        let need_target = || {
            target
                .clone()
                .ok_or_else(|| bad(format!("mount type \"{}\" requires a target", self.kind)))
        };
        Ok(match self.kind.as_str() {
            "cache" => {
                let sharing = self.sharing.unwrap_or_else(|| "shared".into());
                if !matches!(sharing.as_str(), "shared" | "private" | "locked") {
                    return Err(bad(format!("unsupported sharing value \"{sharing}\"")));
                }
                RunMount::Cache {
                    target: need_target()?,
                    id: self.id.filter(|i| !i.is_empty()),
                    sharing,
                    from: self.from.filter(|f| !f.is_empty()),
                    source: self.source.filter(|s| !s.is_empty()),
                    mode: self.mode,
                    uid: self.uid,
                    gid: self.gid,
                    readonly: self.readonly.unwrap_or(false),
                }
            }
            "bind" => RunMount::Bind {
                target: need_target()?,
                from: self.from.filter(|f| !f.is_empty()),
                source: clean_path(&format!("/{}", self.source.unwrap_or_default())),
                readonly: self.readonly.unwrap_or(true),
            },
            "tmpfs" => RunMount::Tmpfs {
                target: need_target()?,
                size: self.size,
            },
            _ => {
                if self.from.is_some() {
                    return Err(bad("secret mount should not have a from".into()));
                }
                let source = self.source.filter(|s| !s.is_empty());
                let id = self.id.filter(|s| !s.is_empty());
                if source.is_some() && id.is_some() {
                    return Err(bad("both source and id can't be set".into()));
                }
                let id = match (id.or(source), &target) {
                    (Some(id), _) => id,
                    (None, Some(t)) => t.rsplit('/').next().unwrap_or_default().to_string(),
                    (None, None) => {
                        return Err(bad(
                            "invalid secret mount. one of source, target required".into()
                        ))
                    }
                };
                RunMount::Secret {
                    target: target.unwrap_or_else(|| format!("/run/secrets/{id}")),
                    id,
                    required: self.required,
                    mode: self.mode.unwrap_or(0o400),
                    uid: self.uid.unwrap_or(0),
                    gid: self.gid.unwrap_or(0),
                }
            }
        })
    }
}

/// One record of Go's `encoding/csv`: `,`-separated, a field may be `"quoted"` with `""`
/// for a quote inside.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    let mut col = 0usize;
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            col += 1;
            loop {
                match chars.next() {
                    None => return Err(format!("parse error on line 1, column {col}: extraneous or missing \" in quoted-field")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        col += 2;
                        field.push('"');
                    }
                    Some('"') => {
                        col += 1;
                        break;
                    }
                    Some(c) => {
                        col += 1;
                        field.push(c);
                    }
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => col += 1,
                Some(_) => {
                    return Err(format!(
                    "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                    col + 1
                ))
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        col += 1;
                        break;
                    }
                    Some('"') => {
                        return Err(format!(
                            "parse error on line 1, column {}: bare \" in non-quoted-field",
                            col + 1
                        ))
                    }
                    Some(c) => {
                        col += 1;
                        field.push(c);
                    }
                }
            }
        }
        fields.push(field);
    }
}

/// Go's `strconv.ParseBool`.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units' `RAMInBytes`: `64m`, `1.5g`, `512KiB`, `100` (bytes), powers of 1024.
fn ram_in_bytes(v: &str) -> Option<u64> {
    let num_len = v
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, rest) = v.split_at(num_len);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.contains("..") {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let (mult, suffix) = match rest.chars().next() {
        Some(c @ ('k' | 'm' | 'g' | 't' | 'p')) => {
            let exp = "kmgtp".find(c).map_or(0, |i| i + 1);
            (1024f64.powi(exp as i32), &rest[1..])
        }
        _ => (1.0, rest.as_str()),
    };
    if !matches!(suffix, "" | "b" | "i" | "ib") {
        return None;
    }
    // go-units accepts `1.2.3`-style numbers through ParseFloat, which then fails.
    let n: f64 = num.parse().ok()?;
    let bytes = n * mult;
    (bytes.is_finite() && bytes < 9.2e18).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<RunMount, DispatchError> {
        let lookup = |n: &str| (n == "DIR").then(|| "/cache".to_string());
        RunMount::parse(v, "/w", &lookup, '\\')
    }

    #[test]
    fn cache_defaults_and_keys() {
        assert_eq!(
            parse("type=cache,target=/root/.cache").unwrap(),
            RunMount::Cache {
                target: "/root/.cache".into(),
                id: None,
                sharing: "shared".into(),
                from: None,
                source: None,
                mode: None,
                uid: None,
                gid: None,
                readonly: false,
            }
        );
        let m =
            parse("type=cache,id=x,target=$DIR,sharing=LOCKED,mode=0700,uid=1,gid=2,ro").unwrap();
        assert_eq!(
            m,
            RunMount::Cache {
                target: "/cache".into(),
                id: Some("x".into()),
                sharing: "locked".into(),
                from: None,
                source: None,
                mode: Some(0o700),
                uid: Some(1),
                gid: Some(2),
                readonly: true,
            }
        );
        assert_eq!(
            parse("type=cache,target=/c,sharing=no")
                .unwrap_err()
                .to_string(),
            "unsupported sharing value \"no\""
        );
    }

    #[test]
    fn bind_secret_tmpfs() {
        assert_eq!(
            parse("target=rel,source=src/../x,from=build").unwrap(),
            RunMount::Bind {
                target: "/w/rel".into(),
                from: Some("build".into()),
                source: "/x".into(),
                readonly: true,
            }
        );
        assert_eq!(
            parse("type=bind,dst=/m,rw").unwrap(),
            RunMount::Bind {
                target: "/m".into(),
                from: None,
                source: "/".into(),
                readonly: false
            }
        );
        assert_eq!(
            parse("type=secret,id=tok").unwrap(),
            RunMount::Secret {
                id: "tok".into(),
                target: "/run/secrets/tok".into(),
                required: false,
                mode: 0o400,
                uid: 0,
                gid: 0,
            }
        );
        assert_eq!(
            parse("type=secret,target=/etc/key,required,mode=0440").unwrap(),
            RunMount::Secret {
                id: "key".into(),
                target: "/etc/key".into(),
                required: true,
                mode: 0o440,
                uid: 0,
                gid: 0,
            }
        );
        assert_eq!(
            parse("type=tmpfs,target=/t,size=64m").unwrap(),
            RunMount::Tmpfs {
                target: "/t".into(),
                size: Some(64 << 20)
            }
        );
        assert_eq!(
            parse("\"type=tmpfs\",target=/t").unwrap(),
            RunMount::Tmpfs {
                target: "/t".into(),
                size: None
            }
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = |v: &str| parse(v).unwrap_err().to_string();
        assert_eq!(
            e("type=cache,target=/c,color=red"),
            "unexpected key 'color' in 'color=red'"
        );
        assert_eq!(e("type=nfs,target=/c"), "unsupported mount type \"nfs\"");
        assert_eq!(
            e("type=bind,target=/c,mode=0700"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            e("target=/c,sharing=locked"),
            "unexpected key 'sharing' for mount type 'bind'"
        );
        assert_eq!(
            e("type=cache,target=/c,ro=maybe"),
            "invalid value for ro: maybe"
        );
        assert_eq!(e("type=cache,target=/c,mode=9"), "invalid value 9 for mode");
        assert_eq!(e("type=cache,target=/c,uid=-1"), "invalid value -1 for uid");
        assert_eq!(
            e("type=tmpfs,target=/t,size=lots"),
            "invalid value for size: lots"
        );
        assert_eq!(e("type=cache"), "mount type \"cache\" requires a target");
        assert_eq!(
            e("type=secret"),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            e("type=secret,id=a,source=b"),
            "both source and id can't be set"
        );
        assert_eq!(
            e("type=secret,id=a,from=x"),
            "secret mount should not have a from"
        );
        assert_eq!(
            e("type=cache,target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert!(e("type=cache,tar\"get=/c").starts_with("failed to parse csv mounts: "));
    }

    #[test]
    fn sizes_as_go_units() {
        assert_eq!(ram_in_bytes("100"), Some(100));
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1.5g"), Some(1_610_612_736));
        assert_eq!(ram_in_bytes("512KiB"), Some(512 * 1024));
        assert_eq!(ram_in_bytes("2 mb"), Some(2 << 20));
        assert_eq!(ram_in_bytes("x"), None);
        assert_eq!(ram_in_bytes("1q"), None);
    }
}
