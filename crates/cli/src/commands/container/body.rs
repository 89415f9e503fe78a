//! The `POST /containers/create` body that `create` and `run` send, built from their
//! options: environment files, ports, mounts, restart policy, sizes.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Map, Value};

use super::opts::CreateOpts;

/// docker's `opts.ValidateEnv`: `KEY` alone takes the value from our environment if set.
fn env_entry(s: &str) -> String {
    if s.contains('=') {
        return s.to_owned();
    }
    match std::env::var(s) {
        Ok(v) => format!("{s}={v}"),
        Err(_) => s.to_owned(),
    }
}

fn read_env_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open {path}"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, _)) = line.split_once('=') {
            if k.contains(char::is_whitespace) {
                bail!("variable '{k}' contains whitespaces");
            }
            out.push(line.to_owned());
        } else {
            out.push(env_entry(line.trim_end()));
        }
    }
    Ok(out)
}

/// docker's `RAMInBytes`: `512m`, `1g`, `100` (binary multiples; a trailing `b` is allowed).
pub fn ram_in_bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| anyhow!("invalid size: '{s}'"))?;
    if n < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((n * mult as f64) as i64)
}

fn restart_policy(s: &str) -> Result<Value> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (
            n,
            c.parse::<i64>()
                .map_err(|_| anyhow!("maximum retry count must be an integer"))?,
        ),
        None => (s, 0),
    };
    match name {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => bail!("invalid restart policy format: {other}"),
    }
    Ok(json!({"Name": name, "MaximumRetryCount": count}))
}

/// `-p [ip:][hostPort:]containerPort[/proto]` → (port key, binding).
fn parse_publish(s: &str) -> Result<(String, Value)> {
    let (spec, proto) = match s.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (s, "tcp"),
    };
    let parts: Vec<&str> = if spec.starts_with('[') {
        // [v6]:host:ctr
        let end = spec
            .find(']')
            .ok_or_else(|| anyhow!("invalid port format: {s}"))?;
        let ip = &spec[1..end];
        let rest: Vec<&str> = spec[end + 1..].trim_start_matches(':').split(':').collect();
        let mut v = vec![ip];
        v.extend(rest);
        v
    } else {
        spec.split(':').collect()
    };
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [i, h, c] => (*i, *h, *c),
        _ => bail!("invalid port format: {s}"),
    };
    if ctr.is_empty() || !ctr.chars().all(|c| c.is_ascii_digit() || c == '-') {
        bail!("invalid containerPort: {ctr}");
    }
    Ok((
        format!("{ctr}/{proto}"),
        json!({"HostIp": ip, "HostPort": host}),
    ))
}

/// `--mount type=bind,source=/a,target=/b,readonly`.
fn parse_mount(s: &str) -> Result<Value> {
    let mut m = Map::new();
    let mut kind = "volume".to_owned();
    for field in s.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_lowercase(), v.to_owned()),
            None => (field.trim().to_lowercase(), "true".to_owned()),
        };
        match k.as_str() {
            "type" => kind = v,
            "source" | "src" => {
                m.insert("Source".into(), v.into());
            }
            "target" | "dst" | "destination" => {
                m.insert("Target".into(), v.into());
            }
            "readonly" | "ro" => {
                m.insert("ReadOnly".into(), (v == "true" || v == "1").into());
            }
            "consistency" => {
                m.insert("Consistency".into(), v.into());
            }
            "bind-propagation" => {
                m.insert("BindOptions".into(), json!({"Propagation": v}));
            }
            "tmpfs-size" => {
                m.insert(
                    "TmpfsOptions".into(),
                    json!({"SizeBytes": ram_in_bytes(&v)?}),
                );
            }
            "volume-nocopy" => {
                m.insert(
                    "VolumeOptions".into(),
                    json!({"NoCopy": v == "true" || v == "1"}),
                );
            }
            other => bail!("unexpected key '{other}' in '{field}'"),
        }
    }
    if !m.contains_key("Target") {
        bail!("target is required");
    }
    m.insert("Type".into(), kind.into());
    Ok(Value::Object(m))
}

fn key_values(items: &[String]) -> Map<String, Value> {
    items
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), Value::from(v)),
            None => (l.clone(), Value::from("")),
        })
        .collect()
}

