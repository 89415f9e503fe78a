//! The Dockerfile parser (being written): `parse` and the variable substitution `expand`.

mod ast;

pub use ast::{
    CmdLine, Command, CopyArgs, Dockerfile, HealthArgs, Heredoc, Instruction, Pos, Source,
};
// LEAD-STUB (uncommitted)
#[derive(Debug, thiserror::Error)]
#[error("{file}:{}:{}: {message}", pos.line, pos.column)]
pub struct ParseError {
    pub file: String,
    pub pos: Pos,
    pub message: String,
}
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExpandError(pub String);
pub fn parse(file: &str, _text: &str) -> Result<Dockerfile, ParseError> {
    Err(ParseError {
        file: file.into(),
        pos: Pos::default(),
        message: "stub".into(),
    })
}
pub fn expand(
    word: &str,
    _escape: char,
    _lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    Ok(word.into())
}
