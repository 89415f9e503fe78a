//! Images in and out as tar archives: `save`, `load`, `import`, and `image prune`.

use super::*;

pub(crate) fn check_save_load(d: &Daemon) {
    let name = format!("{}:1", unique("sl"));
    let _untag = Untag::new(d, &name);
    ok(muelle(d, &["tag", "busybox", &name]), "tag");
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.tar");
    let theirs = dir.path().join("theirs.tar");
    ok(
        muelle(d, &["save", "-o", ours.to_str().unwrap(), &name]),
        "muelle save",
    );
    ok(
        docker(d, &["save", "-o", theirs.to_str().unwrap(), &name]),
        "docker save",
    );
    let manifest = |p: &Path| {
        let out = ok(
            run(Command::new("tar").arg("-xOf").arg(p).arg("manifest.json")),
            "tar",
        );
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    assert_eq!(manifest(&ours), manifest(&theirs));
    // stdout is a pipe here, so a plain `save` streams the same archive.
    let piped = muelle(d, &["save", &name]);
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    assert_eq!(piped.stdout, std::fs::read(&ours).unwrap());

    ok(muelle(d, &["rmi", &name]), "rmi");
    let out = ok(muelle(d, &["load", "-i", ours.to_str().unwrap()]), "load");
    assert!(out.contains(&format!("Loaded image: {name}")), "{out}");
    ok(docker(d, &["image", "inspect", &name]), "loaded image");

    ok(muelle(d, &["rmi", &name]), "rmi");
    let mut child = Command::new(MUELLE)
        .args(["-H", &d.host, "load", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&ours).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = ok(child.wait_with_output().unwrap(), "load from stdin");
    assert!(out.contains(&format!("Loaded image: {name}")), "{out}");
    ok(muelle(d, &["rmi", &name]), "rmi");

    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, b"this is not a tar archive").unwrap();
    let out = muelle(d, &["load", "-i", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("muelle: "),
        "{}",
        text(&out.stderr)
    );
}

pub(crate) fn check_import_prune(d: &Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/hello"), b"hello from an imported layer\n").unwrap();
    let tar = dir.path().join("root.tar");
    ok(
        run(Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")),
        "tar",
    );
    let name = format!("{}:1", unique("imp"));
    let _untag = Untag::new(d, &name);
    let out = ok(
        muelle(
            d,
            &[
                "import",
                "-c",
                "CMD [\"/bin/true\"]",
                "-m",
                "from muelle",
                tar.to_str().unwrap(),
                &name,
            ],
        ),
        "import",
    );
    assert!(out.trim().starts_with("sha256:"), "{out}");
    let cfg = ok(
        docker(
            d,
            &[
                "image",
                "inspect",
                "-f",
                "{{.Config.Cmd}}|{{.Comment}}",
                &name,
            ],
        ),
        "inspect",
    );
    assert_eq!(cfg.trim(), "[/bin/true]|from muelle");
    ok(muelle(d, &["rmi", &name]), "rmi");

    // A dangling image only this test can match, so prune never touches anyone else's.
    let label = format!("muelle.test={}", unique("prune").replace('/', "-"));
    let id = ok(
        muelle(
            d,
            &[
                "import",
                "-c",
                &format!("LABEL {label}"),
                tar.to_str().unwrap(),
            ],
        ),
        "import dangling",
    );
    let id = id.trim();
    let filter = format!("label={label}");
    let prune = || muelle(d, &["image", "prune", "-f", "--filter", &filter]);
    let mut out = prune();
    // dockerd runs one image prune at a time and refuses the others: on the shared daemon,
    // another test's prune may be running.
    for _ in 0..40 {
        if !(shared(d) && text(&out.stderr).contains("a prune operation is already running")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        out = prune();
    }
    let out = ok(out, "prune");
    assert!(out.starts_with("Deleted Images:\n"), "{out}");
    assert!(out.contains(&format!("deleted: {id}")), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert!(!docker(d, &["image", "inspect", id]).status.success());
    // Without -f it asks, and stdin saying nothing is a no.
    let out = run(Command::new(MUELLE)
        .args([
            "-H",
            &d.host,
            "image",
            "prune",
            "--filter",
            &format!("label={label}"),
        ])
        .stdin(Stdio::null()));
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Are you sure you want to continue? [y/N]"));
}
