//! `muelle cp CONTAINER:path DEST` against a hostile daemon (issue #9 item 14). No real
//! daemon produces the stream (a directory and a symlink of one name cannot both exist in a
//! container's filesystem), so a fake one on a unix socket answers `/_ping` and the archive
//! route with a crafted tar: `top/a -> <victim dir>` followed by `top/a/victim`. Whatever
//! `muelle` does with it, nothing may be written into the victim directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;

use base64::Engine as _;

const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");

fn entry(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, link: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"owned\n"
    } else {
        b""
    };
    h.set_size(data.len() as u64);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    if !link.is_empty() {
        h.set_link_name(link).unwrap();
    }
    b.append_data(&mut h, path, data).unwrap();
}

/// The archive a malicious daemon sends for `top`: a symlink out, then a file through it
/// (absolute and relative targets), then a hard link whose target names the symlink's way.
fn hostile_tar(victim: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, tar::EntryType::Directory, "top/", "");
    entry(&mut b, tar::EntryType::Regular, "top/ok", "");
    entry(
        &mut b,
        tar::EntryType::Symlink,
        "top/a",
        victim.to_str().unwrap(),
    );
    entry(&mut b, tar::EntryType::Regular, "top/a/victim", "");
    entry(&mut b, tar::EntryType::Directory, "top/d/", "");
    entry(
        &mut b,
        tar::EntryType::Symlink,
        "top/d/up",
        "../../../../victim",
    );
    entry(&mut b, tar::EntryType::Regular, "top/d/up/victim2", "");
    b.into_inner().unwrap()
}

/// Reads one request head; returns its request line.
fn read_head(s: &mut UnixStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A daemon that answers `_ping` and serves `tar` for any container archive; every other
/// request is a 404. It serves `n` connections (the CLI opens one per request).
fn fake_daemon(sock: &Path, tar: Vec<u8>, n: usize) -> JoinHandle<Vec<String>> {
    let listener = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            let line = read_head(&mut s);
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            let stat = serde_json::json!({"name": "top", "size": 4096, "mode": (1u32 << 31) | 0o755,
                "mtime": "2024-01-01T00:00:00Z", "linkTarget": ""});
            let stat = base64::engine::general_purpose::STANDARD.encode(stat.to_string());
            let (status, headers, body): (&str, String, Vec<u8>) = if path == "/_ping" {
                ("200 OK", "Api-Version: 1.47\r\n".into(), b"OK".to_vec())
            } else if path.contains("/containers/evil/archive") {
                (
                    "200 OK",
                    format!(
                        "Content-Type: application/x-tar\r\nX-Docker-Container-Path-Stat: {stat}\r\n"
                    ),
                    tar.clone(),
                )
            } else {
                (
                    "404 Not Found",
                    "Content-Type: application/json\r\n".into(),
                    br#"{"message":"not here"}"#.to_vec(),
                )
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
            seen.push(line);
        }
        seen
    })
}

fn muelle(sock: &Path, args: &[&str]) -> Output {
    Command::new(MUELLE)
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .args(args)
        .env_remove("MUELLE_HOST")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_API_VERSION")
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn victim_files(victim: &Path) -> Vec<String> {
    std::fs::read_dir(victim)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `muelle cp evil:/top DEST` for an existing DEST directory and for a new name (the
/// archive's top renamed): the victim directory beside DEST stays empty.
#[test]
fn cp_from_a_hostile_daemon_stays_in_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let tar = hostile_tar(&victim);
    for (i, (dest, top)) in [("out/", "out/top"), ("out/new", "out/new")]
        .into_iter()
        .enumerate()
    {
        let work = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(work.join("out")).unwrap();
        let sock = work.join("fake.sock");
        let server = fake_daemon(&sock, tar.clone(), 2);
        let dest = work.join(dest);
        let out = muelle(&sock, &["cp", "evil:/top", dest.to_str().unwrap()]);
        let seen = server.join().unwrap();
        assert!(
            seen.iter().any(|l| l.contains("/containers/evil/archive")),
            "the CLI never asked for the archive: {seen:?}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(work.join(top).join("ok"))
                .ok()
                .as_deref(),
            Some("owned\n"),
            "the entries before the hostile ones were not extracted (exit {:?}, stderr: {})",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        // Refusing the archive is fine; writing through the planted link is the bug.
        assert!(
            victim_files(&victim).is_empty(),
            "muelle cp wrote outside {}: {:?} (exit {:?}, stderr: {})",
            dest.display(),
            victim_files(&victim),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
