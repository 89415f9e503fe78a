//! OOM notices: the kernel's OOM events in a running container's memory cgroup, announced
//! as Docker's `oom` event while the container runs (v1: an eventfd registered on
//! `memory.oom_control`; v2: inotify on `memory.events`), with a last look at the counters
//! when it exits, so that an OOM kill is announced before the `die` it caused, as dockerd
//! (containerd's TaskOOM before TaskExit) announces it.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::collections::HashMap;
use std::sync::OnceLock;

use muelle_runtime::cgroups::CgroupVersion;
use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use tokio::sync::mpsc;

use super::Ctr;
use crate::Engine;

/// The OOM counters of one memory cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Times the cgroup hit its limit and the OOM handler ran (v2 `oom`; v1 counts it only
    /// through `under_oom`).
    pub oom: u64,
    /// Processes the OOM killer killed.
    pub oom_kill: u64,
    /// v1: the cgroup is stalled at its limit now (with the OOM killer disabled).
    pub under_oom: bool,
}

impl Counters {
    /// Parses `memory.oom_control` (v1) or `memory.events` (v2): flat `key value` lines.
    pub(crate) fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(k), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            match k {
                "oom" => c.oom = v,
                "oom_kill" => c.oom_kill = v,
                "under_oom" => c.under_oom = v != 0,
                _ => {}
            }
        }
        c
    }

    /// Whether going from `self` to `now` is an OOM worth a notice.
    pub(crate) fn news(&self, now: &Counters) -> bool {
        now.oom_kill > self.oom_kill || now.oom > self.oom || (now.under_oom && !self.under_oom)
    }
}

/// Where one container's counters are read and how changes are noticed.
struct Source {
    version: CgroupVersion,
    dir: PathBuf,
}

impl Source {
    fn file(&self) -> PathBuf {
        self.dir.join(match self.version {
            CgroupVersion::V1 => "memory.oom_control",
            CgroupVersion::V2 => "memory.events",
        })
    }

    fn read(&self) -> Option<Counters> {
        std::fs::read_to_string(self.file())
            .ok()
            .map(|t| Counters::parse(&t))
    }

    /// An fd that becomes readable on each OOM notice (and, on v1, when the cgroup is
    /// removed), plus what must stay open for it to work.
    fn arm(&self) -> std::io::Result<(OwnedFd, Option<std::fs::File>)> {
        use rustix::event::{eventfd, EventfdFlags};
        match self.version {
            CgroupVersion::V1 => {
                let efd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
                let control = std::fs::File::open(self.file())?;
                let line = format!(
                    "{} {}",
                    std::os::fd::AsRawFd::as_raw_fd(&efd),
                    std::os::fd::AsRawFd::as_raw_fd(&control)
                );
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(self.dir.join("cgroup.event_control"))?
                    .write_all(line.as_bytes())?;
                Ok((efd, Some(control)))
            }
            CgroupVersion::V2 => {
                use rustix::fs::inotify;
                let fd =
                    inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
                inotify::add_watch(&fd, self.file(), inotify::WatchFlags::MODIFY)?;
                Ok((fd, None))
            }
        }
    }
}

/// One thread waits on every container's notice fd (epoll) and wakes the container's
/// watch task: no thread per container, and no unsafe registration with tokio's reactor.
struct Notices {
    epoll: OwnedFd,
    entries: std::sync::Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

struct Entry {
    fd: OwnedFd,
    /// v1's `memory.oom_control`, which must stay open for the eventfd to fire.
    _keep: Option<std::fs::File>,
    wake: mpsc::UnboundedSender<()>,
}

impl Notices {
    /// The process's notice thread, started on first use; `None` if it could not be.
    fn get() -> Option<&'static Notices> {
        static NOTICES: OnceLock<Option<&'static Notices>> = OnceLock::new();
        *NOTICES.get_or_init(|| {
            let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).ok()?;
            let n: &'static Notices = Box::leak(Box::new(Notices {
                epoll,
                entries: std::sync::Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
            }));
            std::thread::Builder::new()
                .name("oom-notices".into())
                .spawn(move || n.run())
                .ok()?;
            Some(n)
        })
    }

    fn run(&self) {
        let mut events = Vec::with_capacity(64);
        loop {
            events.clear();
            if let Err(e) = epoll::wait(&self.epoll, spare_capacity(&mut events), None) {
                if e != rustix::io::Errno::INTR {
                    tracing::warn!(error = %e, "OOM notices stopped");
                    return;
                }
                continue;
            }
            let Ok(entries) = self.entries.lock() else {
                return;
            };
            for ev in &events {
                if let Some(e) = entries.get(&ev.data.u64()) {
                    drain(&e.fd);
                    let _ = e.wake.send(());
                }
            }
        }
    }

    fn add(
        &self,
        fd: OwnedFd,
        keep: Option<std::fs::File>,
    ) -> Option<(u64, mpsc::UnboundedReceiver<()>)> {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (wake, rx) = mpsc::unbounded_channel();
        let mut entries = self.entries.lock().ok()?;
        epoll::add(
            &self.epoll,
            &fd,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN,
        )
        .ok()?;
        entries.insert(
            token,
            Entry {
                fd,
                _keep: keep,
                wake,
            },
        );
        Some((token, rx))
    }

    fn remove(&self, token: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(e) = entries.remove(&token) {
                let _ = epoll::delete(&self.epoll, &e.fd);
            }
        }
    }
}

