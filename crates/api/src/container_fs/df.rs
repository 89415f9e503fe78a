//! `GET /system/df` (`docker system df`): the space images, containers and volumes take.

use std::time::SystemTime;

use axum::extract::State;
use axum::{Extension, Json};
use muelle_engine::containers::ContainerRecord;
use muelle_engine::familiar;
use muelle_image::ImageSummary;
use muelle_types::container::{ContainerSummary, SummaryHostConfig};
use muelle_types::image::ImageSummary as DfImage;
use muelle_types::system::{BuildCache, DiskUsage};
use muelle_types::volume::UsageData;

use super::Eng;
use crate::blocking::blocking;
use crate::containers::docker_state;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::time::{unix_of, unix_secs};
use crate::version::ApiVersion;

const DF_TYPES: &[&str] = &["container", "image", "volume", "build-cache"];

/// Go's zero time, for a cache record whose step has no creation time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A cached build step as `system df` lists build cache. Nothing holds a cached step while
/// no build runs, so none is in use; `Shared` when an image still names its result.
fn df_build_cache(c: muelle_engine::builds::CacheUsage) -> BuildCache {
    let created = c.created.unwrap_or_else(|| ZERO_TIME.to_string());
    BuildCache {
        id: c.id,
        parents: Vec::new(),
        kind: "regular".into(),
        description: c.description,
        in_use: false,
        shared: c.shared,
        size: i64::try_from(c.size).unwrap_or(i64::MAX),
        last_used_at: Some(created.clone()),
        created_at: created,
        usage_count: 0,
    }
}

/// A container as `system df` lists it: `ps`'s summary with sizes, its command unquoted,
/// no networks or mounts.
fn df_container(rec: &ContainerRecord, sizes: (i64, i64)) -> ContainerSummary {
    let mut command = vec![rec.path.clone()];
    command.extend(rec.args.iter().cloned());
    ContainerSummary {
        id: rec.id.clone(),
        names: vec![format!("/{}", rec.name)],
        image: rec.config.image.clone(),
        image_id: rec.image_id.clone(),
        command: command.join(" "),
        created: unix_of(&rec.created),
        ports: Vec::new(),
        size_rw: Some(sizes.0),
        size_root_fs: Some(sizes.1),
        labels: rec.config.labels.clone(),
        state: docker_state(rec).status,
        status: rec.status_text(SystemTime::now()),
        host_config: SummaryHostConfig {
            network_mode: rec.host_config.network_mode().to_string(),
        },
        network_settings: Default::default(),
        mounts: Vec::new(),
    }
}

fn df_image(image: &ImageSummary, containers: usize, version: ApiVersion) -> DfImage {
    DfImage {
        containers: containers as i64,
        created: unix_secs(muelle_engine::created(image)),
        id: image.id.to_string(),
        labels: muelle_engine::image_labels(image),
        parent_id: String::new(),
        repo_digests: image.repo_digests.iter().map(|t| familiar(t)).collect(),
        repo_tags: image.repo_tags.iter().map(|t| familiar(t)).collect(),
        // Layers shared between images are not told apart yet: each image's size counts
        // them, and nothing is reported shared (0, not Docker's "unknown" -1, which would
        // make the CLI count an image in use as reclaimable).
        shared_size: 0,
        size: image.size,
        virtual_size: version.before(1, 44).then_some(image.size),
    }
}

pub async fn df(
    State(engine): Eng,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> ApiResult<Json<DiskUsage>> {
    let types: Vec<String> = params
        .all("type")
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = types.iter().find(|t| !DF_TYPES.contains(&t.as_str())) {
        return Err(ApiError::bad_request(format!(
            "invalid type {bad:?}: must be one of {}",
            DF_TYPES.join(", ")
        )));
    }
    let want = move |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let out = blocking(&engine, move |e| {
        let records = e.containers().records();
        let mut out = DiskUsage::default();
        if want("image") {
            let images = e.images().list()?;
            let mut layers_size: u64 = 0;
            let mut list = Vec::new();
            for image in &images {
                layers_size += image.size;
                let id = image.id.to_string();
                let used = records.iter().filter(|r| r.image_id == id).count();
                list.push(df_image(image, used, version));
            }
            out.layers_size = Some(layers_size);
            out.images = Some(list);
        }
        if want("container") {
            out.containers = Some(
                records
                    .iter()
                    .map(|r| df_container(r, e.container_sizes(&r.id)))
                    .collect(),
            );
        }
        if want("volume") {
            out.volumes = Some(
                e.volume_usage()
                    .into_iter()
                    .map(|(v, size, refs)| {
                        let usage = UsageData {
                            size: i64::try_from(size).unwrap_or(i64::MAX),
                            ref_count: refs as i64,
                        };
                        crate::volumes::to_docker(e, v, Some(usage))
                    })
                    .collect(),
            );
        }
        if want("build-cache") {
            out.build_cache = Some(
                e.build_cache_usage()?
                    .into_iter()
                    .map(df_build_cache)
                    .collect(),
            );
        }
        Ok(out)
    })
    .await?;
    Ok(Json(out))
}
