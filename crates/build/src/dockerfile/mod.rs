//! The Dockerfile parser (being written): `parse` and the variable substitution `expand`.

mod ast;

pub use ast::{
    CmdLine, Command, CopyArgs, Dockerfile, HealthArgs, Heredoc, Instruction, Pos, Source,
};
