//! `docker diff`, `docker cp`, `docker export`, `docker commit` and `docker system df`
//! through the stock docker CLI against a private muelled, plus the refusals: a missing
//! container or path, a hostile archive (nothing lands outside the container), bad commit
//! input. Every container runs with `--network none` from the busybox image loaded from a
//! local tar (`--pull never`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{
    daemon_with_busybox, is_up, kill_shims_and_unmount, mounts_under, remove_all_containers,
    Daemon, DOCKER,
};

/// A daemon with busybox loaded. On drop (a failing test too) every container is removed,
/// every image but busybox too, then any supervisor or mount left under its roots.
struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

fn env() -> Env {
    let d = daemon_with_busybox();
    let scratch = tempfile::Builder::new()
        .prefix("muelle-cfs-")
        .tempdir_in("/var/tmp")
        .unwrap();
    Env { d, scratch }
}

impl Drop for Env {
    fn drop(&mut self) {
        if is_up(&self.d) {
            remove_all_containers(&self.d);
            let r = self.d.http("GET", "/images/json", b"");
            if r.status == 200 {
                for i in r.json().as_array().cloned().unwrap_or_default() {
                    let busybox = i["RepoTags"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t == "busybox:latest"));
                    if !busybox {
                        let id = i["Id"].as_str().unwrap_or_default();
                        let _ = self.d.http("DELETE", &format!("/images/{id}?force=1"), b"");
                    }
                }
            }
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn explain(d: &Daemon, args: &[&str], out: &Output) -> String {
    format!(
        "docker {args:?}: {}\nstdout: {}\nstderr: {}\nmuelled log (tail):\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr),
        tail(&d.log(), 60)
    )
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Env {
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.d.docker(args);
        assert!(out.status.success(), "{}", explain(&self.d, args, &out));
        out
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.d.docker(args);
        assert!(!out.status.success(), "{}", explain(&self.d, args, &out));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            explain(&self.d, args, &out)
        );
        text(&out.stderr)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// `tar -xOf` of one member of a tar held in memory.
    fn tar_member(&self, tar: &[u8], member: &str) -> String {
        let f = self.path("member.tar");
        std::fs::write(&f, tar).unwrap();
        let out = Command::new("tar")
            .arg("-xOf")
            .arg(&f)
            .arg(member)
            .output()
            .unwrap();
        assert!(out.status.success(), "tar -xOf {member}: {out:?}");
        text(&out.stdout)
    }

    fn tar_list(&self, tar: &[u8]) -> Vec<String> {
        let f = self.path("list.tar");
        std::fs::write(&f, tar).unwrap();
        let out = Command::new("tar").arg("-tf").arg(&f).output().unwrap();
        assert!(out.status.success(), "tar -tf: {out:?}");
        text(&out.stdout).lines().map(str::to_string).collect()
    }

    fn events(&self) -> Vec<Value> {
        let now = support::now_secs() + 1;
        let r = self
            .d
            .http("GET", &format!("/events?since=0&until={now}"), b"");
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A ustar header + data block for one entry (enough for hostile test archives).
fn tar_entry(name: &str, typeflag: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tar_end(mut t: Vec<u8>) -> Vec<u8> {
    t.extend_from_slice(&[0u8; 1024]);
    t
}

/// Every path under `dir` whose file name is `name`.
fn find_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_name() == name {
                found.push(p.clone());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    found
}

#[test]
fn diff_cp_export_commit_df_with_the_docker_cli_needs_docker() {
    let e = env();
    e.ok(&[
        "run",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "fsa",
        "busybox",
        "sh",
        "-c",
        "echo hi > /new; rm /etc/group",
    ]);

    // docker diff: Docker's order (a directory before what is in it), its letters.
    let diff = text(&e.ok(&["diff", "fsa"]).stdout);
    let lines: Vec<&str> = diff.lines().collect();
    for want in ["C /etc", "D /etc/group", "A /new"] {
        assert!(
            lines.contains(&want),
            "{want:?} missing from docker diff:\n{diff}"
        );
    }
    let pos = |l: &str| lines.iter().position(|x| *x == l).unwrap();
    assert!(pos("C /etc") < pos("D /etc/group"), "{diff}");
    let r = e.http("GET", "/containers/fsa/changes", b"");
    assert_eq!(r.status, 200);
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["Path"] == "/new" && c["Kind"] == 1),
        "{}",
        r.text()
    );

    // docker cp out of a stopped container: to stdout as a tar, and to a host file.
    let tar = e.ok(&["cp", "fsa:/new", "-"]).stdout;
    assert_eq!(e.tar_member(&tar, "new"), "hi\n");
    let passwd = e.path("passwd");
    e.ok(&["cp", "fsa:/etc/passwd", passwd.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&passwd)
        .unwrap()
        .starts_with("root:"));
    // The stat header: base64 JSON of Docker's ContainerPathStat.
    let r = e.http("HEAD", "/containers/fsa/archive?path=/etc/passwd", b"");
    assert_eq!(r.status, 200);
    let stat = r
        .headers
        .get("x-docker-container-path-stat")
        .expect("stat header");
    let out = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(stat.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let stat: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stat["name"], "passwd", "{stat}");
    assert_eq!(stat["mode"], 0o644, "{stat}");

    // docker cp into the stopped container.
    let hostfile = e.path("hostfile");
    std::fs::write(&hostfile, "from host\n").unwrap();
    e.ok(&["cp", hostfile.to_str().unwrap(), "fsa:/tmp/"]);
    let tar = e.ok(&["cp", "fsa:/tmp/hostfile", "-"]).stdout;
    assert_eq!(e.tar_member(&tar, "hostfile"), "from host\n");
    let diff = text(&e.ok(&["diff", "fsa"]).stdout);
    assert!(diff.lines().any(|l| l == "A /tmp/hostfile"), "{diff}");

    // docker export: the whole tree, with the container's changes.
    let exported = e.path("fsa.tar");
    e.ok(&["export", "-o", exported.to_str().unwrap(), "fsa"]);
    let names = e.tar_list(&std::fs::read(&exported).unwrap());
    let has = |n: &str| names.iter().any(|x| x.trim_start_matches("./") == n);
    assert!(
        has("new") && has("tmp/hostfile") && has("bin/sh"),
        "{names:?}"
    );
    assert!(!has("etc/group"), "a deleted file was exported");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{DOCKER} export fsa | tar -xOf - new"))
        .env("DOCKER_HOST", format!("unix://{}", e.socket.display()))
        .env("DOCKER_CONFIG", &e.docker_config)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "hi\n", "{out:?}");

    // docker commit with a --change, then a container of the new image.
    let id = text(
        &e.ok(&[
            "commit",
            "-c",
            r#"CMD ["cat","/new"]"#,
            "-m",
            "a message",
            "-a",
            "someone",
            "fsa",
            "fsimg:v1",
        ])
        .stdout,
    );
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pull",
        "never",
        "fsimg:v1",
    ]);
    assert_eq!(text(&out.stdout), "hi\n");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pull",
        "never",
        "fsimg:v1",
        "cat",
        "/tmp/hostfile",
    ]);
    assert_eq!(text(&out.stdout), "from host\n");
    let out = e.d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pull",
        "never",
        "fsimg:v1",
        "ls",
        "/etc/group",
    ]);
    assert!(!out.status.success(), "/etc/group came back: {out:?}");
    let cfg = text(
        &e.ok(&[
            "image",
            "inspect",
            "-f",
            "{{json .Config.Cmd}} {{.Author}} {{.Comment}}",
            "fsimg:v1",
        ])
        .stdout,
    );
    assert_eq!(cfg.trim(), r#"["cat","/new"] someone a message"#);
    let history = text(&e.ok(&["history", "--no-trunc", "fsimg:v1"]).stdout);
    assert!(
        history.contains("sh -c echo hi > /new; rm /etc/group"),
        "{history}"
    );
    // Committing with no repo leaves an untagged image.
    let id2 = text(&e.ok(&["commit", "fsa"]).stdout);
    assert!(id2.trim().starts_with("sha256:"), "{id2}");

    // A running container: cp in and out, diff, commit (paused meanwhile, running after).
    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "fsb",
        "busybox",
        "sleep",
        "300",
    ]);
    e.ok(&["cp", hostfile.to_str().unwrap(), "fsb:/"]);
    let tar = e.ok(&["cp", "fsb:/hostfile", "-"]).stdout;
    assert_eq!(e.tar_member(&tar, "hostfile"), "from host\n");
    let diff = text(&e.ok(&["diff", "fsb"]).stdout);
    assert!(diff.lines().any(|l| l == "A /hostfile"), "{diff}");
    e.ok(&["commit", "fsb", "fsimg:running"]);
    let state = text(
        &e.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            "fsb",
        ])
        .stdout,
    );
    assert_eq!(state.trim(), "running false");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pull",
        "never",
        "fsimg:running",
        "cat",
        "/hostfile",
    ]);
    assert_eq!(text(&out.stdout), "from host\n");

    // docker system df, and its JSON.
    let df = text(&e.ok(&["system", "df"]).stdout);
    for want in ["Images", "Containers", "Local Volumes", "Build Cache"] {
        assert!(df.contains(want), "{df}");
    }
    let r = e.http("GET", "/system/df", b"");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v["LayersSize"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["Volumes"], serde_json::json!([]));
    assert_eq!(v["BuildCache"], serde_json::json!([]));
    let busybox = v["Images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["RepoTags"][0] == "busybox:latest")
        .unwrap();
    assert_eq!(busybox["Containers"], 2, "{v}");
    let fsa = v["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Names"][0] == "/fsa")
        .unwrap();
    assert!(fsa["SizeRw"].as_i64().unwrap() > 0, "{fsa}");
    assert!(fsa["SizeRootFs"].as_i64().unwrap() > fsa["SizeRw"].as_i64().unwrap());

    // Docker's events for each of these.
    let events = e.events();
    let actions: Vec<&str> = events
        .iter()
        .filter(|ev| ev["Type"] == "container")
        .filter_map(|ev| ev["Action"].as_str())
        .collect();
    for want in ["archive-path", "extract-to-dir", "export", "commit"] {
        assert!(actions.contains(&want), "no {want} event in {actions:?}");
    }
    let commit = events.iter().find(|ev| ev["Action"] == "commit").unwrap();
    assert_eq!(commit["Actor"]["Attributes"]["comment"], "a message");
    assert_eq!(commit["Actor"]["Attributes"]["imageRef"], "fsimg:v1");
    assert_eq!(commit["Actor"]["Attributes"]["imageID"], id.trim());

    // No temporary mount of a stopped container's rootfs stays behind.
    let tmp = e.exec_root.join("tmp");
    let left: Vec<String> = mounts_under(tmp.to_str().unwrap());
    assert!(left.is_empty(), "temporary rootfs mounts left: {left:?}");
    let dirs: Vec<_> = std::fs::read_dir(&tmp)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(dirs.is_empty(), "temporary mount points left: {dirs:?}");
}

