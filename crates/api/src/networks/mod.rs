//! Network routes (`/networks...`): list, inspect, create, remove, connect, disconnect,
//! prune. Shapes are `muelle_types::network`'s; the rules (drivers, subnets, who may join)
//! are the engine's, and its errors become statuses in `crate::error` alone.

mod connect;
mod create;
mod inspect;
mod list;
mod prune;
mod remove;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use muelle_engine::networks::{is_predefined, NetworkRecord};
use muelle_engine::Engine;
use muelle_types::network::{ConfigReference, Ipam, IpamConfig, Network, NetworkContainer};

type Eng = State<Arc<Engine>>;

/// The network routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/networks", get(list::list))
        .route("/networks/create", post(create::create))
        .route("/networks/prune", post(prune::prune))
        .route(
            "/networks/{id}",
            get(inspect::inspect).delete(remove::remove),
        )
        .route("/networks/{id}/connect", post(connect::connect))
        .route("/networks/{id}/disconnect", post(connect::disconnect))
}

/// A network as dockerd shows it; `Containers` (the running containers on it) only when
/// `detailed` (inspect), empty in a list as dockerd's.
pub(crate) fn to_docker(engine: &Engine, rec: NetworkRecord, detailed: bool) -> Network {
    let containers = if detailed {
        engine
            .network_endpoints(&rec)
            .into_iter()
            .map(|e| {
                let c = NetworkContainer {
                    name: e.container_name,
                    endpoint_id: e.endpoint.endpoint_id,
                    mac_address: e.endpoint.mac,
                    ipv4_address: e.endpoint.ipv4.map(|n| n.to_string()).unwrap_or_default(),
                    ipv6_address: e.endpoint.ipv6.map(|n| n.to_string()).unwrap_or_default(),
                };
                (e.container_id, c)
            })
            .collect()
    } else {
        Default::default()
    };
    let config = rec
        .subnets
        .iter()
        .map(|s| IpamConfig {
            subnet: s.subnet.to_string(),
            ip_range: s.ip_range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: s.gateway.to_string(),
            auxiliary_addresses: s
                .aux
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        })
        .collect();
    let builtin = is_predefined(&rec.name);
    Network {
        name: rec.name,
        id: rec.id,
        created: rec.created,
        scope: "local".into(),
        driver: rec.driver,
        enable_ipv6: rec.enable_ipv6,
        ipam: Ipam {
            driver: "default".into(),
            // dockerd keeps `null` for its own networks and what the create sent otherwise.
            options: if builtin { None } else { rec.ipam_options },
            config,
        },
        internal: rec.internal,
        attachable: rec.attachable,
        ingress: false,
        config_from: ConfigReference::default(),
        config_only: false,
        containers,
        options: rec.options,
        labels: rec.labels,
    }
}
