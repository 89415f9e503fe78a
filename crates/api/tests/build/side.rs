//! One side of a build comparison: the shared dockerd or a private muelled, and the client
//! that builds on it (the docker CLI 28 with the legacy builder, Debian's docker 20.10 CLI
//! with BuildKit, or `muelle build`). Every image a side tags carries a name of the test's
//! own; on dockerd, those names and the untagged images the builds left (the legacy
//! builder keeps each stage's result) are removed on drop. A private muelled goes whole.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::both::{unique, Res, DOCKERD};
use crate::support::{kill_shims_and_unmount, remove_all_containers, shim_binary};
use crate::support::{Daemon, DOCKER};
use muelle_test_support::proc::run_cmd;

/// The docker CLI 28 (no buildx plugin): `DOCKER_BUILDKIT=0` selects the legacy builder,
/// whose wire protocol (POST /build, version=1) muelled serves.
pub const DOCKER28: &str = "/usr/local/bin/docker";

/// The Debian base of the corpus's Debian cases (scripts/debian-image.sh), by this name on
/// both daemons.
pub const DEBIAN: &str = "muelle-test-debian:v1";

/// How long one build may take (the Debian cases compile and export ~200 MB).
const BUILD_LIMIT: Duration = Duration::from_secs(300);

/// Which client builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `DOCKER_BUILDKIT=0 docker build` (docker CLI 28): the legacy builder's protocol.
    Legacy,
    /// `DOCKER_BUILDKIT=1 docker build` (Debian's 20.10 CLI): dockerd's BuildKit, for what
    /// the legacy builder refuses (`--chmod`) or does differently (stages it skips).
    BuildKit,
    /// `muelle build --progress=plain`.
    Muelle,
}

pub struct Side {
    /// None: the shared dockerd.
    pub d: Option<Daemon>,
    /// Names this side tagged.
    tags: RefCell<Vec<String>>,
    /// Image IDs (short) the builds printed, removed when nothing names them (dockerd).
    built: RefCell<Vec<String>>,
}

