//! One side of a networking comparison: a private muelled (in its own network namespace) or
//! the shared dockerd, driven by the same docker CLI commands. Everything a test makes
//! carries a label of its own and a unique name, and is removed on drop; "the host" is the
//! daemon's network namespace (the test's own for dockerd).

use std::cell::RefCell;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::both::{unique, Res, DOCKERD};
use crate::support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers};
use crate::support::{Daemon, DOCKER};
use muelle_test_support::netns;

pub struct Side {
    /// None: the shared dockerd.
    pub d: Option<Daemon>,
    /// The label value on everything this test makes (`muelle.nettest=<tag>`).
    pub tag: String,
    /// Images this test tagged.
    images: RefCell<Vec<String>>,
    /// How many of this process's subnets [`Side::network`] gave out on dockerd.
    subnets: std::cell::Cell<u32>,
}

pub const LABEL: &str = "muelle.nettest";

impl Side {
    pub fn muelled() -> Side {
        Side {
            d: Some(daemon_with_busybox()),
            tag: unique("mnet"),
            images: RefCell::new(Vec::new()),
            subnets: std::cell::Cell::new(0),
        }
    }

    pub fn dockerd() -> Side {
        assert!(Path::new(DOCKER).exists(), "{DOCKER} is needed");
        let ready = Command::new(DOCKER)
            .args(["-H", DOCKERD, "image", "inspect", "busybox:latest"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ready,
            "dockerd with busybox:latest is needed (scripts/peers.sh up)"
        );
        Side {
            d: None,
            tag: unique("mnet"),
            images: RefCell::new(Vec::new()),
            subnets: std::cell::Cell::new(0),
        }
    }

    pub fn is_muelled(&self) -> bool {
        self.d.is_some()
    }

    pub fn what(&self) -> &'static str {
        if self.is_muelled() {
            "muelled"
        } else {
            "dockerd"
        }
    }

    /// The daemon's network namespace (None: the test's own, dockerd's).
    pub fn netns(&self) -> Option<&Path> {
        self.d.as_ref().map(Daemon::netns)
    }

    /// `docker ARGS` against this side; `run` and `create` get `--pull=never` (no registry).
    pub fn docker(&self, args: &[&str]) -> Res {
        let mut a: Vec<&str> = args.to_vec();
        if matches!(a.first(), Some(&"run") | Some(&"create")) {
            a.insert(1, "--pull=never");
        }
        let out = match &self.d {
            Some(d) => d.docker(&a),
            None => Command::new(DOCKER)
                .args(["-H", DOCKERD])
                .args(&a)
                .output()
                .expect("run docker"),
        };
        Res::of(&out)
    }

