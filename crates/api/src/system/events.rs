//! `GET /events`: the engine's events as a stream of JSON lines, replayed from `since`,
//! live until `until` (or until the client or the daemon goes), filtered as Docker filters
//! them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use muelle_engine::{familiar, Engine, Event, EventKind};
use muelle_types::system::{EventActor, EventMessage};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::request::{Filters, Params};
use crate::stream::json_line;

/// Filter keys Docker's `/events` accepts.
const EVENT_FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// `since`/`until`: Unix seconds with optional fractional nanoseconds, as the docker CLI
/// sends them (it turns durations and dates into this form itself).
fn parse_timestamp(key: &str, value: &str) -> ApiResult<SystemTime> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid value {value:?} for {key}: expected Unix seconds, optionally with a fraction"
        ))
    };
    crate::time::unix_seconds(value).ok_or_else(bad)
}

struct EventFilter(Filters);

impl EventFilter {
    fn matches(&self, e: &Event) -> bool {
        let f = &self.0;
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            let vals = f.get(key);
            vals.is_empty() || vals.iter().any(|v| pred(v))
        };
        let name = e.actor.attributes.get("name").map(String::as_str);
        let names_actor = |v: &str| {
            e.actor.id == v
                || e.actor
                    .id
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(v))
                || name == Some(v)
                || name.is_some_and(|n| familiar(n) == familiar(v))
        };
        let of_kind = |kind: EventKind, v: &str| e.kind == kind && names_actor(v);
        any("type", &|v| e.kind.as_str() == v)
            // `exec_start: sh -c ...` is matched by `exec_start`, as Docker does.
            && any("event", &|v| e.action == v || e.action.split(':').next() == Some(v))
            && any("scope", &|v| v == "local")
            && any("image", &|v| {
                of_kind(EventKind::Image, v) || e.actor.attributes.get("image").is_some_and(|i| i == v)
            })
            && any("container", &|v| {
                of_kind(EventKind::Container, v)
                    || (e.kind == EventKind::Container && v.len() >= 3 && e.actor.id.starts_with(v))
            })
            && any("volume", &|v| of_kind(EventKind::Volume, v))
            && any("network", &|v| of_kind(EventKind::Network, v))
            && any("daemon", &|v| of_kind(EventKind::Daemon, v))
            && any("label", &|v| match v.split_once('=') {
                Some((k, val)) => e.actor.attributes.get(k).is_some_and(|x| x == val),
                None => e.actor.attributes.contains_key(v),
            })
            // Swarm objects never happen here.
            && ["config", "node", "plugin", "secret", "service"]
                .iter()
                .all(|k| f.get(k).is_empty())
    }
}

/// An event as Docker's `/events` sends it (with the pre-1.22 `status`/`id` fields that
/// older clients still read).
pub fn event_message(e: &Event) -> EventMessage {
    let nanos = e.time_nanos();
    EventMessage {
        status: e.action.clone(),
        id: e.actor.id.clone(),
        from: None,
        kind: e.kind.as_str().to_string(),
        action: e.action.clone(),
        actor: EventActor {
            id: e.actor.id.clone(),
            attributes: e.actor.attributes.clone(),
        },
        scope: "local".to_string(),
        time: nanos / 1_000_000_000,
        time_nano: nanos,
    }
}

enum Phase {
    Replay(std::vec::IntoIter<Event>),
    Live,
}

struct EventStream {
    phase: Phase,
    rx: broadcast::Receiver<Event>,
    closing: tokio::sync::watch::Receiver<bool>,
    filter: EventFilter,
    until: Option<SystemTime>,
}

