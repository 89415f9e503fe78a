//! `muelle context show`: the name of the context commands use now.

use anyhow::Result;

use super::Env;

pub fn run(env: &Env) -> Result<()> {
    crate::out(&format!("{}\n", env.current))
}
