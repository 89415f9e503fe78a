//! `muelle logout [SERVER]`: forgets the credentials stored in config.json.

use anyhow::Result;

use super::login::server_key;
use crate::config::ConfigFile;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let server = server_key(a.server.as_deref());
    let mut cfg = ConfigFile::load(&ctx.config_dir)?;
    if !cfg.remove_auth(&server) {
        return crate::out(&format!("Not logged in to {server}\n"));
    }
    crate::out(&format!("Removing login credentials for {server}\n"))?;
    cfg.save()
}
