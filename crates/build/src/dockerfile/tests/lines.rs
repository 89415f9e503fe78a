//! Continuations, comments, blank lines and positions.

use super::{ok, second};
use crate::dockerfile::{parse_with_warnings, Pos};

#[test]
fn continuation_joined_as_dockerd_prints_it() {
    // dockerd 20.10 printed "Step 2/4 : RUN echo a     && echo b  && echo c" for this,
    // with an empty-continuation warning.
    let text = "FROM busybox\nRUN echo a \\\n    && echo b\\\n# comment\n\n  && echo c\nENV  a=\"x y\"   b=c\nLABEL   x=y  \n";
    let (d, warnings) = parse_with_warnings("Dockerfile", text).unwrap();
    let originals: Vec<_> = d.instructions.iter().map(|i| i.original.as_str()).collect();
    assert_eq!(
        originals,
        [
            "FROM busybox",
            "RUN echo a     && echo b  && echo c",
            "ENV  a=\"x y\"   b=c",
            "LABEL   x=y"
        ]
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].message,
        "Empty continuation line found in:\n    RUN echo a     && echo b  && echo c"
    );
    assert_eq!(d.instructions[2].pos, Pos { line: 7, column: 1 });
}

#[test]
fn comments_and_blank_lines_skipped() {
    let d = ok("# a comment\n\n   # indented comment\nFROM busybox\n\n\n# x\nRUN true\n");
    assert_eq!(d.instructions.len(), 2);
    assert_eq!(d.instructions[0].pos, Pos { line: 4, column: 1 });
    assert_eq!(d.instructions[1].pos, Pos { line: 8, column: 1 });
}

#[test]
fn indented_instruction_column() {
    let d = ok("FROM busybox\n    RUN true\n");
    assert_eq!(d.instructions[1].pos, Pos { line: 2, column: 5 });
    assert_eq!(d.instructions[1].original, "RUN true");
}

#[test]
fn continuation_blanks_after_escape_and_crlf() {
    let i = second("RUN echo a \\  \r\n  b\r\n");
    assert_eq!(i.original, "RUN echo a   b");
}

#[test]
fn byte_order_mark_dropped() {
    let d = ok("\u{feff}FROM busybox\n");
    assert_eq!(d.instructions[0].keyword, "FROM");
}

#[test]
fn last_line_without_newline_and_trailing_continuation() {
    let d = ok("FROM busybox\nRUN echo \\");
    assert_eq!(d.instructions[1].original, "RUN echo");
}

#[test]
fn keyword_case_insensitive() {
    let d = ok("from busybox\nrUn true\n");
    assert_eq!(d.instructions[0].keyword, "FROM");
    assert_eq!(d.instructions[1].keyword, "RUN");
    assert_eq!(d.instructions[1].original, "rUn true");
}

#[test]
fn hash_inside_instruction_is_not_a_comment() {
    let i = second("RUN echo a # not a comment\n");
    assert_eq!(i.original, "RUN echo a # not a comment");
}

#[test]
fn escaped_escape_does_not_continue() {
    // dockerd 20.10: "Step 2/3 : RUN echo a\\" then "Step 3/3 : RUN echo b".
    let d = ok("FROM busybox\nRUN echo a\\\\\nRUN echo b\n");
    assert_eq!(d.instructions.len(), 3);
    assert_eq!(d.instructions[1].original, "RUN echo a\\\\");
    let d = ok("FROM busybox\nRUN echo a \\\n\\\n b\n");
    assert_eq!(d.instructions[1].original, "RUN echo a  b");
}
