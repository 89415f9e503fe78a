//! The event bus: what changed, as Docker's `/events` reports it (type, action, actor, time).
//!
//! Subscribers get a copy of the recent past and a live receiver taken under one lock, so
//! an event is never both missed and never seen twice by a `since` query that follows live.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, watch};

/// How many past events are kept for `since` queries. Docker keeps 256, but one container
/// under memory pressure can announce an `oom` for every notice of the kernel: hundreds in a
/// second on a loaded host, which pushed its own `start` out of a 256-event history.
pub const RECENT: usize = 1024;
/// Live events a slow subscriber may fall behind by before it misses some.
const CHANNEL_CAPACITY: usize = 1024;

/// The kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Image,
    Container,
    Volume,
    Network,
    Daemon,
}

impl EventKind {
    /// Docker's name for it (`Type` in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Image => "image",
            EventKind::Container => "container",
            EventKind::Volume => "volume",
            EventKind::Network => "network",
            EventKind::Daemon => "daemon",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "image" => EventKind::Image,
            "container" => EventKind::Container,
            "volume" => EventKind::Volume,
            "network" => EventKind::Network,
            "daemon" => EventKind::Daemon,
            _ => return None,
        })
    }
}

/// The object an event is about: its ID and a few attributes (`name` for images).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
}

impl Actor {
    /// An actor with one `name` attribute, the common case for images.
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Self {
        Actor {
            id: id.into(),
            attributes: BTreeMap::from([("name".to_string(), name.into())]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// `pull`, `push`, `tag`, `untag`, `delete`, `load`, `save`, `import`, `prune`...
    pub action: String,
    pub actor: Actor,
    pub time: SystemTime,
}

impl Event {
    pub fn new(kind: EventKind, action: &str, actor: Actor) -> Self {
        Event {
            kind,
            action: action.to_string(),
            actor,
            time: SystemTime::now(),
        }
    }

    /// Nanoseconds since the Unix epoch (0 for a clock before it).
    pub fn time_nanos(&self) -> i64 {
        let d = self
            .time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    }
}

/// The bus. Publishing never blocks and never fails; with nobody listening the event is
/// only kept in the recent history.
#[derive(Debug)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    recent: Mutex<VecDeque<Event>>,
    /// Set when the daemon shuts down, so endless subscriptions end and let it.
    closing: watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Events {
            tx,
            recent: Mutex::new(VecDeque::new()),
            closing: watch::channel(false).0,
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        // Pushes and clones cannot leave the deque half-changed, so a poisoned lock is fine.
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn publish(&self, event: Event) {
        tracing::debug!(
            kind = event.kind.as_str(),
            action = %event.action,
            id = %event.actor.id,
            "event"
        );
        let mut recent = self.recent();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(event.clone());
        // Sent under the lock so that subscribe() sees each event exactly once.
        let _ = self.tx.send(event);
    }

    /// The recent history (oldest first) and a receiver of every event published after it.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let recent = self.recent();
        let rx = self.tx.subscribe();
        (recent.iter().cloned().collect(), rx)
    }

    /// Tells every subscription to end (daemon shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes true when the bus closes.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// How many subscribers are listening now (`NEventsListener` in `/info`).
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscriber_sees_history_then_live_events_once() {
        let bus = Events::new();
        bus.publish(Event::new(
            EventKind::Image,
            "tag",
            Actor::named("sha256:a", "a:1"),
        ));
        let (past, mut rx) = bus.subscribe();
        bus.publish(Event::new(
            EventKind::Image,
            "untag",
            Actor::named("sha256:a", "a:1"),
        ));
        assert_eq!(past.len(), 1);
        assert_eq!(past[0].action, "tag");
        let live = rx.recv().await.unwrap();
        assert_eq!(live.action, "untag");
        assert_eq!(live.actor.attributes["name"], "a:1");
        assert!(rx.try_recv().is_err());
        assert_eq!(bus.listeners(), 1);
    }

    #[test]
    fn history_is_bounded() {
        let bus = Events::new();
        for i in 0..RECENT + 10 {
            bus.publish(Event::new(
                EventKind::Image,
                "tag",
                Actor::named(format!("{i}"), "x"),
            ));
        }
        let (past, _) = bus.subscribe();
        assert_eq!(past.len(), RECENT);
        assert_eq!(past[0].actor.id, "10");
    }
}
