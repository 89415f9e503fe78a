//! Symlink swaps racing the daemon: `docker cp` into and out of a path a container keeps
//! swapping (CVE-2018-15664), and volume mount targets inside such a path (CVE-2021-30465).

use std::path::{Path, PathBuf};

use crate::{env, tar_names, text, unique};

/// Keeps turning `$1` into a directory and then into a symlink to `/` (and back), as fast as
/// the shell goes, until `$2` exists.
const SWAPPER: &str = r#"d=$1; stop=$2
while [ ! -e "$stop" ]; do
  rm -rf "$d.new"; mkdir "$d.new"; mv "$d.new" "$d.tmp"; rm -rf "$d"; mv "$d.tmp" "$d"
  ln -s / "$d.new"; rm -rf "$d"; mv "$d.new" "$d"
done"#;

/// Host files removed on drop.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// CVE-2018-15664: `docker cp` into and out of a path that the container keeps swapping
/// between a directory and a symlink to `/`, 50 times each way. What goes in lands in the
/// container (in the directory, or through the symlink in the container's own /), never in
/// the host's; what comes out is the container's, never a host file of the same path.
#[test]
fn docker_cp_races_a_symlink_swap_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let in_name = format!("muelle-cp-in-{u}");
    let secret_name = format!("muelle-cp-secret-{u}");
    let host_secret = PathBuf::from("/tmp").join(&secret_name);
    let _clean = Cleanup(vec![
        host_secret.clone(),
        PathBuf::from("/").join(&in_name),
        PathBuf::from("/tmp").join(&in_name),
        PathBuf::from("/etc").join(&in_name),
    ]);
    std::fs::write(&host_secret, "HOST-ONLY\n").unwrap();
    let src = e.scratch.path().join(&in_name);
    std::fs::write(&src, "copied in\n").unwrap();
    let name = format!("cprace-{u}");
    let script = format!(
        "echo CONTAINER > /tmp/{secret_name}; mkdir -p /w/dir; \
         swap() {{ {SWAPPER}\n}}; swap /w/dir /stop"
    );
    e.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    // First a static link: a copy out of /lnk/ (-> /etc) is the container's /etc (its own
    // file in, the host's /etc/shadow out); a copy into it lands in the container's /etc.
    e.docker_ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        &format!("ln -s /etc /lnk && echo ctr > /etc/muelle-ctr-only-{u}"),
    ]);
    let o = e.docker(&["cp", &format!("{name}:/lnk/"), "-"]);
    assert!(o.status.success(), "{}", text(&o));
    let names = tar_names(&o.stdout);
    assert!(
        names
            .lines()
            .any(|l| l == format!("lnk/muelle-ctr-only-{u}"))
            && !names.lines().any(|l| l == "lnk/shadow"),
        "docker cp out of /lnk/ is not the container's /etc: {names}"
    );
    e.docker_ok(&["cp", src.to_str().unwrap(), &format!("{name}:/lnk/")]);
    assert!(
        !Path::new("/etc").join(&in_name).exists(),
        "docker cp wrote into the host's /etc"
    );
    let o = e.docker_ok(&["exec", &name, "cat", &format!("/etc/{in_name}")]);
    assert_eq!(o, "copied in\n");

    let (mut ins, mut outs) = (0, 0);
    for i in 0..50 {
        for dest in [format!("{name}:/w/dir/"), format!("{name}:/w/dir/tmp/")] {
            let o = e.docker(&["cp", src.to_str().unwrap(), &dest]);
            ins += usize::from(o.status.success());
            assert!(
                !Path::new("/").join(&in_name).exists()
                    && !Path::new("/tmp").join(&in_name).exists(),
                "round {i}: docker cp {dest} wrote on the host"
            );
        }
        let o = e.docker(&["cp", &format!("{name}:/w/dir/tmp/{secret_name}"), "-"]);
        if o.status.success() {
            outs += 1;
            let bytes = String::from_utf8_lossy(&o.stdout);
            assert!(
                !bytes.contains("HOST-ONLY"),
                "round {i}: docker cp out of the container read the host's file"
            );
            assert!(bytes.contains("CONTAINER"), "round {i}: {bytes}");
        }
    }
    println!("cp in: {ins} of 100 succeeded; cp out: {outs} of 50");
    // Some copies went through (the others met the swap half-way). Stopping the swapper
    // ends the container's main process, and with it this exec: its status says nothing.
    assert!(ins > 0 || outs > 0, "no cp went through at all");
    let _ = e.docker(&["exec", &name, "touch", "/stop"]);
    assert_eq!(
        std::fs::read_to_string(&host_secret).unwrap(),
        "HOST-ONLY\n",
        "the host's file changed"
    );
}

