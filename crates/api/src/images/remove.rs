//! `DELETE /images/{name}`: untags a name, and deletes the image when it was its last.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use muelle_engine::{familiar, Engine};
use muelle_image::images::Removed;
use muelle_types::image::ImageDeleteItem;

use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::Params;

/// What a removal did, as Docker reports it.
pub(super) fn delete_items(removed: &[Removed]) -> Vec<ImageDeleteItem> {
    removed
        .iter()
        .map(|r| match r {
            Removed::Untagged(n) => ImageDeleteItem::Untagged(familiar(n)),
            Removed::Deleted(d) => ImageDeleteItem::Deleted(d.to_string()),
        })
        .collect()
}

pub async fn delete(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<Vec<ImageDeleteItem>>> {
    let force = params.bool("force")?;
    let noprune = params.bool("noprune")?;
    let removed = blocking(&engine, move |e| Ok(e.remove_image(&name, force, noprune)?)).await?;
    Ok(Json(delete_items(&removed)))
}
