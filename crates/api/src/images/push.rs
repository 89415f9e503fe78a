//! `POST /images/{name}/push`: a push of one tag, or of every tag of a repository, streamed
//! as Docker's progress messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::HeaderMap;
use axum::response::Response;
use muelle_engine::Engine;
use muelle_image::compress::Compression;
use muelle_image::images::{PushEvent, PushOptions, PushProgress};
use muelle_image::reference::Reference;
use muelle_image::Digest;
use muelle_types::image::{Aux, JsonMessage, ProgressDetail, PushResult};

use super::pull::UPDATE_EVERY;
use super::{parse_reference, pull_reference, short};
use crate::blocking::blocking;
use crate::error::{ApiError, ApiResult};
use crate::request::{registry_auth, Params};
use crate::stream::{self, Kind, Sink};

struct PushMessages {
    sink: Sink,
    /// The config blob is pushed like a layer but Docker does not show it.
    config: Digest,
    state: Mutex<PushState>,
}

#[derive(Default)]
struct PushState {
    queued: usize,
    last_update: HashMap<Digest, Instant>,
    result: Option<(String, Digest, u64)>,
}

const UPLOAD_SLOTS: usize = 5;

impl PushProgress for PushMessages {
    fn event(&self, event: PushEvent) {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sink = &self.sink;
        let layer_of = |d: &Digest| (d != &self.config).then(|| short(d));
        match event {
            PushEvent::Preparing { layer, .. } => {
                if let Some(id) = layer_of(&layer) {
                    st.queued += 1;
                    sink.status("Preparing", Some(&id));
                    if st.queued > UPLOAD_SLOTS {
                        sink.status("Waiting", Some(&id));
                    }
                }
            }
            PushEvent::Pushing { layer, done, total } => {
                if let Some(id) = layer_of(&layer) {
                    let now = Instant::now();
                    let due = st
                        .last_update
                        .get(&layer)
                        .is_none_or(|t| now.duration_since(*t) >= UPDATE_EVERY);
                    if due || done >= total {
                        st.last_update.insert(layer.clone(), now);
                        sink.json(&stream::progress("Pushing", &id, done, total));
                    }
                }
            }
            PushEvent::Pushed { layer } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status("Pushed", Some(&id));
                }
            }
            PushEvent::AlreadyExists { layer } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status("Layer already exists", Some(&id));
                }
            }
            PushEvent::Mounted { layer, from } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status(&format!("Mounted from {from}"), Some(&id));
                }
            }
            PushEvent::ManifestPushed { tag, digest, size } => {
                st.result = Some((tag, digest, size));
            }
            _ => {}
        }
    }
}

/// The names a push covers: the one asked for, or with no tag at all every tag of the
/// repository (Docker's behaviour for an empty `tag`).
fn push_targets(engine: &Engine, name: &str, tag: Option<&str>) -> ApiResult<Vec<Reference>> {
    let base = parse_reference(name)?;
    if let Some(t) = tag {
        return Ok(vec![pull_reference(name, Some(t))?]);
    }
    let explicit =
        name.contains('@') || name.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
    if explicit {
        return Ok(vec![base]);
    }
    let repo = base.repository();
    let mut out = Vec::new();
    for image in engine.images().list()? {
        for t in &image.repo_tags {
            if let Ok(r) = Reference::parse(t) {
                if r.repository() == repo {
                    out.push(r);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::not_found(format!(
            "An image does not exist locally with the tag: {}",
            base.familiar_name()
        )));
    }
    out.sort_by_key(|r| r.to_string());
    Ok(out)
}

pub(super) async fn push(
    engine: Arc<Engine>,
    name: String,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let credentials = registry_auth(&headers)?;
    let tag = params.string("tag").map(str::to_string);
    // muelle's own parameter (Docker clients never send it): how layers stored uncompressed
    // are compressed, gzip unless asked.
    let mut options = PushOptions::default();
    if let Some(c) = params.string("compression").filter(|c| !c.is_empty()) {
        options.compression = Compression::parse(c).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid compression {c:?}: expected \"gzip\" or \"zstd\""
            ))
        })?;
    }
    let targets = blocking(&engine, move |e| {
        let targets = push_targets(e, &name, tag.as_deref())?;
        targets
            .into_iter()
            .map(|r| {
                let id = e
                    .images()
                    .image(&r.to_string())
                    .map_err(|err| match err {
                        muelle_image::ImageError::NotFound { .. } => ApiError::not_found(format!(
                            "An image does not exist locally with the tag: {}",
                            r.familiar()
                        )),
                        other => other.into(),
                    })?
                    .id;
                Ok((r, id))
            })
            .collect::<ApiResult<Vec<_>>>()
    })
    .await?;
    let (sink, rx) = Sink::new();
    tokio::spawn(async move {
        if let Some((first, _)) = targets.first() {
            sink.status(
                &format!("The push refers to repository [{}]", first.repository()),
                None,
            );
        }
        for (reference, id) in targets {
            let progress = PushMessages {
                sink: sink.clone(),
                config: id,
                state: Mutex::new(PushState::default()),
            };
            match engine
                .push_with(&reference, credentials.clone(), options, &progress)
                .await
            {
                Ok(pushed) => {
                    sink.status(
                        &format!(
                            "{}: digest: {} size: {}",
                            pushed.tag, pushed.digest, pushed.size
                        ),
                        None,
                    );
                    sink.json(&JsonMessage {
                        progress_detail: Some(ProgressDetail::default()),
                        aux: Some(Aux::Push(PushResult {
                            tag: pushed.tag,
                            digest: pushed.digest.to_string(),
                            size: pushed.size,
                        })),
                        ..Default::default()
                    });
                }
                Err(e) => {
                    sink.fail(e.into());
                    return;
                }
            }
        }
    });
    Ok(stream::respond(rx, Kind::Json, "application/json").await)
}
