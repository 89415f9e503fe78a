//! Volumes end to end with the stock docker CLI: named volumes of the `local` driver
//! (create, ls, inspect, rm, prune, labels, tmpfs options), containers using them (data kept
//! across containers, a volume in use kept, anonymous volumes from `-v /path` and an image's
//! `VOLUME` removed by `rm -v`, copy-up of the image's content), bad input refused with
//! nothing half made, and the same commands against the shared dockerd (unique names; the
//! shared dockerd's volumes are never pruned).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peers;
mod support;

use std::path::Path;

use serde_json::Value;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon};

/// A private muelled with busybox, cleaned on drop.
struct Env {
    d: Daemon,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env() -> Env {
    assert!(
        Path::new(support::DOCKER).exists(),
        "the docker CLI is needed"
    );
    Env {
        d: daemon_with_busybox(),
    }
}

fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "mvt-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn names(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}

fn no_such(err: &str) -> bool {
    err.to_ascii_lowercase().contains("no such volume")
}

fn inspect(d: &Daemon, name: &str) -> Value {
    let out = d.docker_ok(&["volume", "inspect", name]);
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

fn data_root_volumes(d: &Daemon) -> Vec<String> {
    let rd = std::fs::read_dir(d.data_root.join("volumes")).unwrap();
    let mut v: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn named_volume_lifecycle_needs_docker() {
    let d = env();
    let v = unique("life");
    assert_eq!(
        d.docker_ok(&["volume", "create", "--label", "team=a", &v])
            .trim(),
        v
    );
    // A second create of the name is no error and changes nothing.
    d.docker_ok(&["volume", "create", "--label", "other=b", &v]);
    let i = inspect(&d, &v);
    assert_eq!(i["Name"], v);
    assert_eq!(i["Driver"], "local");
    assert_eq!(i["Scope"], "local");
    assert_eq!(i["Labels"], serde_json::json!({"team": "a"}));
    assert_eq!(i["Options"], Value::Null);
    let mp = i["Mountpoint"].as_str().unwrap();
    assert_eq!(
        Path::new(mp),
        d.data_root.join("volumes").join(&v).join("_data")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(Path::new(mp)), 0o755);
    assert_eq!(mode(Path::new(mp).parent().unwrap()), 0o700);
    assert_eq!(
        names(&d.docker_ok(&["volume", "ls", "-q", "--filter", "label=team=a"])),
        vec![v.clone()]
    );
    assert!(d
        .docker_ok(&["volume", "ls", "--filter", "label=team=b", "-q"])
        .trim()
        .is_empty());
    let table = d.docker_ok(&["volume", "ls", "--filter", &format!("name={v}")]);
    assert_eq!(table, format!("DRIVER    VOLUME NAME\nlocal     {v}\n"));
    assert_eq!(
        d.docker_ok(&["volume", "inspect", "-f", "{{.Name}} {{.Labels.team}}", &v])
            .trim(),
        format!("{v} a")
    );
    assert_eq!(d.docker_ok(&["volume", "rm", &v]).trim(), v);
    assert!(no_such(&d.docker_err(&["volume", "inspect", &v])));
    assert!(no_such(&d.docker_err(&["volume", "rm", &v])));
    d.docker_ok(&["volume", "rm", "-f", &v]);
}

#[test]
fn data_outlives_its_container_and_a_volume_in_use_stays_needs_docker() {
    let d = env();
    let v = unique("data");
    let c = unique("writer");
    // Created on first use.
    d.docker_ok(&[
        "run",
        "--name",
        &c,
        "-v",
        &format!("{v}:/data"),
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let mounts: Value =
        serde_json::from_str(&d.docker_ok(&["inspect", "-f", "{{json .Mounts}}", &c])).unwrap();
    let m = &mounts[0];
    assert_eq!(m["Type"], "volume");
    assert_eq!(m["Name"], v);
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["Driver"], "local");
    assert_eq!(m["Mode"], "z");
    assert_eq!(m["RW"], true);
    assert_eq!(m["Propagation"], "");
    let err = d.docker_err(&["volume", "rm", &v]);
    assert!(err.contains("volume is in use"), "{err}");
    assert!(d.docker_err(&["volume", "rm", "-f", &v]).contains("in use"));
    // dangling=false lists it, dangling=true does not.
    assert!(d
        .docker_ok(&["volume", "ls", "-q", "--filter", "dangling=false"])
        .contains(&v));
    assert!(!d
        .docker_ok(&["volume", "ls", "-q", "--filter", "dangling=true"])
        .contains(&v));
    d.docker_ok(&["rm", &c]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=volume,source={v},target=/d,readonly"),
        "busybox",
        "sh",
        "-c",
        "cat /d/f; touch /d/x 2>/dev/null && echo writable || echo ro",
    ]);
    assert_eq!(out, "kept\nro\n");
    d.docker_ok(&["volume", "rm", &v]);
    assert!(!data_root_volumes(&d).contains(&v));
}

#[test]
fn anonymous_volumes_and_copy_up_needs_docker() {
    let d = env();
    // An image with content at a VOLUME path.
    let base = unique("base");
    d.docker_ok(&[
        "run",
        "--name",
        &base,
        "busybox",
        "sh",
        "-c",
        "mkdir -p /seed && echo from-image > /seed/hello",
    ]);
    let img = unique("img");
    d.docker_ok(&["commit", "-c", "VOLUME /seed", &base, &img]);
    d.docker_ok(&["rm", &base]);
    let before = data_root_volumes(&d);
    let c = unique("anon");
    let out = d.docker_ok(&[
        "run",
        "--name",
        &c,
        "-v",
        "/scratch",
        &img,
        "sh",
        "-c",
        "cat /seed/hello; echo s > /scratch/s; cat /scratch/s",
    ]);
    assert_eq!(out, "from-image\ns\n");
    let mounts: Value =
        serde_json::from_str(&d.docker_ok(&["inspect", "-f", "{{json .Mounts}}", &c])).unwrap();
    let mounts = mounts.as_array().unwrap();
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let mut made = Vec::new();
    for m in mounts {
        assert_eq!(m["Type"], "volume");
        assert_eq!(m["Mode"], "");
        let n = m["Name"].as_str().unwrap();
        assert_eq!(n.len(), 64);
        let i = inspect(&d, n);
        assert_eq!(
            i["Labels"],
            serde_json::json!({"com.docker.volume.anonymous": ""})
        );
        made.push(n.to_string());
    }
    assert_eq!(data_root_volumes(&d).len(), before.len() + 2);
    // nocopy: the same image's VOLUME path stays empty in a named volume.
    let nc = unique("nocopy");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{nc}:/seed:nocopy"),
        &img,
        "ls",
        "/seed",
    ]);
    assert_eq!(out, "");
    d.docker_ok(&["volume", "rm", &nc]);
    d.docker_ok(&["rm", "-v", &c]);
    for n in &made {
        assert!(no_such(&d.docker_err(&["volume", "inspect", n])));
    }
    assert_eq!(data_root_volumes(&d), before);
    // `--rm` takes its anonymous volumes too; a named one stays.
    let keep = unique("keep");
    d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "/tmpdata",
        "-v",
        &format!("{keep}:/k"),
        "busybox",
        "true",
    ]);
    let mut want = before.clone();
    want.push(keep.clone());
    want.sort();
    assert_eq!(data_root_volumes(&d), want);
    d.docker_ok(&["volume", "rm", &keep]);
}

