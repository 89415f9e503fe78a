//! The engine's network operations besides create: lookup, list with dockerd's filters,
//! the containers on a network (derived from the containers' records), remove (refused for
//! the built-ins and while a running container has an endpoint on it) and prune, each
//! announced on the event bus as dockerd does (`create`, `destroy`, `connect`,
//! `disconnect`, with the network's `name` and `type` and, for the last two, `container`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::builtin::is_predefined;
use super::{ActiveEndpoint, NetworkError, NetworkRecord};
use crate::labels::labels_match;
use crate::{Actor, Engine, Event, EventKind, Result};

/// `GET /networks` filters; each list is "any of" and an empty list does not filter.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilters {
    /// Substrings of the name.
    pub names: Vec<String>,
    /// Prefixes (or substrings, as dockerd matches) of the ID.
    pub ids: Vec<String>,
    pub drivers: Vec<String>,
    /// `key` or `key=value`; all must match.
    pub labels: Vec<String>,
    pub scopes: Vec<String>,
    /// `custom` or `builtin`.
    pub types: Vec<String>,
    pub dangling: Option<bool>,
}

/// `POST /networks/prune` filters.
#[derive(Debug, Clone, Default)]
pub struct NetworksPrune {
    pub labels: Vec<String>,
    /// `label!=`: none of these may match.
    pub not_labels: Vec<String>,
    /// Only networks created before this time.
    pub until: Option<SystemTime>,
}

/// A running container's endpoint on a network (`Containers` of network inspect).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkEndpoint {
    pub container_id: String,
    pub container_name: String,
    pub endpoint: ActiveEndpoint,
}

impl Engine {
    /// dockerd's lookup of a network: full ID, exact name, unique ID prefix.
    pub fn network(&self, key: &str) -> Result<NetworkRecord> {
        Ok(self.networks.find(key)?)
    }

    /// Every network, in ID order.
    pub fn networks(&self) -> Vec<NetworkRecord> {
        self.networks.list()
    }

    /// The running containers with an active endpoint on `net`.
    pub fn network_endpoints(&self, net: &NetworkRecord) -> Vec<NetworkEndpoint> {
        self.containers()
            .records()
            .into_iter()
            .filter(|r| r.is_running())
            .flat_map(|r| {
                r.networks
                    .values()
                    .filter(|ep| ep.network_id == net.id)
                    .filter_map(|ep| ep.active.clone())
                    .map(|endpoint| NetworkEndpoint {
                        container_id: r.id.clone(),
                        container_name: r.name.clone(),
                        endpoint,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// `network` events: the network's ID as the actor, its name and driver as `name` and
    /// `type`, and for connect and disconnect the container's ID as `container`.
    pub(crate) fn network_event(&self, action: &str, net: &NetworkRecord, container: Option<&str>) {
        let mut attributes = BTreeMap::from([
            ("name".to_string(), net.name.clone()),
            ("type".to_string(), net.driver.clone()),
        ]);
        if let Some(c) = container {
            attributes.insert("container".to_string(), c.to_string());
        }
        self.events().publish(Event::new(
            EventKind::Network,
            action,
            Actor {
                id: net.id.clone(),
                attributes,
            },
        ));
    }

    /// The networks the filters select, in name order (as `docker network ls` shows them).
    pub fn list_networks(&self, f: &NetworkFilters) -> Result<Vec<NetworkRecord>> {
        for t in &f.types {
            if !matches!(t.as_str(), "custom" | "builtin") {
                return Err(NetworkError::Invalid(format!("invalid filter: 'type'='{t}'")).into());
            }
        }
        let any = |vals: &[String], pred: &dyn Fn(&str) -> bool| {
            vals.is_empty() || vals.iter().any(|v| pred(v))
        };
        let mut out: Vec<NetworkRecord> = Vec::new();
        for n in self.networks() {
            let builtin = is_predefined(&n.name);
            // dockerd matches a name filter as a regular expression.
            let keep = any(&f.names, &|v| {
                regex::Regex::new(v).map_or_else(|_| n.name.contains(v), |r| r.is_match(&n.name))
            }) && any(&f.ids, &|v| n.id.contains(v))
                && any(&f.drivers, &|v| n.driver == v)
                && labels_match(&n.labels, &f.labels)
                && any(&f.scopes, &|v| v == "local")
                && any(&f.types, &|v| (v == "builtin") == builtin)
                && f.dangling.is_none_or(|d| {
                    let dangling = !builtin && self.network_endpoints(&n).is_empty();
                    d == dangling
                });
            if keep {
                out.push(n);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes a user-defined network no running container is on; the datapath then takes
    /// its bridge down. Stopped containers that name it keep their (now dangling) endpoint,
    /// as with dockerd.
    pub async fn remove_network(self: &Arc<Self>, key: &str) -> Result<()> {
        let rec = self.network(key)?;
        if is_predefined(&rec.name) {
            return Err(NetworkError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                rec.name
            ))
            .into());
        }
        {
            let mut records = self.networks.records();
            if !self.network_endpoints(&rec).is_empty() {
                return Err(NetworkError::Forbidden(format!(
                    "error while removing network: network {} id {} has active endpoints",
                    rec.name, rec.id
                ))
                .into());
            }
            if !records.contains_key(&rec.id) {
                return Err(NetworkError::NotFound(key.to_string()).into());
            }
            self.networks.delete(&mut records, &rec.id)?;
        }
        self.datapath_network_removed(&rec).await;
        self.network_event("destroy", &rec, None);
        Ok(())
    }

    /// Removes the user-defined networks no running container is on, among those the
    /// filters select; returns their names.
    pub async fn prune_networks(self: &Arc<Self>, p: &NetworksPrune) -> Vec<String> {
        let mut gone = Vec::new();
        for n in self.networks() {
            if is_predefined(&n.name) || !self.network_endpoints(&n).is_empty() {
                continue;
            }
            if !labels_match(&n.labels, &p.labels)
                || p.not_labels
                    .iter()
                    .any(|l| labels_match(&n.labels, std::slice::from_ref(l)))
            {
                continue;
            }
            if let Some(until) = p.until {
                let created = muelle_types::time::parse_rfc3339(&n.created);
                if created.is_none_or(|c| c >= until) {
                    continue;
                }
            }
            match self.remove_network(&n.id).await {
                Ok(()) => gone.push(n.name),
                Err(e) => tracing::warn!(network = %n.name, error = %e, "prune: not removed"),
            }
        }
        gone
    }
}
