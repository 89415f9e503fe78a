//! The subcommands, with runc's names and flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use muelle_runtime::{sealed, signal, spec, Container, CreateOptions, ExecOptions};
use oci_spec::runtime::{LinuxResources, Process};

use crate::Cli;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container (runs nothing of the user's yet).
    Create(CreateArgs),
    /// Start the user process of a created container.
    Start { id: String },
    /// Output the state of a container.
    State { id: String },
    /// Send a signal to the container's init (or all its processes).
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a container's resources.
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container.
    Run(RunArgs),
    /// Run a new process inside a container.
    Exec(ExecArgs),
    /// Processes running inside a container.
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// List containers.
    #[command(alias = "ls")]
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Freeze all processes of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Resource usage statistics (and OOM notices) of a container.
    Events {
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Update resource limits.
    Update(UpdateArgs),
    /// Write a default config.json.
    Spec {
        #[arg(short, long)]
        bundle: Option<PathBuf>,
        #[arg(long)]
        rootless: bool,
    },
    /// Describe what this runtime supports (runtime-spec features.md).
    Features,
    /// Not supported: checkpoint/restore needs CRIU.
    Checkpoint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// Not supported: checkpoint/restore needs CRIU.
    Restore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    create: CreateArgs,
    #[arg(short, long)]
    detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    keep: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    #[arg(short, long)]
    process: Option<PathBuf>,
    #[arg(short, long)]
    tty: bool,
    #[arg(long)]
    cwd: Option<String>,
    #[arg(short, long)]
    env: Vec<String>,
    #[arg(short, long)]
    user: Option<String>,
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    #[arg(short, long)]
    cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(short, long)]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    #[arg(long = "process-label")]
    process_label: Option<String>,
    #[arg(long)]
    apparmor: Option<String>,
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[arg(short, long)]
    resources: Option<PathBuf>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    #[arg(long = "kernel-memory")]
    kernel_memory: Option<String>,
    #[arg(long = "cpu-shares")]
    cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota")]
    cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
    id: String,
}

pub fn run(cli: &Cli) -> Result<u8> {
    let root = &cli.root;
    match &cli.cmd {
        Command::Create(a) => {
            sealed::ensure_sealed()?;
            Container::create(&create_opts(cli, a, false))?;
            Ok(0)
        }
        Command::Start { id } => {
            warn_all(Container::load(root, id)?.start()?);
            Ok(0)
        }
        Command::State { id } => {
            let c = Container::load(root, id)?;
            println!("{}", serde_json::to_string_pretty(&c.state())?);
            Ok(0)
        }
        Command::Kill { all, id, signal: s } => {
            let sig = signal::parse(s).map_err(anyhow::Error::msg)?;
            Container::load(root, id)?.kill(sig, *all)?;
            Ok(0)
        }
        Command::Delete { force, id } => {
            let c = match Container::load(root, id) {
                Ok(c) => c,
                Err(muelle_runtime::RuntimeError::NotFound(_)) if *force => {
                    // runc: `delete --force` of a container that is gone already succeeds.
                    return Ok(0);
                }
                Err(e) => return Err(e.into()),
            };
            warn_all(c.delete(*force)?);
            Ok(0)
        }
        Command::Run(a) => run_cmd(cli, a),
        Command::Exec(a) => exec_cmd(cli, a),
        Command::Ps {
            format,
            id,
            ps_args,
        } => ps_cmd(root, id, format, ps_args),
        Command::List { format, quiet } => list_cmd(root, format, *quiet),
        Command::Pause { id } => {
            Container::load(root, id)?.pause()?;
            Ok(0)
        }
        Command::Resume { id } => {
            Container::load(root, id)?.resume()?;
            Ok(0)
        }
        Command::Events {
            stats,
            interval,
            id,
        } => events_cmd(root, id, *stats, interval),
        Command::Update(a) => update_cmd(root, a),
        Command::Spec { bundle, rootless } => spec_cmd(bundle.as_deref(), *rootless),
        Command::Features => {
            println!("{}", serde_json::to_string_pretty(&features())?);
            Ok(0)
        }
        Command::Checkpoint { .. } | Command::Restore { .. } => {
            bail!("checkpoint/restore is not supported by muelle-runtime (no CRIU integration)")
        }
    }
}

