//! muelled driven by two more real Docker API clients: bollard (Rust) and docker-py
//! (Debian's python3-docker).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;

use bollard::query_parameters::{
    CreateImageOptions, EventsOptions, ImportImageOptions, ListImagesOptions, PruneImagesOptions,
    PushImageOptions, RemoveImageOptions, TagImageOptions,
};
use bollard::{ClientVersion, Docker};
use futures_util::{StreamExt, TryStreamExt};
use support::{busybox_tar, common, Daemon};

fn client(d: &Daemon, minor: usize) -> Docker {
    Docker::connect_with_unix(
        d.socket.to_str().unwrap(),
        120,
        &ClientVersion {
            major_version: 1,
            minor_version: minor,
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn bollard_image_lifecycle_needs_registry() {
    let tar = busybox_tar();
    let reg = common::start_registry();
    let d = Daemon::start();
    let _reach = d.reach_host_port(reg.port());
    let docker = client(&d, 47);

    assert_eq!(docker.ping().await.unwrap(), "OK");
    let v = docker.version().await.unwrap();
    assert_eq!(v.api_version.as_deref(), Some("1.47"));
    assert_eq!(v.min_api_version.as_deref(), Some("1.24"));
    let info = docker.info().await.unwrap();
    assert_eq!(info.images, Some(0));
    assert_eq!(
        info.docker_root_dir.as_deref(),
        Some(d.data_root.to_str().unwrap())
    );

    // bollard sends the request only when the stream is first polled, so the stream asks
    // for the history since now as well as what comes live.
    let mut events = docker.events(Some(EventsOptions {
        since: Some(support::now_secs().saturating_sub(1).to_string()),
        filters: Some(HashMap::from([(
            "type".to_string(),
            vec!["image".to_string()],
        )])),
        ..Default::default()
    }));

    let bytes = std::fs::read(&tar).unwrap();
    let out: Vec<_> = docker
        .import_image(
            ImportImageOptions::default(),
            bollard::body_full(bytes.into()),
            None,
        )
        .try_collect()
        .await
        .unwrap();
    assert!(
        out.iter()
            .any(|m| m.stream.as_deref() == Some("Loaded image: busybox:latest\n")),
        "{out:?}"
    );

    let images = docker
        .list_images(Some(ListImagesOptions {
            all: false,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].repo_tags, vec!["busybox:latest".to_string()]);
    assert_eq!(images[0].shared_size, -1);
    assert_eq!(images[0].containers, -1);
    let id = images[0].id.clone();

    let inspect = docker.inspect_image("busybox").await.unwrap();
    assert_eq!(inspect.id.as_deref(), Some(id.as_str()));
    assert_eq!(inspect.os.as_deref(), Some("linux"));
    assert_eq!(
        inspect.config.and_then(|c| c.cmd),
        Some(vec!["/bin/sh".to_string()])
    );
    assert_eq!(
        inspect.root_fs.map(|r| r.layers.unwrap_or_default().len()),
        Some(1)
    );

    let target = format!("{}/bollard/bb", reg.host);
    docker
        .tag_image(
            "busybox",
            Some(TagImageOptions {
                repo: Some(target.clone()),
                tag: Some("t1".to_string()),
            }),
        )
        .await
        .unwrap();
    let tagged = format!("{target}:t1");
    let history = docker.image_history(&tagged).await.unwrap();
    assert_eq!(history[0].id, id);

    // A tag event arrives on the stream.
    let tag_event = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(e) = events.next().await {
            let e = e.unwrap();
            if e.action.as_deref() == Some("tag") {
                return e;
            }
        }
        panic!("event stream ended");
    })
    .await
    .expect("no tag event within 10s");
    let actor = tag_event.actor.unwrap();
    assert_eq!(actor.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        actor.attributes.unwrap().get("name").map(String::as_str),
        Some(tagged.as_str())
    );

    // Push, then pull back into an emptied store.
    let pushed: Vec<_> = docker
        .push_image(
            &target,
            Some(PushImageOptions {
                tag: Some("t1".to_string()),
                ..Default::default()
            }),
            None,
        )
        .try_collect()
        .await
        .unwrap();
    let last = pushed.last().unwrap();
    assert!(
        pushed.iter().any(|m| m
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("t1: digest: sha256:"))),
        "{pushed:?} / {last:?}"
    );

    let removed = docker
        .remove_image(
            &tagged,
            Some(RemoveImageOptions {
                force: false,
                noprune: false,
            }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(removed[0].untagged.as_deref(), Some(tagged.as_str()));
    let removed = docker
        .remove_image("busybox", None::<RemoveImageOptions>, None)
        .await
        .unwrap();
    assert!(removed
        .iter()
        .any(|r| r.deleted.as_deref() == Some(id.as_str())));

    let pulled: Vec<_> = docker
        .create_image(
            Some(CreateImageOptions {
                from_image: Some(target.clone()),
                tag: Some("t1".to_string()),
                ..Default::default()
            }),
            None,
            None,
        )
        .try_collect()
        .await
        .unwrap();
    let statuses: Vec<&str> = pulled.iter().filter_map(|m| m.status.as_deref()).collect();
    assert_eq!(statuses.first(), Some(&"Pulling from bollard/bb"));
    assert!(statuses.contains(&"Pull complete"), "{statuses:?}");
    assert!(
        statuses
            .last()
            .unwrap()
            .starts_with("Status: Downloaded newer image for"),
        "{statuses:?}"
    );
    assert_eq!(docker.inspect_image(&tagged).await.unwrap().id, Some(id));

    // Errors come back as typed Docker errors with the daemon's status and message.
    match docker.inspect_image("busybox:nope").await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        }) => {
            assert_eq!(status_code, 404);
            assert_eq!(message, "No such image: busybox:nope");
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    let pull_missing: Result<Vec<_>, _> = docker
        .create_image(
            Some(CreateImageOptions {
                from_image: Some(target.clone()),
                tag: Some("missing".to_string()),
                ..Default::default()
            }),
            None,
            None,
        )
        .try_collect()
        .await;
    assert!(pull_missing.is_err());

    // (bollard 0.19 joins absolute paths onto its versioned base URL, which drops the
    // `/v1.NN` prefix: every request above went to the unversioned routes, served as 1.47.)

    let pruned = docker
        .prune_images(Some(PruneImagesOptions {
            filters: Some(HashMap::from([(
                "dangling".to_string(),
                vec!["false".to_string()],
            )])),
        }))
        .await
        .unwrap();
    assert_eq!(
        pruned.images_deleted.as_ref().map(|d| d.len() >= 2),
        Some(true)
    );
    assert!(pruned.space_reclaimed.unwrap_or(0) > 100_000, "{pruned:?}");
    assert!(docker
        .list_images(None::<ListImagesOptions>)
        .await
        .unwrap()
        .is_empty());
}

const PY_SCRIPT: &str = r#"
import sys, docker
sock, tar, registry = sys.argv[1], sys.argv[2], sys.argv[3]
c = docker.DockerClient(base_url="unix://" + sock, version="auto")
assert c.ping() is True
v = c.version()
assert v["ApiVersion"] == "1.47", v
assert c.info()["Images"] == 0

with open(tar, "rb") as f:
    loaded = c.images.load(f.read())
assert [i.tags for i in loaded] == [["busybox:latest"]], [i.tags for i in loaded]
img = c.images.get("busybox")
assert img.attrs["Config"]["Cmd"] == ["/bin/sh"]
assert img.tag("py/bb", "x") is True
assert sorted(c.images.get("busybox").tags) == ["busybox:latest", "py/bb:x"]
assert [i.id for i in c.images.list()] == [img.id]
assert c.images.list(filters={"reference": "py/*"})[0].id == img.id
hist = img.history()
assert hist[0]["Id"] == img.id, hist

try:
    c.images.get("busybox:nope")
    raise SystemExit("no error for a missing image")
except docker.errors.ImageNotFound as e:
    assert "No such image: busybox:nope" in str(e), str(e)

data = b"".join(img.save(named=True))
assert len(data) > 100000

target = registry + "/py/bb"
img.tag(target, "v1")
out = list(c.images.push(target, tag="v1", stream=True, decode=True))
assert any(m.get("status", "").startswith("v1: digest: sha256:") for m in out), out
assert any("aux" in m and m["aux"]["Tag"] == "v1" for m in out), out

c.images.remove("py/bb:x")
c.images.remove(target + ":v1")
c.images.remove("busybox")
assert c.images.list() == []
pulled = c.images.pull(target, tag="v1")
assert pulled.id == img.id, (pulled.id, img.id)

again = c.images.load(data)
assert "busybox:latest" in again[0].tags
res = c.images.prune(filters={"dangling": False})
assert res["SpaceReclaimed"] > 0, res
assert c.images.list() == []
print("docker-py OK")
"#;

#[test]
fn docker_py_image_lifecycle_needs_dockerpy_registry() {
    support::require_docker_py();
    let tar = busybox_tar();
    let reg = common::start_registry();
    let d = Daemon::start();
    let _reach = d.reach_host_port(reg.port());
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(PY_SCRIPT)
        .arg(&d.socket)
        .arg(&tar)
        .arg(&reg.host)
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-py script failed:\nstdout: {}\nstderr: {}\nmuelled log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("docker-py OK"));
}
