//! `GET /containers/{id}/json`: Docker's `ContainerJSON` built from the engine's record, and
//! the parts of it `ps` shows too (state, networks).

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_engine::containers::{ContainerRecord, DEFAULT_RUNTIME};
use muelle_engine::Engine;
use muelle_image::snapshot::MountSpec;
use muelle_types::container::{ContainerInspect, ContainerState, GraphDriver, NetworkSettings};

use super::Eng;
use crate::error::ApiResult;
use crate::request::Params;

/// The container's `State` as Docker shows it: the one place the API reads the engine's
/// state.
pub(crate) fn docker_state(rec: &ContainerRecord) -> ContainerState {
    rec.state.to_docker()
}

pub(super) use super::net_settings::networks;

/// `GraphDriver.Data`: the overlay directories of the root filesystem's mount and where it
/// is mounted.
fn graph_data(mounts: &[MountSpec], merged: &FsPath) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    for m in mounts {
        for o in &m.options {
            if let Some((k, v)) = o.split_once('=') {
                let key = match k {
                    "lowerdir" => "LowerDir",
                    "upperdir" => "UpperDir",
                    "workdir" => "WorkDir",
                    _ => continue,
                };
                data.insert(key.to_string(), v.to_string());
            }
        }
    }
    data.insert("MergedDir".into(), merged.display().to_string());
    data
}