/// Hook failures that runtime.md makes warnings: to stderr and the log, and on we go.
fn warn_all(warnings: Vec<muelle_runtime::RuntimeError>) {
    for w in warnings {
        let msg = w.to_string();
        crate::log::warn(&msg);
        eprintln!("muelle-runtime: warning: {msg}");
    }
}

fn create_opts(cli: &Cli, a: &CreateArgs, subreaper: bool) -> CreateOptions {
    CreateOptions {
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        root: cli.root.clone(),
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds + listen_fds(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        systemd_cgroup: cli.systemd_cgroup,
        subreaper,
        start_immediately: false,
    }
}

/// Socket activation: LISTEN_FDS descriptors are passed on like --preserve-fds (runc does).
fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn run_cmd(cli: &Cli, a: &RunArgs) -> Result<u8> {
    sealed::ensure_sealed()?;
    let mut opts = create_opts(cli, &a.create, !a.detach);
    opts.start_immediately = true;
    if !a.detach {
        muelle_runtime::sys::catch_signals(&forwarded_signals())?;
    }
    // A terminal without a console socket in the foreground: be the console ourselves, as
    // `runc run` does, so `spec && run` works for a person at a terminal.
    let bundle_spec = spec::load_bundle(&a.create.bundle)?;
    let wants_tty = bundle_spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = if wants_tty && opts.console_socket.is_none() {
        if a.detach {
            bail!("process.terminal is true: a detached run needs --console-socket");
        }
        let dir = tempfile_dir()?;
        let path = dir.join("console.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path)
            .with_context(|| format!("listen on {}", path.display()))?;
        opts.console_socket = Some(path);
        Some((dir, listener))
    } else {
        None
    };
    let c = Container::create_from(&opts, bundle_spec)?;
    let master = match &console {
        Some((dir, listener)) => {
            let r = receive_master(listener);
            let _ = std::fs::remove_dir_all(dir);
            match r {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = c.delete(true);
                    return Err(e);
                }
            }
        }
        None => None,
    };
    warn_all(c.poststart());
    if a.detach {
        return Ok(0);
    }
    let code = match master {
        Some(m) => crate::tty::proxy(&c, m),
        None => c.wait_init(true).map_err(Into::into),
    };
    if !a.keep {
        warn_all(c.delete(true)?);
    }
    Ok(code? as u8)
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("muelle-runtime-console-{}", std::process::id()));
    std::fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

fn receive_master(listener: &std::os::unix::net::UnixListener) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    let (conn, _) = listener.accept().context("accept console connection")?;
    let mut buf = [0u8; 4096];
    let (_, mut fds) =
        muelle_runtime::sys::recv_fds(conn.as_fd(), &mut buf, 1).context("receive pty master")?;
    fds.pop().context("the container sent no pty master")
}

fn forwarded_signals() -> Vec<i32> {
    (1..32)
        .filter(|s| {
            ![
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGCHLD,
                libc::SIGPIPE,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
            ]
            .contains(s)
        })
        .collect()
}

fn exec_cmd(cli: &Cli, a: &ExecArgs) -> Result<u8> {
    sealed::ensure_sealed()?;
    let c = Container::load(&cli.root, &a.id)?;
    let process = match &a.process {
        Some(p) => {
            let bytes =
                std::fs::read(p).with_context(|| format!("read process file {}", p.display()))?;
            serde_json::from_slice::<Process>(&bytes)
                .with_context(|| format!("process file {}: malformed", p.display()))?
        }
        None => build_process(&c, a)?,
    };
    spec::validate_process(&process)?;
    if !a.detach {
        muelle_runtime::sys::catch_signals(&forwarded_signals())?;
    }
    let opts = ExecOptions {
        process,
        console_socket: a.console_socket.clone(),
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
        detach: a.detach,
    };
    let r = c.exec(&opts)?;
    Ok(if a.detach { 0 } else { r as u8 })
}

