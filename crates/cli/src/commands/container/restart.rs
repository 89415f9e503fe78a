//! `muelle restart`: `POST /containers/{id}/restart` with `stop`'s flags.

use anyhow::Result;

pub use super::stop::Args;

use super::stop::stop_or_restart;
use crate::Ctx;

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    stop_or_restart(ctx, a, "restart").await
}
