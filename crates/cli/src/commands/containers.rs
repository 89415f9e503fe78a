//! What `create` and `run` share: docker's container options, the create body they become,
//! creating (pulling a missing image first, as docker does), and the helpers every container
//! command uses (docker's "No such container" wording, names printed per success).

use std::io::IsTerminal;

use anyhow::{anyhow, bail, Context as _, Result};
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::client::{bytes, empty, encode_path, read_json, ApiError, Client, JsonStream, Query};
use crate::progress::{self, Mode};
use crate::reference::{familiar, normalize_name, Reference};
use crate::{Ctx, Exit};

/// `docker create`/`docker run` options (the subset muelle passes on; names are docker's).
#[derive(clap::Args, Debug, Default)]
pub struct CreateOpts {
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long = "attach", value_name = "list")]
    pub attach: Vec<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, value_name = "string")]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(long, value_name = "string")]
    pub hostname: Option<String>,
    /// Set meta data on a container
    #[arg(short, long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Signal to stop a container
    #[arg(long, value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// Pull image before creating ("always"|"missing"|"never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Connect a container to a network
    #[arg(long, alias = "net", value_name = "network")]
    pub network: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short, long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// Bind mount a volume
    #[arg(short, long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount")]
    pub mount: Vec<String>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Add Linux capabilities
    #[arg(long, value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Memory limit
    #[arg(short, long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<f64>,
    /// Logging driver for the container
    #[arg(long, value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long, value_name = "list")]
    pub log_opt: Vec<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Suppress the pull output
    #[arg(short, long)]
    pub quiet: bool,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub image_and_cmd: Vec<String>,
}

/// Prints `muelle: <error>` and turns it into the exit status given (docker's 125 for
/// anything that went wrong before the container ran).
pub fn fail(code: i32, e: anyhow::Error) -> anyhow::Error {
    if let Some(Exit(_)) = e.downcast_ref::<Exit>() {
        return e;
    }
    eprintln!("muelle: {e:#}");
    Exit(code).into()
}

/// docker's `runStartContainerErr`: a command that cannot be found is 127, one that cannot
/// be invoked 126, anything else 125.
pub fn start_error_code(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") {
        126
    } else {
        125
    }
}

/// A 404 from the daemon about `name` as docker's client words it ("Error: No such
/// container: x"); other errors unchanged.
pub fn not_found(e: anyhow::Error, what: &str, name: &str) -> anyhow::Error {
    match e.downcast_ref::<ApiError>() {
        Some(api) if api.status == StatusCode::NOT_FOUND => {
            anyhow!("Error: No such {what}: {name}")
        }
        _ => e,
    }
}

/// `GET /containers/{name}/json` with docker's not-found wording.
pub async fn inspect(client: &Client, name: &str) -> Result<Value> {
    client
        .get_json(&format!("/containers/{}/json", encode_path(name)))
        .await
        .map_err(|e| not_found(e, "container", name))
}

/// A bodyless POST/DELETE whose answer does not matter.
pub async fn call(client: &Client, method: Method, path: &str) -> Result<()> {
    let res = client.request(method, path, &[], empty()).await?;
    drop(res);
    Ok(())
}

/// Runs `f` for each name; prints the name on success, `muelle: <error>` on failure, and
/// exits 1 at the end if any failed (docker's stop/kill/rm/pause…).
pub async fn each_name<F, Fut>(names: &[String], mut f: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut failed = false;
    for name in names {
        match f(name.clone()).await {
            Ok(()) => crate::out(&format!("{name}\n"))?,
            Err(e) => {
                eprintln!("muelle: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
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
    pub fn image(&self) -> &str {
        self.image_and_cmd.first().map_or("", String::as_str)
    }

    /// Which streams to attach when running in the foreground (docker's `-a` default).
    pub fn attach_streams(&self) -> (bool, bool, bool) {
        if self.attach.is_empty() {
            return (self.interactive, true, true);
        }
        let has = |n: &str| self.attach.iter().any(|a| a.eq_ignore_ascii_case(n));
        (has("stdin"), has("stdout"), has("stderr"))
    }

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

/// Pulls `image` with its progress on stderr (quiet: none), as `docker run` does.
async fn pull(ctx: &Ctx, client: &Client, image: &str, platform: Option<&str>) -> Result<()> {
    let r = Reference::parse(image)?;
    let mut q = Query::new()
        .set("fromImage", normalize_name(&r.name))
        .set("tag", r.api_tag());
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    let auth = super::pull::registry_auth(ctx, &r)?;
    let res = client
        .request(
            Method::POST,
            &format!("/images/create{}", q.render()),
            &[auth],
            empty(),
        )
        .await?;
    // Progress goes to stdout in `show`; run and create keep stdout for the container, so
    // the stream is only drained for its errors.
    progress::show(&mut JsonStream::new(res), Mode::Quiet).await?;
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    id: String,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

/// `POST /containers/create`, pulling the image first per `--pull` (docker's
/// `createContainer`). Returns the new container's id.
pub async fn create(
    ctx: &Ctx,
    client: &Client,
    o: &CreateOpts,
    detach: bool,
    auto_remove: bool,
) -> Result<String> {
    let body = o.body(detach, auto_remove)?;
    let image = o.image();
    Reference::parse(image)?;
    let mut q = Query::new();
    if let Some(n) = &o.name {
        q = q.set("name", n.as_str());
    }
    if let Some(p) = o.platform.as_deref().filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    let path = format!("/containers/create{}", q.render());
    let shown = familiar(&Reference::parse(image)?.normalized()).to_owned();
    match o.pull.as_str() {
        "always" => pull(ctx, client, image, o.platform.as_deref()).await?,
        "missing" | "never" => {}
        other => bail!(
            "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
        ),
    }
    let send = || async {
        let res = client
            .request(
                Method::POST,
                &path,
                &[("content-type", "application/json".to_owned())],
                bytes(body.to_string()),
            )
            .await?;
        read_json::<Created>(res).await
    };
    let created = match send().await {
        Ok(c) => c,
        Err(e) => {
            let missing = e
                .downcast_ref::<ApiError>()
                .is_some_and(|a| a.status == StatusCode::NOT_FOUND && a.message.contains("image"));
            if !missing || o.pull != "missing" {
                return Err(e);
            }
            eprintln!("Unable to find image '{shown}' locally");
            pull(ctx, client, image, o.platform.as_deref()).await?;
            send().await?
        }
    };
    for w in created.warnings.unwrap_or_default() {
        eprintln!("WARNING: {w}");
    }
    Ok(created.id)
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: CreateOpts,
}

/// `muelle create`: prints the new id.
pub async fn run_create(ctx: &Ctx, a: CreateArgs) -> Result<()> {
    let client = ctx.client().await.map_err(|e| fail(125, e))?;
    let id = create(ctx, &client, &a.opts, true, false)
        .await
        .map_err(|e| fail(125, e))?;
    crate::out(&format!("{id}\n"))
}

/// Whether stdin is a terminal (for `-it`).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
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
    fn start_errors() {
        assert_eq!(
            start_error_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_error_code("exec /x: permission denied"), 126);
        assert_eq!(start_error_code("something else"), 125);
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
