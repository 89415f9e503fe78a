//! Container root stalling the runtime: the process `exec` is setting up is visible in the
//! container's pid namespace before it execs, and root there can SIGSTOP it. A runtime that
//! waits on it without end hangs its caller; in muelled that is the container's supervisor,
//! which then stops draining the container's output, so the stopper itself blocks on a full
//! pipe and never continues anything (the deadlock seen under the CVE-2019-5736 attack test).
//!
//! The attack: a container whose init SIGSTOPs every new process it sees in /proc, once, and
//! never continues it; each `exec` gets a 14 000-entry PATH so that its set-up takes long
//! enough to be caught. Every exec must still run. Needs root, no particular cgroup version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{require_root, wait_for, Ctr};

#[test]
fn exec_runs_although_the_container_stops_its_set_up() {
    require_root();
    let mut c = Ctr::new("stalled-exec");
    // Builtins only (kill, case, echo): the stopper forks nothing, so it sweeps /proc fast.
    c.sh(
        "seen=\" 1 $$ \"; while :; do for d in /proc/[0-9]*; do p=${d#/proc/}; \
          case \"$seen\" in *\" $p \"*) continue;; esac; seen=\"$seen$p \"; \
          kill -STOP $p 2>/dev/null && echo \"STOPPED $p\"; done; done",
    );
    let pid = c.spawn_run(&[]);
    let id = c.id.clone();
    let cc = &c;
    wait_for("container running", Duration::from_secs(10), || {
        cc.rt(&["state", &id]).stdout.contains("\"running\"")
    });
    let mut path = String::from("PATH=");
    for i in 0..14000 {
        path.push_str(&format!("/n/{i}:"));
    }
    path.push_str("/bin");
    for i in 0..10 {
        // Detached: a process the stopper catches after its exec stays stopped, which is
        // the container's own business; the runtime must only get it running.
        let marker = format!("/tmp/ran-{i}");
        let o = c.rt_files(&["exec", "-d", "--env", &path, &id, "touch", &marker]);
        assert_eq!(o.code, 0, "exec {i} under a stopping container: {o:?}");
    }
    let stopped = c.read_bundle_file("run.out").matches("STOPPED").count();
    assert!(
        stopped > 0,
        "the stopper never caught an exec: the attack did not happen"
    );
    c.rt(&["kill", &id, "KILL"]);
    c.wait_spawned(pid);
}
