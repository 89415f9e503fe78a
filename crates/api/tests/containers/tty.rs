//! Interactive sessions with a terminal: `docker run -it` and `docker exec -it` in a pty.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Daemon, DOCKER};
use crate::{assert_no_leaks, env, require};

/// Runs `command` under script(1) (a pty for the docker CLI); `input` is typed once the
/// output shows `prompt`. Returns the exit code and the output.
fn in_pty(d: &Daemon, command: &str, prompt: &str, input: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
        .env("DOCKER_CONFIG", &d.docker_config)
        .env("TERM", "xterm")
        .env_remove("DOCKER_API_VERSION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().unwrap();
    let reader = {
        let output = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&output.lock().unwrap()).contains(prompt) {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "no prompt {prompt:?} in {:?}\nmuelled log:\n{}",
                String::from_utf8_lossy(&output.lock().unwrap()),
                d.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    // Keep stdin open until the session ends: script(1) may end it on EOF.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the session did not end: {:?}\nmuelled log:\n{}",
                String::from_utf8_lossy(&output.lock().unwrap()),
                d.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    (status.code(), text)
}

#[test]
fn cli_interactive_tty_run_and_exec_needs_docker() {
    let d = env();
    require!("/usr/bin/script");
    let (code, out) = in_pty(
        &d,
        &format!("{DOCKER} run -it --rm --network none --pull never --name tty busybox sh"),
        "# ",
        b"echo typed-$((40+2)); tty\nexit 4\n",
    );
    assert_eq!(code, Some(4), "{out}");
    // The typed line is echoed by the container's terminal, then the result; a real tty.
    assert!(out.contains("echo typed-$((40+2)); tty"), "{out:?}");
    assert!(out.contains("typed-42\r\n"), "{out:?}");
    assert!(out.contains("/dev/pts/0"), "{out:?}");

    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    let (code, out) = in_pty(
        &d,
        &format!("{DOCKER} exec -it {id} sh -c 'echo ask:; read l; echo got-$l; exit 6'"),
        "ask:",
        b"answer\n",
    );
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("answer\r\n"), "{out:?}");
    assert!(out.contains("got-answer\r\n"), "{out:?}");

    d.docker_ok(&["rm", "-f", &id]);
    assert_no_leaks(&d, &[id]);
}
