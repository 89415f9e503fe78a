//! `muelle restart`: `POST /containers/{id}/restart` with `stop`'s flags.

use anyhow::Result;

use super::stop::{stop_or_restart, Args};
use crate::Ctx;

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    stop_or_restart(ctx, a, "restart").await
}
