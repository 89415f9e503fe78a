//! An image as the comparison sees it: its config file as `docker save` writes it (config,
//! container_config, history with created_by and empty_layer, ...) with what legitimately
//! differs masked (IDs, dates, the build container's hostname, daemon version, COPY content
//! hashes, layer digests), and its filesystem as `docker create` + `docker export` gives it,
//! one line per entry: path, type, mode, owner, size, content hash, link target, and the
//! mtime of files that existed before the build started (those built now are "new").

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::side::Side;
use crate::support::DOCKER;

/// Paths `docker create` puts into every container (the init layer), absent from images.
const INIT_LAYER: &[&str] = &[
    ".dockerenv",
    "etc",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/mtab",
    "dev",
    "proc",
    "sys",
];

#[derive(Debug)]
pub struct Snapshot {
    pub config: Value,
    pub fs: Vec<String>,
}

/// Seconds since the epoch, for the build-start mark of [`snapshot`].
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn snapshot(side: &Side, image: &str, built_after: i64) -> Snapshot {
    Snapshot {
        config: normalise_config(raw_config(side, image)),
        fs: filesystem(side, image, built_after),
    }
}

/// A docker command on `side` whose stdout is read as it streams.
fn streaming(side: &Side, args: &[&str]) -> std::process::Child {
    let mut c = Command::new(DOCKER);
    c.env("DOCKER_HOST", side.host())
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT");
    if let Some(d) = &side.d {
        c.env("DOCKER_CONFIG", &d.docker_config);
    }
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docker")
}

/// Reads what follows the archive's end marker: docker fails with a broken pipe when its
/// last blocks find the pipe closed.
fn drain<R: Read>(ar: tar::Archive<R>) {
    let mut rest = ar.into_inner();
    let _ = std::io::copy(&mut rest, &mut std::io::sink());
}

fn finish(side: &Side, mut child: std::process::Child, what: &str) {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let st = child.wait().expect("wait for docker");
    assert!(
        st.success(),
        "{}: {what} failed: {err}\n{}",
        side.what(),
        side.log()
    );
}

/// The image's config file, from `docker save` (the top-level JSON files of the archive:
/// manifest.json names the config).
pub fn raw_config(side: &Side, image: &str) -> Value {
    let mut child = streaming(side, &["save", image]);
    let mut jsons: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    {
        let mut ar = tar::Archive::new(child.stdout.take().unwrap());
        for e in ar.entries().expect("docker save output is a tar") {
            let mut e = e.expect("tar entry");
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let path = path.trim_start_matches("./").to_owned();
            if path.ends_with(".json") && !path.contains('/') {
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                jsons.insert(path, b);
            } else if path.starts_with("blobs/sha256/") && e.header().size().unwrap_or(0) < 65536 {
                // An OCI-layout archive keeps the config among the blobs.
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                jsons.insert(path, b);
            }
        }
        drain(ar);
    }
    finish(side, child, &format!("docker save {image}"));
    let manifest: Value = serde_json::from_slice(
        jsons
            .get("manifest.json")
            .unwrap_or_else(|| panic!("{}: no manifest.json in docker save", side.what())),
    )
    .unwrap();
    let config = manifest[0]["Config"].as_str().expect("manifest Config");
    serde_json::from_slice(
        jsons
            .get(config)
            .unwrap_or_else(|| panic!("{}: no {config} in docker save", side.what())),
    )
    .unwrap()
}

/// Masks what two correct builds may differ in; keeps everything else as it is.
pub fn normalise_config(mut c: Value) -> Value {
    let o = c.as_object_mut().expect("config is an object");
    for k in ["created", "docker_version", "container", "id", "parent"] {
        if o.contains_key(k) {
            o.insert(k.to_owned(), Value::String(format!("<{k}>")));
        }
    }
    if let Some(ids) = o
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
    {
        // Layer digests depend on tar details; the filesystems are compared by content.
        for d in ids.iter_mut() {
            *d = Value::String("<layer>".into());
        }
    }
    for k in ["config", "container_config"] {
        if let Some(cc) = o.get_mut(k).and_then(Value::as_object_mut) {
            // A field at its zero value reads the same as an absent one (Go's decoding, which
            // every client of these configs uses): dockerd writes them all, others may not.
            cc.retain(|_, v| {
                !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some("")
            });
            for f in ["Image", "Hostname"] {
                if cc
                    .get(f)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                {
                    cc.insert(f.to_owned(), Value::String(format!("<{f}>")));
                }
            }
        }
    }
    if let Some(h) = o.get_mut("history").and_then(Value::as_array_mut) {
        for e in h.iter_mut() {
            if let Some(e) = e.as_object_mut() {
                if e.contains_key("created") {
                    e.insert("created".into(), Value::String("<created>".into()));
                }
            }
        }
    }
    let text = serde_json::to_string(&c).unwrap();
    // Not at a word boundary: dockerd writes `COPY --chown=1:2file:<hex>` (no space).
    let hash = Regex::new(r"(file|dir|multi):[0-9a-f]{64}").unwrap();
    let text = hash.replace_all(&text, "$1:<hash>");
    let id = Regex::new(r"sha256:[0-9a-f]{64}").unwrap();
    let text = id.replace_all(&text, "<id>");
    serde_json::from_str(&text).unwrap()
}

