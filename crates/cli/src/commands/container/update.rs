//! `muelle update`: `POST /containers/{id}/update` with docker's flags, for each name
//! (printed when it succeeded).

use anyhow::{bail, Result};
use hyper::Method;
use muelle_types::container::ContainerUpdate;

use super::body::{ram_in_bytes, restart_policy};
use super::calls::each_name;
use crate::client::{bytes, encode_path, read_json};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long, value_name = "uint16")]
    blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int")]
    cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int")]
    cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated)
    #[arg(long, value_name = "bytes", hide = true)]
    kernel_memory: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    memory: Option<String>,
    /// Memory soft limit
    #[arg(long, value_name = "bytes")]
    memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_negative_numbers = true)]
    memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    restart: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

impl Args {
    fn any_flag(&self) -> bool {
        self.blkio_weight.is_some()
            || self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_shares.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
            || self.kernel_memory.is_some()
            || self.cpus.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some()
            || self.memory.is_some()
            || self.memory_reservation.is_some()
            || self.memory_swap.is_some()
            || self.pids_limit.is_some()
            || self.restart.is_some()
    }
}

/// The request body docker's `update` sends for these flags (zero: unchanged).
pub fn body(a: &Args) -> Result<ContainerUpdate> {
    let size = |s: &Option<String>| -> Result<i64> {
        match s.as_deref() {
            None | Some("") => Ok(0),
            Some("-1") => Ok(-1),
            Some(v) => ram_in_bytes(v),
        }
    };
    let nano_cpus = match a.cpus {
        None => 0,
        Some(c) if !(0.0..=(i64::MAX as f64 / 1e9)).contains(&c) => {
            bail!("invalid argument \"{c}\" for \"--cpus\" flag: value is out of range")
        }
        Some(c) => (c * 1e9).round() as i64,
    };
    Ok(ContainerUpdate {
        memory: size(&a.memory)?,
        memory_swap: size(&a.memory_swap)?,
        memory_reservation: size(&a.memory_reservation)?,
        nano_cpus,
        cpu_shares: a.cpu_shares.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        pids_limit: a.pids_limit,
        blkio_weight: a.blkio_weight.unwrap_or(0),
        restart_policy: match a.restart.as_deref() {
            Some(r) if !r.is_empty() => restart_policy(r)?,
            _ => Default::default(),
        },
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        kernel_memory: size(&a.kernel_memory)?,
    })
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if !a.any_flag() {
        bail!("You must provide one or more flags when using this command.");
    }
    let body = serde_json::to_string(&body(&a)?)?;
    let client = ctx.client().await?;
    each_name(&a.names, |n| {
        let path = format!("/containers/{}/update", encode_path(&n));
        let (client, body) = (&client, body.clone());
        async move {
            let res = client
                .request(
                    Method::POST,
                    &path,
                    &[("content-type", "application/json".to_owned())],
                    bytes(body),
                )
                .await?;
            let r: serde_json::Value = read_json(res).await?;
            for w in r["Warnings"].as_array().into_iter().flatten() {
                if let Some(w) = w.as_str() {
                    eprintln!("{w}");
                }
            }
            Ok(())
        }
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        a: Args,
    }

    #[test]
    fn flags_become_the_body() {
        let p = P::try_parse_from([
            "update",
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--cpus",
            "0.5",
            "--pids-limit",
            "-1",
            "--restart",
            "on-failure:3",
            "--cpu-rt-period",
            "100000",
            "--cpu-rt-runtime",
            "5000",
            "--kernel-memory",
            "64m",
            "c1",
        ])
        .unwrap();
        let b = body(&p.a).unwrap();
        assert_eq!(
            (b.cpu_realtime_period, b.cpu_realtime_runtime),
            (100_000, 5000)
        );
        assert_eq!(b.kernel_memory, 64 << 20);
        assert_eq!(b.memory, 64 << 20);
        assert_eq!(b.memory_swap, -1);
        assert_eq!(b.nano_cpus, 500_000_000);
        assert_eq!(b.pids_limit, Some(-1));
        assert_eq!(b.restart_policy.name, "on-failure");
        assert_eq!(b.restart_policy.maximum_retry_count, 3);
    }
}
