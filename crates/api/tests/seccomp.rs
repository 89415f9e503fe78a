//! Issue #9 item 5: a default container of muelled gets the answers a default container of
//! dockerd gets, syscall by syscall. `seccomp_probe.c`, built with `gcc -static` here, calls
//! every x86_64 syscall with arguments the kernel refuses quickly (plus variants whose answer
//! depends on an argument the filter looks at) and prints each answer; it runs through the
//! stock docker CLI in a busybox container of a private muelled and of the shared dockerd
//! (/run/docker.sock, from `scripts/peers.sh up`), with the same flags, and the two answer
//! lists must match.
//!
//! muelle follows Docker 28's profile. When the dockerd here is older, the syscalls its
//! profile treats differently are listed in [`DRIFT_SINCE_20_10`], each with the difference
//! Docker 28 makes, and checked for exactly that difference instead of equality.
//!
//! A missing peer (docker CLI, dockerd with busybox, gcc) fails the test when `CI` is set and
//! skips it otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use support::{daemon_with_busybox, remove_all_containers, Daemon, DOCKER};

const DOCKERD_HOST: &str = "unix:///run/docker.sock";
const GCC: &str = "/usr/bin/gcc";
const PROBE_SOURCE: &str = include_str!("seccomp_probe.c");

/// Fails the test, saying why it cannot run (its name says what it needs, so
/// scripts/test.sh leaves it out, as skipped, on a host without it).
fn missing(why: &str) {
    panic!("{why} (run scripts/peers.sh up)");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dockerd(args: &[&str]) -> std::process::Output {
    Command::new(DOCKER)
        .args(["-H", DOCKERD_HOST])
        .args(args)
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("run docker")
}

/// The dockerd's major version, when it answers and has busybox.
fn dockerd_major() -> Option<u32> {
    let out = dockerd(&["version", "-f", "{{.Server.Version}}"]);
    if !out.status.success() {
        missing(&format!("dockerd does not answer on {DOCKERD_HOST}"));
        return None;
    }
    if !dockerd(&["image", "inspect", "busybox:latest"])
        .status
        .success()
    {
        missing("dockerd has no busybox:latest");
        return None;
    }
    let version = text(&out.stdout);
    let major = version
        .trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok());
    assert!(major.is_some(), "dockerd version {version:?}");
    major
}

/// The probe, built static into `dir`.
fn build_probe(dir: &Path) {
    let src = dir.join("probe.c");
    std::fs::write(&src, PROBE_SOURCE).unwrap();
    let out = Command::new(GCC)
        .args(["-static", "-O1", "-Wall", "-o"])
        .arg(dir.join("probe"))
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc -static failed (libc6-dev has the static libc):\n{}",
        text(&out.stderr)
    );
}

/// `name answer` lines into a map; the probe prints each name once.
fn answers(output: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in output.lines() {
        let (name, answer) = line.split_once(' ').expect("probe line");
        assert!(
            map.insert(name.to_string(), answer.to_string()).is_none(),
            "{name} twice"
        );
    }
    map
}

/// What Docker 28's profile changed since Docker 20.10's, for one syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drift {
    /// 20.10 refuses it (EPERM), 28 lets it through.
    Allowed,
    /// 20.10 lets it through, 28 refuses it.
    Refused,
    /// Newer than anything 20.10's profile names, so runc answers ENOSYS; 28 lets it through.
    NamedAllowed,
    /// Newer than 20.10's profile (ENOSYS); 28 keeps it for a capability (EPERM).
    NamedRefused,
}

/// The syscalls a Docker 20.10 peer answers differently from Docker 28, and the capability
/// that removes the difference (20.10 allows these with it too).
const DRIFT_SINCE_20_10: &[(&str, Drift, Option<&str>)] = &[
    // Let through by later profiles: pkey_*, process_vm_* (kernel >= 4.8) for everyone,
    // name_to_handle_at without CAP_SYS_ADMIN.
    ("pkey_alloc", Drift::Allowed, None),
    ("pkey_free", Drift::Allowed, None),
    ("pkey_mprotect", Drift::Allowed, None),
    ("process_vm_readv", Drift::Allowed, Some("SYS_PTRACE")),
    ("process_vm_writev", Drift::Allowed, Some("SYS_PTRACE")),
    ("name_to_handle_at", Drift::Allowed, Some("SYS_ADMIN")),
    // Refused by later profiles: io_uring, and AF_VSOCK sockets (which Debian's 20.10 lets
    // through).
    ("io_uring_setup", Drift::Refused, None),
    ("io_uring_enter", Drift::Refused, None),
    ("io_uring_register", Drift::Refused, None),
    ("socket:vsock", Drift::Refused, None),
    // Syscalls of Linux 5.17 to 6.7, named by later profiles: for CAP_SYS_NICE only, or for
    // everyone.
    ("set_mempolicy_home_node", Drift::NamedRefused, None),
    ("cachestat", Drift::NamedAllowed, None),
    ("fchmodat2", Drift::NamedAllowed, None),
    ("futex_wake", Drift::NamedAllowed, None),
    ("futex_wait", Drift::NamedAllowed, None),
    ("futex_requeue", Drift::NamedAllowed, None),
];