impl Side {
    pub fn dockerd() -> Side {
        assert!(Path::new(DOCKER).exists(), "{DOCKER} is needed");
        assert!(
            Path::new(DOCKER28).exists(),
            "{DOCKER28} (docker CLI 28) is needed"
        );
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
            tags: RefCell::new(Vec::new()),
            built: RefCell::new(Vec::new()),
        }
    }

    /// A private muelled with dockerd's own busybox:latest (saved from dockerd, loaded
    /// here): both sides build on the same base image, so its files and history compare.
    pub fn muelled() -> Side {
        assert!(
            Path::new(DOCKER28).exists(),
            "{DOCKER28} (docker CLI 28) is needed"
        );
        let tar = dockerd_image_tar("busybox:latest");
        shim_binary();
        let d = Daemon::start();
        let out = d.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
        assert!(out.status.success(), "docker load: {out:?}\n{}", d.log());
        Side {
            d: Some(d),
            tags: RefCell::new(Vec::new()),
            built: RefCell::new(Vec::new()),
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

    pub fn host(&self) -> String {
        match &self.d {
            Some(d) => format!("unix://{}", d.socket.display()),
            None => DOCKERD.to_owned(),
        }
    }

    pub fn log(&self) -> String {
        self.d.as_ref().map(Daemon::log).unwrap_or_default()
    }

    /// A client command pointed at this side, with a docker config of its own (no
    /// credentials or context of the machine's).
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DOCKER_HOST", self.host())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("MUELLE_HOST");
        if let Some(d) = &self.d {
            c.env("DOCKER_CONFIG", &d.docker_config);
        }
        c
    }

    /// `docker ARGS` (Debian's 20.10 CLI) on this side.
    pub fn docker(&self, args: &[&str]) -> Res {
        let mut c = self.client(DOCKER);
        c.args(args);
        let o = run_cmd(c, BUILD_LIMIT);
        Res {
            code: o.code,
            out: o.stdout,
            err: o.stderr,
        }
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

    /// A unique image name this side removes on drop.
    pub fn tag(&self, what: &str) -> String {
        let t = format!("{}:t", unique(&format!("mbuild-{what}")));
        self.tags.borrow_mut().push(t.clone());
        t
    }

    /// Removes `name` on drop (an image a client named: compose's `<project>_app`).
    pub fn own(&self, name: &str) {
        self.tags.borrow_mut().push(name.to_owned());
    }

    /// Builds `ctx` with `via`; `args` go between `build` and the context (`-t`, `--build-arg`
    /// ...). On dockerd the legacy builder gets `--force-rm`: a failed RUN's container would
    /// otherwise stay on the shared daemon (muelled must leave none without it).
    pub fn build(&self, via: Via, ctx: &Path, args: &[&str]) -> Res {
        let mut c = match via {
            Via::Legacy => {
                let mut c = self.client(DOCKER28);
                c.env("DOCKER_BUILDKIT", "0").arg("build");
                if !self.is_muelled() {
                    c.arg("--force-rm");
                }
                c
            }
            Via::BuildKit => {
                assert!(!self.is_muelled(), "BuildKit is dockerd's");
                let mut c = self.client(DOCKER);
                // Without its cache: a step answered from an earlier run's result carries
                // that run's file times.
                c.env("DOCKER_BUILDKIT", "1")
                    .args(["build", "--progress=plain", "--no-cache"]);
                c
            }
            Via::Muelle => {
                let mut c = self.client(muelle_cli().to_str().unwrap());
                c.args(["build", "--progress=plain"]);
                c
            }
        };
        c.args(args).arg(ctx).stdin(Stdio::null());
        let o = run_cmd(c, BUILD_LIMIT);
        let r = Res {
            code: o.code,
            out: o.stdout,
            err: o.stderr,
        };
        if !self.is_muelled() {
            self.built
                .borrow_mut()
                .extend(crate::progress::image_ids(&r.out));
        }
        r
    }

    /// [`Side::build`], insisting on success.
    pub fn build_ok(&self, via: Via, ctx: &Path, args: &[&str]) -> Res {
        let r = self.build(via, ctx, args);
        assert_eq!(
            r.code,
            0,
            "{} via {via:?}: build of {} {args:?} failed:\nstdout:\n{}\nstderr:\n{}\ndaemon log:\n{}",
            self.what(),
            ctx.display(),
            r.out,
            r.err,
            self.log()
        );
        r
    }

    /// Loads the Debian base (scripts/debian-image.sh) under [`DEBIAN`]: imported into
    /// dockerd once per machine (under a lock: tests run at once), and on a private muelled
    /// loaded from dockerd's (`docker save`), so that both build on the same image.
    pub fn with_debian(&self) {
        debian_on_dockerd();
        if self.is_muelled() {
            let tar = dockerd_image_tar(DEBIAN);
            self.ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
        }
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        match &self.d {
            Some(d) => {
                if crate::support::is_up(d) {
                    remove_all_containers(d);
                }
                kill_shims_and_unmount(d);
            }
            None => {
                for t in self.tags.borrow().iter() {
                    let _ = self.docker(&["rmi", "-f", t]);
                }
                // Newest first: a stage's image goes before the images it was built on.
                for id in self.built.borrow().iter().rev() {
                    let tags = self.docker(&["image", "inspect", "-f", "{{len .RepoTags}}", id]);
                    if tags.code == 0 && tags.out.trim() == "0" {
                        let _ = self.docker(&["rmi", id]);
                    }
                }
            }
        }
    }
}

/// Imports the Debian base into dockerd unless it is there.
fn debian_on_dockerd() {
    let tar = debian_tar();
    let script = format!(
        "{DOCKER} -H {DOCKERD} image inspect {DEBIAN} >/dev/null 2>&1 || \
         {DOCKER} -H {DOCKERD} import -c 'CMD [\"/bin/bash\"]' {} {DEBIAN}",
        tar.display()
    );
    let mut c = Command::new("flock");
    c.args(["/var/tmp/muelle-test-debian.lock", "sh", "-c", &script]);
    run_cmd(c, BUILD_LIMIT).ok();
}

/// `docker save` of one of dockerd's images, made once per image ID into the test
/// binary's scratch directory (written aside and renamed: test processes run at once).
pub fn dockerd_image_tar(image: &str) -> PathBuf {
    let mut c = Command::new(DOCKER);
    c.args(["-H", DOCKERD, "image", "inspect", "-f", "{{.Id}}", image]);
    let id = run_cmd(c, BUILD_LIMIT).ok().stdout;
    let id = id.trim().trim_start_matches("sha256:");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("muelle-build-bases");
    std::fs::create_dir_all(&dir).unwrap();
    let tar = dir.join(format!("{id}.tar"));
    if !tar.is_file() {
        let tmp = dir.join(format!("{id}.tar.{}", unique("part")));
        let mut c = Command::new(DOCKER);
        c.args(["-H", DOCKERD, "save", "-o"]).arg(&tmp).arg(image);
        run_cmd(c, BUILD_LIMIT).ok();
        std::fs::rename(&tmp, &tar).unwrap();
    }
    tar
}

/// `muelle` (the CLI), beside muelled in the target directory.
pub fn muelle_cli() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_muelled"))
        .parent()
        .expect("muelled has a directory")
        .join("muelle");
    assert!(
        bin.is_file(),
        "{} is missing: cargo build -p muelle-cli --bin muelle",
        bin.display()
    );
    bin
}

/// The Debian base image's tar, made once per machine by scripts/debian-image.sh from the
/// host's installed packages (the first test process to get there makes it; the script
/// renames it into place whole).
pub fn debian_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let tar = PathBuf::from("/var/tmp/muelle-test-debian-v1.tar");
        if !tar.is_file() {
            let mut c = Command::new("flock");
            c.args(["/var/tmp/muelle-test-debian.lock", "sh", "-c"])
                .arg(format!(
                    "[ -f {t} ] || bash {s} {t}",
                    t = tar.display(),
                    s = muelle_test_support::workspace()
                        .join("scripts/debian-image.sh")
                        .display()
                ));
            run_cmd(c, BUILD_LIMIT).ok();
        }
        assert!(tar.is_file(), "no {}", tar.display());
        tar
    })
    .clone()
}
