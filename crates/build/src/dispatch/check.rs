//! What dockerd refuses while it parses the Dockerfile, before any step runs: HEALTHCHECK's
//! flag values, ONBUILD's forbidden triggers, an empty SHELL. `dispatch` refuses them too;
//! `precheck` lets the executor fail as early as dockerd does (its message then reads
//! `dockerfile parse error line N: …`, see `DispatchError::dockerd_message`).

use super::config::check_trigger;
use super::error::DispatchError;
use super::health;
use crate::dockerfile::{Command, Instruction};

/// Checks every instruction for the refusals dockerd makes at parse time.
pub fn precheck(instructions: &[Instruction]) -> Result<(), DispatchError> {
    for ins in instructions {
        check_one(ins)?;
    }
    Ok(())
}

fn check_one(ins: &Instruction) -> Result<(), DispatchError> {
    let line = ins.pos.line;
    match &ins.command {
        Command::Healthcheck(Some(args)) => health::check(line, args),
        Command::Shell(shell) if shell.is_empty() => Err(DispatchError::parse(
            line,
            "SHELL requires at least one argument",
        )),
        // Only the trigger's keyword: dockerd reads the rest when a child image runs it.
        Command::Onbuild(inner) => check_trigger(line, &inner.keyword),
        _ => Ok(()),
    }
}
