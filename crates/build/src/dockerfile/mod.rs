//! The Dockerfile parser, as Docker reads a Dockerfile: `parse` gives the instructions with
//! their raw arguments and where they were written; `expand` / `expand_words` substitute
//! variables when the dispatcher knows their values.
//!
//! The pipeline follows BuildKit's two passes: `lines` (directives, comments,
//! continuations, heredoc bodies) → `node` (keyword, flag words and arguments cut per
//! keyword, heredocs attached) → `instructions` (flags checked with `flags`, argument
//! counts, Docker's refusals) → the `ast`.
//!
//! What the dispatcher receives is raw: ENV/LABEL/ARG keys and values keep their quotes
//! and escapes (`LABEL a="b c"` gives `("a", "\"b c\"")`; the legacy `ENV k v w` gives
//! `("k", "v w")`), COPY sources and FROM images keep `$`; the dispatcher runs them through
//! `expand`, which removes quotes and escapes as BuildKit's lexer does (or `expand_words`
//! for EXPOSE/VOLUME words, `expand_heredoc` for the body of a COPY heredoc whose
//! `expand` is set). Heredoc bodies are already chomped for `<<-`. A CMD/ENTRYPOINT/RUN
//! with no arguments is `Shell("")`. Two things Docker does at parse time are done here too:
//! a stage name is lower-cased (`AS Build` names `build`) and EXPOSE's words are sorted.
//!
//! Errors carry Docker's message and the phase Docker found them in, so the API can answer
//! with dockerd's wording (`ParseError::docker_message`); `parse_with_warnings` also gives
//! the warnings dockerd prints (empty continuation lines).
//!
//! Where Docker is more lenient than this parser: an ONBUILD trigger is parsed and checked
//! here (Docker stores `ONBUILD COPY a` or `ONBUILD FOO` unchecked and fails only in the
//! child build), because the syntax tree holds the trigger as an `Instruction`.

mod ast;
mod directives;
mod error;
mod expand;
mod flags;
mod heredoc;
mod instructions;
mod lines;
mod node;
mod pattern;
mod words;

#[cfg(test)]
mod tests;

pub use ast::{
    CmdLine, Command, CopyArgs, Dockerfile, HealthArgs, Heredoc, Instruction, Pos, Source,
};
pub use error::{ParseError, Phase, Warning};
pub use expand::{expand, expand_heredoc, expand_words, ExpandError};

use lines::Reader;

/// The text Docker stores in the image config's `OnBuild` for an ONBUILD trigger (BuildKit's
/// `Expression`): the trigger's own text, each heredoc's body and delimiter appended on
/// their lines so that parsing it again gives the same instruction.
pub fn trigger_text(trigger: &Instruction) -> String {
    let mut text = trigger.original.clone();
    let docs: Vec<&Heredoc> = match &trigger.command {
        Command::Run { heredocs, .. } => heredocs.iter().collect(),
        Command::Copy(c) | Command::Add(c) => c
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Heredoc(h) => Some(h),
                Source::Path(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for doc in docs {
        text.push('\n');
        text.push_str(&doc.content);
        text.push_str(&doc.name);
    }
    text
}

/// Parses a Dockerfile named `file` (for error messages). A file without FROM parses: the
/// dispatcher reports that.
pub fn parse(file: &str, text: &str) -> Result<Dockerfile, ParseError> {
    parse_with_warnings(file, text).map(|(d, _)| d)
}

/// `parse`, with the warnings dockerd prints for a Dockerfile it accepts (empty lines
/// inside a continuation).
pub fn parse_with_warnings(
    file: &str,
    text: &str,
) -> Result<(Dockerfile, Vec<Warning>), ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(
            file,
            Pos { line: 1, column: 1 },
            Phase::Empty,
            format!("the Dockerfile ({file}) cannot be empty"),
        ));
    }
    let mut reader = Reader::new(text);
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    loop {
        let logical = match reader.next_logical() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                let pos = Pos {
                    line: e.line,
                    column: 1,
                };
                return Err(ParseError::new(file, pos, Phase::Syntax, e.message));
            }
        };
        let node = node::node(&logical.text, logical.pos, &mut reader)
            .map_err(|(pos, message)| ParseError::new(file, pos, Phase::Syntax, message))?;
        if logical.empty_continuation {
            warnings.push(Warning {
                pos: logical.pos,
                message: format!("Empty continuation line found in:\n    {}", node.original),
            });
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        let pos = Pos {
            line: reader.current_line().max(1),
            column: 1,
        };
        return Err(ParseError::new(
            file,
            pos,
            Phase::Syntax,
            "file with no instructions",
        ));
    }
    let mut instructions = Vec::with_capacity(nodes.len());
    for node in nodes {
        let pos = node.pos;
        let ins = instructions::instruction(node)
            .map_err(|message| ParseError::new(file, pos, Phase::Instruction, message))?;
        instructions.push(ins);
    }
    let d = reader.directives;
    Ok((
        Dockerfile {
            escape: d.escape,
            syntax: d.syntax,
            check: d.check,
            instructions,
        },
        warnings,
    ))
}
