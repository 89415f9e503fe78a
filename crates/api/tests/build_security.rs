//! Attacks on `docker build` through muelled, each performing the exploit of its class:
//! CVE-2024-21626 at build time (`WORKDIR /proc/self/fd/N` then RUN), CVE-2024-23652
//! (BuildKit's removal of a RUN mount's mount points made to follow a symlink the step
//! planted, deleting host files), the context's symlinks and `..` (COPY of a link to a host
//! file, a `RUN --mount=type=bind` source leading out of the context or out of another
//! stage's rootfs), and CVE-2014-9357's class: tar entries escaping where they are
//! extracted (the context tar itself, a local archive ADD unpacks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon};

struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        remove_all_containers(&self.d);
        kill_shims_and_unmount(&self.d);
    }
}

fn env() -> Env {
    Env {
        d: daemon_with_busybox(),
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A token in a file of the test daemon's own directory on the host: a build reaches it
/// only by escaping.
fn plant_host_secret(d: &Daemon) -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let token = format!("HOST-SECRET-{}-{nanos}", std::process::id());
    let path = d.dir.path().join("host-secret");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    (token, path.display().to_string())
}

/// A context directory with these files (`name`, contents) and a Dockerfile.
fn context(files: &[(&str, &str)], dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, body) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, body).unwrap();
    }
    dir
}

/// `docker build` (the stock CLI, legacy builder) of `ctx` with extra arguments.
fn build(d: &Daemon, ctx: &Path, args: &[&str]) -> Output {
    let mut c = d.docker_command();
    c.env("DOCKER_BUILDKIT", "0").arg("build");
    c.args(args).arg(ctx);
    c.output().expect("docker build")
}

#[test]
fn build_workdir_through_proc_self_fd_is_contained_needs_docker() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    let probe = format!(
        "pwd; cat config.json 2>&1 | head -c 200; cat ../../../../../../../../../..{secret}; true"
    );
    for n in 3..=12 {
        let ctx = context(
            &[],
            &format!("FROM busybox\nWORKDIR /proc/self/fd/{n}\nRUN {probe}\n"),
        );
        let o = build(&e.d, ctx.path(), &["--no-cache"]);
        let out = text(&o);
        assert!(
            !out.contains(&token) && !out.contains("ociVersion"),
            "WORKDIR /proc/self/fd/{n}: the build reached host files: {out}"
        );
    }
}

#[test]
fn copy_of_a_symlink_to_a_host_file_copies_nothing_of_the_host_needs_docker() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    let ctx = context(
        &[],
        "FROM busybox\nCOPY abs rel /got/\nRUN cat /got/* || true\n",
    );
    std::os::unix::fs::symlink(&secret, ctx.path().join("abs")).unwrap();
    std::os::unix::fs::symlink(
        format!("../../../../../../../../../..{secret}"),
        ctx.path().join("rel"),
    )
    .unwrap();
    let o = build(&e.d, ctx.path(), &["-t", "sec-copy"]);
    let out = text(&o);
    assert!(!out.contains(&token), "COPY read a host file: {out}");
    if o.status.success() {
        let got =
            e.d.docker(&["run", "--rm", "sec-copy", "sh", "-c", "cat /got/*"]);
        assert!(!text(&got).contains(&token), "the image holds a host file");
    }
}

#[test]
fn mount_point_removal_does_not_follow_a_planted_symlink_needs_docker() {
    let e = env();
    // What the attack deletes if the builder follows the link: an empty file and its
    // directory, as the mount points it made were.
    let victim = e.d.dir.path().join("victim");
    std::fs::create_dir_all(victim.join("a")).unwrap();
    std::fs::write(victim.join("a/b"), "").unwrap();
    for link in [
        victim.display().to_string(),
        format!("../../../../../../../../../..{}", victim.display()),
    ] {
        let ctx = context(
            &[],
            &format!(
                "FROM busybox\nRUN --mount=type=tmpfs,target=/m/a/b mv /m /m2 && ln -s {link} /m && echo planted-$((6*7))\n"
            ),
        );
        let o = build(&e.d, ctx.path(), &["--no-cache"]);
        let out = text(&o);
        assert!(out.contains("planted-42"), "the attack did not run: {out}");
        assert!(
            victim.join("a/b").exists(),
            "the builder removed a host file through the planted link {link}: {out}"
        );
    }
}

