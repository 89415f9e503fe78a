//! `cp` both ways.

use super::*;

pub(crate) fn cp_both_ways(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("cp");
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Out of the container: to a new name, into an existing directory, a whole directory.
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/passwd"),
                p.join("pw").to_str().unwrap(),
            ],
        ),
        "cp out",
    );
    let pw = std::fs::read_to_string(p.join("pw")).unwrap();
    assert!(pw.starts_with("root:"), "{pw}");
    std::fs::create_dir(p.join("into")).unwrap();
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/passwd"),
                p.join("into").to_str().unwrap(),
            ],
        ),
        "cp into dir",
    );
    assert_eq!(std::fs::read_to_string(p.join("into/passwd")).unwrap(), pw);
    ok(
        muelle(
            d,
            &["cp", &format!("{n}:/etc"), p.join("etc2").to_str().unwrap()],
        ),
        "cp dir",
    );
    assert!(p.join("etc2/passwd").exists());
    // `dir/.`: the contents, to a new name and into an existing directory.
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/."),
                p.join("etc3").to_str().unwrap(),
            ],
        ),
        "cp dir/. to a new name",
    );
    assert_eq!(std::fs::read_to_string(p.join("etc3/passwd")).unwrap(), pw);
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/."),
                p.join("into").to_str().unwrap(),
            ],
        ),
        "cp dir/. into a directory",
    );
    assert!(p.join("into/group").exists() && !p.join("into/etc").exists());
    // `-` is a tar on stdout.
    let tar = muelle(d, &["cp", &format!("{n}:/etc/passwd"), "-"]);
    assert!(tar.status.success());
    let listed = Command::new("tar")
        .arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&tar.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(text(&listed.stdout), "passwd\n");

    // Into the container: into a directory, to a new name, a directory.
    std::fs::write(p.join("f"), "host data\n").unwrap();
    std::fs::create_dir_all(p.join("tree/sub")).unwrap();
    std::fs::write(p.join("tree/sub/g"), "deep\n").unwrap();
    ok(
        muelle(
            d,
            &["cp", p.join("f").to_str().unwrap(), &format!("{n}:/tmp")],
        ),
        "cp in",
    );
    ok(
        muelle(
            d,
            &[
                "cp",
                p.join("f").to_str().unwrap(),
                &format!("{n}:/tmp/renamed"),
            ],
        ),
        "cp in renamed",
    );
    ok(
        muelle(
            d,
            &["cp", p.join("tree").to_str().unwrap(), &format!("{n}:/tmp")],
        ),
        "cp dir in",
    );
    let (m, k) = both_ok(
        d,
        &[
            "exec",
            &n,
            "cat",
            "/tmp/f",
            "/tmp/renamed",
            "/tmp/tree/sub/g",
        ],
    );
    assert_eq!(m, "host data\nhost data\ndeep\n");
    assert_eq!(m, k);

    let (m, k) = both(
        d,
        &["cp", "muelle-no-such-ctr:/a", p.join("x").to_str().unwrap()],
    );
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr), format!("muelle: {}", text(&k.stderr)));
}
