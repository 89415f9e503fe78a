//! The base image's ONBUILD triggers: each stored text parsed as a one-line Dockerfile
//! (with the stage's escape character) into the instructions the executor dispatches
//! before the stage's own, refusing the triggers dockerd refuses.

use muelle_image::manifest::ContainerConfig;

use super::config::check_trigger;
use super::error::DispatchError;
use crate::dockerfile::Instruction;

/// Triggers of the base image's OnBuild, parsed, to run before the stage's own instructions.
pub fn onbuild_triggers(
    base: &ContainerConfig,
    escape: char,
) -> Result<Vec<Instruction>, DispatchError> {
    let mut out = Vec::new();
    for trigger in base.on_build.as_deref().unwrap_or_default() {
        for ins in parse_trigger(trigger, escape)? {
            check_trigger(ins.pos.line, &ins.keyword)?;
            out.push(ins);
        }
    }
    Ok(out)
}

/// One trigger's text as instructions. The parser (`crate::dockerfile::parse`) decides
/// what a trigger means; the `# escape=` directive carries the stage's escape character
/// into it (dockerd parses triggers with the Dockerfile's escape token).
fn parse_trigger(text: &str, escape: char) -> Result<Vec<Instruction>, DispatchError> {
    let source = if escape == '\\' {
        text.to_string()
    } else {
        format!("# escape={escape}\n{text}")
    };
    standin_parse(&source)
}

/// STAND-IN for `crate::dockerfile::parse("ONBUILD", source).map(|d| d.instructions)`
/// (its error mapped with `DispatchError::Unsupported(format!("invalid ONBUILD trigger:
/// {e}"))`): the parser is not on this branch yet, so every trigger is refused.
fn standin_parse(source: &str) -> Result<Vec<Instruction>, DispatchError> {
    Err(DispatchError::Unsupported(format!(
        "invalid ONBUILD trigger: the Dockerfile parser is not available ({source})"
    )))
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
