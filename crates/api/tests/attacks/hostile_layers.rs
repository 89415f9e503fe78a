//! Hostile image layers (`../` names, climbing symlinks, hard links to host files, climbing
//! whiteouts) delivered through `docker import`, `docker load` and `docker pull` from a local
//! docker-registry: refused or unpacked inside the rootfs, never touching the host.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;
use crate::{env, missing, sha256, tar_names, text, unique, Env};

/// One ustar entry with any name, type and link name (names under 100 bytes).
fn tar_entry(name: &str, typeflag: u8, link: &str, data: &[u8]) -> Vec<u8> {
    assert!(name.len() < 100 && link.len() < 100, "{name} -> {link}");
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mode: &[u8] = if typeflag == b'5' {
        b"0000755"
    } else if typeflag == b'2' {
        b"0000777"
    } else {
        b"0000644"
    };
    h[100..107].copy_from_slice(mode);
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"14000000000");
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

/// What a hostile layer aims at on the host, checked after every delivery.
struct HostTargets {
    /// Files that must not appear (a write outside the rootfs).
    markers: Vec<PathBuf>,
    /// A host file a whiteout tries to delete.
    victim: PathBuf,
    shadow: (u64, String),
    passwd: (u64, String),
}

fn nlink_and_hash(p: &Path) -> (u64, String) {
    use std::os::unix::fs::MetadataExt;
    (std::fs::metadata(p).unwrap().nlink(), sha256(p))
}

impl HostTargets {
    fn new(u: &str) -> HostTargets {
        let victim = PathBuf::from(format!("/tmp/muelle-victim-{u}"));
        std::fs::write(&victim, "still here\n").unwrap();
        HostTargets {
            markers: ["climb", "link", "up", "abs", "wh"]
                .iter()
                .flat_map(|k| {
                    [
                        PathBuf::from(format!("/tmp/muelle-pwned-{u}-{k}")),
                        PathBuf::from(format!("/muelle-pwned-{u}-{k}")),
                    ]
                })
                .collect(),
            victim,
            shadow: nlink_and_hash(Path::new("/etc/shadow")),
            passwd: nlink_and_hash(Path::new("/etc/passwd")),
        }
    }

    fn assert_untouched(&self, what: &str) {
        for m in &self.markers {
            assert!(
                std::fs::symlink_metadata(m).is_err(),
                "{what}: a layer wrote {} on the host",
                m.display()
            );
        }
        assert_eq!(
            std::fs::read_to_string(&self.victim).ok().as_deref(),
            Some("still here\n"),
            "{what}: a whiteout deleted a host file"
        );
        assert_eq!(
            nlink_and_hash(Path::new("/etc/shadow")),
            self.shadow,
            "{what}: /etc/shadow was linked to or changed"
        );
        assert_eq!(
            nlink_and_hash(Path::new("/etc/passwd")),
            self.passwd,
            "{what}: /etc/passwd was linked to or changed"
        );
    }
}

impl Drop for HostTargets {
    fn drop(&mut self) {
        for m in &self.markers {
            let _ = std::fs::remove_file(m);
        }
        let _ = std::fs::remove_file(&self.victim);
    }
}

/// The hostile layers, one per trick (a refusal of one must not hide another), each ending
/// with a harmless file: name and uncompressed tar.
fn hostile_layers(u: &str) -> Vec<(&'static str, Vec<u8>)> {
    let climb = "../".repeat(12);
    let f = |name: &str| tar_entry(name, b'0', "", b"pwned\n");
    let sym = |name: &str, to: &str| tar_entry(name, b'2', to, b"");
    let hard = |name: &str, to: &str| tar_entry(name, b'1', to, b"");
    let layer = |entries: Vec<Vec<u8>>| {
        let mut t = entries.concat();
        t.extend(f("inside"));
        t.extend_from_slice(&[0u8; 1024]);
        t
    };
    vec![
        (
            "climbing-name",
            layer(vec![f(&format!("{climb}tmp/muelle-pwned-{u}-climb"))]),
        ),
        (
            "absolute-climbing-name",
            layer(vec![f(&format!("/../../tmp/muelle-pwned-{u}-abs"))]),
        ),
        (
            "absolute-symlink-then-file",
            layer(vec![
                sym("evil", "/"),
                f(&format!("evil/tmp/muelle-pwned-{u}-link")),
                f(&format!("evil/muelle-pwned-{u}-link")),
            ]),
        ),
        (
            "climbing-symlink-then-file",
            layer(vec![
                sym("up", &climb),
                f(&format!("up/tmp/muelle-pwned-{u}-up")),
            ]),
        ),
        (
            "symlink-dir-then-file",
            layer(vec![
                sym("tmp", "/tmp"),
                f(&format!("tmp/muelle-pwned-{u}-link")),
            ]),
        ),
        (
            "hardlink-absolute",
            layer(vec![hard("shadow", "/etc/shadow")]),
        ),
        (
            "hardlink-climbing",
            layer(vec![hard("passwd", &format!("{climb}etc/passwd"))]),
        ),
        (
            "hardlink-through-symlink",
            layer(vec![sym("evil", "/etc"), hard("shadow2", "evil/shadow")]),
        ),
        ("whiteout-dotdot", layer(vec![f(".wh..")])),
        (
            "whiteout-dotdot-in-dir",
            layer(vec![tar_entry("sub/", b'5', "", b""), f("sub/.wh..")]),
        ),
        (
            "whiteout-climbing",
            layer(vec![f(&format!("{climb}tmp/.wh.muelle-victim-{u}"))]),
        ),
        (
            "whiteout-through-symlink",
            layer(vec![
                sym("evil", "/tmp"),
                f(&format!("evil/.wh.muelle-victim-{u}")),
            ]),
        ),
        (
            "whiteout-name-climbing",
            layer(vec![f(&format!(
                "sub/.wh.../../../../../../../../tmp/muelle-pwned-{u}-wh"
            ))]),
        ),
    ]
}

