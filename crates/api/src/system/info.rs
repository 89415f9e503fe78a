//! `GET /info`: the daemon's counts, drivers, host and registry settings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::Json;
use muelle_engine::containers::{DEFAULT_RUNTIME, RUNTIMES};
use muelle_engine::host::HostInfo;
use muelle_engine::{Engine, VERSION};
use muelle_types::system::{
    Commit, IndexInfo, Info, PluginsInfo, RegistryConfig, Runtime, SwarmInfo,
};
use muelle_types::time::rfc3339_nanos;

use crate::error::{ApiError, ApiResult};

pub async fn info(State(engine): State<Arc<Engine>>) -> ApiResult<Json<Info>> {
    let e = engine.clone();
    let images = tokio::task::spawn_blocking(move || e.images().list())
        .await
        .map_err(ApiError::task)??
        .len();
    let host = HostInfo::read();
    let index_configs: BTreeMap<String, IndexInfo> = engine
        .config()
        .insecure_registries
        .iter()
        .map(|h| {
            (
                h.clone(),
                IndexInfo {
                    name: h.clone(),
                    mirrors: Vec::new(),
                    secure: false,
                    official: false,
                },
            )
        })
        .collect();
    let driver = engine.storage_driver().to_string();
    let recs = engine.containers().records();
    let running = recs
        .iter()
        .filter(|r| r.state.running() && !r.state.paused())
        .count();
    let paused = recs.iter().filter(|r| r.state.paused()).count();
    Ok(Json(Info {
        id: engine.id().to_string(),
        containers: recs.len(),
        containers_running: running,
        containers_paused: paused,
        containers_stopped: recs.len() - running - paused,
        images,
        driver_status: vec![["Snapshotter".to_string(), driver.clone()]],
        driver,
        plugins: PluginsInfo {
            volume: Vec::new(),
            network: Vec::new(),
            authorization: None,
            log: Vec::new(),
        },
        memory_limit: true,
        swap_limit: false,
        kernel_memory: false,
        kernel_memory_tcp: false,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        ipv4_forwarding: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|s| s.trim() == "1")
            .unwrap_or(false),
        bridge_nf_iptables: false,
        bridge_nf_ip6tables: false,
        debug: tracing::enabled!(tracing::Level::DEBUG),
        n_fd: std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0),
        oom_kill_disable: false,
        n_goroutines: 0,
        system_time: rfc3339_nanos(SystemTime::now()),
        logging_driver: "json-file".to_string(),
        cgroup_driver: "cgroupfs".to_string(),
        cgroup_version: host.cgroup_version.to_string(),
        n_events_listener: engine.events().listeners(),
        kernel_version: host.kernel_version,
        operating_system: host.operating_system,
        os_version: host.os_version,
        os_type: "linux".to_string(),
        architecture: host.architecture,
        index_server_address: "https://index.docker.io/v1/".to_string(),
        registry_config: RegistryConfig {
            allow_nondistributable_artifacts_cidrs: Vec::new(),
            allow_nondistributable_artifacts_hostnames: Vec::new(),
            insecure_registry_cidrs: vec!["127.0.0.0/8".to_string(), "::1/128".to_string()],
            index_configs,
            mirrors: Vec::new(),
        },
        ncpu: host.ncpu,
        mem_total: host.mem_total,
        generic_resources: None,
        docker_root_dir: engine.data_root().display().to_string(),
        http_proxy: String::new(),
        https_proxy: String::new(),
        no_proxy: String::new(),
        name: host.hostname,
        labels: Vec::new(),
        experimental_build: false,
        server_version: VERSION.to_string(),
        // Every name is the one runtime muelled runs (see `RUNTIMES`).
        runtimes: RUNTIMES
            .iter()
            .map(|r| {
                let path = "muelle-runtime".to_string();
                (r.to_string(), Runtime { path })
            })
            .collect(),
        default_runtime: DEFAULT_RUNTIME.to_string(),
        swarm: SwarmInfo {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive".to_string(),
            control_available: false,
            error: String::new(),
            remote_managers: None,
        },
        live_restore_enabled: false,
        isolation: String::new(),
        init_binary: "muelle-init".to_string(),
        containerd_commit: Commit::default(),
        runc_commit: Commit::default(),
        init_commit: Commit::default(),
        // As dockerd lists it when containers run in a remapped user namespace.
        security_options: engine
            .config()
            .userns_remap
            .as_ref()
            .map(|_| "name=userns".to_string())
            .into_iter()
            .collect(),
        warnings: Vec::new(),
    }))
}