fn build_process(c: &Container, a: &ExecArgs) -> Result<Process> {
    if a.args.is_empty() {
        bail!("exec: no command given (use --process FILE or give the command after the container id)");
    }
    let base = c.spec.process().clone().unwrap_or_default();
    let mut v = serde_json::to_value(&base)?;
    v["args"] = serde_json::json!(a.args);
    v["terminal"] = serde_json::json!(a.tty);
    if let Some(cwd) = &a.cwd {
        v["cwd"] = serde_json::json!(cwd);
    }
    if !a.env.is_empty() {
        let mut env: Vec<String> = base.env().clone().unwrap_or_default();
        for e in &a.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        v["env"] = serde_json::json!(env);
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (
                u.parse::<u32>().context("--user: uid must be numeric")?,
                g.parse::<u32>().context("--user: gid must be numeric")?,
            ),
            None => (u.parse::<u32>().context("--user: uid must be numeric")?, 0),
        };
        v["user"] =
            serde_json::json!({"uid": uid, "gid": gid, "additionalGids": a.additional_gids});
    } else if !a.additional_gids.is_empty() {
        v["user"]["additionalGids"] = serde_json::json!(a.additional_gids);
    }
    if a.no_new_privs {
        v["noNewPrivileges"] = serde_json::json!(true);
    }
    if !a.cap.is_empty() {
        for set in ["bounding", "effective", "permitted", "ambient"] {
            let mut cur: Vec<String> = v["capabilities"][set]
                .as_array()
                .map(|x| {
                    x.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for cap in &a.cap {
                if !cur.contains(cap) {
                    cur.push(cap.clone());
                }
            }
            v["capabilities"][set] = serde_json::json!(cur);
        }
    }
    if let Some(ap) = &a.apparmor {
        v["apparmorProfile"] = serde_json::json!(ap);
    }
    if let Some(l) = &a.process_label {
        v["selinuxLabel"] = serde_json::json!(l);
    }
    let _ = a.ignore_paused;
    Ok(serde_json::from_value(v)?)
}

fn ps_cmd(root: &Path, id: &str, format: &str, ps_args: &[String]) -> Result<u8> {
    let c = Container::load(root, id)?;
    let pids = c.processes()?;
    if format == "json" {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{header}")?;
    for l in lines {
        if let Some(p) = l
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok())
        {
            if pids.contains(&p) {
                writeln!(stdout, "{l}")?;
            }
        }
    }
    Ok(0)
}

fn list_cmd(root: &Path, format: &str, quiet: bool) -> Result<u8> {
    let all = Container::list(root)?;
    if quiet {
        for c in &all {
            println!("{}", c.saved.id);
        }
        return Ok(0);
    }
    let states: Vec<_> = all.iter().map(|c| c.state()).collect();
    if format == "json" {
        println!("{}", serde_json::to_string(&states)?);
        return Ok(0);
    }
    let mut rows = vec![[
        "ID".to_string(),
        "PID".into(),
        "STATUS".into(),
        "BUNDLE".into(),
        "CREATED".into(),
        "OWNER".into(),
    ]];
    for s in &states {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            if s.owner.is_empty() {
                "root".into()
            } else {
                s.owner.clone()
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(0)
}

fn parse_interval(s: &str) -> Result<std::time::Duration> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num
        .parse()
        .with_context(|| format!("--interval {s:?}: not a duration"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => bail!("--interval {s:?}: unknown unit {unit:?}"),
    };
    if secs <= 0.0 {
        bail!("--interval {s:?}: must be positive");
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn events_cmd(root: &Path, id: &str, once: bool, interval: &str) -> Result<u8> {
    let every = parse_interval(interval)?;
    let c = Container::load(root, id)?;
    loop {
        if c.status() == muelle_runtime::state::Status::Stopped {
            if once {
                bail!("container {id} is stopped");
            }
            return Ok(0);
        }
        let stats = c.cgroup()?.stats()?;
        let ev = serde_json::json!({"type": "stats", "id": id, "data": stats});
        println!("{ev}");
        if once {
            return Ok(0);
        }
        std::thread::sleep(every);
    }
}

fn parse_bytes(s: &str) -> Result<i64> {
    if s == "-1" {
        return Ok(-1);
    }
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = match t.trim_end_matches('b').chars().last() {
        Some('k') => (&t[..t.trim_end_matches('b').len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.trim_end_matches('b').len() - 1], 1 << 20),
        Some('g') => (&t[..t.trim_end_matches('b').len() - 1], 1 << 30),
        _ => (t.trim_end_matches('b'), 1),
    };
    let n: i64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    Ok(n * mult)
}

fn update_cmd(root: &Path, a: &UpdateArgs) -> Result<u8> {
    let c = Container::load(root, &a.id)?;
    let mut v = match &a.resources {
        Some(p) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            serde_json::from_str::<serde_json::Value>(&s)
                .context("resources from stdin: malformed JSON")?
        }
        Some(p) => {
            let s = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
            serde_json::from_str::<serde_json::Value>(&s)
                .with_context(|| format!("{}: malformed JSON", p.display()))?
        }
        None => serde_json::json!({}),
    };
    let mut set = |sec: &str, key: &str, val: serde_json::Value| {
        v[sec][key] = val;
    };
    if let Some(m) = &a.memory {
        set("memory", "limit", parse_bytes(m)?.into());
    }
    if let Some(m) = &a.memory_swap {
        set("memory", "swap", parse_bytes(m)?.into());
    }
    if let Some(m) = &a.memory_reservation {
        set("memory", "reservation", parse_bytes(m)?.into());
    }
    let _ = &a.kernel_memory;
    if let Some(x) = a.cpu_shares {
        set("cpu", "shares", x.into());
    }
    if let Some(x) = a.cpu_quota {
        set("cpu", "quota", x.into());
    }
    if let Some(x) = a.cpu_period {
        set("cpu", "period", x.into());
    }
    if let Some(x) = a.cpu_rt_period {
        set("cpu", "realtimePeriod", x.into());
    }
    if let Some(x) = a.cpu_rt_runtime {
        set("cpu", "realtimeRuntime", x.into());
    }
    if let Some(x) = &a.cpuset_cpus {
        set("cpu", "cpus", x.clone().into());
    }
    if let Some(x) = &a.cpuset_mems {
        set("cpu", "mems", x.clone().into());
    }
    if let Some(x) = a.pids_limit {
        set("pids", "limit", x.into());
    }
    if let Some(x) = a.blkio_weight {
        set("blockIO", "weight", x.into());
    }
    let res: LinuxResources = serde_json::from_value(v).context("resources: invalid")?;
    c.update(&res)?;
    Ok(0)
}

fn spec_cmd(bundle: Option<&Path>, rootless: bool) -> Result<u8> {
    let dir = bundle
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let mut v: serde_json::Value = serde_json::from_str(crate::spec_template::DEFAULT)?;
    if rootless {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        v = crate::spec_template::rootless(v, uid, gid);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&v)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}

fn features() -> serde_json::Value {
    let mount_opts = [
        "acl",
        "async",
        "atime",
        "bind",
        "defaults",
        "dev",
        "diratime",
        "dirsync",
        "exec",
        "iversion",
        "lazytime",
        "loud",
        "mand",
        "noacl",
        "noatime",
        "nodev",
        "nodiratime",
        "noexec",
        "noiversion",
        "nolazytime",
        "nomand",
        "norelatime",
        "nostrictatime",
        "nosuid",
        "nosymfollow",
        "private",
        "ratime",
        "rbind",
        "rdev",
        "rdiratime",
        "relatime",
        "remount",
        "rexec",
        "rnoatime",
        "rnodev",
        "rnodiratime",
        "rnoexec",
        "rnorelatime",
        "rnostrictatime",
        "rnosuid",
        "rnosymfollow",
        "ro",
        "rprivate",
        "rrelatime",
        "rro",
        "rrw",
        "rshared",
        "rslave",
        "rstrictatime",
        "rsuid",
        "rsymfollow",
        "runbindable",
        "rw",
        "shared",
        "silent",
        "slave",
        "strictatime",
        "suid",
        "symfollow",
        "sync",
        "unbindable",
    ];
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_opts.to_vec(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": muelle_runtime::capabilities::known(),
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": false},
            "seccomp": muelle_runtime::seccomp::features(),
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": Path::new("/sys/fs/resctrl/schemata").exists()},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "org.opencontainers.runc.version": "muelle-runtime",
            "io.github.muelle.runtime.version": env!("CARGO_PKG_VERSION")
        }
    })
}
