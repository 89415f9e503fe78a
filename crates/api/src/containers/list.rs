//! `GET /containers/json` (`docker ps`): the filters dockerd accepts and how each matches,
//! and the `Summary` of one container.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_engine::containers::ContainerRecord;
use muelle_types::container::{
    health, ContainerState, ContainerSummary, EndpointSettings, SummaryHostConfig,
    SummaryNetworkSettings,
};

use super::inspect::{docker_state, networks};
use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::time::unix_of;

const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// The values of the `health` filter (dockerd's `IsValidHealthString`).
const HEALTH_STATES: &[&str] = &[
    health::STARTING,
    health::HEALTHY,
    health::UNHEALTHY,
    health::NO_HEALTHCHECK,
];

/// What the `health` filter matches: the probes' status, `none` without a check.
fn health_of(state: &ContainerState) -> &str {
    state
        .health
        .as_ref()
        .map_or(health::NO_HEALTHCHECK, |h| h.status.as_str())
}

/// dockerd's `name` filter (`filters.Args.Match` on `/NAME` and `NAME`): the value itself, or
/// an unanchored regular expression; one that does not compile matches nothing.
fn name_matches(name: &str, pattern: &str) -> bool {
    let slashed = format!("/{name}");
    if pattern == name || pattern == slashed {
        return true;
    }
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(&slashed) || re.is_match(name))
}

/// The list's `Command` as dockerd spells it: arguments with a space in single quotes.
fn command(rec: &ContainerRecord) -> String {
    let mut parts = vec![rec.path.clone()];
    parts.extend(rec.args.iter().map(|a| {
        if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.clone()
        }
    }));
    parts.join(" ")
}

/// One container as `ps` lists it; `sizes` (writable layer, root filesystem) when asked for;
/// `networks` its endpoints as inspect shows them.
fn summary(
    rec: &ContainerRecord,
    sizes: Option<(i64, i64)>,
    networks: BTreeMap<String, EndpointSettings>,
) -> ContainerSummary {
    ContainerSummary {
        id: rec.id.clone(),
        names: vec![format!("/{}", rec.name)],
        image: rec.config.image.clone(),
        image_id: rec.image_id.clone(),
        command: command(rec),
        created: unix_of(&rec.created),
        ports: super::net_settings::summary_ports(rec),
        size_rw: sizes.map(|s| s.0),
        size_root_fs: sizes.map(|s| s.1),
        labels: rec.config.labels.clone(),
        state: docker_state(rec).status,
        status: rec.status_text(SystemTime::now()),
        host_config: SummaryHostConfig {
            network_mode: rec.host_config.network_mode().to_string(),
        },
        network_settings: SummaryNetworkSettings { networks },
        mounts: rec.mounts.clone(),
    }
}

