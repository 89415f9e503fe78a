//! `muelle build` against a scripted daemon on a private socket: what it sends (the query,
//! the context tar, a Dockerfile from outside the context under docker's random name) and
//! what it makes of the legacy builder's stream dockerd 20.10 answers (BuildKit-like plain
//! progress on stderr, `-q` and `--iidfile`, a failed step as one `build failed` line and
//! exit 1). Builds on a real daemon are the builder's tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};

use super::*;

const ID: &str = "sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8";

/// dockerd 20.10's answer to a three-step build (recorded), and to a failed RUN.
const BUILT: &str = r#"{"stream":"Step 1/3 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/3 : RUN echo hello"}
{"stream":"\n"}
{"stream":" ---\u003e Running in 80e8f83627ac\n"}
{"stream":"hello\n"}
{"stream":"Removing intermediate container 80e8f83627ac\n"}
{"stream":" ---\u003e 2dc0fd33d0e4\n"}
{"stream":"Step 3/3 : ENV A=b"}
{"stream":"\n"}
{"stream":" ---\u003e Using cache\n"}
{"stream":" ---\u003e 79c03d7c923f\n"}
{"aux":{"ID":"sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8"}}
{"stream":"Successfully built 79c03d7c923f\n"}
{"stream":"Successfully tagged x:1\n"}
"#;
const FAILED: &str = r#"{"stream":"Step 1/2 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/2 : RUN exit 3"}
{"stream":"\n"}
{"stream":" ---\u003e Running in d839c7f55995\n"}
{"errorDetail":{"code":3,"message":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"},"error":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"}
"#;

/// A request the fake daemon received.
#[derive(Debug, Clone, Default)]
struct Seen {
    target: String,
    body: Vec<u8>,
}

/// Answers `/_ping` and `POST /build` (with `q=1`, dockerd's quiet answer; with a tag
/// `fail:1`, the failed RUN) until the test ends.
fn fake_daemon(dir: &Path) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let sock = dir.join("d.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let log = log.clone();
            std::thread::spawn(move || serve(conn, &log));
        }
    });
    (format!("unix://{}", sock.display()), seen)
}

fn serve(conn: UnixStream, log: &Mutex<Vec<Seen>>) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let target = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut chunked = false;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        chunked |= h == "transfer-encoding: chunked";
        if let Some(n) = h.strip_prefix("content-length: ") {
            length = n.parse().unwrap();
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).unwrap();
    }
    let answer = if target.ends_with("/_ping") {
        "OK".to_string()
    } else if target.contains("q=1") {
        format!("{{\"stream\":\"{ID}\\n\"}}\n")
    } else if target.contains("t=fail%3A1") {
        FAILED.to_string()
    } else {
        BUILT.to_string()
    };
    log.lock().unwrap().push(Seen { target, body });
    let mut w = conn;
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn tar_names(body: &[u8]) -> Vec<String> {
    tar::Archive::new(body)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn last_build(seen: &Mutex<Vec<Seen>>) -> Seen {
    seen.lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.target.contains("/build"))
        .cloned()
        .expect("a build request")
}

#[test]
fn build_sends_the_context_and_shows_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (host, seen) = fake_daemon(dir.path());
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("sub")).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN echo hello\nENV A=b\n",
    )
    .unwrap();
    std::fs::write(ctx.join("sub/file"), "data").unwrap();
    let muelle = |args: &[&str]| run(Command::new(MUELLE).arg("-H").arg(&host).args(args));

    let out = muelle(&[
        "build",
        "-t",
        "x:1",
        "--build-arg",
        "A=1",
        "--label",
        "l=v",
        "--progress=plain",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    for line in [
        "#3 [1/3] FROM busybox\n",
        "#4 [2/3] RUN echo hello\n",
        "#5 [3/3] ENV A=b\n#5 CACHED\n",
        "#6 naming to x:1 done\n",
    ] {
        assert!(err.contains(line), "{line:?} in:\n{err}");
    }
    assert!(
        err.contains(&format!("#6 writing image {ID} done")),
        "{err}"
    );
    let req = last_build(&seen);
    assert!(
        req.target.starts_with("/v1.41/build?t=x%3A1&"),
        "{}",
        req.target
    );
    assert!(
        req.target.contains("buildargs=%7B%22A%22%3A%221%22%7D"),
        "{}",
        req.target
    );
    assert!(req.target.contains("labels="), "{}", req.target);
    assert!(
        req.target.contains("dockerfile=Dockerfile"),
        "{}",
        req.target
    );
    let names = tar_names(&req.body);
    assert!(
        names.contains(&"Dockerfile".to_string()) && names.contains(&"sub/file".to_string()),
        "{names:?}"
    );

    // -q: the ID alone on stdout; --iidfile: the same in the file.
    let iid = dir.path().join("iid");
    let out = muelle(&[
        "build",
        "-q",
        "--iidfile",
        iid.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{ID}\n"));
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), ID);

    // A Dockerfile outside the context travels inside it under a random name.
    let outside = dir.path().join("Other.Dockerfile");
    std::fs::write(&outside, "FROM busybox\n").unwrap();
    let out = muelle(&[
        "build",
        "-q",
        "-f",
        outside.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let req = last_build(&seen);
    let name = req
        .target
        .split('&')
        .find_map(|p| p.strip_prefix("dockerfile="))
        .unwrap()
        .to_string();
    assert!(name.starts_with(".dockerfile."), "{}", req.target);
    assert!(tar_names(&req.body).contains(&name), "{name}");
}

#[test]
fn a_failed_build_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _seen) = fake_daemon(dir.path());
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\nRUN exit 3\n").unwrap();
    let out = run(Command::new(MUELLE)
        .arg("-H")
        .arg(&host)
        .args(["build", "-t", "fail:1", "--progress", "plain"])
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.ends_with(
            "muelle: build failed: The command '/bin/sh -c exit 3' returned a non-zero code: 3\n"
        ),
        "{err}"
    );
    assert!(err.contains("#4 ERROR: The command"), "{err}");
    assert!(err.contains(" > [2/2] RUN exit 3:"), "{err}");
}

#[test]
fn build_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let host = format!("unix://{d}/none.sock");
    let muelle = |args: &[&str]| run(Command::new(MUELLE).arg("-H").arg(&host).args(args));
    let out = muelle(&["build"]);
    assert_ne!(out.status.code(), Some(0));
    for (args, wanted) in [
        (
            &["build", "--progress", "fancy", d][..],
            "invalid progress mode",
        ),
        (
            &["build", "--output", "type=registry,dest=x", d],
            "unsupported type",
        ),
        (&["build", "--secret", "id=s,bogus=1", d], "unexpected key"),
        (&["build", "--add-host", "nohost", d], "add-host"),
        (&["build", d], "Dockerfile"),
        (&["build", "-f", "-", "-"], "can't use stdin for both"),
        (
            &["build", "https://example.invalid/x.git"],
            "remote build contexts",
        ),
    ] {
        let out = muelle(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(wanted),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = muelle(&["builder", "prune", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--all"));
}