#[test]
fn tmpfs_volume_is_mounted_while_used_needs_docker() {
    let mut d = env();
    let v = unique("tmpfs");
    d.docker_ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m",
        &v,
    ]);
    let i = inspect(&d, &v);
    assert_eq!(
        i["Options"],
        serde_json::json!({"device": "tmpfs", "o": "size=1m", "type": "tmpfs"})
    );
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{v}:/t"),
        "busybox",
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts | cut -d' ' -f3; df -k /t | tail -1 | awk '{print $2}'",
    ]);
    assert_eq!(out, "tmpfs\n1024\n");
    // Unmounted once the container is gone.
    let mp = i["Mountpoint"].as_str().unwrap().to_string();
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&mp)
    };
    assert!(!mounted(), "{mp} still mounted");
    // A container running across a daemon restart still takes the mount down at its end.
    let c = unique("across");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "-v",
        &format!("{v}:/t"),
        "busybox",
        "sleep",
        "1000",
    ]);
    assert!(mounted());
    d.d.restart();
    d.docker_ok(&["stop", "-t", "1", &c]);
    assert!(
        !mounted(),
        "{mp} still mounted after the restarted daemon saw the exit"
    );
    d.docker_ok(&["rm", &c]);
    d.docker_ok(&["volume", "rm", &v]);
}

