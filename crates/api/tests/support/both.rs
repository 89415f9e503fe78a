//! The same docker CLI command against a private muelled and the shared dockerd
//! (unix:///run/docker.sock, busybox loaded), for tests that compare what the two answer and
//! do. Containers made on dockerd carry a name of the test's own and are removed on drop;
//! a missing peer fails the test.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Output};

use super::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

pub const DOCKERD: &str = "unix:///run/docker.sock";

/// What one docker command printed and how it exited.
#[derive(Debug, Clone, PartialEq)]
pub struct Res {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Res {
    pub fn of(o: &Output) -> Res {
        Res {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The error lines without the docker CLI's help trailer ("Run 'docker run --help'"
    /// or, at newer API versions, a "." after a "docker: " error and "See 'docker run
    /// --help'."), its racy log
    /// lines (`time=... level=error msg="error waiting for container: ..."`) and blank
    /// lines.
    pub fn message(&self) -> String {
        self.err
            .lines()
            .filter(|l| {
                !l.trim().is_empty()
                    && !l.starts_with("Run 'docker")
                    && !l.starts_with("See 'docker")
                    && !l.starts_with("time=")
            })
            .map(|l| match l.strip_prefix("docker: ") {
                Some(_) => l.strip_suffix('.').unwrap_or(l),
                None => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// muelled with busybox beside dockerd with busybox.
pub struct Both {
    pub d: Daemon,
    theirs: RefCell<Vec<String>>,
}

impl Drop for Both {
    fn drop(&mut self) {
        for name in self.theirs.borrow().iter() {
            let _ = Command::new(DOCKER)
                .args(["-H", DOCKERD, "rm", "-f", name])
                .output();
        }
        if super::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

/// A name no other test (nor another run of this one) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Both {
    /// Fails the test unless the docker CLI and dockerd with busybox are there.
    pub fn start() -> Both {
        assert!(Path::new(DOCKER).exists(), "{DOCKER} is needed");
        let ready = Command::new(DOCKER)
            .args(["-H", DOCKERD, "image", "inspect", "busybox"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ready,
            "dockerd at {DOCKERD} with the busybox image is needed (scripts/peers.sh up)"
        );
        Both {
            d: daemon_with_busybox(),
            theirs: RefCell::new(Vec::new()),
        }
    }

    /// `docker ARGS` on muelled.
    pub fn ours(&self, args: &[&str]) -> Res {
        Res::of(&self.d.docker(args))
    }

    /// Removes dockerd's container `name` when the test ends (one made by [`Both::theirs`]).
    pub fn keep_theirs(&self, name: &str) {
        self.theirs.borrow_mut().push(name.to_owned());
    }

    /// `docker ARGS` on dockerd.
    pub fn theirs(&self, args: &[&str]) -> Res {
        let o = Command::new(DOCKER)
            .args(["-H", DOCKERD])
            .args(args)
            .output()
            .expect("docker");
        Res::of(&o)
    }

    /// `docker run --rm --network none --name N FLAGS busybox sh -c SCRIPT` on each, under
    /// a name of its own; (muelled's, dockerd's).
    pub fn run(&self, flags: &[&str], script: &str) -> (Res, Res) {
        let go = |theirs: bool| {
            let name = unique("mdev");
            let mut a = vec!["run", "--rm", "--network", "none", "--name", &name];
            a.extend_from_slice(flags);
            a.extend_from_slice(&["busybox", "sh", "-c", script]);
            if theirs {
                self.theirs.borrow_mut().push(name.clone());
                self.theirs(&a)
            } else {
                self.ours(&a)
            }
        };
        (go(false), go(true))
    }

    /// The same `run` on each, asserting the same output and exit code; muelled's.
    pub fn same(&self, flags: &[&str], script: &str) -> Res {
        let (ours, theirs) = self.run(flags, script);
        assert_eq!(
            (ours.code, &ours.out, ours.message()),
            (theirs.code, &theirs.out, theirs.message()),
            "muelle (left) vs dockerd (right) for {flags:?} {script}\nmuelled log:\n{}",
            self.d.log()
        );
        ours
    }

    /// `docker create --name N FLAGS busybox CMD...` on each (a name of the test's own on
    /// dockerd); returns (muelled's, dockerd's) results and names.
    pub fn create(&self, flags: &[&str], cmd: &[&str]) -> ((Res, String), (Res, String)) {
        let go = |theirs: bool| {
            let name = unique("mdev");
            let mut a = vec!["create", "--network", "none", "--name", &name];
            a.extend_from_slice(flags);
            a.push("busybox");
            a.extend_from_slice(cmd);
            let r = if theirs {
                self.theirs.borrow_mut().push(name.clone());
                self.theirs(&a)
            } else {
                self.ours(&a)
            };
            (r, name)
        };
        (go(false), go(true))
    }

    /// Names of muelled's containers, all of them.
    pub fn our_names(&self) -> Vec<String> {
        self.ours(&["ps", "-a", "--format", "{{.Names}}"])
            .out
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
