//! The store's index against what a walk over the records gives, through create, rename,
//! remove and a reopen (a daemon restart).

use super::*;

fn record(id: &str, name: &str, image_id: &str) -> ContainerRecord {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": name, "created": "2026-01-01T00:00:00Z",
        "image_id": image_id, "path": "true", "args": [],
        "config": {"Image": "busybox"}, "host_config": {}, "mounts": [],
        "state": {"Status": "created", "Running": false, "Paused": false,
            "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0,
            "ExitCode": 0, "Error": "", "StartedAt": "0001-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z"},
        "restart_count": 0, "driver": "overlayfs"
    }))
    .expect("a test record")
}

/// The index a full walk over the records would build.
fn walked(c: &Containers) -> Index {
    let recs = c.records();
    Index::of(
        recs.iter()
            .map(|r| (r.id.as_str(), r.name.as_str(), r.image_id.as_str())),
    )
}

fn index(c: &Containers) -> Index {
    lock(&c.map).index.clone()
}

/// What `user_of_image` answered when it walked the records in ID order.
fn walked_user(c: &Containers, image: &str) -> Option<(String, bool)> {
    c.records()
        .into_iter()
        .find(|r| r.image_id == image)
        .map(|r| (r.id, r.state.running()))
}

#[test]
fn index_equals_a_walk_through_create_rename_remove_and_reopen() {
    let data = tempfile::tempdir().unwrap();
    let exec = tempfile::tempdir().unwrap();
    let c = Containers::open(data.path(), exec.path()).unwrap();
    for (id, name, image) in [
        ("aa11", "web", "sha256:x"),
        ("aa22", "db", "sha256:x"),
        ("bb33", "cache", "sha256:y"),
    ] {
        let rec = record(id, name, image);
        std::fs::create_dir_all(c.data_dir(id)).unwrap();
        c.save(&rec).unwrap();
        c.insert(rec).unwrap();
        assert_eq!(index(&c), walked(&c));
    }
    assert!(matches!(
        c.insert(record("cc44", "web", "sha256:y")),
        Err(ContainerError::Conflict(_))
    ));
    assert_eq!(index(&c), walked(&c));

    let web = c.find("web").unwrap();
    assert!(c.rename(&web, "db").is_err());
    let (old, rec) = c.rename(&web, "front").unwrap();
    assert_eq!(old, "web");
    c.save(&rec).unwrap();
    assert_eq!(index(&c), walked(&c));
    assert!(c.find("web").is_err());
    assert_eq!(c.find("/front").unwrap().id, "aa11");
    assert_eq!(c.name_in_use("front", None).as_deref(), Some("aa11"));
    assert_eq!(c.name_in_use("front", Some("aa11")), None);

    assert_eq!(c.user_of_image("sha256:x"), walked_user(&c, "sha256:x"));
    c.remove("aa11");
    std::fs::remove_dir_all(c.data_dir("aa11")).unwrap();
    assert_eq!(index(&c), walked(&c));
    assert_eq!(c.user_of_image("sha256:x"), walked_user(&c, "sha256:x"));
    assert_eq!(c.user_of_image("sha256:x").unwrap().0, "aa22");
    assert_eq!(c.user_of_image("sha256:z"), None);

    // A restart reads the records again and derives the same index.
    let before = index(&c);
    drop(c);
    let c = Containers::open(data.path(), exec.path()).unwrap();
    assert_eq!(index(&c), before);
    assert_eq!(index(&c), walked(&c));
}

#[test]
fn find_by_id_name_and_prefix() {
    let data = tempfile::tempdir().unwrap();
    let exec = tempfile::tempdir().unwrap();
    let c = Containers::open(data.path(), exec.path()).unwrap();
    for (id, name) in [("abc1", "one"), ("abc2", "two"), ("abd3", "abc")] {
        c.insert(record(id, name, "sha256:x")).unwrap();
    }
    assert_eq!(c.find("abc1").unwrap().id, "abc1");
    // A name wins over an ID prefix, as in Docker.
    assert_eq!(c.find("abc").unwrap().id, "abd3");
    assert_eq!(c.find("abd").unwrap().id, "abd3");
    assert!(matches!(c.find("ab"), Err(ContainerError::Invalid(_))));
    assert!(matches!(c.find("abe"), Err(ContainerError::NotFound(_))));
    assert!(matches!(c.find("/"), Err(ContainerError::NotFound(_))));
}

#[test]
fn many_records_are_read_at_open() {
    let data = tempfile::tempdir().unwrap();
    let exec = tempfile::tempdir().unwrap();
    let c = Containers::open(data.path(), exec.path()).unwrap();
    for i in 0..200 {
        let rec = record(&format!("{i:064x}"), &format!("n{i}"), "sha256:x");
        std::fs::create_dir_all(c.data_dir(&rec.id)).unwrap();
        c.save(&rec).unwrap();
    }
    std::fs::create_dir_all(c.data_dir("torn")).unwrap();
    std::fs::write(c.data_dir("torn").join(RECORD), b"{").unwrap();
    drop(c);
    let c = Containers::open(data.path(), exec.path()).unwrap();
    assert_eq!(c.ids().len(), 200);
    assert_eq!(index(&c), walked(&c));
    assert_eq!(c.find("n7").unwrap().id, format!("{:064x}", 7));
}
