//! The base image's ONBUILD triggers: each stored text parsed on its own, as dockerd does
//! (a single instruction each, read with the default escape character), into the
//! instructions the executor dispatches before the stage's own; the triggers dockerd
//! refuses (ONBUILD, FROM, MAINTAINER) refused.

use muelle_image::manifest::ContainerConfig;

use super::config::check_trigger;
use super::error::DispatchError;
use crate::dockerfile::Instruction;

/// Triggers of the base image's OnBuild, parsed, to run before the stage's own instructions.
/// dockerd parses each trigger with the default escape (`\`) whatever the Dockerfile's
/// (`_escape`, kept for the signature); substitution when they are dispatched uses the
/// stage's.
pub fn onbuild_triggers(
    base: &ContainerConfig,
    _escape: char,
) -> Result<Vec<Instruction>, DispatchError> {
    let mut out = Vec::new();
    for trigger in base.on_build.as_deref().unwrap_or_default() {
        let mut parsed = parse_trigger(trigger)?;
        let ins = match (parsed.pop(), parsed.is_empty()) {
            (Some(ins), true) => ins,
            _ => {
                return Err(DispatchError::Invalid(
                    "onbuild trigger should be a single expression".into(),
                ))
            }
        };
        check_trigger(ins.pos.line, &ins.keyword)?;
        out.push(ins);
    }
    Ok(out)
}

/// One trigger's text as instructions.
fn parse_trigger(text: &str) -> Result<Vec<Instruction>, DispatchError> {
    crate::dockerfile::parse("ONBUILD", text)
        .map(|d| d.instructions)
        .map_err(|e| DispatchError::Invalid(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_triggers_no_instructions() {
        assert!(onbuild_triggers(&ContainerConfig::default(), '\\')
            .unwrap()
            .is_empty());
    }
}
