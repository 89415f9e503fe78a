//! The `POST /containers/create` body that `create` and `run` send: docker's `Config` with
//! its `HostConfig` (`muelle_types::container`), built from their options (environment files,
//! ports, mounts, restart policy, sizes), with the keys muelle has always sent.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context as _, Result};
use muelle_types::container::{ContainerConfig, HostConfig, LogConfig, RestartPolicy};
use serde::Serialize;
use serde_json::{Map, Value};

use super::mount_opt::parse_mount;
use super::opts::CreateOpts;

/// Keys sent whether a flag set them or not; every other key only when its value is not the
/// type's default, so that the daemon applies its own and the image's defaults. dockerd's
/// inspect shows an empty list or map it was given as `[]`/`{}` and an absent one as `null`,
/// so which keys go is part of what the user sees.
const CONFIG_ALWAYS: &[&str] = &[
    "Image",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Labels",
];
const HOST_CONFIG_ALWAYS: &[&str] = &[
    "PortBindings",
    "Binds",
    "Mounts",
    "NetworkMode",
    "RestartPolicy",
    "AutoRemove",
    "Privileged",
    "ReadonlyRootfs",
    "CapAdd",
    "CapDrop",
];

/// One host binding of a published port (`HostConfig.PortBindings`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PortBinding {
    host_ip: String,
    host_port: String,
}

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

pub fn restart_policy(s: &str) -> Result<RestartPolicy> {
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
    Ok(RestartPolicy {
        name: name.to_owned(),
        maximum_retry_count: count,
    })
}

/// `-p [ip:][hostPort:]containerPort[/proto]` → (port key, binding).
fn parse_publish(s: &str) -> Result<(String, PortBinding)> {
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
        PortBinding {
            host_ip: ip.to_owned(),
            host_port: host.to_owned(),
        },
    ))
}

fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

/// `value` without the keys whose value is the one `T::default()` serializes to, but for
/// those in `always`.
fn without_defaults<T: Serialize + Default>(
    value: &T,
    always: &[&str],
) -> Result<Map<String, Value>> {
    let (Value::Object(mut fields), Value::Object(defaults)) = (
        serde_json::to_value(value)?,
        serde_json::to_value(T::default())?,
    ) else {
        bail!("a container config that is not a JSON object");
    };
    fields.retain(|k, v| always.contains(&k.as_str()) || defaults.get(k) != Some(v));
    Ok(fields)
}

impl CreateOpts {
    /// The `POST /containers/create` body.
    pub fn body(&self, detach: bool, auto_remove: bool) -> Result<Value> {
        let (config, host_config) = self.config(detach, auto_remove)?;
        let mut body = without_defaults(&config, CONFIG_ALWAYS)?;
        body.insert(
            "HostConfig".into(),
            Value::Object(without_defaults(&host_config, HOST_CONFIG_ALWAYS)?),
        );
        self.net.apply(host_config.network_mode(), &mut body)?;
        self.client.apply(&self.label, &mut body)?;
        Ok(Value::Object(body))
    }

