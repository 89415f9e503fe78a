//! `POST /images/create` with `fromImage`: a pull, streamed as Docker's progress messages
//! (`fromSrc` is an import, see [`super::archive`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use muelle_engine::Engine;
use muelle_image::images::PullEvent;
use muelle_image::{Digest, PullProgress};
use muelle_types::image::JsonMessage;

use super::{archive, parse_platform, pull_reference, short};
use crate::error::{ApiError, ApiResult};
use crate::request::{registry_auth, Params};
use crate::stream::{self, Kind, Sink};

/// Turns pull events into Docker's progress messages.
struct PullMessages {
    sink: Sink,
    state: Mutex<PullState>,
}

struct PullState {
    /// `id` of the first line: the tag or digest asked for.
    asked: String,
    repo_path: String,
    queued: usize,
    last_update: HashMap<Digest, Instant>,
    resolved: Option<Digest>,
    fetched_anything: bool,
}

/// Layers the image service downloads at once; later ones are announced as waiting, as
/// Docker does for layers beyond its `max-concurrent-downloads`.
const DOWNLOAD_SLOTS: usize = 3;
/// Byte counts are sent at most this often per layer (Docker throttles the same way).
pub(super) const UPDATE_EVERY: Duration = Duration::from_millis(100);

impl PullMessages {
    fn state(&self) -> std::sync::MutexGuard<'_, PullState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PullProgress for PullMessages {
    fn event(&self, event: PullEvent) {
        let mut st = self.state();
        let sink = &self.sink;
        match event {
            PullEvent::Resolved { digest, .. } => {
                st.resolved = Some(digest);
                sink.json(&JsonMessage {
                    status: Some(format!("Pulling from {}", st.repo_path)),
                    id: Some(st.asked.clone()),
                    ..Default::default()
                });
            }
            PullEvent::Waiting { layer, .. } => {
                st.queued += 1;
                sink.status("Pulling fs layer", Some(&short(&layer)));
                if st.queued > DOWNLOAD_SLOTS {
                    sink.status("Waiting", Some(&short(&layer)));
                }
            }
            PullEvent::Downloading { layer, done, total } => {
                st.fetched_anything = true;
                let now = Instant::now();
                let due = st
                    .last_update
                    .get(&layer)
                    .is_none_or(|t| now.duration_since(*t) >= UPDATE_EVERY);
                if due || done >= total {
                    st.last_update.insert(layer.clone(), now);
                    sink.json(&stream::progress(
                        "Downloading",
                        &short(&layer),
                        done,
                        total,
                    ));
                }
            }
            PullEvent::Verifying { layer } => {
                sink.status("Verifying Checksum", Some(&short(&layer)));
            }
            PullEvent::DownloadComplete { layer } => {
                sink.status("Download complete", Some(&short(&layer)));
            }
            PullEvent::Extracting { layer } => {
                st.fetched_anything = true;
                sink.status("Extracting", Some(&short(&layer)));
            }
            PullEvent::AlreadyExists { layer } => {
                sink.status("Already exists", Some(&short(&layer)));
            }
            PullEvent::Done { layer } => {
                sink.status("Pull complete", Some(&short(&layer)));
            }
            _ => {}
        }
    }
}

pub async fn create(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    params: Params,
    body: Body,
) -> ApiResult<Response> {
    if let Some(src) = params.string("fromSrc") {
        return archive::import(engine, params.clone(), src.to_string(), body).await;
    }
    let from = params.string("fromImage").ok_or_else(|| {
        ApiError::bad_request("missing query parameter: fromImage (or fromSrc to import)")
    })?;
    let reference = pull_reference(from, params.string("tag"))?;
    let platform = parse_platform(&params)?;
    let credentials = registry_auth(&headers)?;
    let (sink, rx) = Sink::new();
    let asked = reference
        .digest()
        .map(Digest::to_string)
        .or_else(|| reference.tag().map(str::to_string))
        .unwrap_or_default();
    tokio::spawn(async move {
        let name = reference.to_string();
        let previous = {
            let e = engine.clone();
            tokio::task::spawn_blocking(move || {
                e.images().image(&name).ok().map(|s| s.target.digest)
            })
            .await
            .ok()
            .flatten()
        };
        let progress = PullMessages {
            sink: sink.clone(),
            state: Mutex::new(PullState {
                asked,
                repo_path: reference.path().to_string(),
                queued: 0,
                last_update: HashMap::new(),
                resolved: None,
                fetched_anything: false,
            }),
        };
        match engine
            .pull(&reference, platform, credentials, &progress)
            .await
        {
            Ok(_) => {
                let st = progress.state();
                if let Some(d) = &st.resolved {
                    sink.status(&format!("Digest: {d}"), None);
                }
                let up_to_date =
                    !st.fetched_anything && previous.is_some() && previous == st.resolved;
                let status = if up_to_date {
                    format!("Status: Image is up to date for {}", reference.familiar())
                } else {
                    format!(
                        "Status: Downloaded newer image for {}",
                        reference.familiar()
                    )
                };
                sink.status(&status, None);
            }
            Err(e) => sink.fail(e.into()),
        }
    });
    Ok(stream::respond(rx, Kind::Json, "application/json").await)
}
