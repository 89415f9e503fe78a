//! Rows for what the container may do: capabilities, privileged mode, security options,
//! user and groups, user namespaces, sysctls, devices and GPUs.

use crate::Dockerd::*;
use crate::Verdict::*;
use crate::{same, Row};

/// The capability mask of `field` (CapEff, CapBnd …) in this process's status.
fn own_caps(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
        .unwrap_or_default()
}

pub const ROWS: &[Row] = &[
    Row {
        flag: "--cap-add",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--cap-add", "NET_ADMIN"],
                &["grep", "CapEff", "/proc/self/status"],
                "CapEff:\t00000000a80435fb\n",
            )?;
            r.refused(&["--cap-add", "NOT_A_CAP"], "unknown capability: \"CAP_NOT_A_CAP\"")
        },
    },
    Row {
        flag: "--cap-drop",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--cap-drop", "CHOWN"],
                &["sh", "-c", "chown 1 /tmp 2>/dev/null && echo chowned || echo denied"],
                "denied\n",
            )?;
            r.expect(
                &["--cap-drop", "ALL"],
                &["grep", "CapEff", "/proc/self/status"],
                "CapEff:\t0000000000000000\n",
            )
        },
    },
    Row {
        flag: "--privileged",
        verdict: Works,
        dockerd: Differs("dockerd's runc cannot apply all capabilities here: the bounding set lacks CAP_SYS_RESOURCE"),
        check: |r| {
            let caps = r.out(&["--privileged"], &["grep", "CapEff", "/proc/self/status"])?;
            same(&caps, &format!("CapEff:\t{}\n", own_caps("CapBnd")), "privileged CapEff")?;
            let host = std::fs::read_dir("/dev").unwrap().count();
            let ours = r.out(&["--privileged"], &["sh", "-c", "ls -A /dev | wc -l"])?;
            let ours: usize = ours.trim().parse().map_err(|_| format!("ls /dev: {ours}"))?;
            // The host's devices (its /dev also holds links and directories the container's lacks).
            if ours * 2 < host {
                return Err(format!("{ours} entries in the privileged container's /dev, {host} on the host"));
            }
            Ok(())
        },
    },
    Row {
        flag: "--security-opt",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--security-opt", "no-new-privileges"],
                &["grep", "NoNewPrivs", "/proc/self/status"],
                "NoNewPrivs:\t1\n",
            )?;
            r.expect(
                &["--security-opt", "seccomp=unconfined"],
                &["grep", "^Seccomp:", "/proc/self/status"],
                "Seccomp:\t0\n",
            )?;
            r.expect(&[], &["grep", "^Seccomp:", "/proc/self/status"], "Seccomp:\t2\n")
        },
    },
    Row {
        flag: "--user",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-u", "1000:1000"], &["id"], "uid=1000 gid=1000 groups=1000\n"),
    },
    Row {
        flag: "--group-add",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--group-add", "1234"], &["id", "-G"], "0 1234\n"),
    },
    Row {
        flag: "--userns",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--userns", "host"],
                &["cat", "/proc/self/uid_map"],
                "         0          0 4294967295\n",
            )
        },
    },
    Row {
        flag: "--sysctl",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--sysctl", "net.ipv4.ip_forward=1"],
                &["cat", "/proc/sys/net/ipv4/ip_forward"],
                "1\n",
            )?;
            r.refused(&["--sysctl", "kernel.ftnosuch=1"], "sysctl 'kernel.ftnosuch=1' is not allowed")
        },
    },
    Row {
        flag: "--device",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            // /dev/fuse is outside the default device rules: only the flag lets it open, and
            // only for reading here.
            r.expect(
                &["--device", "/dev/fuse:/dev/f:r"],
                &["sh", "-c", "(exec 3</dev/f) && echo read-ok; (exec 4>/dev/f) 2>/dev/null || echo write-denied"],
                "read-ok\nwrite-denied\n",
            )?;
            r.refused(&["--device", "/dev/ft-nosuch"], "error gathering device information while adding custom device \"/dev/ft-nosuch\"")
        },
    },
    Row {
        flag: "--device-cgroup-rule",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let probe = ["sh", "-c", "mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) 2>/dev/null && echo opened || echo denied"];
            r.expect(&["--device-cgroup-rule", "c 10:229 rwm"], &probe, "opened\n")?;
            r.expect(&[], &probe, "denied\n")
        },
    },
    Row {
        flag: "--gpus",
        verdict: Refused("could not select device driver \"\" with capabilities: [[gpu]]"),
        dockerd: Same,
        check: |r| r.refused(&["--gpus", "all"], "could not select device driver \"\" with capabilities: [[gpu]]"),
    },
];
