//! `muelle build`'s flags as the API wants them: `--build-arg` and `--label` as JSON maps,
//! `--add-host` as docker's `host:ip`, `--secret` read into muelled's `secrets` parameter,
//! `--output` and `--progress` parsed. Pure functions of their inputs, so tested here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;

/// `--build-arg k=v`, or `k` alone: the value from the environment when it is set there
/// (docker's `ValidateEnv`), else no value (the Dockerfile's default applies).
pub fn build_args(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, Option<String>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), env(a)),
        })
        .collect()
}

/// `--label k=v` (`k` alone is an empty value, as docker's `ConvertKVStringsToMap`).
pub fn labels(args: &[String]) -> BTreeMap<String, String> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (a.clone(), String::new()),
        })
        .collect()
}

/// `--add-host host:ip` (or docker 28's `host=ip`) checked and sent as `host:ip`.
pub fn extra_host(arg: &str) -> Result<String> {
    let (host, ip) = arg
        .split_once('=')
        .or_else(|| arg.split_once(':'))
        .ok_or_else(|| anyhow!("bad format for add-host: {arg:?}"))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || ip.is_empty() {
        bail!("bad format for add-host: {arg:?}");
    }
    if ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err() {
        bail!("invalid IP address in add-host: {ip:?}");
    }
    Ok(format!("{host}:{ip}"))
}

/// Where a `--secret` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// `--secret id=x,src=path` (also `source=`, `type=file|env`, `env=VAR` as BuildKit's).
pub fn secret(arg: &str) -> Result<(String, SecretSource)> {
    let mut id = None;
    let mut kind = None;
    let mut src = None;
    let mut env = None;
    for field in arg.split(',') {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid secret {arg:?}: field {field:?} is not key=value"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "id" => id = Some(v.to_string()),
            "type" => kind = Some(v.to_string()),
            "src" | "source" => src = Some(v.to_string()),
            "env" => env = Some(v.to_string()),
            other => bail!("invalid secret {arg:?}: unexpected key {other:?}"),
        }
    }
    let source = match (kind.as_deref(), src, env) {
        (Some("env"), Some(v), None) | (Some("env") | None, None, Some(v)) => SecretSource::Env(v),
        (Some("file") | None, Some(p), None) => SecretSource::File(PathBuf::from(p)),
        (Some(t), _, _) if t != "file" && t != "env" => {
            bail!("invalid secret {arg:?}: unsupported type {t:?}")
        }
        (_, None, None) => {
            // BuildKit reads the env variable named as the id, else the file of that name.
            let id = id
                .clone()
                .ok_or_else(|| anyhow!("invalid secret {arg:?}: no id"))?;
            SecretSource::Env(id)
        }
        _ => bail!("invalid secret {arg:?}: give one of src= or env="),
    };
    let id = match (id, &source) {
        (Some(id), _) if !id.is_empty() => id,
        (_, SecretSource::File(p)) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| anyhow!("invalid secret {arg:?}: no id"))?,
        (_, SecretSource::Env(v)) => v.clone(),
    };
    Ok((id, source))
}

/// The secrets' contents as muelled's `secrets` parameter: id → base64.
pub fn secrets_param(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for a in args {
        let (id, source) = secret(a)?;
        let data = match source {
            SecretSource::File(p) => std::fs::read(&p)
                .with_context(|| format!("reading secret {id:?} from {}", p.display()))?,
            SecretSource::Env(v) => env(&v)
                .ok_or_else(|| anyhow!("secret {id:?}: environment variable {v} is not set"))?
                .into_bytes(),
        };
        out.insert(id, base64::engine::general_purpose::STANDARD.encode(data));
    }
    Ok(Some(serde_json::to_string(&out)?))
}

/// `--output`: what to make of the built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `type=docker`: `docker save`'s archive.
    Docker(String),
    /// `type=oci`: an OCI image layout as a tar.
    Oci(String),
    /// `type=local` (or a bare path): the image's filesystem in a directory.
    Local(PathBuf),
    /// `type=tar`: the image's filesystem as a tar (`-` for stdout).
    Tar(String),
}

