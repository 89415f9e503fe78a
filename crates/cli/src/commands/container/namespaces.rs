//! The namespace and identity flags of `create`/`run` (`--pid`, `--ipc`, `--uts`,
//! `--userns`, `--shm-size`, `--sysctl`, `--group-add`, `--oom-score-adj`, `--domainname`)
//! checked and encoded into the request as the docker CLI does.

use anyhow::{bail, Result};
use muelle_types::container::{ContainerConfig, HostConfig};

use super::body::ram_in_bytes;

/// The sysctls the docker CLI lets through by name; `net.` and `fs.mqueue.` ones by prefix.
const SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// docker's namespace and identity options.
#[derive(clap::Args, Debug, Default)]
pub struct NamespaceOpts {
    /// PID namespace to use
    #[arg(long, value_name = "string")]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long, value_name = "string")]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long, value_name = "string")]
    pub uts: Option<String>,
    /// User namespace to use
    #[arg(long, value_name = "string")]
    pub userns: Option<String>,
    /// Size of /dev/shm
    #[arg(long, value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Sysctl options
    #[arg(long, value_name = "map")]
    pub sysctl: Vec<String>,
    /// Add additional groups to join
    #[arg(long, value_name = "list")]
    pub group_add: Vec<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub oom_score_adj: Option<i64>,
    /// Container NIS domain name
    #[arg(long, value_name = "string")]
    pub domainname: Option<String>,
}

/// docker's `ValidateSysctl`: `key=value` with a key of a namespace the container can own.
fn sysctl(s: &str) -> Result<(String, String)> {
    let refuse = || {
        anyhow::anyhow!(
            "invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed"
        )
    };
    let (k, v) = s.split_once('=').ok_or_else(refuse)?;
    if SYSCTLS.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") {
        Ok((k.to_owned(), v.to_owned()))
    } else {
        Err(refuse())
    }
}

/// `host`, `container:<name|id>` (when `container` is allowed) or nothing.
fn mode_ok(v: &str, container: bool) -> bool {
    v.is_empty()
        || v == "host"
        || (container && v.strip_prefix("container:").is_some_and(|t| !t.is_empty()))
}

impl NamespaceOpts {
    /// Sets the fields these flags own in the request.
    pub fn apply(&self, config: &mut ContainerConfig, hc: &mut HostConfig) -> Result<()> {
        let pid = self.pid.clone().unwrap_or_default();
        if !mode_ok(&pid, true) {
            bail!("--pid: invalid PID mode");
        }
        let uts = self.uts.clone().unwrap_or_default();
        if !mode_ok(&uts, false) {
            bail!("--uts: invalid UTS mode");
        }
        let userns = self.userns.clone().unwrap_or_default();
        if !mode_ok(&userns, false) {
            bail!("--userns: invalid USER mode");
        }
        hc.pid_mode = pid;
        hc.uts_mode = uts;
        hc.userns_mode = userns;
        hc.ipc_mode = self.ipc.clone().unwrap_or_default();
        if let Some(s) = &self.shm_size {
            hc.shm_size = ram_in_bytes(s).map_err(|e| {
                anyhow::anyhow!("invalid argument \"{s}\" for \"--shm-size\" flag: {e}")
            })?;
        }
        for s in &self.sysctl {
            let (k, v) = sysctl(s)?;
            hc.sysctls.insert(k, v);
        }
        if !self.group_add.is_empty() {
            hc.group_add = Some(self.group_add.clone());
        }
        hc.oom_score_adj = self.oom_score_adj.unwrap_or(0);
        config.domainname = self.domainname.clone().unwrap_or_default();
        Ok(())
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
        o: NamespaceOpts,
    }

    fn apply(args: &[&str]) -> Result<(ContainerConfig, HostConfig)> {
        let p = P::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
        let (mut c, mut h) = (ContainerConfig::default(), HostConfig::default());
        p.o.apply(&mut c, &mut h)?;
        Ok((c, h))
    }

    #[test]
    fn flags_become_the_request() {
        let (c, h) = apply(&[
            "--pid=container:a",
            "--ipc=shareable",
            "--uts=host",
            "--shm-size=1m",
            "--sysctl=net.ipv4.ip_forward=1",
            "--sysctl=kernel.shmmax=4096",
            "--group-add=audio",
            "--group-add=42",
            "--oom-score-adj=-5",
            "--domainname=example.com",
        ])
        .unwrap();
        assert_eq!(
            (
                h.pid_mode.as_str(),
                h.ipc_mode.as_str(),
                h.uts_mode.as_str()
            ),
            ("container:a", "shareable", "host")
        );
        assert_eq!(h.shm_size, 1 << 20);
        assert_eq!(h.sysctls.len(), 2);
        assert_eq!(h.group_add, Some(vec!["audio".into(), "42".into()]));
        assert_eq!(h.oom_score_adj, -5);
        assert_eq!(c.domainname, "example.com");
    }

    #[test]
    fn dockers_refusals() {
        let err = |a: &[&str]| apply(a).unwrap_err().to_string();
        assert_eq!(err(&["--pid=bogus"]), "--pid: invalid PID mode");
        assert_eq!(err(&["--uts=container:x"]), "--uts: invalid UTS mode");
        assert_eq!(err(&["--userns=bogus"]), "--userns: invalid USER mode");
        assert_eq!(
            err(&["--sysctl=kernel.foo=1"]),
            "invalid argument \"kernel.foo=1\" for \"--sysctl\" flag: sysctl 'kernel.foo=1' is not allowed"
        );
        assert!(apply(&["--ipc=bogus"]).is_ok(), "the daemon checks --ipc");
    }
}