    /// [`Side::docker`], insisting on success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.docker(args);
        assert_eq!(
            r.code,
            0,
            "{}: docker {args:?} failed: {}\n{}",
            self.what(),
            r.err,
            self.log()
        );
        r.out
    }

    /// [`Side::docker`], insisting on failure; the message (help trailers dropped).
    pub fn refused(&self, args: &[&str]) -> String {
        let r = self.docker(args);
        assert_ne!(
            r.code,
            0,
            "{}: docker {args:?} succeeded: {}",
            self.what(),
            r.out
        );
        r.message()
    }

    pub fn log(&self) -> String {
        self.d.as_ref().map(Daemon::log).unwrap_or_default()
    }

    /// A name of this test's own.
    pub fn name(&self, what: &str) -> String {
        unique(&format!("mn{what}"))
    }

    fn label(&self) -> String {
        format!("{LABEL}={}", self.tag)
    }

    /// `network create` with this test's label and a unique name; the name. A network
    /// without `--subnet` gets one of this process's own (10.A.B.64/26, .128/26, .192/26 by
    /// pid; errors.rs takes .0/26): tests at once would otherwise use up the shared dockerd's
    /// default pools (some 30 networks), and muelled (in a namespace of its own) gets the
    /// same, so addresses sort the same way on both sides.
    pub fn network(&self, flags: &[&str]) -> String {
        let name = self.name("net");
        let label = self.label();
        let mut a = vec!["network", "create", "--label", &label];
        let k = self.subnets.get();
        let subnet = own_subnet(k + 1);
        // Given with the subnet, so `IPAM.Config[0].Gateway` shows it as it does for a
        // subnet the daemon chose.
        let gateway = subnet.replacen(
            &format!(".{}/26", 64 * (k + 1)),
            &format!(".{}", 64 * (k + 1) + 1),
            1,
        );
        if k < 3 && !flags.contains(&"--subnet") {
            self.subnets.set(k + 1);
            a.extend_from_slice(&["--subnet", &subnet, "--gateway", &gateway]);
        }
        a.extend_from_slice(flags);
        a.push(&name);
        self.ok(&a);
        name
    }

    /// `run -d --name NAME --label ... FLAGS busybox sh -c SCRIPT`; the name.
    pub fn run_d(&self, what: &str, flags: &[&str], script: &str) -> String {
        let name = self.name(what);
        let label = self.label();
        let mut a = vec!["run", "-d", "--name", &name, "--label", &label];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["busybox", "sh", "-c", script]);
        self.ok(&a);
        name
    }

    /// `run --rm --label ... FLAGS busybox sh -c SCRIPT` (a name of its own).
    pub fn run(&self, flags: &[&str], script: &str) -> Res {
        let name = self.name("run");
        let label = self.label();
        let mut a = vec!["run", "--rm", "--name", &name, "--label", &label];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["busybox", "sh", "-c", script]);
        self.docker(&a)
    }

    /// A busybox httpd serving `/f` = "hello" on port 80; its name.
    pub fn web(&self, flags: &[&str]) -> String {
        self.run_d("web", flags, WEB)
    }

    /// The body of `GET /f` on 127.0.0.1:`port` of the daemon's host, retried up to 15 s.
    pub fn host_get(&self, port: u16) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = netns::http_get(self.netns(), port, "/f");
            if got.is_some() || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Tags an image (removed on drop).
    pub fn own_image(&self, name: &str) {
        self.images.borrow_mut().push(name.to_owned());
    }

    /// Names of this test's containers (all states) and networks.
    pub fn leftovers(&self) -> (Vec<String>, Vec<String>) {
        let f = format!("label={}", self.label());
        let list = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = self.docker(args).out.lines().map(str::to_owned).collect();
            v.sort();
            v
        };
        (
            list(&[
                "ps",
                "-a",
                "--filter",
                &f,
                "--format",
                "{{.Names}} {{.State}}",
            ]),
            list(&["network", "ls", "--filter", &f, "--format", "{{.Name}}"]),
        )
    }

    /// The address of `ctr` on `net`.
    pub fn ip_on(&self, ctr: &str, net: &str) -> String {
        let f = format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}");
        self.ok(&["inspect", "-f", &f, ctr]).trim().to_owned()
    }

    /// The gateway of `net`.
    pub fn gateway(&self, net: &str) -> String {
        self.ok(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Gateway}}",
            net,
        ])
        .trim()
        .to_owned()
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        let f = format!("label={}", self.label());
        if self.d.as_ref().is_none_or(crate::support::is_up) {
            for id in self.docker(&["ps", "-aq", "--filter", &f]).out.lines() {
                let _ = self.docker(&["rm", "-f", id]);
            }
            for n in self
                .docker(&["network", "ls", "-q", "--filter", &f])
                .out
                .lines()
            {
                let _ = self.docker(&["network", "rm", n]);
            }
            for i in self.images.borrow().iter() {
                let _ = self.docker(&["rmi", "-f", i]);
            }
        }
        if let Some(d) = &self.d {
            if crate::support::is_up(d) {
                remove_all_containers(d);
            }
            kill_shims_and_unmount(d);
        }
    }
}

/// The `k`th /26 (0..4) of this test process's /24 of 10.0.0.0/8 (by pid).
pub fn own_subnet(k: u32) -> String {
    let pid = std::process::id();
    format!(
        "10.{}.{}.{}/26",
        (pid >> 8) & 0xff,
        pid & 0xff,
        64 * (k % 4)
    )
}

/// A busybox httpd in the foreground serving "hello" at /f on port 80.
pub const WEB: &str = "mkdir -p /w && echo hello > /w/f && exec httpd -f -p 80 -h /w";

/// Shell function `get HOST PORT TRIES`: prints the body of GET /f (busybox nc; this
/// busybox's wget crashes), or FAIL after TRIES attempts of at most 2 s each.
pub const GET: &str = "get() { i=0; while [ $i -lt $3 ]; do \
    r=$(printf 'GET /f HTTP/1.0\\r\\n\\r\\n' | nc -w 2 $1 $2 2>/dev/null | tail -n1); \
    if [ -n \"$r\" ]; then echo \"$r\"; return 0; fi; i=$((i+1)); sleep 0.3; done; \
    echo FAIL; return 1; }; ";

/// Replaces every IPv4 address except loopback ones and 127.0.0.11 with `IP`, and runs of
/// 12 or 64 hex digits (ids, default hostnames) with `ID`.
pub fn mask(text: &str) -> String {
    let mut out = String::new();
    for token in split_keep(text) {
        if is_ipv4(&token) && !token.starts_with("127.") {
            out.push_str("IP");
        } else if (token.len() == 12 || token.len() == 64)
            && token.chars().all(|c| c.is_ascii_hexdigit())
        {
            out.push_str("ID");
        } else {
            out.push_str(&token);
        }
    }
    out
}

/// Splits into runs of [0-9a-zA-Z.] and single other characters.
fn split_keep(text: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                v.push(std::mem::take(&mut cur));
            }
            v.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        v.push(cur);
    }
    v
}

fn is_ipv4(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok())
}
