//! `docker run` options as docker-py (Debian's python3-docker, a client no one here wrote)
//! sends them: one script runs a container per option against a daemon and prints what the
//! container saw (its cgroup files, /proc, /etc files, inspect fields) as JSON; the same
//! script against the shared dockerd and a private muelled must print the same. Each
//! container carries a label unique to the run and is removed by the script (and, if it
//! fails, by the test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use muelle_test_support::proc::unique;
use serde_json::Value;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon};

const DOCKERD_SOCK: &str = "/run/docker.sock";

const SCRIPT: &str = r#"
import json, os, sys, docker
sock, tag = sys.argv[1], sys.argv[2]
c = docker.DockerClient(base_url="unix://" + sock, version="auto")
seen = {}
made = []

def run(key, cmd, phrase=None, **kw):
    """What the container printed; for a refusal, `refused: PHRASE` when the daemon's
    message has the phrase (the rest names daemon-specific paths and ids)."""
    kw.setdefault("network_mode", "none")
    labels = kw.pop("labels", {})
    labels["muelle.dockerpy"] = tag
    try:
        out = c.containers.run("busybox", ["sh", "-c", cmd], labels=labels, remove=True,
                               stdout=True, stderr=True, **kw)
        seen[key] = out.decode()
    except docker.errors.APIError as e:
        msg = str(e.explanation)
        seen[key] = "refused: " + phrase if phrase and phrase in msg else "APIError: " + msg
    except docker.errors.ContainerError as e:
        seen[key] = "exit %d: %s" % (e.exit_status, e.stderr.decode())

def created(key, fields, **kw):
    kw.setdefault("network_mode", "none")
    labels = kw.pop("labels", {})
    labels["muelle.dockerpy"] = tag
    ctr = c.containers.create("busybox", "true", labels=labels, **kw)
    made.append(ctr)
    a = ctr.attrs
    out = {}
    for f in fields:
        v = a
        for part in f.split("."):
            v = (v or {}).get(part)
        out[f] = v
    seen[key] = out

cg = "/sys/fs/cgroup"
run("mem_limit", "cat %s/memory/memory.limit_in_bytes" % cg, mem_limit="64m")
run("memswap_limit", "cat %s/memory/memory.memsw.limit_in_bytes" % cg, mem_limit="64m", memswap_limit="128m")
run("mem_reservation", "cat %s/memory/memory.soft_limit_in_bytes" % cg, mem_reservation="32m")
run("mem_swappiness", "cat %s/memory/memory.swappiness" % cg, mem_swappiness=10)
run("oom_kill_disable", "head -1 %s/memory/memory.oom_control" % cg, mem_limit="64m", oom_kill_disable=True)
run("oom_score_adj", "cat /proc/self/oom_score_adj", oom_score_adj=300)
run("nano_cpus", "cat %s/cpu/cpu.cfs_quota_us" % cg, nano_cpus=500000000)
run("cpu_shares", "cat %s/cpu/cpu.shares" % cg, cpu_shares=512)
run("cpu_period_quota", "cat %s/cpu/cpu.cfs_period_us %s/cpu/cpu.cfs_quota_us" % (cg, cg), cpu_period=50000, cpu_quota=25000)
run("cpuset", "cat %s/cpuset/cpuset.cpus %s/cpuset/cpuset.mems" % (cg, cg), cpuset_cpus="0", cpuset_mems="0")
run("pids_limit", "cat %s/pids/pids.max" % cg, pids_limit=50)
run("ulimits", "ulimit -n", ulimits=[docker.types.Ulimit(name="nofile", soft=512, hard=512)])
run("shm_size", "df -k /dev/shm | tail -1 | awk '{print $2}'", shm_size="16m")
run("cap_drop", "chown 1 /tmp 2>/dev/null && echo chowned || echo denied", cap_drop=["CHOWN"])
run("cap_add", "grep CapEff /proc/self/status", cap_add=["NET_ADMIN"])
run("security_opt", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status", security_opt=["no-new-privileges", "seccomp=unconfined"])
run("read_only_tmpfs", "touch /t/x && echo tmpfs-ok; touch /x 2>/dev/null || echo ro", read_only=True, tmpfs={"/t": "size=1m"})
run("user_group_add", "id", user="1000:1000", group_add=["1234"])
run("workdir_env", "pwd; echo $FOO", working_dir="/made", environment={"FOO": "bar"})
run("hostname_domain", "hostname; cat /proc/sys/kernel/domainname", hostname="box", domainname="example.org")
run("sysctls", "cat /proc/sys/net/ipv4/ip_forward", sysctls={"net.ipv4.ip_forward": "1"})
run("devices", "(exec 3</dev/f) && echo read-ok; (exec 4>/dev/f) 2>/dev/null || echo write-denied", devices=["/dev/fuse:/dev/f:r"])
run("device_cgroup_rules", "mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) 2>/dev/null && echo opened || echo denied", device_cgroup_rules=["c 10:229 rwm"])
run("pid_host", "cat /proc/1/comm", pid_mode="host")
run("ipc_host", "readlink /proc/self/ns/ipc", ipc_mode="host")
run("uts_host", "hostname", uts_mode="host")
run("dns_hosts", "cat /etc/resolv.conf; grep foo /etc/hosts", dns=["10.0.0.1"], dns_search=["ex.org"], dns_opt=["ndots:2"], extra_hosts={"foo": "10.1.1.1"})
run("init", "cat /proc/1/comm | grep -qv '^sh$' && echo has-init", init=True)
run("storage_opt", "true", "--storage-opt is supported only for overlay over xfs with 'pquota' mount option", storage_opt={"size": "1G"})
run("cpu_rt_runtime", "true", "cpu.rt_runtime_us", cpu_rt_runtime=1000)
run("gpus", "true", 'could not select device driver "" with capabilities: [[gpu]]',
    device_requests=[docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])])
