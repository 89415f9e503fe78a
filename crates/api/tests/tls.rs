//! muelled on TCP: served only over TLS with client certificates (`--tlsverify`), checked
//! with the stock docker CLI. A throwaway PKI is made with `openssl`: a CA, a server
//! certificate for IP 127.0.0.1, a client certificate, and a second CA with its own client
//! (which must be refused). Everything binds to 127.0.0.1 only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::common::{listener_owned_by, listener_pids, next_port};
use support::{busybox_tar, is_up, muelled, shim_binary, Daemon, DOCKER};

const OPENSSL: &str = "/usr/bin/openssl";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(OPENSSL)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The certificates, in a directory removed on drop.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// CA `NAME.pem` (key `NAME-key.pem`), P-256 keys (fast to make, accepted by Go and
    /// webpki).
    fn ca(&self, name: &str) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=muelle test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }

    /// A leaf `NAME-cert.pem` + `NAME-key.pem` issued by `ca`, with the extensions `ext`.
    fn leaf(&self, name: &str, ca: &str, ext: &str) {
        let d = self.dir.path();
        std::fs::write(d.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}-key.pem"),
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}-cert.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

fn pki() -> Pki {
    require!(OPENSSL);
    let pki = Pki {
        dir: tempfile::tempdir().unwrap(),
    };
    pki.ca("ca");
    pki.leaf(
        "server",
        "ca",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    );
    let client_ext =
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
    pki.leaf("client", "ca", client_ext);
    pki.ca("other-ca");
    pki.leaf("stranger", "other-ca", client_ext);
    pki
}

