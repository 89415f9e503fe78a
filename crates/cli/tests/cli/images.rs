//! Listing and looking at images: `images`, `inspect`, `history`, `tag`, `rmi`.

use super::*;

pub(crate) fn check_images(d: &Daemon) {
    let name = unique("ls");
    let _untag = Untag::new(d, &format!("{name}:1"));
    ok(
        muelle(d, &["tag", "busybox:latest", &format!("{name}:1")]),
        "tag",
    );
    // Other tests tag and untag at the same time, so every listing is narrowed to names this
    // test owns (and busybox, which nobody removes).
    for r in ["busybox", name.as_str()] {
        // "2 minutes ago" may tick between the two runs; everything else must match.
        let (m, k) = both_ok(d, &["images", "--format", "json", r]);
        assert_eq!(
            json_lines(&m, &["CreatedSince"]),
            json_lines(&k, &["CreatedSince"])
        );
        assert_eq!(m.lines().count(), 1, "{m}");
        let (m, k) = both_ok(
            d,
            &[
                "images",
                "--digests",
                "--no-trunc",
                "--format",
                "{{json .}}",
                r,
            ],
        );
        assert_eq!(
            json_lines(&m, &["CreatedSince"]),
            json_lines(&k, &["CreatedSince"])
        );
        let table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}\\t{{.CreatedAt}}";
        let (m, k) = both_ok(d, &["images", "--format", table, r]);
        assert_eq!(m, k);
        let (m, k) = both_ok(d, &["images", "-q", "--no-trunc", r]);
        assert_eq!(m, k);
        let (m, k) = both_ok(d, &["image", "ls", "-a", r]);
        let cut = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| l.split("   ").take(3).collect())
                .collect()
        };
        assert_eq!(cut(&m), cut(&k));
        assert_eq!(m.lines().count(), 2, "{m}");
    }
    let (m, k) = both_ok(
        d,
        &[
            "images",
            "--filter",
            &format!("reference={name}"),
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
    );
    assert_eq!(m, k);
    assert_eq!(m.trim(), format!("{name}:1"));
    let (m, k) = both_ok(
        d,
        &[
            "images",
            "--filter",
            "dangling=true",
            "--filter",
            &format!("reference={name}"),
            "-q",
        ],
    );
    assert_eq!((m.as_str(), k.as_str()), ("", ""));
    ok(muelle(d, &["rmi", &format!("{name}:1")]), "rmi");
}

/// An image of this test's own in the shared dockerd: busybox's rootfs imported with a label
/// no other image has, so its ID, tags and digests are this test's alone (busybox:latest
/// gets tags, and digests from pushes, from other tests meanwhile). Removed on drop.
fn own_image(d: &Daemon) -> Untag {
    let name = format!("{}:1", unique("inspect"));
    let label = format!("muelle.test={}", name.replace(['/', ':'], "-"));
    let dir = tempfile::tempdir().unwrap();
    let tar = busybox_rootfs_tar(dir.path());
    let untag = Untag::new(d, &name);
    ok(
        docker(
            d,
            &[
                "import",
                "-c",
                "CMD [\"/bin/sh\"]",
                "-c",
                &format!("LABEL {label}"),
                tar.to_str().unwrap(),
                &name,
            ],
        ),
        "import own image",
    );
    untag
}

pub(crate) fn check_inspect(d: &Daemon) {
    // On the shared dockerd, an image nobody else touches; a private muelled's busybox.
    let own = shared(d).then(|| own_image(d));
    let image = own.as_ref().map_or("busybox:latest", |u| u.name.as_str());
    let (m, k) = both_ok(d, &["image", "inspect", image]);
    if m != k
        && known_muelled_gap(
            d,
            "image inspect at API 1.41 lacks Container, ContainerConfig, VirtualSize",
        )
    {
        // Docker's 20.10 CLI re-encodes the object it decoded, adding the fields of its Go
        // type; everything muelle printed must still be there, with the same values.
        let ours: serde_json::Value = serde_json::from_str(&m).unwrap();
        let mut theirs: serde_json::Value = serde_json::from_str(&k).unwrap();
        if let (Some(o), Some(t)) = (ours[0].as_object(), theirs[0].as_object_mut()) {
            t.retain(|key, _| o.contains_key(key));
        }
        assert_eq!(ours, theirs);
    } else {
        assert_eq!(m, k, "image inspect differs");
    }
    let f = "{{.Id}} {{.Config.Cmd}} {{.Os}}/{{.Architecture}} {{.Size}} {{range .RepoTags}}<{{.}}>{{end}} {{index .RepoTags 0}}";
    let (m, k) = both_ok(d, &["image", "inspect", "-f", f, image]);
    assert_eq!(m, k);
    assert!(m.trim_end().ends_with(&format!("<{image}> {image}")), "{m}");
    // Docker 20.10's CLI prints `json` of a decoded map with sorted keys, newer ones in the
    // daemon's order (muelle too), so compare the values.
    let (m, k) = both_ok(d, &["image", "inspect", "-f", "{{json .RootFS}}", image]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&m).unwrap(),
        serde_json::from_str::<serde_json::Value>(&k).unwrap()
    );
    let (m, _) = both_ok(d, &["inspect", "--format", "{{json .Config}}", image]);
    assert!(m.starts_with('{'), "{m}");

    let out = muelle(d, &["image", "inspect", image, "muelle-no-such-image"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("\"Id\""),
        "found ones are still printed"
    );
    let err = text(&out.stderr);
    assert!(err.contains("No such image: muelle-no-such-image"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

pub(crate) fn check_history(d: &Daemon) {
    let (m, k) = both_ok(d, &["history", "--format", "json", "busybox:latest"]);
    assert_eq!(
        json_lines(&m, &["CreatedSince"]),
        json_lines(&k, &["CreatedSince"])
    );
    let (m, k) = both_ok(d, &["history", "-H=false", "busybox:latest"]);
    assert_eq!(m, k);
    let (m, k) = both_ok(
        d,
        &["image", "history", "--no-trunc", "-q", "busybox:latest"],
    );
    assert_eq!(m, k);
    let (m, _) = both_ok(d, &["history", "busybox:latest"]);
    assert!(m.starts_with("IMAGE "), "{m}");
}

pub(crate) fn check_tag_rmi(d: &Daemon) {
    let name = format!("{}:v1", unique("tag"));
    let _untag = Untag::new(d, &name);
    ok(muelle(d, &["tag", "busybox", &name]), "tag");
    let id = ok(
        docker(d, &["image", "inspect", "-f", "{{.Id}}", &name]),
        "inspect tag",
    );
    let busybox = ok(
        docker(d, &["image", "inspect", "-f", "{{.Id}}", "busybox"]),
        "inspect",
    );
    assert_eq!(id, busybox);
    let out = ok(muelle(d, &["rmi", &name]), "rmi");
    assert_eq!(out, format!("Untagged: {name}\n"));
    assert!(!docker(d, &["image", "inspect", &name]).status.success());

    let out = muelle(d, &["rmi", "muelle-no-such-image"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("muelle: Error response from daemon: No such image: muelle-no-such-image"),
        "{err}"
    );
    let bad = muelle(d, &["tag", "busybox", "Bad/Name"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("invalid reference format"));
}
