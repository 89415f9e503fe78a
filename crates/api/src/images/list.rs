//! `GET /images/json`: the image list with Docker's filters (`before`, `since`, `until`,
//! `dangling`, `label`, `reference`), newest first.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::{Extension, Json};
use muelle_engine::{created, image_labels, Engine};
use muelle_image::ImageSummary;
use muelle_types::image as api;

use super::familiar_all;
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::Params;
use crate::time::{parse_until, unix_secs};
use crate::version::ApiVersion;

/// Go's `path.Match` for the `reference` filter: `*` and `?` never match `/`; `[...]`
/// classes are taken literally (no Docker client sends them).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn rec(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| rec(&p[1..], &t[i..])),
            Some('?') => t.first().is_some_and(|&c| c != '/') && rec(&p[1..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && rec(&p[1..], &t[1..]),
        }
    }
    rec(&p, &t)
}

/// Whether a familiar tag name (`busybox:latest`) matches a `reference` filter, as Docker
/// matches it against both the name with tag and the name alone.
fn reference_matches(pattern: &str, tag_name: &str) -> bool {
    if glob(pattern, tag_name) {
        return true;
    }
    let name = tag_name
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or(tag_name, |(n, _)| n);
    glob(pattern, name)
}

fn summary(image: &ImageSummary, tags: Vec<String>, version: ApiVersion) -> api::ImageSummary {
    api::ImageSummary {
        containers: -1,
        created: unix_secs(created(image)),
        id: image.id.to_string(),
        labels: image_labels(image),
        parent_id: String::new(),
        repo_digests: familiar_all(&image.repo_digests),
        repo_tags: tags,
        shared_size: -1,
        size: image.size,
        virtual_size: version.before(1, 44).then_some(image.size),
    }
}

const LIST_FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];

pub async fn list(
    State(engine): State<Arc<Engine>>,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> ApiResult<Json<Vec<api::ImageSummary>>> {
    let filters = params.filters(LIST_FILTERS)?;
    params.bool("all")?;
    params.bool("digests")?;
    params.bool("shared-size")?;
    let dangling = filters.bool("dangling")?;
    let until = filters
        .get("until")
        .iter()
        .map(|u| parse_until(u))
        .collect::<ApiResult<Vec<_>>>()?;
    let wanted_labels = filters.labels("label");
    let references: Vec<String> = filters.get("reference").to_vec();
    let before: Vec<String> = filters.get("before").to_vec();
    let since: Vec<String> = filters.get("since").to_vec();
    let images = blocking(&engine, move |e| {
        let resolve = |names: &[String]| -> ApiResult<Vec<Option<SystemTime>>> {
            names
                .iter()
                .map(|n| Ok(created(&e.images().image(n)?)))
                .collect()
        };
        let before = resolve(&before)?;
        let since = resolve(&since)?;
        let mut out = Vec::new();
        for image in e.images().list()? {
            let made = created(&image);
            if before.iter().any(|b| made >= *b) || since.iter().any(|s| made <= *s) {
                continue;
            }
            if until.iter().any(|u| made.is_none_or(|m| m >= *u)) {
                continue;
            }
            if let Some(d) = dangling {
                if d != image.repo_tags.is_empty() {
                    continue;
                }
            }
            let l = image_labels(&image);
            if !wanted_labels.iter().all(|(k, v)| match v {
                None => l.contains_key(k),
                Some(v) => l.get(k) == Some(v),
            }) {
                continue;
            }
            let mut tags = familiar_all(&image.repo_tags);
            if !references.is_empty() {
                tags.retain(|t| references.iter().any(|p| reference_matches(p, t)));
                if tags.is_empty() {
                    continue;
                }
            }
            out.push((made, summary(&image, tags, version)));
        }
        // Newest first, as Docker lists them.
        out.sort_by_key(|(made, _)| std::cmp::Reverse(*made));
        Ok(out.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(images))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("busy*", "busy/box"));
        assert!(glob("b?sybox", "busybox"));
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("alpine", "busybox:latest"));
        assert!(reference_matches("127.0.0.1:5000/x", "127.0.0.1:5000/x:1"));
    }
}
