//! `GET /containers/{id}/changes` (`docker diff`): what the container's writable layer
//! added, changed and deleted.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::container::FilesystemChange;

use super::{fs_err, Eng};
use crate::error::ApiResult;

pub async fn changes(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    let changes = engine
        .container_changes(&id)
        .await
        .map_err(|e| fs_err(&id, e))?;
    // Docker answers `null` when nothing changed (a nil slice); clients expect that.
    let body: Option<Vec<FilesystemChange>> = (!changes.is_empty()).then(|| {
        changes
            .iter()
            .map(|c| FilesystemChange {
                path: c.path.clone(),
                kind: c.kind.code(),
            })
            .collect()
    });
    Ok(Json(body).into_response())
}
