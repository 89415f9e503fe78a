//! Heredocs, with the reference's examples.

use super::{cmd, err, ok};
use crate::dockerfile::{CmdLine, Command, Heredoc, Source};

fn doc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        expand,
        chomp,
    }
}

fn run_parts(c: Command) -> (CmdLine, Vec<Heredoc>) {
    match c {
        Command::Run { cmd, heredocs, .. } => (cmd, heredocs),
        other => panic!("not a RUN: {other:?}"),
    }
}

#[test]
fn run_script() {
    let text = "FROM debian\nRUN <<EOT bash\n  set -ex\n  apt-get update\n  apt-get install -y vim\nEOT\nRUN true\n";
    let d = ok(text);
    assert_eq!(d.instructions.len(), 3);
    let (cmd, docs) = run_parts(d.instructions[1].command.clone());
    assert_eq!(cmd, CmdLine::Shell("<<EOT bash".into()));
    assert_eq!(
        docs,
        [doc(
            "EOT",
            "  set -ex\n  apt-get update\n  apt-get install -y vim\n",
            true,
            false
        )]
    );
    assert_eq!(d.instructions[1].original, "RUN <<EOT bash");
    assert_eq!(d.instructions[2].pos.line, 7);
}

#[test]
fn stdin_of_a_command() {
    let (cmd, docs) = run_parts(super::cmd("RUN python3 <<EOF\nprint(\"hi\")\nEOF\n"));
    assert_eq!(cmd, CmdLine::Shell("python3 <<EOF".into()));
    assert_eq!(docs, [doc("EOF", "print(\"hi\")\n", true, false)]);
}

#[test]
fn several_on_one_line() {
    // The reference: two heredocs, each a file for the command.
    let (cmd, docs) = run_parts(super::cmd(
        "RUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n",
    ));
    assert_eq!(
        cmd,
        CmdLine::Shell("<<FILE1 cat > file1 && <<FILE2 cat > file2".into())
    );
    assert_eq!(
        docs,
        [
            doc("FILE1", "I am\nfirst\n", true, false),
            doc("FILE2", "I am\nsecond\n", true, false)
        ]
    );
}

#[test]
fn quoted_delimiters_do_not_expand() {
    let (_, docs) = run_parts(cmd("RUN <<\"EOF\" cat\n$HOME\nEOF\n"));
    assert_eq!(docs, [doc("EOF", "$HOME\n", false, false)]);
    let (_, docs) = run_parts(cmd("RUN <<'EOF' cat\n$HOME\nEOF\n"));
    assert_eq!(docs, [doc("EOF", "$HOME\n", false, false)]);
    let (_, docs) = run_parts(cmd("RUN <<E\"OF\" cat\nx\nEOF\n"));
    assert_eq!(docs, [doc("EOF", "x\n", false, false)]);
}

#[test]
fn chomp_strips_leading_tabs() {
    let (_, docs) = run_parts(cmd("RUN <<-EOF sh\n\t\techo hi\n\t  x\n\tEOF\n"));
    assert_eq!(docs, [doc("EOF", "echo hi\n  x\n", true, true)]);
}

#[test]
fn copy_heredoc_source() {
    let c = cmd("COPY <<EOF /etc/motd\nHello\nEOF\n");
    let Command::Copy(args) = c else {
        panic!("{c:?}")
    };
    assert_eq!(args.dest, "/etc/motd");
    assert_eq!(
        args.sources,
        [Source::Heredoc(doc("EOF", "Hello\n", true, false))]
    );
}

#[test]
fn copy_mixed_sources_and_multiple_heredocs() {
    let c = cmd("COPY a <<X <<Y /dst/\nx\nX\ny\nY\n");
    let Command::Copy(args) = c else {
        panic!("{c:?}")
    };
    assert_eq!(
        args.sources,
        [
            Source::Path("a".into()),
            Source::Heredoc(doc("X", "x\n", true, false)),
            Source::Heredoc(doc("Y", "y\n", true, false)),
        ]
    );
}

#[test]
fn heredoc_destination_refused() {
    let e = err("FROM busybox\nCOPY a <<EOF\nx\nEOF\n");
    assert_eq!(e.message, "COPY cannot accept a heredoc as a destination");
}

#[test]
fn unterminated_names_delimiter_and_start() {
    let e = err("FROM busybox\nRUN <<EOF cat\nno end\n");
    assert_eq!(e.pos.line, 2);
    assert_eq!(
        e.message,
        "unterminated heredoc \"EOF\" (opened on line 2, the file ends at line 3)"
    );
}

#[test]
fn exec_form_and_other_instructions_have_no_heredocs() {
    let (cmd, docs) = run_parts(super::cmd("RUN [\"cat\", \"<<EOF\"]\n"));
    assert_eq!(cmd, CmdLine::Exec(vec!["cat".into(), "<<EOF".into()]));
    assert!(docs.is_empty());
    let d = ok("FROM busybox\nENV a=<<EOF\nRUN true\n");
    assert_eq!(d.instructions.len(), 3);
}

#[test]
fn not_heredocs() {
    // A here-string, a `<<` glued to a word, a bare `<<`.
    for line in ["RUN cat <<<hi", "RUN cat<<EOF", "RUN echo <<"] {
        let (_, docs) = run_parts(cmd(line));
        assert!(docs.is_empty(), "{line}");
    }
}

#[test]
fn onbuild_heredoc_goes_to_the_trigger() {
    let c = cmd("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    let Command::Onbuild(trigger) = c else {
        panic!("{c:?}")
    };
    assert_eq!(trigger.original, "RUN <<EOF");
    let (_, docs) = run_parts(trigger.command);
    assert_eq!(docs, [doc("EOF", "echo hi\n", true, false)]);
}

#[test]
fn file_descriptor_prefix() {
    let (_, docs) = run_parts(cmd("RUN 3<<EOF cat /dev/fd/3\nx\nEOF\n"));
    assert_eq!(docs, [doc("EOF", "x\n", true, false)]);
}

#[test]
fn quoted_delimiter_with_a_space() {
    let (_, docs) = run_parts(cmd("RUN <<\"E F\" cat\nx\nE F\n"));
    assert_eq!(docs, [doc("E F", "x\n", false, false)]);
    let (_, docs) = run_parts(cmd("RUN cat <<\"\"\n"));
    assert!(docs.is_empty());
}