/// The image's filesystem, one line per entry, sorted by path.
pub fn filesystem(side: &Side, image: &str, built_after: i64) -> Vec<String> {
    let cid = side.ok(&["create", "--pull=never", image, "muelle-build-test"]);
    let cid = cid.trim().to_owned();
    let mut child = streaming(side, &["export", &cid]);
    let mut lines: Vec<(String, String)> = Vec::new();
    {
        let mut ar = tar::Archive::new(child.stdout.take().unwrap());
        for e in ar.entries().expect("docker export output is a tar") {
            let mut e = e.expect("tar entry");
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let path = path
                .trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_owned();
            if path.is_empty()
                || INIT_LAYER.contains(&path.as_str())
                || path.starts_with("dev/")
                || path.starts_with("proc/")
                || path.starts_with("sys/")
            {
                continue;
            }
            let h = e.header().clone();
            let mode = h.mode().unwrap_or(0) & 0o7777;
            let owner = format!("{}:{}", h.uid().unwrap_or(0), h.gid().unwrap_or(0));
            let mtime = h.mtime().unwrap_or(0) as i64;
            let when = if mtime + 2 < built_after {
                mtime.to_string()
            } else {
                "new".to_owned()
            };
            let et = h.entry_type();
            let what = if et.is_dir() {
                "dir".to_owned()
            } else if et.is_symlink() {
                let t = e.link_name().unwrap().unwrap_or_default();
                format!("symlink -> {} mtime={when}", t.display())
            } else if et.is_hard_link() {
                let t = e.link_name().unwrap().unwrap_or_default();
                format!("hardlink -> {}", t.display())
            } else if et.is_file() {
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 65536];
                let mut size = 0u64;
                loop {
                    let n = e.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    size += n as u64;
                    hasher.update(&buf[..n]);
                }
                let sum = hasher.finalize();
                let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
                format!("file size={size} sha256={} mtime={when}", &hex[..16])
            } else {
                format!("{et:?}")
            };
            lines.push((path.clone(), format!("{path} {mode:04o} {owner} {what}")));
        }
        drain(ar);
    }
    finish(side, child, &format!("docker export {cid}"));
    let _ = side.docker(&["rm", "-f", &cid]);
    lines.sort();
    lines.into_iter().map(|(_, l)| l).collect()
}

/// The lines only one side has (muelle's first), or None when the two lists are equal.
pub fn diff_lines(what: &str, ours: &[String], theirs: &[String]) -> Option<String> {
    if ours == theirs {
        return None;
    }
    let only_ours: Vec<&str> = ours
        .iter()
        .filter(|l| !theirs.contains(l))
        .map(String::as_str)
        .collect();
    let only_theirs: Vec<&str> = theirs
        .iter()
        .filter(|l| !ours.contains(l))
        .map(String::as_str)
        .collect();
    Some(format!(
        "{what}: muelle and docker differ\nonly muelle's:\n  {}\nonly docker's:\n  {}\n(same lines in another order: {})",
        only_ours.join("\n  "),
        only_theirs.join("\n  "),
        only_ours.is_empty() && only_theirs.is_empty(),
    ))
}

/// Fails with [`diff_lines`] (and the daemon log's tail) unless the two lists are equal.
pub fn assert_same_lines(what: &str, ours: &[String], theirs: &[String], log: &str) {
    if let Some(d) = diff_lines(what, ours, theirs) {
        panic!("{d}\nmuelled log (tail):\n{}", tail(log, 80));
    }
}

/// The config as sorted `path = value` lines, so a difference reads field by field.
pub fn config_lines(v: &Value) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if m.is_empty() {
                    out.push(format!("{prefix} = {{}}"));
                }
                for (k, x) in m {
                    walk(&format!("{prefix}.{k}"), x, out);
                }
            }
            Value::Array(a) => {
                if a.is_empty() {
                    out.push(format!("{prefix} = []"));
                }
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), x, out);
                }
            }
            _ => out.push(format!("{prefix} = {v}")),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