#[test]
fn run_mount_sources_leading_out_are_refused_needs_docker() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    let ctx = context(
        &[],
        &format!("FROM busybox\nRUN --mount=type=bind,source=out{secret},target=/s cat /s\n"),
    );
    std::os::unix::fs::symlink("/", ctx.path().join("out")).unwrap();
    let o = build(&e.d, ctx.path(), &["--no-cache"]);
    let out = text(&o);
    assert!(
        !o.status.success(),
        "a bind source through a link to / was mounted: {out}"
    );
    assert!(!out.contains(&token), "{out}");

    let ctx = context(
        &[],
        &format!(
            "FROM busybox\nRUN --mount=type=bind,source=../../../../../../../..{secret},target=/s cat /s\n"
        ),
    );
    let o = build(&e.d, ctx.path(), &["--no-cache"]);
    let out = text(&o);
    assert!(
        !o.status.success(),
        "a bind source with .. was mounted: {out}"
    );
    assert!(!out.contains(&token), "{out}");

    // Another stage's rootfs with a link to the host's root in it.
    let ctx = context(
        &[],
        &format!(
            "FROM busybox AS a\nRUN ln -s / /hostroot\nFROM busybox\nRUN --mount=type=bind,from=a,source=/hostroot{secret},target=/s cat /s\n"
        ),
    );
    let o = build(&e.d, ctx.path(), &["--no-cache"]);
    let out = text(&o);
    assert!(
        !out.contains(&token),
        "a stage's link reached the host: {out}"
    );
    assert!(!o.status.success(), "{out}");
}

/// A tar whose entries are named exactly as given (the tar crate refuses `..`).
fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(*kind);
        h.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn tar_entries_escaping_the_context_or_the_rootfs_stay_inside_needs_docker() {
    let e = env();
    let marker = format!("muelle-escape-{}", std::process::id());
    let outside = e.d.dir.path().join(&marker);
    let depth = "../".repeat(12);
    let escape = format!(
        "{depth}{}",
        outside.display().to_string().trim_start_matches('/')
    );

    // The context tar itself: a `..` entry, and a file through a symlink to /.
    let dockerfile = b"FROM busybox\nRUN true\n";
    let body = raw_tar(&[
        ("Dockerfile", tar::EntryType::Regular, "", dockerfile),
        (&escape, tar::EntryType::Regular, "", b"escaped"),
        ("root", tar::EntryType::Symlink, "/", b""),
        (
            &format!("root{}-link", outside.display()),
            tar::EntryType::Regular,
            "",
            b"escaped",
        ),
    ]);
    let r = e.d.http_with(
        "POST",
        "/build?t=sec-ctx",
        &[("Content-Type", "application/x-tar")],
        &body,
    );
    let answer = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        !outside.exists(),
        "a context entry was written outside: {answer}"
    );
    assert!(
        !Path::new(&format!("{}-link", outside.display())).exists(),
        "a context entry went through a symlink: {answer}"
    );

    // ADD of a local archive: its `..` entries land inside the image, never on the host.
    let ctx = context(
        &[],
        "FROM busybox\nADD evil.tar /x/\nRUN find / -name 'muelle-escape-*' -xdev | head -5\n",
    );
    std::fs::write(
        ctx.path().join("evil.tar"),
        raw_tar(&[(&escape, tar::EntryType::Regular, "", b"escaped")]),
    )
    .unwrap();
    let o = build(&e.d, ctx.path(), &["--no-cache"]);
    assert!(
        !outside.exists(),
        "ADD wrote outside the rootfs: {}",
        text(&o)
    );
}