/// Waits until muelled itself listens on `port`: false when it exits first (another process
/// took the port between our pick and its bind).
fn wait_for_own_port(d: &Daemon, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if listener_owned_by(d.pid(), port) {
            return true;
        }
        if !is_up(d) {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "muelled does not listen on 127.0.0.1:{port} (held by pids {:?}):\n{}",
            listener_pids(port),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` runs the muelled under test.
fn is_muelled(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| exe == Path::new(env!("CARGO_BIN_EXE_muelled")))
}

/// The docker CLI on `tcp://127.0.0.1:port` with the given TLS flags, nothing taken from the
/// environment (a client certificate in DOCKER_CERT_PATH would change what is tested).
/// It runs in the daemon's network namespace, where the daemon's 127.0.0.1 is.
fn docker_tcp(d: &Daemon, port: u16, tls: &[&str], args: &[&str]) -> Output {
    d.in_netns(DOCKER)
        .env("DOCKER_CONFIG", &d.docker_config)
        .env("DOCKER_CERT_PATH", &d.docker_config)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .args(tls)
        .arg("-H")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `GET /_ping` through `openssl s_client` presenting `NAME-cert.pem`; whether the answer
/// was OK, and everything openssl printed (run in the daemon's network namespace).
fn s_client(d: &Daemon, pki: &Pki, port: u16, name: &str) -> (bool, String) {
    let mut child = d
        .in_netns(OPENSSL)
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-CAfile", &pki.path("ca.pem"), "-verify_return_error"])
        .args(["-cert", &pki.path(&format!("{name}-cert.pem"))])
        .args(["-key", &pki.path(&format!("{name}-key.pem"))])
        // -ign_eof: read the answer after the request (stdin) ends.
        .args(["-quiet", "-ign_eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: muelle\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let ok = stdout.starts_with("HTTP/1.1 200") && stdout.ends_with("OK");
    (
        ok,
        format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// A muelled serving TLS on a port of its own, and the port: a start that fails because the
/// port was taken meanwhile is retried on the next one.
fn tls_daemon(pki: &Pki) -> (Daemon, u16) {
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("server-cert.pem"),
        pki.path("server-key.pem"),
    );
    let mut failures = Vec::new();
    for _ in 0..8 {
        let port = next_port();
        let host = format!("tcp://127.0.0.1:{port}");
        match Daemon::try_start_with(&[
            "-H",
            &host,
            "--tlsverify",
            "--tlscacert",
            &ca,
            "--tlscert",
            &cert,
            "--tlskey",
            &key,
        ]) {
            Ok(d) if wait_for_own_port(&d, port) => return (d, port),
            Ok(d) => failures.push(format!("port {port}: {}", d.log())),
            Err(e) => failures.push(format!("port {port}: {e}")),
        }
    }
    panic!("muelled did not listen on any of 8 ports: {failures:#?}");
}

#[test]
fn tls_cli_with_client_certificates_needs_docker_openssl() {
    require!(DOCKER);
    let pki = pki();
    let (d, port) = tls_daemon(&pki);
    assert!(
        d.log()
            .contains("API listening (TLS, client certificates required)"),
        "{}",
        d.log()
    );

    // Refused first, so the good requests below also show that failed handshakes leave the
    // accept loop running.
    let ca = pki.path("ca.pem");
    let no_cert = docker_tcp(&d, port, &["--tls", "--tlscacert", &ca], &["version"]);
    assert!(!no_cert.status.success(), "{}", show(&no_cert));
    assert!(
        !String::from_utf8_lossy(&no_cert.stdout).contains("Server:"),
        "{}",
        show(&no_cert)
    );
    let (stranger, stranger_key) = (pki.path("stranger-cert.pem"), pki.path("stranger-key.pem"));
    let other_ca = docker_tcp(
        &d,
        port,
        &[
            "--tlsverify",
            "--tlscacert",
            &ca,
            "--tlscert",
            &stranger,
            "--tlskey",
            &stranger_key,
        ],
        &["version"],
    );
    assert!(!other_ca.status.success(), "{}", show(&other_ca));
    assert!(
        !String::from_utf8_lossy(&other_ca.stdout).contains("Server:"),
        "{}",
        show(&other_ca)
    );
    // Go's client keeps a certificate to itself when its issuer is not among the CAs the
    // server names, so the CLI above never showed the stranger's. openssl sends it anyway:
    // the server itself must refuse it.
    let (ok, out) = s_client(&d, &pki, port, "stranger");
    assert!(!ok && out.contains("unknown ca"), "{out}");
    let (ok, out) = s_client(&d, &pki, port, "client");
    assert!(ok, "{out}\n{}", d.log());
    // Both are turned away by the TLS alert, not by some later HTTP error.
    for refused in [&no_cert, &other_ca] {
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("remote error: tls:"), "{}", show(refused));
    }
    println!(
        "refused: no certificate: {}; other CA: {}",
        String::from_utf8_lossy(&no_cert.stderr).trim(),
        String::from_utf8_lossy(&other_ca.stderr).trim()
    );
    assert!(d.log().contains("TLS handshake failed"), "{}", d.log());
    // A client speaking plain HTTP to the TLS port gets nothing either.
    let plain = docker_tcp(&d, port, &[], &["version"]);
    assert!(!plain.status.success(), "{}", show(&plain));

    let (client, client_key) = (pki.path("client-cert.pem"), pki.path("client-key.pem"));
    let tls = [
        "--tlsverify",
        "--tlscacert",
        ca.as_str(),
        "--tlscert",
        client.as_str(),
        "--tlskey",
        client_key.as_str(),
    ];
    let version = docker_tcp(&d, port, &tls, &["version"]);
    assert!(version.status.success(), "{}\n{}", show(&version), d.log());
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.contains("Server:"), "{text}");
    let info = docker_tcp(&d, port, &tls, &["info"]);
    assert!(info.status.success(), "{}\n{}", show(&info), d.log());
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("Server Version"),
        "{}",
        show(&info)
    );

    // `run` attaches over a 101 Upgrade: the upgrade path over TLS.
    let tar = busybox_tar();
    shim_binary();
    d.docker_ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
    let run = docker_tcp(
        &d,
        port,
        &tls,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "echo",
            "hi",
        ],
    );
    assert!(run.status.success(), "{}\n{}", show(&run), d.log());
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hi\n",
        "{}",
        show(&run)
    );
    let ps = docker_tcp(&d, port, &tls, &["ps", "-aq"]);
    assert!(ps.status.success(), "{}", show(&ps));
    assert_eq!(
        String::from_utf8_lossy(&ps.stdout).trim(),
        "",
        "--rm left a container"
    );
}

/// Runs muelled to its exit (it must not start), with its own roots and `args`.
fn muelled_fails(args: &[&str]) -> String {
    let dir = tempfile::Builder::new()
        .prefix("muelled-test-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let config = dir.path().join("daemon.json");
    std::fs::write(&config, "{}").unwrap();
    let mut child = muelled()
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .arg("--config-file")
        .arg(&config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("muelled {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "muelled {args:?} exited with success"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    // Nothing was created: the policy is checked before the data root is opened.
    assert!(!dir.path().join("data").exists(), "{stderr}");
    stderr
}

#[test]
fn tls_required_for_tcp_at_start() {
    let port = next_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let e = muelled_fails(&["-H", &host]);
    assert!(e.contains("--tlsverify"), "{e}");
    assert!(e.contains(&host), "{e}");
    assert!(e.contains("plain TCP"), "{e}");
    // TLS that does not verify clients is refused too.
    let e = muelled_fails(&["-H", &host, "--tls"]);
    assert!(e.contains("--tls without --tlsverify"), "{e}");
    // The default port is 2376, and the message shows it.
    let e = muelled_fails(&["-H", "tcp://127.0.0.1"]);
    assert!(e.contains("tcp://127.0.0.1:2376"), "{e}");
    // And no muelled was left listening (other programs may use the port meanwhile).
    let holders = listener_pids(port);
    assert!(
        !holders.iter().any(|p| is_muelled(*p)),
        "a muelled listens on {port}: {holders:?}"
    );
}

#[test]
fn tls_bad_certificate_files_stop_the_daemon_naming_the_file_needs_openssl() {
    let pki = pki();
    // Nothing listens in the refusals: the port is never bound.
    let host = format!("tcp://127.0.0.1:{}", next_port());
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("server-cert.pem"),
        pki.path("server-key.pem"),
    );
    let args = |ca: &str, cert: &str, key: &str| -> Vec<String> {
        [
            "-H",
            &host,
            "--tlsverify",
            "--tlscacert",
            ca,
            "--tlscert",
            cert,
            "--tlskey",
            key,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let fails = |a: Vec<String>| muelled_fails(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let missing = pki.path("missing.pem");
    let e = fails(args(&missing, &cert, &key));
    assert!(e.contains(&missing) && e.contains("--tlscacert"), "{e}");
    let e = fails(args(&ca, &missing, &key));
    assert!(e.contains(&missing) && e.contains("--tlscert"), "{e}");
    let e = fails(args(&ca, &cert, &missing));
    assert!(e.contains(&missing) && e.contains("--tlskey"), "{e}");

    // A file that is not PEM, and a key where a certificate should be.
    let junk = pki.path("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = fails(args(&junk, &cert, &key));
    assert!(e.contains(&junk), "{e}");
    let e = fails(args(&ca, &key, &key));
    assert!(e.contains(&key) && e.contains("--tlscert"), "{e}");
    let e = fails(args(&ca, &cert, &junk));
    assert!(e.contains(&junk) && e.contains("--tlskey"), "{e}");
    // The client's key with the server's certificate.
    let wrong_key = pki.path("client-key.pem");
    let e = fails(args(&ca, &cert, &wrong_key));
    assert!(e.contains(&wrong_key) && e.contains(&cert), "{e}");

    // The same files through daemon.json keys (dockerd's names) work. A start that ends
    // before listening is retried on another port (it may have been taken meanwhile); every
    // attempt's stderr is shown if none listens.
    let mut failures = Vec::new();
    for _ in 0..8 {
        let port = next_port();
        let dir = tempfile::Builder::new()
            .prefix("muelled-test-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let config = dir.path().join("daemon.json");
        std::fs::write(
            &config,
            serde_json::json!({
                "tlsverify": true, "tlscacert": ca, "tlscert": cert, "tlskey": key,
                "hosts": [
                    format!("unix://{}", dir.path().join("run/s.sock").display()),
                    format!("tcp://127.0.0.1:{port}"),
                ],
            })
            .to_string(),
        )
        .unwrap();
        // A namespace of its own, as every test daemon has (support::Daemon).
        let netns = muelle_test_support::netns::NamedNetns::create();
        let mut child = netns
            .command(env!("CARGO_BIN_EXE_muelled"))
            .env("MUELLE_INIT", muelle_test_support::static_init())
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("run"))
            .arg("--config-file")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let listening = loop {
            if listener_owned_by(child.id(), port) {
                break true;
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if listening {
            assert!(out.status.success(), "{stderr}");
            return;
        }
        failures.push(format!("port {port}: {stderr}"));
    }
    panic!("muelled with TLS from daemon.json did not listen: {failures:#?}");
}
