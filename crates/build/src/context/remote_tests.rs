//! ADD <url> against servers started on 127.0.0.1 by the test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use super::*;
use crate::context::testutil::*;

/// Serves the canned answers in order, one per connection; returns the base URL and the
/// request lines seen.
fn serve(answers: Vec<Vec<u8>>) -> (String, thread::JoinHandle<Vec<String>>) {
    let l = must(TcpListener::bind("127.0.0.1:0"));
    let port = must(l.local_addr()).port();
    let h = thread::spawn(move || {
        let mut seen = Vec::new();
        for answer in answers {
            let Ok((mut s, _)) = l.accept() else { break };
            let mut r = BufReader::new(match s.try_clone() {
                Ok(c) => c,
                Err(_) => break,
            });
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            seen.push(line.trim_end().to_string());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
                    break;
                }
            }
            let _ = s.write_all(&answer);
        }
        seen
    });
    (format!("http://127.0.0.1:{port}"), h)
}

fn ok(body: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const HELLO_SHA: &str = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

#[test]
fn fetches_follows_redirects_and_keeps_last_modified() {
    let (base, h) = serve(vec![
        b"HTTP/1.1 302 Found\r\nLocation: /files/real.txt\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ok(
            "hello\n",
            "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
        ),
    ]);
    let into = tmp();
    let f = must(fetch(
        &format!("{base}/dl/hello.txt"),
        Some(HELLO_SHA),
        into.path(),
    ));
    assert_eq!(f.name, "hello.txt");
    assert_eq!(f.digest, HELLO_SHA);
    assert_eq!(must(fs::read_to_string(&f.path)), "hello\n");
    let md = must(fs::metadata(&f.path));
    assert_eq!(
        md.modified().ok(),
        Some(std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480))
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        must(h.join()),
        vec!["GET /dl/hello.txt HTTP/1.1", "GET /files/real.txt HTTP/1.1"]
    );
    // dockerd 20.10 wrote `ADD 7164502f… in /x/` for this file fetched as root.
    if rustix::process::geteuid().is_root() {
        assert_eq!(
            must(content_hash(&f)),
            "7164502f02d9d8496cce7f84f65a6fbe7d809af5e67924494f671b78a5f3ce67"
        );
    }
}

#[test]
fn chunked_bodies_and_disposition_names() {
    let (base, h) = serve(vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Disposition: attachment; filename=\"got.bin\"\r\n\r\n3\r\nhel\r\n3;x=y\r\nlo\n\r\n0\r\n\r\n".to_vec()]);
    let into = tmp();
    let f = must(fetch(&format!("{base}/"), None, into.path()));
    assert_eq!((f.name.as_str(), f.digest.as_str()), ("got.bin", HELLO_SHA));
    must(h.join());
}

#[test]
fn errors_are_clear() {
    let (base, h) = serve(vec![
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ok("hello\n", ""),
    ]);
    let into = tmp();
    let e = must(
        fetch(&format!("{base}/x"), None, into.path())
            .err()
            .ok_or("fetched"),
    );
    assert_eq!(
        e.to_string(),
        format!("failed to GET {base}/x with status 404 Not Found")
    );
    let bad = format!("sha256:{}", "0".repeat(64));
    let e = must(
        fetch(&format!("{base}/y"), Some(&bad), into.path())
            .err()
            .ok_or("fetched"),
    );
    assert!(matches!(e, ContextError::ChecksumMismatch { .. }), "{e}");
    assert!(!into.path().join("y").exists());
    must(h.join());
    let e = must(
        fetch("https://127.0.0.1:1/x", None, into.path())
            .err()
            .ok_or("fetched"),
    );
    assert!(
        e.to_string().contains("https URLs are not supported"),
        "{e}"
    );
    assert_eq!(e.kind(), muelle_types::ErrorKind::InvalidParameter);
    assert!(fetch("http://127.0.0.1:1/x", Some("md5:abc"), into.path()).is_err());
}

#[test]
fn too_many_redirects_stop() {
    let hop = b"HTTP/1.1 301 Moved\r\nLocation: /again/f\r\nContent-Length: 0\r\n\r\n".to_vec();
    let (base, h) = serve(vec![hop; 11]);
    let into = tmp();
    let e = must(
        fetch(&format!("{base}/f"), None, into.path())
            .err()
            .ok_or("fetched"),
    );
    assert!(e.to_string().contains("stopped after 10 redirects"), "{e}");
    must(h.join());
}

#[test]
fn url_pieces() {
    assert_eq!(
        name_from_url("http://h/a/b.tar.gz?x=1"),
        Some("b.tar.gz".into())
    );
    assert_eq!(name_from_url("http://h/a/"), None);
    assert_eq!(name_from_url("http://h"), None);
    assert_eq!(redirect("http://h:1/a/b", "c"), "http://h:1/a/c");
    assert_eq!(redirect("http://h:1/a/b", "/z"), "http://h:1/z");
    assert_eq!(redirect("http://h:1/a/b", "http://o/p"), "http://o/p");
    let u = must(parse_url("http://[::1]:8080/p?q"));
    assert_eq!(
        (u.host.as_str(), u.port, u.target.as_str()),
        ("::1", 8080, "/p?q")
    );
    assert!(parse_url("http://user@h/x").is_err());
    assert!(parse_url("ftp://h/x").is_err());
}