#[test]
fn bad_input_is_refused_needs_docker() {
    let e = env();
    e.ok(&[
        "create",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "fsc",
        "busybox",
        "true",
    ]);

    // A missing container, either way.
    let err = e.fails(&["cp", "nope:/etc/passwd", "-"]);
    assert!(err.contains("No such container"), "{err}");
    let hostfile = e.path("hostfile");
    std::fs::write(&hostfile, "x").unwrap();
    let err = e.fails(&["cp", hostfile.to_str().unwrap(), "nope:/tmp/hostfile"]);
    assert!(err.contains("No such container"), "{err}");
    // With a trailing slash the CLI itself decides, from the failed stat, that the
    // directory is missing (as it does against dockerd).
    let err = e.fails(&["cp", hostfile.to_str().unwrap(), "nope:/tmp/"]);
    assert!(err.contains("no such directory"), "{err}");
    let err = e.fails(&["diff", "nope"]);
    assert!(err.contains("No such container: nope"), "{err}");
    let err = e.fails(&["export", "nope"]);
    assert!(err.contains("No such container: nope"), "{err}");
    let err = e.fails(&["commit", "nope"]);
    assert!(err.contains("No such container: nope"), "{err}");

    // A missing path: Docker's words in the body; the CLI's 404 message.
    let r = e.http("GET", "/containers/fsc/archive?path=/missing", b"");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.message(),
        "Could not find the file /missing in container fsc"
    );
    let err = e.fails(&["cp", "fsc:/missing", "-"]);
    assert!(
        err.contains("Could not find the file /missing in container fsc")
            || err.contains("No such container:path: fsc:/missing"),
        "{err}"
    );
    let r = e.http("HEAD", "/containers/fsc/archive?path=/missing", b"");
    assert_eq!(r.status, 404);
    let r = e.http("HEAD", "/containers/fsc/archive", b"");
    assert_eq!(r.status, 400);
    let r = e.http(
        "PUT",
        "/containers/fsc/archive?path=/missing",
        &tar_end(Vec::new()),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let r = e.http(
        "PUT",
        "/containers/fsc/archive?path=/etc/passwd",
        &tar_end(tar_entry("f", b'0', "", b"x")),
    );
    assert_eq!(r.status, 400, "{}", r.text());

    // Hostile archives: a climbing name, and a file through a symlink that climbs. Refused
    // with 400; nothing lands outside the container.
    let marker = format!("muelle-escape-{}", std::process::id());
    let climbing = tar_end(tar_entry(
        &format!("../../../../../../../../var/tmp/{marker}"),
        b'0',
        "",
        b"pwned",
    ));
    let r = e.http("PUT", "/containers/fsc/archive?path=/tmp", &climbing);
    assert_eq!(r.status, 400, "{}", r.text());
    let mut through_link = tar_entry("up", b'2', "../../../../../../../../var/tmp", b"");
    through_link.extend(tar_entry(&format!("up/{marker}"), b'0', "", b"pwned"));
    let r = e.http(
        "PUT",
        "/containers/fsc/archive?path=/tmp",
        &tar_end(through_link),
    );
    // Either refused, or kept inside the container's own /var/tmp: never the host's.
    assert!(
        r.status == 400 || r.status == 200,
        "{} {}",
        r.status,
        r.text()
    );
    assert!(!Path::new("/var/tmp").join(&marker).exists());
    assert!(!Path::new("/").join(&marker).exists());
    assert!(!Path::new("/tmp").join(&marker).exists());
    let outside: Vec<PathBuf> = find_named(e.dir.path(), &marker)
        .into_iter()
        .filter(|p| !p.starts_with(&e.data_root))
        .collect();
    assert!(outside.is_empty(), "escaped to {outside:?}");
    // A gzip archive is accepted, as Docker accepts one.
    let gz = {
        let f = e.path("in.tar");
        std::fs::write(&f, tar_end(tar_entry("gz-file", b'0', "", b"zipped\n"))).unwrap();
        let st = Command::new("gzip").arg("-kf").arg(&f).status().unwrap();
        assert!(st.success());
        std::fs::read(e.path("in.tar.gz")).unwrap()
    };
    let r = e.http("PUT", "/containers/fsc/archive?path=/", &gz);
    assert_eq!(r.status, 200, "{}", r.text());
    let tar = e.ok(&["cp", "fsc:/gz-file", "-"]).stdout;
    assert_eq!(e.tar_member(&tar, "gz-file"), "zipped\n");

    // Commit: a bad --change, a bad name, an empty container parameter.
    let err = e.fails(&["commit", "-c", "FROB x", "fsc"]);
    assert!(err.to_lowercase().contains("frob"), "{err}");
    let r = e.http("POST", "/commit?container=fsc&repo=Bad%20Name", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = e.http("POST", "/commit", b"");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = e.http(
        "POST",
        "/commit?container=fsc&repo=viahttp",
        b"{\"Cmd\":[\"true\"]}",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["Id"].as_str().unwrap().starts_with("sha256:"));
    let r = e.http("GET", "/containers/nope/changes", b"");
    assert_eq!(r.status, 404);
    let r = e.http("GET", "/system/df?type=nonsense", b"");
    assert_eq!(r.status, 400);

    // Nothing changed in a fresh container: Docker's `null`.
    e.ok(&[
        "create",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "fsd",
        "busybox",
        "true",
    ]);
    let r = e.http("GET", "/containers/fsd/changes", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.text().trim(), "null");
}
