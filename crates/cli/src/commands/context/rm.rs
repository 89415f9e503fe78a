//! `muelle context rm [-f] NAME...`: removes stored contexts; `default` cannot be, the
//! current one only with `-f` (which makes `default` current again).

use anyhow::Result;

use super::{fail, Env};
use crate::contexts::DEFAULT;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force the removal of a context in use
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "CONTEXT")]
    names: Vec<String>,
}

pub fn run(env: &Env, a: Args) -> Result<()> {
    let configured = env.store.configured().unwrap_or_default();
    let mut errors = Vec::new();
    for name in &a.names {
        if name == DEFAULT {
            errors.push(format!("context {name:?} cannot be removed"));
            continue;
        }
        if !env.store.exists(name) {
            errors.push(format!("context {name:?} does not exist"));
            continue;
        }
        if *name == configured {
            if !a.force {
                errors.push(format!(
                    "context {name:?} is in use, set -f flag to force remove"
                ));
                continue;
            }
            if let Err(e) = env.store.set_configured(DEFAULT) {
                errors.push(format!("{e:#}"));
                continue;
            }
        }
        match env.store.remove(name) {
            Ok(()) => crate::out(&format!("{name}\n"))?,
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(fail(errors.join("\n")))
}