/// `type=oci|docker|local|tar,dest=…`, or a bare path as `type=local`, `-` as `type=tar`.
pub fn output(arg: &str) -> Result<Output> {
    if !arg.contains('=') {
        return Ok(if arg == "-" {
            Output::Tar("-".into())
        } else {
            Output::Local(PathBuf::from(arg))
        });
    }
    let mut kind = None;
    let mut dest = None;
    for field in arg.split(',') {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid output {arg:?}: field {field:?} is not key=value"))?;
        match k.trim() {
            "type" => kind = Some(v.to_string()),
            "dest" => dest = Some(v.to_string()),
            // Docker's exporters take names and compression too; a name is already `-t`'s.
            "name" | "compression" | "oci-mediatypes" | "tar" => {}
            other => bail!("invalid output {arg:?}: unsupported key {other:?}"),
        }
    }
    let kind = kind.ok_or_else(|| anyhow!("invalid output {arg:?}: no type"))?;
    let dest = dest.ok_or_else(|| anyhow!("invalid output {arg:?}: type={kind} needs dest="))?;
    Ok(match kind.as_str() {
        "docker" => Output::Docker(dest),
        "oci" => Output::Oci(dest),
        "local" => Output::Local(PathBuf::from(dest)),
        "tar" => Output::Tar(dest),
        other => {
            bail!("invalid output {arg:?}: unsupported type {other:?} (docker, oci, local, tar)")
        }
    })
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Auto,
    Plain,
    Tty,
    Quiet,
}

pub fn progress(arg: &str) -> Result<Progress> {
    Ok(match arg {
        "auto" | "" => Progress::Auto,
        "plain" => Progress::Plain,
        "tty" => Progress::Tty,
        "quiet" | "none" => Progress::Quiet,
        other => bail!("invalid progress mode {other:?}: auto, plain, tty or quiet"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "FROM_ENV").then(|| "e".to_string())
    }

    #[test]
    fn build_args_take_the_environment() {
        let a = build_args(
            &["A=1".into(), "FROM_ENV".into(), "UNSET".into(), "B=".into()],
            env,
        );
        assert_eq!(a["A"], Some("1".into()));
        assert_eq!(a["FROM_ENV"], Some("e".into()));
        assert_eq!(a["UNSET"], None);
        assert_eq!(a["B"], Some(String::new()));
    }

    #[test]
    fn labels_and_hosts() {
        let l = labels(&["a=b=c".into(), "d".into()]);
        assert_eq!(l["a"], "b=c");
        assert_eq!(l["d"], "");
        assert_eq!(extra_host("h:1.2.3.4").unwrap(), "h:1.2.3.4");
        assert_eq!(extra_host("h=::1").unwrap(), "h:::1");
        assert_eq!(extra_host("h:[::1]").unwrap(), "h:::1");
        assert_eq!(extra_host("h:host-gateway").unwrap(), "h:host-gateway");
        assert!(extra_host("nohost").is_err());
        assert!(extra_host("h:notanip").is_err());
    }

    #[test]
    fn secrets() {
        assert_eq!(
            secret("id=x,src=/tmp/f").unwrap(),
            ("x".into(), SecretSource::File("/tmp/f".into()))
        );
        assert_eq!(
            secret("id=x,type=env,source=V").unwrap(),
            ("x".into(), SecretSource::Env("V".into()))
        );
        assert_eq!(
            secret("src=/a/tok").unwrap(),
            ("tok".into(), SecretSource::File("/a/tok".into()))
        );
        assert!(secret("id=x,bogus=1").is_err());
        assert!(secret("id=x,type=ssh,src=/a").is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "hi").unwrap();
        let p = secrets_param(&[format!("id=s,src={}", f.display())], env)
            .unwrap()
            .unwrap();
        assert_eq!(p, r#"{"s":"aGk="}"#);
        assert!(secrets_param(&["id=s,src=/nonexistent/x".into()], env).is_err());
        assert_eq!(secrets_param(&[], env).unwrap(), None);
    }

    #[test]
    fn outputs() {
        assert_eq!(
            output("type=docker,dest=/tmp/i.tar").unwrap(),
            Output::Docker("/tmp/i.tar".into())
        );
        assert_eq!(
            output("type=oci,dest=o.tar").unwrap(),
            Output::Oci("o.tar".into())
        );
        assert_eq!(
            output("type=local,dest=out").unwrap(),
            Output::Local("out".into())
        );
        assert_eq!(output("out").unwrap(), Output::Local("out".into()));
        assert_eq!(output("-").unwrap(), Output::Tar("-".into()));
        assert!(output("type=registry,dest=x").is_err());
        assert!(output("type=docker").is_err());
        assert!(output("dest=x").is_err());
    }

    #[test]
    fn progress_modes() {
        assert_eq!(progress("plain").unwrap(), Progress::Plain);
        assert_eq!(progress("auto").unwrap(), Progress::Auto);
        assert!(progress("fancy").is_err());
    }
}
