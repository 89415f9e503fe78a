//! What `parse` reports: a `ParseError` naming the file, the place and Docker's message,
//! and the warnings a Dockerfile that parsed still earns (dockerd prints them).

use muelle_types::ErrorKind;

use super::ast::Pos;

/// Which of Docker's passes found the problem: dockerd words the two differently, so the
/// API can answer as it does (`failed to parse Dockerfile: …` for the line syntax,
/// `dockerfile parse error line N: …` for an instruction's arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The file is empty (not even a newline).
    Empty,
    /// Lines, directives, JSON, ENV/LABEL pairs, heredocs.
    Syntax,
    /// An instruction's keyword, flags or number of arguments.
    Instruction,
}

/// A Dockerfile Docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}:{}: {message}", pos.line, pos.column)]
pub struct ParseError {
    pub file: String,
    pub pos: Pos,
    /// Docker's wording, without its `dockerfile parse error line N:` prefix.
    pub message: String,
    pub phase: Phase,
}

impl ParseError {
    pub(crate) fn new(file: &str, pos: Pos, phase: Phase, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            pos,
            message: message.into(),
            phase,
        }
    }

    /// A bad Dockerfile is the caller's mistake.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidParameter
    }

    /// The message as dockerd 20.10's legacy builder answers a build with it.
    pub fn docker_message(&self) -> String {
        match self.phase {
            Phase::Empty => self.message.clone(),
            Phase::Syntax => format!("failed to parse Dockerfile: {}", self.message),
            Phase::Instruction => {
                format!(
                    "dockerfile parse error line {}: {}",
                    self.pos.line, self.message
                )
            }
        }
    }
}

/// Something Docker accepts but warns about. dockerd prints each `message` with a
/// `[WARNING]: ` prefix before the first step, then, once for all empty continuation lines,
/// `[WARNING]: Empty continuation lines will become errors in a future release.`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub pos: Pos,
    /// `Empty continuation line found in:\n    RUN a  b` (the joined instruction).
    pub message: String,
}