/// A running container's OOM watch: the task announcing notices, and what it has seen.
pub(super) struct OomWatch {
    token: u64,
    task: tokio::task::JoinHandle<()>,
    source: Source,
    last: Arc<std::sync::Mutex<Counters>>,
    announced: Arc<AtomicU64>,
}

impl Engine {
    /// Starts watching the container's memory cgroup; `None` when it has none (no memory
    /// controller, or the container is already gone), in which case the exit record alone
    /// tells of an OOM kill.
    pub(super) fn oom_watch(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Option<OomWatch> {
        let c = muelle_runtime::Container::load(self.containers.runtime_root(), &ctr.id).ok()?;
        let cg = c.cgroup().ok()?;
        let source = Source {
            version: cg.version(),
            dir: cg.path_for("memory")?,
        };
        let start = source.read()?;
        let (fd, keep) = match source.arm() {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(container = %ctr.id, error = %e, "no OOM notices");
                return None;
            }
        };
        let (token, mut wakes) = Notices::get()?.add(fd, keep)?;
        let last = Arc::new(std::sync::Mutex::new(start));
        let announced = Arc::new(AtomicU64::new(0));
        let task = {
            let engine = self.clone();
            let ctr = ctr.clone();
            let last = last.clone();
            let announced = announced.clone();
            let file = source.file();
            // containerd announces every v1 notice (the kernel signals each OOM episode,
            // with or without a kill); v2's file changes for other counters too.
            let every_wake = source.version == CgroupVersion::V1;
            tokio::spawn(async move {
                while wakes.recv().await.is_some() {
                    if !engine.oom_check(&ctr, &file, &last, &announced, every_wake) {
                        // The cgroup is gone: nothing more to notice.
                        break;
                    }
                }
            })
        };
        Some(OomWatch {
            token,
            task,
            source,
            last,
            announced,
        })
    }

    /// Reads the counters and announces `oom` when they moved (or, with `always`, in any
    /// case); false when they are unreadable (the cgroup is gone).
    fn oom_check(
        &self,
        ctr: &Ctr,
        file: &Path,
        last: &std::sync::Mutex<Counters>,
        announced: &AtomicU64,
        always: bool,
    ) -> bool {
        let Some(now) = std::fs::read_to_string(file)
            .ok()
            .map(|t| Counters::parse(&t))
        else {
            return false;
        };
        let news = {
            let Ok(mut l) = last.lock() else {
                return false;
            };
            let news = always || l.news(&now);
            *l = now;
            news
        };
        if news {
            announced.fetch_add(1, Ordering::Relaxed);
            self.container_event(&ctr.record(), "oom", &[]);
        }
        true
    }
}

impl OomWatch {
    /// Ends the watch at the container's exit (before its cgroup is removed): a change not
    /// yet announced is announced now, and an OOM kill the exit record reports but no
    /// notice saw (the watch could not keep up, or began late) gets its one notice.
    pub(super) async fn finish(self, engine: &Engine, ctr: &Ctr, oom_killed: bool) {
        if let Some(n) = Notices::get() {
            n.remove(self.token);
        }
        // The sender is gone with the entry: the task ends after what it has queued.
        let _ = self.task.await;
        engine.oom_check(ctr, &self.source.file(), &self.last, &self.announced, false);
        if oom_killed && self.announced.load(Ordering::Relaxed) == 0 {
            engine.container_event(&ctr.record(), "oom", &[]);
        }
    }
}

/// Empties the notice fd so that it waits for the next one.
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 512];
    while let Ok(n) = rustix::io::read(fd.as_fd(), &mut buf) {
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Counters;

    #[test]
    fn parses_both_versions() {
        let v1 = Counters::parse("oom_kill_disable 0\nunder_oom 1\noom_kill 2\n");
        assert_eq!(
            v1,
            Counters {
                oom: 0,
                oom_kill: 2,
                under_oom: true
            }
        );
        let v2 = Counters::parse("low 0\nhigh 0\nmax 12\noom 3\noom_kill 1\noom_group_kill 0\n");
        assert_eq!((v2.oom, v2.oom_kill, v2.under_oom), (3, 1, false));
        assert_eq!(Counters::parse("garbage\nx y\n"), Counters::default());
    }

    #[test]
    fn news_is_a_kill_an_oom_or_a_new_stall() {
        let base = Counters::default();
        assert!(!base.news(&base));
        assert!(base.news(&Counters {
            oom_kill: 1,
            ..base
        }));
        assert!(base.news(&Counters { oom: 1, ..base }));
        let stalled = Counters {
            under_oom: true,
            ..base
        };
        assert!(base.news(&stalled));
        assert!(!stalled.news(&stalled));
    }
}