/// What inspect shows of a record, given what the engine knows beside it: the storage
/// directories, the running execs, and the sizes when asked for.
fn inspect_of(
    rec: &ContainerRecord,
    graph: BTreeMap<String, String>,
    execs: Vec<String>,
    sizes: Option<(i64, i64)>,
    net: NetworkSettings,
) -> ContainerInspect {
    let mut host = rec.host_config.clone();
    host.network_mode = rec.host_config.network_mode().to_string();
    if host.log_config.typ.is_empty() {
        host.log_config.typ = "json-file".into();
    }
    // Records made before the runtime was recorded ran with the default one.
    if host.runtime.is_empty() {
        host.runtime = DEFAULT_RUNTIME.into();
    }
    // dockerd shows the path of json-file logs only.
    let log_path = if matches!(rec.host_config.log_config.typ.as_str(), "" | "json-file") {
        rec.log_path.clone()
    } else {
        String::new()
    };
    ContainerInspect {
        id: rec.id.clone(),
        created: rec.created.clone(),
        path: rec.path.clone(),
        args: rec.args.clone(),
        state: docker_state(rec),
        image: rec.image_id.clone(),
        resolv_conf_path: rec.resolv_conf_path.clone(),
        hostname_path: rec.hostname_path.clone(),
        hosts_path: rec.hosts_path.clone(),
        log_path,
        name: format!("/{}", rec.name),
        restart_count: rec.restart_count,
        driver: rec.driver.clone(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        exec_ids: (!execs.is_empty()).then_some(execs),
        host_config: host,
        graph_driver: GraphDriver {
            data: graph,
            name: rec.driver.clone(),
        },
        size_rw: sizes.map(|s| s.0),
        size_root_fs: sizes.map(|s| s.1),
        mounts: rec.mounts.clone(),
        config: rec.config.clone(),
        network_settings: net,
    }
}

fn container_inspect(engine: &Engine, rec: &ContainerRecord, size: bool) -> ContainerInspect {
    let graph = graph_data(
        &engine.rootfs_mounts(&rec.id).unwrap_or_default(),
        &engine.rootfs_path(&rec.id),
    );
    let sizes = size.then(|| engine.container_sizes(&rec.id));
    let net = super::net_settings::settings(engine, rec);
    inspect_of(rec, graph, engine.exec_ids(&rec.id), sizes, net)
}

pub async fn inspect(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let rec = engine.container(&id)?;
    let size = params.bool("size")?;
    Ok(Json(container_inspect(&engine, &rec, size)).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// What inspect shows of a container that is not running on the network of its mode.
    fn mode_only(rec: &ContainerRecord) -> NetworkSettings {
        let mode = rec.host_config.network_mode();
        NetworkSettings {
            networks: BTreeMap::from([(
                if mode == "default" { "bridge" } else { mode }.to_string(),
                muelle_types::container::EndpointSettings::default(),
            )]),
            ..NetworkSettings::default()
        }
    }

    fn record(host: Value) -> ContainerRecord {
        serde_json::from_value(json!({
            "id": "abc", "name": "web", "created": "2026-01-01T00:00:00.5Z",
            "image_id": "sha256:1", "path": "sh", "args": ["-c", "true"],
            "config": {"Image": "busybox", "Cmd": ["sh"], "Unknown": {"x": 1}},
            "host_config": host,
            "mounts": [{"Type": "bind", "Source": "/a", "Destination": "/b", "Mode": "",
                "RW": true, "Propagation": "rprivate"}],
            "state": {"Status": "exited", "Running": false, "Paused": false,
                "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0,
                "ExitCode": 3, "Error": "", "StartedAt": "2026-01-01T00:00:01Z",
                "FinishedAt": "2026-01-01T00:00:02Z"},
            "restart_count": 1, "driver": "overlayfs", "log_path": "/l", "hosts_path": "/h",
            "hostname_path": "/hn", "resolv_conf_path": "/r"
        }))
        .unwrap()
    }

    /// What inspect answered when it was a `json!` literal patched over `to_value`.
    fn previous_shape(
        rec: &ContainerRecord,
        graph: &BTreeMap<String, String>,
        execs: &[String],
        sizes: Option<(i64, i64)>,
    ) -> Value {
        let mut host = serde_json::to_value(&rec.host_config).unwrap();
        host["NetworkMode"] = json!(rec.host_config.network_mode());
        if rec.host_config.log_config.typ.is_empty() {
            host["LogConfig"]["Type"] = json!("json-file");
        }
        if rec.host_config.runtime.is_empty() {
            host["Runtime"] = json!(DEFAULT_RUNTIME);
        }
        let mut config = serde_json::to_value(&rec.config).unwrap();
        if rec.config.entrypoint.is_none() {
            config["Entrypoint"] = Value::Null;
        }
        let mode = rec.host_config.network_mode();
        let net = if mode == "default" { "bridge" } else { mode };
        let mut v = json!({
            "Id": rec.id, "Created": rec.created, "Path": rec.path, "Args": rec.args,
            "State": docker_state(rec), "Image": rec.image_id,
            "ResolvConfPath": rec.resolv_conf_path, "HostnamePath": rec.hostname_path,
            "HostsPath": rec.hosts_path,
            "LogPath": if rec.host_config.log_config.typ == "none" { String::new() } else { rec.log_path.clone() },
            "Name": format!("/{}", rec.name), "RestartCount": rec.restart_count,
            "Driver": rec.driver, "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": if execs.is_empty() { Value::Null } else { json!(execs) },
            "HostConfig": host,
            "GraphDriver": {"Data": graph, "Name": rec.driver},
            "Mounts": rec.mounts.iter().map(|m| json!({"Type": m.typ, "Source": m.source,
                "Destination": m.destination, "Mode": m.mode, "RW": m.rw,
                "Propagation": m.propagation})).collect::<Vec<_>>(),
            "Config": config,
            "NetworkSettings": {
                "Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
                "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "",
                "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null, "EndpointID": "",
                "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
                "Networks": {net: {
                    "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "",
                    "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                    "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                    "MacAddress": "", "DriverOpts": null
                }},
            },
        });
        if let Some((rw, root)) = sizes {
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(root);
        }
        v
    }

    /// The top-level keys of a JSON object in the order the text has them (serde_json's
    /// maps sort them).
    fn keys(text: &str) -> Vec<String> {
        struct Keys(Vec<String>);
        impl<'de> serde::Deserialize<'de> for Keys {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Keys;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Keys, A::Error> {
                        let mut keys = Vec::new();
                        while let Some(k) = map.next_key::<String>()? {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            keys.push(k);
                        }
                        Ok(Keys(keys))
                    }
                }
                d.deserialize_map(V)
            }
        }
        serde_json::from_str::<Keys>(text).unwrap().0
    }

    #[test]
    fn inspect_keeps_the_previous_values() {
        let graph = BTreeMap::from([
            ("LowerDir".to_string(), "/lo".to_string()),
            ("MergedDir".to_string(), "/m".to_string()),
        ]);
        let execs = vec!["e1".to_string()];
        let hosts = [
            json!({}),
            json!({"NetworkMode": "host", "LogConfig": {"Type": "none", "Config": {}},
                "Runtime": "runc", "Foo": {"bar": [1]}, "GroupAdd": ["10"], "Init": true}),
        ];
        for host in hosts {
            let rec = record(host);
            for (execs, sizes) in [(Vec::new(), None), (execs.clone(), Some((1, 2)))] {
                let ours = serde_json::to_value(inspect_of(
                    &rec,
                    graph.clone(),
                    execs.clone(),
                    sizes,
                    mode_only(&rec),
                ))
                .unwrap();
                assert_eq!(ours, previous_shape(&rec, &graph, &execs, sizes));
            }
        }
    }

    #[test]
    fn inspect_is_in_dockerds_order() {
        let rec = record(json!({}));
        let text = serde_json::to_string(&inspect_of(
            &rec,
            BTreeMap::new(),
            Vec::new(),
            Some((0, 0)),
            mode_only(&rec),
        ))
        .unwrap();
        assert_eq!(
            keys(&text),
            [
                "Id",
                "Created",
                "Path",
                "Args",
                "State",
                "Image",
                "ResolvConfPath",
                "HostnamePath",
                "HostsPath",
                "LogPath",
                "Name",
                "RestartCount",
                "Driver",
                "Platform",
                "MountLabel",
                "ProcessLabel",
                "AppArmorProfile",
                "ExecIDs",
                "HostConfig",
                "GraphDriver",
                "SizeRw",
                "SizeRootFs",
                "Mounts",
                "Config",
                "NetworkSettings"
            ]
        );
        assert!(
            text.contains(r#""State":{"Status":"exited","Running":false"#),
            "{text}"
        );
        assert!(
            text.contains(r#""NetworkSettings":{"Bridge":"","SandboxID":"","HairpinMode":false"#),
            "{text}"
        );
        assert!(
            text.contains(r#""Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"""#),
            "{text}"
        );
    }
}