pub async fn events(State(engine): State<Arc<Engine>>, params: Params) -> ApiResult<Response> {
    let filter = EventFilter(params.filters(EVENT_FILTERS)?);
    if let Some(types) = Some(filter.0.get("type")) {
        for t in types {
            if EventKind::parse(t).is_none()
                && !["config", "node", "plugin", "secret", "service"].contains(&t.as_str())
            {
                return Err(ApiError::bad_request(format!("invalid filter 'type={t}'")));
            }
        }
    }
    let since = params
        .string("since")
        .map(|v| parse_timestamp("since", v))
        .transpose()?;
    let until = params
        .string("until")
        .map(|v| parse_timestamp("until", v))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::bad_request("since must not be after until"));
        }
    }
    let (past, rx) = engine.events().subscribe();
    let replay: Vec<Event> = match since {
        None => Vec::new(),
        Some(s) => past
            .into_iter()
            .filter(|e| e.time >= s && until.is_none_or(|u| e.time <= u))
            .collect(),
    };
    let state = EventStream {
        phase: Phase::Replay(replay.into_iter()),
        rx,
        closing: engine.events().closing(),
        filter,
        until,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let next = match &mut st.phase {
                Phase::Replay(it) => match it.next() {
                    Some(e) => Some(e),
                    None => {
                        if st.until.is_some_and(|u| u <= SystemTime::now()) {
                            return None;
                        }
                        st.phase = Phase::Live;
                        continue;
                    }
                },
                Phase::Live => {
                    let wait = st.until.map(|u| {
                        u.duration_since(SystemTime::now())
                            .unwrap_or(Duration::ZERO)
                    });
                    let deadline = async {
                        match wait {
                            Some(d) => tokio::time::sleep(d).await,
                            None => std::future::pending().await,
                        }
                    };
                    let received = tokio::select! {
                        r = st.rx.recv() => r,
                        () = deadline => return None,
                        _ = st.closing.wait_for(|c| *c) => return None,
                    };
                    match received {
                        Ok(e) => Some(e),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "an events subscriber fell behind");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            };
            if let Some(e) = next {
                if st.until.is_some_and(|u| e.time > u) {
                    return None;
                }
                if st.filter.matches(&e) {
                    let line = json_line(&event_message(&e));
                    return Some((Ok::<_, std::io::Error>(line), st));
                }
            }
        }
    });
    // Headers go out at once (the body is a stream), so the client knows it is listening.
    Ok((
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(stream.boxed()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp("since", "1700000000.5").unwrap(),
            SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000)
        );
        for bad in ["-1", "abc", "1.x", "", "1.1234567890"] {
            assert!(parse_timestamp("since", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_filters() {
        let e = Event::new(
            EventKind::Image,
            "tag",
            muelle_engine::Actor::named("sha256:abcdef", "busybox:mine"),
        );
        let f = |s: &str| EventFilter(Filters::parse(s, EVENT_FILTERS).unwrap());
        assert!(f("").matches(&e));
        assert!(f(r#"{"type":["image"],"event":["tag"]}"#).matches(&e));
        assert!(f(r#"{"image":["busybox:mine"]}"#).matches(&e));
        assert!(f(r#"{"image":["abcd"]}"#).matches(&e));
        assert!(!f(r#"{"event":["untag"]}"#).matches(&e));
        assert!(!f(r#"{"container":["x"]}"#).matches(&e));
        let j = serde_json::to_value(event_message(&e)).unwrap();
        assert_eq!(j["Type"], "image");
        assert_eq!(j["Actor"]["Attributes"]["name"], "busybox:mine");
    }

    #[test]
    fn event_messages_in_mobys_order() {
        let mut e = Event::new(
            EventKind::Container,
            "start",
            muelle_engine::Actor::named("abc", "web"),
        );
        e.time = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(
            String::from_utf8(json_line(&event_message(&e)).to_vec()).unwrap(),
            "{\"status\":\"start\",\"id\":\"abc\",\"Type\":\"container\",\"Action\":\"start\",\
             \"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"name\":\"web\"}},\"scope\":\"local\",\
             \"time\":1700000000,\"timeNano\":1700000000000000005}\n"
        );
    }
}