/// A `docker save` archive of one image made of `layer`.
fn docker_archive(dir: &Path, tag: &str, layer: &[u8]) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("layer")).unwrap();
    let layer_path = dir.join("layer/layer.tar");
    std::fs::write(&layer_path, layer).unwrap();
    let diff_id = sha256(&layer_path);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/inside"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created_by": "muelle hostile layer test"}],
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let cfg_name = format!("{}.json", sha256(&dir.join("config.json")));
    std::fs::rename(dir.join("config.json"), dir.join(&cfg_name)).unwrap();
    let manifest = serde_json::json!([{
        "Config": cfg_name, "RepoTags": [tag], "Layers": ["layer/layer.tar"],
    }]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let out = dir.with_extension("tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(&out)
        .args(["manifest.json", &cfg_name, "layer"])
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// After a delivery: the host is untouched; when the image was accepted, a container of it
/// is created (its rootfs set up) and what it holds is listed through `docker export`:
/// whatever the layer made stayed inside, and a hard link is no host file.
fn check_delivery(e: &Env, t: &HostTargets, what: &str, accepted: bool, image: &str) {
    t.assert_untouched(what);
    if accepted {
        let name = format!("hostile-{}", unique());
        // (An imported image has no command: give one.)
        let o = e.docker(&[
            "create",
            "--network",
            "none",
            "--name",
            &name,
            image,
            "/inside",
        ]);
        assert!(o.status.success(), "{what}: create: {}", text(&o));
        if o.status.success() {
            let o = e.docker(&["export", &name]);
            t.assert_untouched(&format!("{what}, create + export"));
            if o.status.success() {
                let shadow = std::fs::read(Path::new("/etc/shadow")).unwrap();
                let tar = o.stdout;
                let names = tar_names(&tar);
                println!(
                    "{what}: accepted; in the rootfs: {:?}",
                    names
                        .lines()
                        .filter(|l| l.contains("pwned") || l.contains("inside"))
                        .collect::<Vec<_>>()
                );
                assert!(
                    names
                        .lines()
                        .any(|l| l.trim_start_matches("./") == "inside"),
                    "{what}: accepted but not applied whole: {names}"
                );
                assert!(
                    !shadow.is_empty()
                        && !tar.windows(shadow.len()).any(|w| w == shadow.as_slice()),
                    "{what}: the host's /etc/shadow is in the container"
                );
            }
            let _ = e.docker(&["rm", "-f", &name]);
        }
        let _ = e.docker(&["rmi", "-f", image]);
    }
    // The daemon still works.
    let o = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "echo",
        "alive",
    ]);
    assert_eq!(o, "alive\n", "{what}");
    t.assert_untouched(what);
}

/// Hostile layers (`../` names, absolute and climbing symlinks followed by entries through
/// them, hard links to /etc/shadow and /etc/passwd, whiteouts naming `..` or climbing out)
/// through `docker import`, `docker load` and `docker pull` from a local docker-registry:
/// either refused or unpacked inside the rootfs; no file appears on the host, none is deleted
/// or linked to, and the daemon goes on working.
#[test]
fn hostile_layers_through_import_load_and_pull_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let t = HostTargets::new(&u);
    let reg = Some(support::common::start_auth_registry(
        "hostile",
        "hostile-pw",
    ));
    let _reach = reg.as_ref().map(|r| e.reach_host_port(r.port()));
    let skopeo = Path::new("/usr/bin/skopeo").exists();
    if !skopeo {
        missing("skopeo");
    }
    if let Some(reg) = &reg {
        let o = e.docker_stdin(
            &["login", "-u", "hostile", "--password-stdin", &reg.host],
            b"hostile-pw\n",
        );
        assert!(o.status.success(), "login: {}", text(&o));
    }
    for (kind, layer) in hostile_layers(&u) {
        // import: the tar is the image's single layer.
        let tar = e.scratch.path().join(format!("{kind}.tar"));
        std::fs::write(&tar, &layer).unwrap();
        let image = format!("hostile-{u}:import-{kind}");
        let o = e.docker(&["import", tar.to_str().unwrap(), &image]);
        println!("import {kind}: {}", text(&o).trim());
        check_delivery(
            &e,
            &t,
            &format!("import {kind}"),
            o.status.success(),
            &image,
        );

        // load: a docker save archive.
        let image = format!("hostile-{u}:load-{kind}");
        let archive = docker_archive(
            &e.scratch.path().join(format!("save-{kind}")),
            &image,
            &layer,
        );
        let o = e.docker(&["load", "-i", archive.to_str().unwrap()]);
        println!("load {kind}: {}", text(&o).trim());
        check_delivery(&e, &t, &format!("load {kind}"), o.status.success(), &image);

        // pull: the same archive pushed to a registry by skopeo.
        if let (Some(reg), true) = (&reg, skopeo) {
            let remote = format!("{}/hostile-{u}:{kind}", reg.host);
            let o = Command::new("skopeo")
                .args(["copy", "--insecure-policy", "--dest-tls-verify=false"])
                .args(["--dest-creds", "hostile:hostile-pw"])
                .arg(format!("docker-archive:{}", archive.display()))
                .arg(format!("docker://{remote}"))
                .output()
                .unwrap();
            assert!(o.status.success(), "skopeo copy: {}", text(&o));
            let o = e.docker(&["pull", &remote]);
            println!("pull {kind}: {}", text(&o).trim());
            check_delivery(&e, &t, &format!("pull {kind}"), o.status.success(), &remote);
        }
    }
}