    /// The container's `Config` and `HostConfig` as the options give them.
    fn config(&self, detach: bool, auto_remove: bool) -> Result<(ContainerConfig, HostConfig)> {
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
        let mut exposed = BTreeMap::new();
        let mut bindings: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
        for p in &self.publish {
            let (port, b) = parse_publish(p)?;
            exposed.insert(port.clone(), Value::Object(Map::new()));
            bindings.entry(port).or_default().push(b);
        }
        for e in &self.expose {
            let key = if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            };
            exposed.insert(key, Value::Object(Map::new()));
        }
        let config = ContainerConfig {
            image: self.image().to_owned(),
            hostname: self.hostname.clone().unwrap_or_default(),
            user: self.user.clone().unwrap_or_default(),
            attach_stdin: a_in,
            attach_stdout: a_out,
            attach_stderr: a_err,
            tty: self.tty,
            open_stdin: self.interactive,
            stdin_once: self.interactive && a_in,
            env,
            cmd: self.image_and_cmd.iter().skip(1).cloned().collect(),
            entrypoint: self.entrypoint.as_ref().map(|e| vec![e.clone()]),
            working_dir: self.workdir.clone().unwrap_or_default(),
            labels: key_values(&self.label),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: self.health.config()?,
            ..ContainerConfig::default()
        };
        let mut port_bindings = BTreeMap::new();
        for (port, list) in bindings {
            port_bindings.insert(port, serde_json::to_value(list)?);
        }
        let mut mounts = Vec::new();
        for m in &self.mount {
            mounts.push(serde_json::to_value(parse_mount(m)?)?);
        }
        let restart_policy = restart_policy(self.restart.as_deref().unwrap_or("no"))?;
        let memory = match &self.memory {
            Some(m) => ram_in_bytes(m)?,
            None => 0,
        };
        // The docker CLI's own check, before any request.
        if self.log_driver.as_deref() == Some("none") && !self.log_opt.is_empty() {
            bail!("invalid logging opts for driver none");
        }
        let log_config = if self.log_driver.is_some() || !self.log_opt.is_empty() {
            LogConfig {
                typ: self.log_driver.clone().unwrap_or_default(),
                config: key_values(&self.log_opt),
            }
        } else {
            LogConfig::default()
        };
        let cgroupns_mode = self.cgroupns.clone().unwrap_or_default();
        if !matches!(cgroupns_mode.as_str(), "" | "host" | "private") {
            bail!("--cgroupns: invalid CGROUP mode");
        }
        let (cap_add, cap_drop) = super::caps::effective(&self.cap_add, &self.cap_drop);
        let mut host_config = HostConfig {
            cgroupns_mode,
            port_bindings,
            binds: self.volume.clone(),
            mounts,
            network_mode: self.network.as_deref().unwrap_or("default").to_owned(),
            restart_policy,
            auto_remove,
            privileged: self.privileged,
            readonly_rootfs: self.read_only,
            cap_add,
            cap_drop,
            init: self.init.then_some(true),
            memory,
            nano_cpus: self.cpus.map_or(0, |c| (c * 1e9) as i64),
            log_config,
            volumes_from: (!self.volumes_from.is_empty()).then(|| self.volumes_from.clone()),
            volume_driver: self.volume_driver.clone().unwrap_or_default(),
            ..HostConfig::default()
        };
        self.apply_limits(&mut host_config)?;
        let mut config = config;
        self.namespaces.apply(&mut config, &mut host_config)?;
        Ok((config, host_config))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

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
        let m =
            serde_json::to_value(parse_mount("type=bind,source=/a,target=/b,readonly").unwrap())
                .unwrap();
        assert_eq!(
            m,
            json!({"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true})
        );
        assert!(parse_mount("type=bind,source=/a").is_err());
    }

    /// The body as muelle built it with `json!` before it was built from the typed model.
    fn old_body(o: &CreateOpts, detach: bool, auto_remove: bool) -> Result<Value> {
        let mut env = Vec::new();
        for f in &o.env_file {
            env.extend(read_env_file(f)?);
        }
        env.extend(o.env.iter().map(|e| env_entry(e)));
        let (a_in, a_out, a_err) = if detach {
            (false, false, false)
        } else {
            o.attach_streams()
        };
        for a in &o.attach {
            if !matches!(a.to_lowercase().as_str(), "stdin" | "stdout" | "stderr") {
                bail!("invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
            }
        }
        let mut config = Map::new();
        config.insert("Image".into(), o.image().into());
        if let Some(h) = &o.hostname {
            config.insert("Hostname".into(), h.as_str().into());
        }
        if let Some(u) = &o.user {
            config.insert("User".into(), u.as_str().into());
        }
        config.insert("AttachStdin".into(), a_in.into());
        config.insert("AttachStdout".into(), a_out.into());
        config.insert("AttachStderr".into(), a_err.into());
        config.insert("Tty".into(), o.tty.into());
        config.insert("OpenStdin".into(), o.interactive.into());
        config.insert("StdinOnce".into(), (o.interactive && a_in).into());
        config.insert("Env".into(), env.into());
        let cmd: Vec<&str> = o.image_and_cmd.iter().skip(1).map(String::as_str).collect();
        if !cmd.is_empty() {
            config.insert("Cmd".into(), cmd.into());
        }
        if let Some(e) = &o.entrypoint {
            config.insert("Entrypoint".into(), json!([e]));
        }
        if let Some(w) = &o.workdir {
            config.insert("WorkingDir".into(), w.as_str().into());
        }
        config.insert("Labels".into(), serde_json::to_value(key_values(&o.label))?);
        if let Some(s) = &o.stop_signal {
            config.insert("StopSignal".into(), s.as_str().into());
        }
        if let Some(t) = o.stop_timeout {
            config.insert("StopTimeout".into(), t.into());
        }

        let mut host = Map::new();
        let mut exposed = Map::new();
        let mut bindings: Map<String, Value> = Map::new();
        for p in &o.publish {
            let (port, b) = parse_publish(p)?;
            let b = serde_json::to_value(b)?;
            exposed.insert(port.clone(), json!({}));
            if let Some(Value::Array(list)) = bindings.get_mut(&port) {
                list.push(b);
            } else {
                bindings.insert(port, json!([b]));
            }
        }
        for e in &o.expose {
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
        host.insert("Binds".into(), o.volume.clone().into());
        let mounts: Result<Vec<Value>> = o
            .mount
            .iter()
            .map(|m| Ok(serde_json::to_value(parse_mount(m)?)?))
            .collect();
        host.insert("Mounts".into(), mounts?.into());
        host.insert(
            "NetworkMode".into(),
            o.network.as_deref().unwrap_or("default").into(),
        );
        host.insert(
            "RestartPolicy".into(),
            serde_json::to_value(restart_policy(o.restart.as_deref().unwrap_or("no"))?)?,
        );
        host.insert("AutoRemove".into(), auto_remove.into());
        host.insert("Privileged".into(), o.privileged.into());
        host.insert("ReadonlyRootfs".into(), o.read_only.into());
        let (cap_add, cap_drop) =
            crate::commands::container::caps::effective(&o.cap_add, &o.cap_drop);
        host.insert("CapAdd".into(), cap_add.into());
        host.insert("CapDrop".into(), cap_drop.into());
        if o.init {
            host.insert("Init".into(), true.into());
        }
        if let Some(m) = &o.memory {
            host.insert("Memory".into(), ram_in_bytes(m)?.into());
        }
        if let Some(c) = o.cpus {
            host.insert("NanoCpus".into(), ((c * 1e9) as i64).into());
        }
        if o.log_driver.is_some() || !o.log_opt.is_empty() {
            host.insert(
                "LogConfig".into(),
                json!({
                    "Type": o.log_driver.clone().unwrap_or_default(),
                    "Config": key_values(&o.log_opt),
                }),
            );
        }
        config.insert("HostConfig".into(), Value::Object(host));
        Ok(Value::Object(config))
    }

    /// The typed body sends the keys and values the `json!` one did. (A flag given its
    /// default value, `--hostname ""` or `--memory 0`, is now left out: both daemons read an
    /// absent key and such a value alike.)
    #[test]
    fn body_is_what_it_was() {
        let cases: &[&[&str]] = &[
            &["busybox"],
            &["-it", "busybox", "sh"],
            &["-a", "stdout", "--rm", "busybox"],
            &[
                "--name",
                "n",
                "-e",
                "A=1",
                "--env",
                "B",
                "--entrypoint",
                "",
                "-w",
                "/w",
                "-u",
                "1:2",
                "--hostname",
                "h",
                "-l",
                "k=v",
                "-l",
                "k2",
                "--stop-signal",
                "TERM",
                "--stop-timeout",
                "3",
                "busybox",
                "ls",
                "-l",
            ],
            &[
                "-p",
                "127.0.0.1:8080:80",
                "-p",
                "8081:80",
                "-p",
                "[::1]:1:2/udp",
                "--expose",
                "90",
                "--expose",
                "91/udp",
                "busybox",
            ],
            &[
                "-v",
                "/a:/b:ro",
                "--mount",
                "type=bind,src=/x,dst=/y,bind-propagation=rshared",
                "--mount",
                "type=tmpfs,target=/t,tmpfs-size=1m",
                "--mount",
                "type=volume,target=/v,volume-nocopy",
                "--network",
                "none",
                "--restart",
                "on-failure:3",
                "--init",
                "--privileged",
                "--read-only",
                "--cap-add",
                "NET_ADMIN",
                "--cap-drop",
                "ALL",
                "-m",
                "512m",
                "--cpus",
                "1.5",
                "busybox",
            ],
            &[
                "--log-driver",
                "json-file",
                "--log-opt",
                "max-size=1m",
                "busybox",
            ],
            &["--log-opt", "max-size=1m", "--restart", "always", "busybox"],
        ];
        for args in cases {
            let p = P::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
            for (detach, auto_remove) in [(false, false), (true, false), (false, true)] {
                assert_eq!(
                    p.o.body(detach, auto_remove).unwrap(),
                    old_body(&p.o, detach, auto_remove).unwrap(),
                    "{args:?} detach={detach} auto_remove={auto_remove}"
                );
            }
        }
    }
}
