//! `muelle pause`: `POST /containers/{id}/pause` for each name.

use anyhow::Result;

use super::calls::{post_each, NamesArgs};
use crate::Ctx;

pub async fn run(ctx: &Ctx, a: NamesArgs) -> Result<()> {
    let client = ctx.client().await?;
    post_each(&client, &a.names, "pause", "").await
}