pub async fn list(State(engine): Eng, params: Params) -> ApiResult<Response> {
    let filters = params.filters(LIST_FILTERS)?;
    for s in filters.get("status") {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "invalid filter 'status={s}'"
            )));
        }
    }
    for h in filters.get("health") {
        if !HEALTH_STATES.contains(&h.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Unrecognised filter value for health: {h}"
            )));
        }
    }
    let all = params.bool("all")?;
    let size = params.bool("size")?;
    let limit = params
        .get("limit")
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))
        })
        .transpose()?
        .filter(|l| *l > 0);
    let mut recs = engine.containers().records();
    recs.sort_by(|a, b| b.created.cmp(&a.created));
    let find_created = |key: &str| -> ApiResult<Vec<String>> {
        filters
            .get(key)
            .iter()
            .map(|r| {
                engine
                    .container(r)
                    .map(|c| c.created)
                    .map_err(ApiError::from)
            })
            .collect()
    };
    let before = find_created("before")?;
    let since = find_created("since")?;
    let ancestors: Vec<String> = filters
        .get("ancestor")
        .iter()
        .filter_map(|a| engine.images().image(a).ok().map(|i| i.id.to_string()))
        .collect();
    let mut out = Vec::new();
    for rec in &recs {
        let state = docker_state(rec);
        let explicit_status = filters.contains("status");
        if !all
            && !state.running
            && !explicit_status
            && limit.is_none()
            && before.is_empty()
            && since.is_empty()
        {
            continue;
        }
        if filters.contains("status") && !filters.get("status").contains(&state.status) {
            continue;
        }
        if filters.contains("health")
            && !filters.get("health").iter().any(|h| h == health_of(&state))
        {
            continue;
        }
        if filters.contains("id")
            && !filters
                .get("id")
                .iter()
                .any(|i| rec.id.starts_with(i.as_str()))
        {
            continue;
        }
        if filters.contains("name")
            && !filters
                .get("name")
                .iter()
                .any(|n| name_matches(&rec.name, n))
        {
            continue;
        }
        let labels: Vec<String> = filters.get("label").to_vec();
        if !muelle_engine::labels::labels_match(&rec.config.labels, &labels) {
            continue;
        }
        if filters.contains("exited")
            && (state.status != "exited"
                || !filters
                    .get("exited")
                    .iter()
                    .any(|c| c.parse::<i64>().ok() == Some(state.exit_code)))
        {
            continue;
        }
        if filters.contains("ancestor")
            && !(ancestors.contains(&rec.image_id)
                || filters
                    .get("ancestor")
                    .iter()
                    .any(|a| a == &rec.config.image))
        {
            continue;
        }
        if before.iter().any(|b| rec.created >= *b) || since.iter().any(|s| rec.created <= *s) {
            continue;
        }
        if filters.contains("network")
            && !filters.get("network").iter().any(|n| {
                let m = rec.host_config.network_mode();
                n == m || (m == "default" && n == "bridge")
            })
        {
            continue;
        }
        let nets = networks(&engine, rec);
        out.push(summary(
            rec,
            size.then(|| engine.container_sizes(&rec.id)),
            nets,
        ));
    }
    if let Some(l) = limit {
        out.truncate(l as usize);
    }
    Ok(Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn summary_is_in_dockerds_order() {
        let rec: ContainerRecord = serde_json::from_value(json!({
            "id": "abc", "name": "web", "created": "2026-01-01T00:00:00Z",
            "image_id": "sha256:1", "path": "sh", "args": ["-c", "echo a b"],
            "config": {"Image": "busybox", "Labels": {"l": "v"}},
            "host_config": {},
            "mounts": [{"Type": "bind", "Source": "/a", "Destination": "/b", "Mode": "",
                "RW": true, "Propagation": "rprivate"}],
            "state": {"Status": "exited", "Running": false, "Paused": false,
                "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0,
                "ExitCode": 3, "Error": "", "StartedAt": "2026-01-01T00:00:01Z",
                "FinishedAt": "2026-01-01T00:00:02Z"},
            "restart_count": 0, "driver": "overlayfs"
        }))
        .unwrap();
        let bridge = BTreeMap::from([("bridge".to_string(), EndpointSettings::default())]);
        let mut s = summary(&rec, Some((1, 2)), bridge);
        s.status = "Exited (3) 1 second ago".into();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            concat!(
                r#"{"Id":"abc","Names":["/web"],"Image":"busybox","ImageID":"sha256:1","#,
                r#""Command":"sh -c 'echo a b'","Created":1767225600,"Ports":[],"SizeRw":1,"#,
                r#""SizeRootFs":2,"Labels":{"l":"v"},"State":"exited","#,
                r#""Status":"Exited (3) 1 second ago","HostConfig":{"NetworkMode":"default"},"#,
                r#""NetworkSettings":{"Networks":{"bridge":{"IPAMConfig":null,"Links":null,"#,
                r#""Aliases":null,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","#,
                r#""IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","#,
                r#""GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"#,
                r#""Mounts":[{"Type":"bind","Source":"/a","Destination":"/b","Mode":"","#,
                r#""RW":true,"Propagation":"rprivate"}]}"#
            )
        );
    }

    #[test]
    fn name_filter_is_dockerds() {
        assert!(name_matches("web-1", "web"));
        assert!(name_matches("web-1", "/web-1"));
        assert!(name_matches("web-1", "^/web-.$"));
        assert!(name_matches("muelletest-ps-up-7-0", "muelletest-ps-.*-7-"));
        assert!(!name_matches("web-1", "^web-2"));
        assert!(!name_matches("web-1", "web-["));
    }
}