#[test]
fn bad_input_leaves_nothing_needs_docker() {
    let d = env();
    let before = data_root_volumes(&d);
    let err = d.docker_err(&["volume", "create", "a/b"]);
    assert!(
        err.contains("includes invalid characters for a local volume name"),
        "{err}"
    );
    let err = d.docker_err(&["volume", "create", "-d", "nope", &unique("drv")]);
    assert!(err.contains("plugin \"nope\" not found"), "{err}");
    let err = d.docker_err(&["volume", "create", "-o", "bogus=1", &unique("opt")]);
    assert!(err.contains("invalid option: \"bogus\""), "{err}");
    // A create whose second mount fails takes back the volume its first made.
    let v = unique("half");
    let r = d.http(
        "POST",
        "/containers/create",
        serde_json::json!({"Image": "busybox", "HostConfig": {
            "Binds": [format!("{v}:/a")],
            "Mounts": [{"Type": "volume", "Source": "", "Target": ""}]}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.message().contains("field Target must not be empty"),
        "{}",
        r.message()
    );
    let err = d.docker_err(&["run", "--rm", "-v", "a/b:/x", "busybox", "true"]);
    assert!(!err.is_empty());
    // A volume made on use, then a create that fails on a missing bind source (a
    // `--mount`'s: dockerd makes a missing `-v` host directory instead).
    let r = d.http(
        "POST",
        "/containers/create",
        serde_json::json!({"Image": "busybox", "HostConfig": {
            "Binds": [format!("{v}:/a")],
            "Mounts": [{"Type": "bind", "Source": "/no/such/host/path", "Target": "/b"}]}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(data_root_volumes(&d), before);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn prune_takes_anonymous_unused_volumes_unless_all_needs_docker() {
    let d = env();
    let named = unique("named");
    d.docker_ok(&["volume", "create", &named]);
    let c = unique("holder");
    d.docker_ok(&["create", "--name", &c, "-v", "/held", "busybox", "true"]);
    let held = d.docker_ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", &c]);
    let held = held.trim().to_string();
    let free = d.http("POST", "/volumes/create", b"{}").json()["Name"]
        .as_str()
        .unwrap()
        .to_string();
    // From API 1.42 a prune takes anonymous volumes only, unless `all=true`.
    let r = d.http("POST", "/v1.47/volumes/prune", b"");
    assert_eq!(r.json()["VolumesDeleted"], serde_json::json!([free]));
    let left = names(&d.docker_ok(&["volume", "ls", "-q"]));
    assert!(left.contains(&named) && left.contains(&held), "{left:?}");
    let r = d.http(
        "POST",
        "/v1.47/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D",
        b"",
    );
    assert_eq!(r.json()["VolumesDeleted"], serde_json::json!([named]));
    // Before 1.42 (the docker CLI 20.10 here speaks 1.41) every unused volume goes; a
    // label filter picks among them.
    let other = unique("other");
    d.docker_ok(&["volume", "create", "--label", "pick=1", &other]);
    let out = d.docker_ok(&["volume", "prune", "-f", "--filter", "label=pick=1"]);
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{other}\n\nTotal reclaimed space: 0B\n")
    );
    // system df counts the one in use.
    let df: Value = d.http("GET", "/system/df", b"").json();
    let vols = df["Volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0]["UsageData"]["RefCount"], 1);
}

#[test]
fn events_tell_the_volume_story_needs_docker() {
    let d = env();
    let v = unique("ev");
    d.docker_ok(&["run", "--rm", "-v", &format!("{v}:/e"), "busybox", "true"]);
    d.docker_ok(&["volume", "rm", &v]);
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let out = d.docker_ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until.to_string(),
        "--filter",
        "type=volume",
        "--filter",
        &format!("volume={v}"),
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(names(&out), ["create", "mount", "unmount", "destroy"]);
}

#[test]
fn same_commands_as_dockerd_needs_dockerd() {
    let d = env();
    let theirs = peers::dockerd().unwrap();
    let v = unique("par");
    let run = |on_dockerd: bool, args: &[&str]| -> std::process::Output {
        if on_dockerd {
            theirs.docker(args)
        } else {
            d.docker(args)
        }
    };
    let mut seen = Vec::new();
    for on_dockerd in [false, true] {
        let c = format!("{v}-c");
        let o = run(on_dockerd, &["volume", "create", "--label", "k=v", &v]);
        assert!(o.status.success(), "{}", peers::show(&o));
        let ls = run(
            on_dockerd,
            &["volume", "ls", "--filter", &format!("name={v}")],
        );
        let lsf = run(
            on_dockerd,
            &[
                "volume",
                "ls",
                "--filter",
                &format!("name={v}"),
                "--format",
                "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}",
            ],
        );
        let w = run(
            on_dockerd,
            &[
                "run",
                "--name",
                &c,
                "-v",
                &format!("{v}:/data"),
                "busybox",
                "sh",
                "-c",
                "echo hi > /data/f",
            ],
        );
        assert!(w.status.success(), "{}", peers::show(&w));
        let r = run(
            on_dockerd,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{v}:/data:ro"),
                "busybox",
                "cat",
                "/data/f",
            ],
        );
        let busy = run(on_dockerd, &["volume", "rm", &v]);
        let mounts = run(
            on_dockerd,
            &["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Driver}} {{.Mode}} {{.RW}} [{{.Propagation}}]{{end}}", &c],
        );
        let _ = run(on_dockerd, &["rm", "-f", &c]);
        let gone = run(on_dockerd, &["volume", "rm", &v]);
        let bad = run(on_dockerd, &["volume", "create", "a/b"]);
        seen.push((
            peers::text(&ls.stdout),
            peers::text(&lsf.stdout),
            peers::text(&r.stdout),
            busy.status.code(),
            peers::text(&busy.stderr).contains("volume is in use"),
            peers::text(&mounts.stdout),
            peers::text(&gone.stdout),
            bad.status.code(),
            peers::text(&bad.stderr).contains("includes invalid characters"),
        ));
    }
    assert_eq!(seen[0], seen[1]);
}
