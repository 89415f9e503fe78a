//! Parser directives at the top of the file.

use super::{err, ok};
use crate::dockerfile::{Command, Phase};

#[test]
fn all_three_directives() {
    let d = ok("# syntax=docker/dockerfile:1\n# escape=`\n#check=skip=all\nFROM busybox\n");
    assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(d.escape, '`');
    assert_eq!(d.check.as_deref(), Some("skip=all"));
}

#[test]
fn names_case_insensitive_and_blanks_allowed() {
    let d = ok("#  ESCAPE  =  `  \nFROM busybox\n");
    assert_eq!(d.escape, '`');
}

#[test]
fn only_before_anything_else() {
    // The reference's examples: after a comment, a blank line or an instruction a
    // directive is just a comment.
    assert_eq!(
        ok("# About my dockerfile\n# escape=`\nFROM busybox\n").escape,
        '\\'
    );
    assert_eq!(ok("\n# escape=`\nFROM busybox\n").escape, '\\');
    assert_eq!(ok("FROM busybox\n# escape=`\n").escape, '\\');
    assert_eq!(
        ok("# unknowndirective=value\n# escape=`\nFROM busybox\n").escape,
        '\\'
    );
}

#[test]
fn backtick_escape_continues_lines() {
    // The reference's Windows example.
    let d = ok("# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n");
    assert_eq!(d.instructions.len(), 3);
    let d = ok("# escape=`\nFROM busybox\nENV a=b `\n  c=d\n");
    assert_eq!(d.instructions[1].original, "ENV a=b   c=d");
    assert_eq!(
        d.instructions[1].command,
        Command::Env(vec![("a".into(), "b".into()), ("c".into(), "d".into())])
    );
}

#[test]
fn invalid_and_repeated_escape() {
    let e = err("# escape=x\nFROM busybox\n");
    assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
    assert_eq!(e.phase, Phase::Syntax);
    assert_eq!(e.pos.line, 1);
    let e = err("# escape=`\n# escape=\\\nFROM busybox\n");
    assert_eq!(e.message, "only one escape parser directive can be used");
    assert_eq!(e.pos.line, 2);
}