run("blkio_weight", "echo ran", blkio_weight=300)

vol = "pyvol-" + tag
run("volume_write", "echo kept > /data/f", volumes={vol: {"bind": "/data", "mode": "rw"}})
run("volume_read", "cat /data/f", volumes={vol: {"bind": "/data", "mode": "ro"}})
c.volumes.get(vol).remove()
src = c.containers.create("busybox", "true", volumes=["/shared"], network_mode="none", labels={"muelle.dockerpy": tag})
made.append(src)
run("volumes_from", "ls -d /shared", volumes_from=[src.id])

created("restart_health_stop", ["HostConfig.RestartPolicy", "Config.Healthcheck", "Config.StopSignal"],
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
        healthcheck={"test": ["CMD-SHELL", "true"], "interval": 2000000000, "retries": 5},
        stop_signal="SIGUSR1")
# Only what was asked: muelled adds its rotation defaults (max-file) where dockerd adds none.
created("log_config", ["HostConfig.LogConfig.Type", "HostConfig.LogConfig.Config.max-size"], log_config=docker.types.LogConfig(type="json-file", config={"max-size": "1m"}))
created("labels", ["Config.Labels.k"], labels={"k": "v"})

for ctr in made:
    ctr.remove(force=True, v=True)
print(json.dumps(seen, sort_keys=True, indent=1))
"#;

fn script(sock: &str, tag: &str) -> Output {
    Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(sock)
        .arg(tag)
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Removes what a failed script left on the shared dockerd (this run's label only).
fn clean_dockerd(tag: &str) {
    let docker = |args: &[&str]| {
        Command::new(support::DOCKER)
            .args(["-H", &format!("unix://{DOCKERD_SOCK}")])
            .args(args)
            .output()
            .unwrap()
    };
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=muelle.dockerpy={tag}"),
    ]);
    for id in String::from_utf8_lossy(&ids.stdout).lines() {
        docker(&["rm", "-f", "-v", id]);
    }
    docker(&["volume", "rm", "-f", &format!("pyvol-{tag}")]);
}

struct Env {
    d: Daemon,
    tag: String,
}

impl Drop for Env {
    fn drop(&mut self) {
        clean_dockerd(&self.tag);
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

#[test]
fn run_options_through_docker_py_as_on_dockerd_needs_dockerd_dockerpy_cgroupv1() {
    support::require_docker_py();
    let e = Env {
        d: daemon_with_busybox(),
        tag: format!("t{}", unique()),
    };
    let theirs = script(DOCKERD_SOCK, &e.tag);
    assert!(
        theirs.status.success(),
        "against dockerd: {}",
        show(&theirs)
    );
    let ours = script(e.d.socket.to_str().unwrap(), &e.tag);
    assert!(
        ours.status.success(),
        "against muelled: {}\n{}",
        show(&ours),
        e.d.log()
    );
    let theirs: Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let mut diffs = Vec::new();
    for (k, want) in theirs.as_object().unwrap() {
        let got = &ours[k];
        if got != want {
            diffs.push(format!("{k}:\n  dockerd: {want}\n  muelled: {got}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} options differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
