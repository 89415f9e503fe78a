//! The resource and security flags of `create`/`run` (`--tmpfs`, `--pids-limit`, cgroup
//! limits, `--ulimit`, `--security-opt`) encoded into `HostConfig` as the docker CLI does:
//! sizes in bytes, tmpfs as a map, ulimits as `[{Name, Soft, Hard}]`, a seccomp profile
//! file sent as its (compacted) content.

use anyhow::{anyhow, bail, Context as _, Result};
use muelle_types::container::{HostConfig, Ulimit};

use super::body::ram_in_bytes;
use super::opts::CreateOpts;

/// `--ulimit name=soft[:hard]` (docker's `units.ParseUlimit`; hard defaults to soft).
pub fn parse_ulimit(s: &str) -> Result<Ulimit> {
    let (name, limits) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("invalid ulimit argument: {s}"))?;
    let num = |v: &str| -> Result<u64> {
        v.parse()
            .map_err(|_| anyhow!("invalid ulimit argument: {s}"))
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((soft, hard)) => (num(soft)?, num(hard)?),
        None => (num(limits)?, num(limits)?),
    };
    if soft > hard {
        bail!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
    }
    Ok(Ulimit {
        name: name.to_owned(),
        soft,
        hard,
    })
}

/// docker's `parseSecurityOpts`: `key=value` (or `key:value`), a seccomp profile path
/// replaced by the profile itself.
pub fn security_opts(opts: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        if opt == "no-new-privileges" {
            out.push(opt.clone());
            continue;
        }
        let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            bail!("invalid --security-opt: {opt:?}");
        };
        if key == "seccomp" && value != "unconfined" && value != "builtin" {
            let text = std::fs::read_to_string(value)
                .with_context(|| format!("opening seccomp profile ({value}) failed"))?;
            let profile: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("compacting json for seccomp profile ({value}) failed"))?;
            out.push(format!("seccomp={profile}"));
        } else {
            out.push(opt.clone());
        }
    }
    Ok(out)
}

/// `--memory-swap`: `-1` is unlimited swap, anything else a size.
fn memory_swap(s: &str) -> Result<i64> {
    if s == "-1" {
        Ok(-1)
    } else {
        ram_in_bytes(s)
    }
}

impl CreateOpts {
    /// Sets the fields these flags own in `hc`.
    pub fn apply_limits(&self, hc: &mut HostConfig) -> Result<()> {
        for t in &self.tmpfs {
            let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
            hc.tmpfs.insert(path.to_owned(), opts.to_owned());
        }
        hc.pids_limit = self.pids_limit;
        hc.cpu_shares = self.cpu_shares.unwrap_or(0);
        hc.memory_swap = self.memory_swap.as_deref().map_or(Ok(0), memory_swap)?;
        hc.memory_reservation = self
            .memory_reservation
            .as_deref()
            .map_or(Ok(0), ram_in_bytes)?;
        hc.cpu_period = self.cpu_period.unwrap_or(0);
        hc.cpu_quota = self.cpu_quota.unwrap_or(0);
        hc.cpuset_cpus = self.cpuset_cpus.clone().unwrap_or_default();
        hc.cpuset_mems = self.cpuset_mems.clone().unwrap_or_default();
        hc.ulimits = self
            .ulimit
            .iter()
            .map(|u| parse_ulimit(u))
            .collect::<Result<_>>()?;
        hc.security_opt = security_opts(&self.security_opt)?;
        self.devices.apply(hc)
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
    fn limits_in_the_body() {
        let p = P::try_parse_from([
            "x",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/run:rw,size=1m",
            "--pids-limit",
            "-1",
            "-c",
            "512",
            "--memory-swap",
            "-1",
            "--memory-reservation",
            "1g",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--ulimit",
            "nofile=10:20",
            "--ulimit",
            "nproc=5",
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "--pids-limit",
        ])
        .unwrap();
        let b = p.o.body(false, false).unwrap();
        let h = &b["HostConfig"];
        assert_eq!(h["Tmpfs"], json!({"/tmp": "", "/run": "rw,size=1m"}));
        assert_eq!(h["PidsLimit"], json!(-1));
        assert_eq!(h["CpuShares"], json!(512));
        assert_eq!(h["MemorySwap"], json!(-1));
        assert_eq!(h["MemoryReservation"], json!(1i64 << 30));
        assert_eq!(h["CpuPeriod"], json!(100000));
        assert_eq!(h["CpuQuota"], json!(50000));
        assert_eq!(h["CpusetCpus"], json!("0"));
        assert_eq!(h["CpusetMems"], json!("0"));
        assert_eq!(
            h["Ulimits"],
            json!([{"Name":"nofile","Soft":10,"Hard":20},{"Name":"nproc","Soft":5,"Hard":5}])
        );
        assert_eq!(
            h["SecurityOpt"],
            json!(["no-new-privileges", "seccomp=unconfined"])
        );
        assert_eq!(b["Cmd"], json!(["--pids-limit"]));
        assert!(p.o.refuse_unknown_flag("run").is_ok());
    }

    #[test]
    fn unknown_flag_before_the_image() {
        let p = P::try_parse_from(["x", "--bogus", "busybox"]).unwrap();
        assert!(p.o.refuse_unknown_flag("run").is_err());
    }

    #[test]
    fn bad_ulimits() {
        assert!(parse_ulimit("nofile").is_err());
        assert!(parse_ulimit("nofile=2:1").is_err());
        assert!(parse_ulimit("nofile=x").is_err());
        assert!(security_opts(&["bogus".into()]).is_err());
    }
}
