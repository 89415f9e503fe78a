//! The context tar as the docker CLI makes it, and its extraction on the daemon's side.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};

use tar::EntryType as T;

use super::*;
use crate::context::receive::extract_context;
use crate::context::testutil::*;

fn send(dir: &Path, opts: &SendOptions<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    must(write_context_tar_with(dir, opts, &mut out));
    out
}

fn names(entries: &[TarEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.0.as_str()).collect()
}

#[test]
fn sends_what_dockerignore_leaves_in_walk_order() {
    let t = tmp();
    write(t.path(), "Dockerfile", "FROM busybox\n", 0o644);
    write(
        t.path(),
        ".dockerignore",
        "*.log\nsecret\ndocs\n!docs/keep.md\nDockerfile\n",
        0o644,
    );
    write(t.path(), "b.txt", "b", 0o644);
    write(t.path(), "a.log", "log", 0o644);
    mkdir(t.path(), "docs", 0o755);
    write(t.path(), "docs/keep.md", "k", 0o644);
    write(t.path(), "docs/other.md", "o", 0o644);
    mkdir(t.path(), "sub", 0o750);
    write(t.path(), "sub/c", "c", 0o600);
    must(symlink("../b.txt", t.path().join("sub/link")));
    // An excluded file is never opened: an unreadable one does not fail the send.
    write(t.path(), "secret", "s", 0o000);
    let e = read_tar(&send(t.path(), &SendOptions::default()));
    assert_eq!(
        names(&e),
        vec![
            ".dockerignore",
            "Dockerfile",
            "b.txt",
            "docs/keep.md",
            "sub/",
            "sub/c",
            "sub/link"
        ]
    );
    for x in &e {
        assert_eq!((x.3, x.4), (0, 0), "{}", x.0);
    }
    let sub = &e[4];
    assert_eq!((sub.1, sub.2), (T::Directory, 0o750));
    assert_eq!((e[6].1, e[6].6.as_str()), (T::Symlink, "../b.txt"));
}

#[test]
fn headers_carry_type_bits_and_mtimes() {
    let t = tmp();
    write(t.path(), "f", "x", 0o754);
    let f = must(fs::File::options().write(true).open(t.path().join("f")));
    must(f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890)));
    must(fs::hard_link(t.path().join("f"), t.path().join("g")));
    let bytes = send(t.path(), &SendOptions::default());
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut seen = Vec::new();
    for e in must(ar.entries()) {
        let e = must(e);
        let h = e.header();
        seen.push((
            String::from_utf8_lossy(&e.path_bytes()).into_owned(),
            h.entry_type(),
            must(h.mode()),
            must(h.mtime()),
        ));
    }
    assert_eq!(seen[0], ("f".into(), T::Regular, 0o754, 1_234_567_890));
    assert_eq!((seen[1].0.as_str(), seen[1].1), ("g", T::Link));
}

#[test]
fn outside_dockerfile_is_added_and_hidden_from_copy() {
    let t = tmp();
    write(t.path(), "a", "a", 0o644);
    let name = ".dockerfile.0123456789abcdef0123";
    let bytes = send(
        t.path(),
        &SendOptions {
            dockerfile: None,
            dockerfile_override: Some((name, b"FROM scratch\n")),
        },
    );
    let e = read_tar(&bytes);
    assert_eq!(names(&e), vec!["a", name, ".dockerignore"]);
    assert_eq!((e[1].2, e[1].6.as_str()), (0o600, "FROM scratch\n"));
    let out = tmp();
    must(extract_context(&mut &bytes[..], out.path()));
    let ig = must(read_ignore(out.path()));
    assert!(ig.excluded(name, false));
    assert!(!ig.excluded("a", false));
}

#[test]
fn compressed_contexts_are_extracted() {
    let t = tmp();
    write(t.path(), "Dockerfile", "FROM busybox\n", 0o644);
    write(t.path(), "d/x", "x", 0o640);
    let plain = send(t.path(), &SendOptions::default());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    must(gz.write_all(&plain));
    let gz = must(gz.finish());
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    must(bz.write_all(&plain));
    let bz = must(bz.finish());
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    must(xz.write_all(&plain));
    let xz = must(xz.finish());
    let zst = must(zstd::stream::encode_all(&plain[..], 1));
    for body in [plain, gz, bz, xz, zst] {
        let out = tmp();
        must(extract_context(&mut &body[..], out.path()));
        assert_eq!(must(fs::read_to_string(out.path().join("d/x"))), "x");
        let md = must(fs::metadata(out.path().join("d/x")));
        assert_eq!(md.permissions().mode() & 0o7777, 0o640);
    }
}

#[test]
fn hostile_contexts_are_refused() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    {
        // The tar crate refuses to write `..` itself: the name goes in raw.
        let name = b"../escape";
        let gnu = must(h.as_gnu_mut().ok_or("gnu"));
        gnu.name[..name.len()].copy_from_slice(name);
    }
    h.set_cksum();
    must(b.append(&h, &b"x"[..]));
    let bytes = must(b.into_inner());
    let root = tmp();
    let dir = root.path().join("ctx");
    must(fs::create_dir(&dir));
    let e = extract_context(&mut &bytes[..], &dir);
    assert!(e.is_err());
    assert!(!root.path().join("escape").exists());
    let e = extract_context(&mut &b"not a tar at all, clearly"[..], &dir).map_err(|e| e.kind());
    assert_eq!(e, Err(muelle_types::ErrorKind::InvalidParameter));
}