impl CreateOpts {
    /// The `POST /containers/create` body.
    pub fn body(&self, detach: bool, auto_remove: bool) -> Result<Value> {
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(read_env_file(f)?);
        }
        env.extend(self.env.iter().map(|e| env_entry(e)));
        let (a_in, a_out, a_err) = if detach {
            (false, false, false)
        } else {
            self.attach_streams()
        };
        for a in &self.attach {
            if !matches!(a.to_lowercase().as_str(), "stdin" | "stdout" | "stderr") {
                bail!("invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
            }
        }
        let mut config = Map::new();
        config.insert("Image".into(), self.image().into());
        if let Some(h) = &self.hostname {
            config.insert("Hostname".into(), h.as_str().into());
        }
        if let Some(u) = &self.user {
            config.insert("User".into(), u.as_str().into());
        }
        config.insert("AttachStdin".into(), a_in.into());
        config.insert("AttachStdout".into(), a_out.into());
        config.insert("AttachStderr".into(), a_err.into());
        config.insert("Tty".into(), self.tty.into());
        config.insert("OpenStdin".into(), self.interactive.into());
        config.insert("StdinOnce".into(), (self.interactive && a_in).into());
        config.insert("Env".into(), env.into());
        let cmd: Vec<&str> = self
            .image_and_cmd
            .iter()
            .skip(1)
            .map(String::as_str)
            .collect();
        if !cmd.is_empty() {
            config.insert("Cmd".into(), cmd.into());
        }
        if let Some(e) = &self.entrypoint {
            config.insert("Entrypoint".into(), json!([e]));
        }
        if let Some(w) = &self.workdir {
            config.insert("WorkingDir".into(), w.as_str().into());
        }
        config.insert("Labels".into(), Value::Object(key_values(&self.label)));
        if let Some(s) = &self.stop_signal {
            config.insert("StopSignal".into(), s.as_str().into());
        }
        if let Some(t) = self.stop_timeout {
            config.insert("StopTimeout".into(), t.into());
        }

        let mut host = Map::new();
        let mut exposed = Map::new();
        let mut bindings: Map<String, Value> = Map::new();
        for p in &self.publish {
            let (port, b) = parse_publish(p)?;
            exposed.insert(port.clone(), json!({}));
            if let Some(Value::Array(list)) = bindings.get_mut(&port) {
                list.push(b);
            } else {
                bindings.insert(port, json!([b]));
            }
        }
        for e in &self.expose {
            let key = if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            };
            exposed.insert(key, json!({}));
        }
        if !exposed.is_empty() {
            config.insert("ExposedPorts".into(), Value::Object(exposed));
        }
        host.insert("PortBindings".into(), Value::Object(bindings));
        host.insert("Binds".into(), self.volume.clone().into());
        let mounts: Result<Vec<Value>> = self.mount.iter().map(|m| parse_mount(m)).collect();
        host.insert("Mounts".into(), mounts?.into());
        host.insert(
            "NetworkMode".into(),
            self.network.as_deref().unwrap_or("default").into(),
        );
        host.insert(
            "RestartPolicy".into(),
            restart_policy(self.restart.as_deref().unwrap_or("no"))?,
        );
        host.insert("AutoRemove".into(), auto_remove.into());
        host.insert("Privileged".into(), self.privileged.into());
        host.insert("ReadonlyRootfs".into(), self.read_only.into());
        host.insert("CapAdd".into(), self.cap_add.clone().into());
        host.insert("CapDrop".into(), self.cap_drop.clone().into());
        if self.init {
            host.insert("Init".into(), true.into());
        }
        if let Some(m) = &self.memory {
            host.insert("Memory".into(), ram_in_bytes(m)?.into());
        }
        if let Some(c) = self.cpus {
            host.insert("NanoCpus".into(), ((c * 1e9) as i64).into());
        }
        if self.log_driver.is_some() || !self.log_opt.is_empty() {
            host.insert(
                "LogConfig".into(),
                json!({
                    "Type": self.log_driver.clone().unwrap_or_default(),
                    "Config": Value::Object(key_values(&self.log_opt)),
                }),
            );
        }
        config.insert("HostConfig".into(), Value::Object(host));
        Ok(Value::Object(config))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        o: CreateOpts,
    }

    #[test]
    fn body_from_flags() {
        let p = P::try_parse_from([
            "x",
            "-e",
            "A=1",
            "--entrypoint",
            "",
            "-p",
            "127.0.0.1:8080:80",
            "-l",
            "k=v",
            "--memory",
            "512m",
            "--cpus",
            "1.5",
            "--restart",
            "on-failure:3",
            "busybox",
            "ls",
            "-l",
        ])
        .unwrap();
        let b = p.o.body(false, true).unwrap();
        assert_eq!(b["Cmd"], json!(["ls", "-l"]));
        assert_eq!(b["Entrypoint"], json!([""]));
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["Labels"], json!({"k": "v"}));
        assert_eq!(
            b["HostConfig"]["PortBindings"]["80/tcp"],
            json!([{"HostIp": "127.0.0.1", "HostPort": "8080"}])
        );
        assert_eq!(b["HostConfig"]["Memory"], json!(512 * 1024 * 1024));
        assert_eq!(b["HostConfig"]["NanoCpus"], json!(1_500_000_000i64));
        assert_eq!(
            b["HostConfig"]["RestartPolicy"],
            json!({"Name": "on-failure", "MaximumRetryCount": 3})
        );
        assert_eq!(b["HostConfig"]["AutoRemove"], json!(true));
    }

    #[test]
    fn mounts() {
        let m = parse_mount("type=bind,source=/a,target=/b,readonly").unwrap();
        assert_eq!(
            m,
            json!({"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true})
        );
        assert!(parse_mount("type=bind,source=/a").is_err());
    }
}