/// CVE-2021-30465: containers whose volume mount target lies inside another volume that a
/// running container keeps swapping between a directory and a symlink to `/`, 30 starts. The
/// target is resolved inside the container's root each time: the volume lands at its target
/// or, through the symlink, on the container's own root (or the start fails); never on a
/// host path: no host file is read or written through it and the host's mount table does
/// not get it.
#[test]
fn volume_mounts_race_a_symlink_swap_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let shared = e.scratch.path().join("shared");
    let src = e.scratch.path().join("src");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("src-marker"), "volume source\n").unwrap();
    let host_only = PathBuf::from(format!("/tmp/muelle-hostonly-{u}"));
    let pwned = format!("muelle-pwned-{u}");
    let _clean = Cleanup(vec![
        host_only.clone(),
        PathBuf::from("/").join(&pwned),
        PathBuf::from("/tmp").join(&pwned),
    ]);
    std::fs::write(&host_only, "HOST-ONLY\n").unwrap();
    let swapper = format!("swapper-{u}");
    e.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &swapper,
        "-v",
        &format!("{}:/shared", shared.display()),
        "busybox",
        "sh",
        "-c",
        &format!("mkdir -p /shared/mnt; swap() {{ {SWAPPER}\n}}; swap /shared/mnt /shared/stop"),
    ]);
    let probe = format!(
        "cat /ctr/mnt/tmp/muelle-hostonly-{u} 2>/dev/null && echo ESCAPED; \
         echo x > /ctr/mnt/{pwned} 2>/dev/null; echo x > /ctr/mnt/tmp/{pwned} 2>/dev/null; \
         awk '$4 ~ /src$/ {{print \"AT\", $5}}' /proc/self/mountinfo; true"
    );
    let (mut started, mut at_target, mut on_root) = (0, 0, 0);
    for i in 0..30 {
        let o = e.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{}:/ctr", shared.display()),
            "-v",
            &format!("{}:/ctr/mnt", src.display()),
            "busybox",
            "sh",
            "-c",
            &probe,
        ]);
        let out = text(&o);
        assert!(
            !out.contains("ESCAPED"),
            "round {i}: the container reached the host's / through its mount target: {out}"
        );
        for p in [Path::new("/").join(&pwned), Path::new("/tmp").join(&pwned)] {
            assert!(
                !p.exists(),
                "round {i}: {} written on the host",
                p.display()
            );
        }
        if o.status.success() {
            started += 1;
            // Where the volume went: its target, or (the target was a symlink to / when
            // resolved in the container's root) stacked on the container's own root.
            if out.contains("AT /ctr/mnt") {
                at_target += 1;
            } else if out.contains("AT /\n") {
                on_root += 1;
            }
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mi.lines().any(|l| l.contains(src.to_str().unwrap())),
            "round {i}: the volume source got mounted in the host's namespace"
        );
    }
    std::fs::write(shared.join("stop"), "").unwrap();
    println!(
        "started {started} of 30: the volume at its target {at_target} times, on the \
         container's root (through the symlink) {on_root} times"
    );
    assert!(
        started > 0 && at_target + on_root > 0,
        "no container started with its volume: the race was not run"
    );
    assert_eq!(
        std::fs::read_to_string(&host_only).unwrap(),
        "HOST-ONLY\n",
        "the host's file changed"
    );
    // The daemon still works, and left nothing mounted on the host.
    e.docker_ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mi.lines().any(|l| l.contains(src.to_str().unwrap())),
        "a volume source is still mounted on the host"
    );
}
