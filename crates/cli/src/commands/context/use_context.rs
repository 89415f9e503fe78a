//! `muelle context use NAME`: makes NAME current for muelle and the docker CLI alike
//! (`currentContext` in config.json; removed for `default`).

use anyhow::Result;

use super::{fail, Env};
use crate::contexts::DEFAULT;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "CONTEXT")]
    name: String,
}

pub fn run(env: &Env, a: Args) -> Result<()> {
    if a.name != DEFAULT {
        env.store
            .load(&a.name)
            .map_err(|e| fail(format!("{e:#}")))?;
    }
    env.store
        .set_configured(&a.name)
        .map_err(|e| fail(format!("{e:#}")))?;
    crate::out(&format!("{}\n", a.name))?;
    eprintln!("Current context is now {:?}", a.name);
    Ok(())
}
