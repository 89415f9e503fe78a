//! `GET /images/{name}/json` and `GET /images/{name}/history`: an image as inspect shows it,
//! and the steps that built it.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_engine::Engine;
use muelle_image::manifest::ContainerConfig;
use muelle_image::{Digest, ImageSummary};
use muelle_types::image as api;
use muelle_types::time::parse_rfc3339;
use serde_json::{Map, Value};

use super::familiar_all;
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::time::unix_secs;
use crate::version::ApiVersion;

/// Go's zero time, which Docker shows for times it does not have.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An image config's `config` in the shape of Docker's `ContainerConfig`, with the fields
/// Docker always sends filled in.
fn container_config(c: Option<&ContainerConfig>) -> api::ImageContainerConfig {
    let object = match c.map(serde_json::to_value) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    };
    api::ImageContainerConfig::from_object(object)
}

fn inspect_body(image: &ImageSummary, driver: &str, version: ApiVersion) -> api::ImageInspect {
    let cfg = &image.config;
    let extra = |k: &str| {
        cfg.extra
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let legacy = version.before(1, 45);
    let legacy_config = legacy.then(|| {
        // The legacy `container_config` when it is an object Docker's `Config` reads.
        let cc: Option<ContainerConfig> = match cfg.extra.get("container_config") {
            Some(c @ Value::Object(_)) => serde_json::from_value(c.clone()).ok(),
            _ => None,
        };
        container_config(cc.as_ref())
    });
    api::ImageInspect {
        id: image.id.to_string(),
        repo_tags: familiar_all(&image.repo_tags),
        repo_digests: familiar_all(&image.repo_digests),
        parent: extra("parent"),
        comment: extra("comment"),
        created: cfg.created.clone().unwrap_or_else(|| ZERO_TIME.to_string()),
        container: legacy.then(|| extra("container")),
        container_config: legacy_config,
        docker_version: extra("docker_version"),
        author: cfg.author.clone().unwrap_or_default(),
        config: container_config(cfg.config.as_ref()),
        architecture: cfg.architecture.clone(),
        variant: cfg.variant.clone(),
        os: cfg.os.clone(),
        os_version: cfg.os_version.clone(),
        size: image.size,
        virtual_size: version.before(1, 44).then_some(image.size),
        graph_driver: api::GraphDriverData {
            data: Default::default(),
            name: driver.to_string(),
        },
        root_fs: api::RootFs {
            kind: "layers".to_string(),
            layers: cfg.rootfs.diff_ids.iter().map(Digest::to_string).collect(),
        },
        metadata: api::ImageMetadata {
            last_tag_time: ZERO_TIME.to_string(),
        },
    }
}

pub(super) async fn inspect(
    engine: Arc<Engine>,
    name: String,
    version: ApiVersion,
) -> ApiResult<Response> {
    let v = blocking(&engine, move |e| {
        let image = e.images().image(&name)?;
        Ok(inspect_body(&image, e.storage_driver(), version))
    })
    .await?;
    Ok(Json(v).into_response())
}

pub(super) async fn history(engine: Arc<Engine>, name: String) -> ApiResult<Response> {
    let v = blocking(&engine, move |e| {
        let entries = e.images().history(&name)?;
        Ok(entries
            .into_iter()
            .map(|h| api::HistoryItem {
                comment: h.comment,
                created: unix_secs(h.created.as_deref().and_then(parse_rfc3339)),
                created_by: h.created_by,
                id: h
                    .id
                    .map_or_else(|| "<missing>".to_string(), |d| d.to_string()),
                size: h.size,
                tags: (!h.tags.is_empty()).then(|| familiar_all(&h.tags)),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(v).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use muelle_image::manifest::Platform;
    use serde_json::json;

    fn fixture() -> ImageSummary {
        let digest = |c: char| Digest::parse(&format!("sha256:{}", c.to_string().repeat(64)));
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-02T03:04:05Z",
            "author": "me",
            "config": {
                "User": "1000",
                "Env": ["A=1"],
                "Cmd": ["sh"],
                "Labels": {"k": "v"},
                "StopSignal": "SIGINT",
                "Hostname": "h",
            },
            "container_config": {"Hostname": "abc", "Cmd": ["/bin/sh", "-c", "#(nop)"]},
            "container": "cid",
            "docker_version": "20.10",
            "comment": "c",
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "b".repeat(64))]},
        });
        ImageSummary {
            id: digest('a').unwrap(),
            repo_tags: vec!["docker.io/library/busybox:latest".to_string()],
            repo_digests: Vec::new(),
            target: serde_json::from_value(json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{}", "c".repeat(64)),
                "size": 1,
            }))
            .unwrap(),
            manifest: digest('c').unwrap(),
            platform: Platform::default(),
            size: 1234,
            chain_ids: Vec::new(),
            config: serde_json::from_value(config).unwrap(),
        }
    }

    /// The fields, values and `null`s the `json!` literal this replaced sent, in moby's order.
    #[test]
    fn inspect_as_docker_shows_it() {
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let defaults = r#""Domainname":"","#;
        let flags = r#""AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"#;
        let legacy = format!(
            r##""Container":"cid","ContainerConfig":{{"Hostname":"abc",{defaults}"User":"",{flags}"Env":null,"Cmd":["/bin/sh","-c","#(nop)"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}},"##
        );
        let expected = |legacy: &str, virtual_size: &str| {
            format!(
                r#"{{"Id":"sha256:{a}","RepoTags":["busybox:latest"],"RepoDigests":[],"Parent":"","Comment":"c","Created":"2024-01-02T03:04:05Z",{legacy}"DockerVersion":"20.10","Author":"me","Config":{{"Hostname":"h",{defaults}"User":"1000",{flags}"Env":["A=1"],"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{{"k":"v"}},"StopSignal":"SIGINT"}},"Architecture":"amd64","Os":"linux","Size":1234,{virtual_size}"GraphDriver":{{"Data":{{}},"Name":"overlayfs"}},"RootFS":{{"Type":"layers","Layers":["sha256:{b}"]}},"Metadata":{{"LastTagTime":"0001-01-01T00:00:00Z"}}}}"#
            )
        };
        let show = |v: ApiVersion| {
            serde_json::to_string(&inspect_body(&fixture(), "overlayfs", v)).unwrap()
        };
        assert_eq!(
            show(ApiVersion(1, 41)),
            expected(&legacy, r#""VirtualSize":1234,"#)
        );
        assert_eq!(show(ApiVersion(1, 44)), expected(&legacy, ""));
        assert_eq!(show(ApiVersion(1, 47)), expected("", ""));
    }
}
