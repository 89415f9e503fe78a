//! Tests of the parser, one file per concept, with Dockerfile snippets from Docker's
//! reference and what dockerd 20.10 answered to them.

mod directives;
mod expand;
mod heredoc;
mod instructions;
mod lines;
mod props;
mod words;

use super::{parse, Command, Dockerfile, Instruction, ParseError};

/// Parses or fails the test with the error.
fn ok(text: &str) -> Dockerfile {
    match parse("Dockerfile", text) {
        Ok(d) => d,
        Err(e) => panic!("{text:?} did not parse: {e}"),
    }
}

/// The error `text` must give.
fn err(text: &str) -> ParseError {
    match parse("Dockerfile", text) {
        Ok(d) => panic!("{text:?} parsed: {d:?}"),
        Err(e) => e,
    }
}

/// The only instruction after `FROM busybox`.
fn second(text: &str) -> Instruction {
    let d = ok(&format!("FROM busybox\n{text}"));
    assert_eq!(d.instructions.len(), 2, "{:?}", d.instructions);
    d.instructions[1].clone()
}

fn cmd(text: &str) -> Command {
    second(text).command
}