fn drift_holds(drift: Drift, muelle: &str, docker: &str) -> bool {
    match drift {
        Drift::Allowed => docker == "EPERM" && muelle != "EPERM",
        Drift::Refused => muelle == "EPERM" && docker != "EPERM",
        Drift::NamedAllowed => docker == "ENOSYS" && muelle != "EPERM",
        Drift::NamedRefused => docker == "ENOSYS" && muelle == "EPERM",
    }
}

/// Removes what the test ran in its muelled, whatever happens.
struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        remove_all_containers(&self.d);
    }
}

/// Runs the probe in a default container (plus `extra` flags) of muelled and of dockerd and
/// compares the answers.
fn compare(extra: &[&str]) {
    // The drift is the default profile's; a profile of the test's own has none.
    let own_profile = extra.iter().any(|a| a.starts_with("seccomp="));
    if !cfg!(target_arch = "x86_64") {
        println!("SKIP: the probe's syscall table is x86_64's");
        return;
    }
    if !Path::new(GCC).exists() {
        missing(&format!("{GCC} is not installed"));
        return;
    }
    if !Path::new(DOCKER).exists() {
        missing(&format!("{DOCKER} is not installed"));
        return;
    }
    let Some(major) = dockerd_major() else {
        return;
    };
    let d = daemon_with_busybox();
    let env = Env { d };
    let dir = tempfile::Builder::new()
        .prefix("muelle-seccomp-probe-")
        .tempdir_in("/var/tmp")
        .unwrap();
    build_probe(dir.path());
    let volume = format!("{}:/probe:ro", dir.path().display());
    let name = format!("muelle-test-seccomp-{}", std::process::id());
    let mut args = vec![
        "run",
        "--rm",
        "--network",
        "none",
        "--label",
        "muelle.test=seccomp",
        "-v",
        &volume,
    ];
    args.extend_from_slice(extra);

    let muelle_out = env
        .d
        .docker_ok(&[&args[..], &["busybox:latest", "/probe/probe"]].concat());
    // The first start compiled the profile; the runtime keeps the program, and the second
    // loads it from there: the same answers, every one.
    let again = env
        .d
        .docker_ok(&[&args[..], &["busybox:latest", "/probe/probe"]].concat());
    assert_eq!(
        answers(&again),
        answers(&muelle_out),
        "the stored seccomp program answers otherwise than the compiled one"
    );
    let out = dockerd(
        &[
            &args[..],
            &["--name", &name, "busybox:latest", "/probe/probe"],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "docker run on dockerd failed:\n{}",
        text(&out.stderr)
    );
    let muelle = answers(&muelle_out);
    let docker = answers(&text(&out.stdout));
    assert!(muelle.len() > 350, "the probe stopped early:\n{muelle_out}");
    assert_eq!(
        muelle.keys().collect::<Vec<_>>(),
        docker.keys().collect::<Vec<_>>(),
        "both probes ask the same syscalls"
    );

    // Docker 28 is what muelle follows; a 20.10 peer differs where its profile is older.
    let drift: BTreeMap<&str, Drift> = if major < 28 && !own_profile {
        DRIFT_SINCE_20_10
            .iter()
            .filter(|(_, _, lifted_by)| lifted_by.is_none_or(|cap| !extra.contains(&cap)))
            .map(|(name, drift, _)| (*name, *drift))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut differences = Vec::new();
    for (syscall, m) in &muelle {
        let k = &docker[syscall];
        let ok = match drift.get(syscall.as_str()) {
            Some(d) => drift_holds(*d, m, k),
            None => m == k,
        };
        if !ok {
            let note = drift
                .get(syscall.as_str())
                .map(|d| format!("  (expected Docker 28's change: {d:?})"))
                .unwrap_or_default();
            differences.push(format!("{syscall:<32} muelled {m:<10} dockerd {k}{note}"));
        }
    }
    println!(
        "{} syscalls compared ({extra:?}), {} with the Docker {major} -> 28 drift",
        muelle.len(),
        drift.len()
    );
    assert!(
        differences.is_empty(),
        "{} syscalls answer differently in a muelled and a dockerd (Docker {major}) container \
         with {extra:?}:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn default_container_gets_dockers_answers_needs_dockerd() {
    compare(&[]);
}

#[test]
fn sys_admin_container_gets_dockers_answers_needs_dockerd() {
    compare(&["--cap-add", "SYS_ADMIN"]);
}

#[test]
fn sys_ptrace_container_gets_dockers_answers_needs_dockerd() {
    compare(&["--cap-add", "SYS_PTRACE"]);
}

/// `--security-opt seccomp=<file>`: the CLI sends the file's content, each daemon reads it.
/// Default allow, so nothing a runtime needs is refused; the rules cover errnoRet, the old
/// `name` field, an argument condition, `archMap`, and includes/excludes by capability and
/// architecture.
const OWN_PROFILE: &str = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                 "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "syscalls": [
        {"names": ["truncate", "mknod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95},
        {"name": "rmdir", "action": "SCMP_ACT_ERRNO"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 4194304, "op": "SCMP_CMP_EQ"}]},
        {"names": ["link"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["unlink"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["symlink"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["arm64"]}},
        {"names": ["rename"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["arm64"]}}
    ]
}"#;

#[test]
fn own_profile_container_gets_dockers_answers_needs_dockerd() {
    let dir = tempfile::Builder::new()
        .prefix("muelle-seccomp-profile-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let path = dir.path().join("profile.json");
    std::fs::write(&path, OWN_PROFILE).unwrap();
    let opt = format!("seccomp={}", path.display());
    compare(&["--security-opt", &opt]);
}