#[test]
fn symlinks_above_the_context_are_kept_as_dockerd_keeps_them() {
    let t = tmp();
    must(symlink("../../outside", t.path().join("l")));
    write(t.path(), "Dockerfile", "FROM busybox\n", 0o644);
    let bytes = send(t.path(), &SendOptions::default());
    let out = tmp();
    must(extract_context(&mut &bytes[..], out.path()));
    assert_eq!(
        must(fs::read_link(out.path().join("l"))).to_string_lossy(),
        "../../outside"
    );
    // COPY resolves it inside the context, where nothing is.
    let e = sel(out.path(), &["l"]).map(|_| ());
    assert!(matches!(
        e,
        Err(crate::context::ContextError::NotFound { .. })
    ));
}

/// What the docker CLI sends as the context: a fake daemon on a unix socket answers its
/// ping and keeps POST /build's body.
fn docker_cli_context(dir: &Path) -> Option<Vec<u8>> {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::net::UnixListener;
    let cli = Path::new("/usr/local/bin/docker");
    if !cli.exists() {
        return None;
    }
    let sock_dir = tmp();
    let sock = sock_dir.path().join("d.sock");
    let l = must(UnixListener::bind(&sock));
    let server = std::thread::spawn(move || -> Option<Vec<u8>> {
        for _ in 0..8 {
            let (s, _) = l.accept().ok()?;
            let mut r = BufReader::new(s.try_clone().ok()?);
            let mut line = String::new();
            r.read_line(&mut line).ok()?;
            let (mut chunked, mut length) = (false, 0usize);
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).ok()? == 0 || h.trim_end().is_empty() {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().ok()?;
                }
            }
            let mut s = s;
            if !line.starts_with("POST") || !line.contains("/build") {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK",
                );
                continue;
            }
            let mut body = Vec::new();
            if chunked {
                loop {
                    let mut size = String::new();
                    r.read_line(&mut size).ok()?;
                    let n = usize::from_str_radix(size.trim(), 16).ok()?;
                    if n == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; n + 2];
                    r.read_exact(&mut chunk).ok()?;
                    body.extend_from_slice(&chunk[..n]);
                }
            } else {
                body.resize(length, 0);
                r.read_exact(&mut body).ok()?;
            }
            let msg = b"{\"stream\":\"ok\\n\"}\n";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                msg.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(msg);
            return Some(body);
        }
        None
    });
    let status = std::process::Command::new(cli)
        .arg("build")
        .arg("-q")
        .arg(dir)
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env("DOCKER_CONFIG", sock_dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if status.is_err() {
        return None;
    }
    server.join().ok().flatten()
}

/// Raw name, typeflag, mode, uid, gid, mtime, size, link target, content.
type Fields = (Vec<u8>, u8, u32, u64, u64, u64, u64, String, Vec<u8>);

/// Every header field that matters, and the raw name bytes.
fn fields(bytes: &[u8]) -> Vec<Fields> {
    use std::io::Read;
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in must(ar.entries()) {
        let mut e = must(e);
        let h = e.header().clone();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        let mut body = Vec::new();
        must(e.read_to_end(&mut body));
        out.push((
            h.path_bytes().into_owned(),
            h.entry_type().as_byte(),
            must(h.mode()),
            must(h.uid()),
            must(h.gid()),
            must(h.mtime()),
            must(h.size()),
            link,
            body,
        ));
    }
    out
}

#[test]
fn context_tar_matches_the_docker_cli_needs_docker() {
    let t = tmp();
    write(t.path(), "Dockerfile", "FROM busybox\n", 0o644);
    write(
        t.path(),
        ".dockerignore",
        "*.log\nskip\n!skip/keep\ndeep\n!**/*.go\n",
        0o640,
    );
    write(t.path(), "a", "a\n", 0o600);
    write(t.path(), "x.log", "log", 0o644);
    mkdir(t.path(), "d", 0o750);
    write(t.path(), "d/f", "f\n", 0o4755);
    mkdir(t.path(), "d/sub", 0o755);
    mkdir(t.path(), "skip", 0o755);
    write(t.path(), "skip/keep", "k", 0o644);
    write(t.path(), "deep/x.go", "package x\n", 0o644);
    write(t.path(), "y.go", "package y\n", 0o644);
    write(t.path(), "skip/drop", "d", 0o644);
    must(symlink("../a", t.path().join("d/l")));
    must(fs::hard_link(t.path().join("a"), t.path().join("hl")));
    for p in [
        "Dockerfile",
        ".dockerignore",
        "a",
        "d/f",
        "skip/keep",
        "y.go",
        "d/sub",
        "d",
        "skip",
        ".",
    ] {
        let f = must(fs::File::open(t.path().join(p)));
        must(f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000)));
    }
    let Some(theirs) = docker_cli_context(t.path()) else {
        eprintln!("no docker CLI at /usr/local/bin/docker: skipped");
        return;
    };
    let ours = send(t.path(), &SendOptions::default());
    assert_eq!(fields(&theirs).len(), 10, "the CLI's context");
    assert_eq!(fields(&ours), fields(&theirs));
}

#[test]
fn non_utf8_names_are_sent_as_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let t = tmp();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
    must(fs::write(t.path().join(name), "x"));
    let bytes = send(t.path(), &SendOptions::default());
    let mut ar = tar::Archive::new(&bytes[..]);
    let names: Vec<Vec<u8>> = must(ar.entries())
        .map(|e| must(e).path_bytes().into_owned())
        .collect();
    assert_eq!(names, vec![b"caf\xe9".to_vec()]);
}
