//! Each instruction's arguments and flags, and Docker's refusals (the messages are what
//! dockerd 20.10's legacy builder answered, except where BuildKit's newer wording is used
//! for flags: `unknown flag: x` instead of 20.10's `Unknown flag: x`).

use super::{cmd, err, ok, second};
use crate::dockerfile::{CmdLine, Command, CopyArgs, HealthArgs, Phase, Pos, Source};

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn from_forms() {
    let d = ok("ARG V=1\nFROM --platform=linux/amd64 busybox:$V AS Build\nFROM build\n");
    assert_eq!(
        d.instructions[0].command,
        Command::Arg(vec![("V".into(), Some("1".into()))])
    );
    assert_eq!(
        d.instructions[1].command,
        Command::From {
            image: "busybox:$V".into(),
            name: Some("build".into()),
            platform: Some("linux/amd64".into())
        }
    );
    assert_eq!(
        d.instructions[2].command,
        Command::From {
            image: "build".into(),
            name: None,
            platform: None
        }
    );
}

#[test]
fn no_from_is_not_a_parse_error() {
    let d = ok("RUN true\n");
    assert_eq!(d.instructions.len(), 1);
}

#[test]
fn run_forms_and_flags() {
    assert_eq!(
        cmd("RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none echo hi"),
        Command::Run {
            cmd: CmdLine::Shell("echo hi".into()),
            heredocs: vec![],
            mounts: strings(&["type=cache,target=/c", "type=tmpfs,target=/t"]),
            network: Some("none".into()),
            security: None,
        }
    );
    let Command::Run { cmd: c, .. } = cmd("RUN [\"/bin/bash\", \"-c\", \"echo hello\"]") else {
        panic!()
    };
    assert_eq!(
        c,
        CmdLine::Exec(strings(&["/bin/bash", "-c", "echo hello"]))
    );
    // Not valid JSON: the shell form, as Docker falls back (the reference's warning).
    let Command::Run { cmd: c, .. } = cmd("RUN ['/bin/bash', '-c', 'echo hi']") else {
        panic!()
    };
    assert_eq!(c, CmdLine::Shell("['/bin/bash', '-c', 'echo hi']".into()));
    let Command::Run { cmd: c, .. } = cmd("RUN") else {
        panic!()
    };
    assert_eq!(c, CmdLine::Shell(String::new()));
}

#[test]
fn json_first_value_decides() {
    // Go's json.Decoder reads one value and ignores what follows.
    assert_eq!(
        cmd("CMD [\"a\"] trailing"),
        Command::Cmd(CmdLine::Exec(strings(&["a"])))
    );
    assert_eq!(cmd("CMD []"), Command::Cmd(CmdLine::Exec(vec![])));
    assert_eq!(
        cmd("ENTRYPOINT [\"a\" \"b\"]"),
        Command::Entrypoint(CmdLine::Shell("[\"a\" \"b\"]".into()))
    );
    let e = err("FROM busybox\nCMD [1]\n");
    assert_eq!(
        e.message,
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert_eq!(e.phase, Phase::Syntax);
}

#[test]
fn copy_and_add() {
    assert_eq!(
        cmd("COPY --from=build --chown=1:2 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /dst/"),
        Command::Copy(CopyArgs {
            sources: vec![Source::Path("a".into()), Source::Path("b".into())],
            dest: "/dst/".into(),
            from: Some("build".into()),
            chown: Some("1:2".into()),
            chmod: Some("644".into()),
            link: true,
            parents: true,
            exclude: strings(&["*.md", "x"]),
            ..CopyArgs::default()
        })
    );
    assert_eq!(
        cmd("ADD --keep-git-dir=true --checksum=sha256:abc --link=false [\"a b\", \"/c d\"]"),
        Command::Add(CopyArgs {
            sources: vec![Source::Path("a b".into())],
            dest: "/c d".into(),
            checksum: Some("sha256:abc".into()),
            keep_git_dir: true,
            ..CopyArgs::default()
        })
    );
    // Quotes are not honoured in the plain form (Docker asks for JSON there).
    let Command::Copy(c) = cmd("COPY \"a b\" /x") else {
        panic!()
    };
    assert_eq!(c.sources.len(), 2);
}

#[test]
fn env_forms() {
    assert_eq!(
        cmd("ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy"),
        Command::Env(pairs(&[
            ("MY_NAME", "\"John Doe\""),
            ("MY_DOG", "Rex\\ The\\ Dog"),
            ("MY_CAT", "fluffy")
        ]))
    );
    assert_eq!(
        cmd("ENV MY_VAR my-value  two"),
        Command::Env(pairs(&[("MY_VAR", "my-value  two")]))
    );
    assert_eq!(cmd("ENV a="), Command::Env(pairs(&[("a", "")])));
    assert_eq!(
        err("FROM busybox\nENV a\n").message,
        "ENV must have two arguments"
    );
    assert_eq!(
        err("FROM busybox\nENV a=b c\n").message,
        "Syntax error - can't find = in \"c\". Must be of the form: name=value"
    );
    assert_eq!(
        err("FROM busybox\nENV =b\n").message,
        "ENV names can not be blank"
    );
}

#[test]
fn label_arg_expose_volume() {
    assert_eq!(
        cmd("LABEL \"com.example.vendor\"=\"ACME Incorporated\" version=1.0 description=\"multi \\\n   line\""),
        Command::Label(pairs(&[
            ("\"com.example.vendor\"", "\"ACME Incorporated\""),
            ("version", "1.0"),
            ("description", "\"multi    line\"")
        ]))
    );
    assert_eq!(
        cmd("ARG a b=2 c=\"x y\""),
        Command::Arg(vec![
            ("a".into(), None),
            ("b".into(), Some("2".into())),
            ("c".into(), Some("\"x y\"".into()))
        ])
    );
    assert_eq!(
        cmd("EXPOSE 80/tcp  80/udp"),
        Command::Expose(strings(&["80/tcp", "80/udp"]))
    );
    assert_eq!(cmd("VOLUME /a /b"), Command::Volume(strings(&["/a", "/b"])));
    assert_eq!(
        cmd("VOLUME [\"/data\"]"),
        Command::Volume(strings(&["/data"]))
    );
    assert_eq!(
        err("FROM busybox\nVOLUME [\"\"]\n").message,
        "VOLUME specified can not be an empty string"
    );
}

#[test]
fn single_string_instructions() {
    assert_eq!(cmd("WORKDIR /a b"), Command::Workdir("/a b".into()));
    assert_eq!(
        cmd("USER patrick:staff"),
        Command::User("patrick:staff".into())
    );
    assert_eq!(
        cmd("STOPSIGNAL SIGKILL"),
        Command::StopSignal("SIGKILL".into())
    );
    assert_eq!(
        cmd("MAINTAINER me <me@x>"),
        Command::Maintainer("me <me@x>".into())
    );
}

#[test]
fn shell() {
    assert_eq!(
        cmd("SHELL [\"powershell\", \"-command\"]"),
        Command::Shell(strings(&["powershell", "-command"]))
    );
    assert_eq!(
        err("FROM busybox\nSHELL /bin/sh -c\n").message,
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        err("FROM busybox\nSHELL []\n").message,
        "SHELL requires at least one argument"
    );
}

#[test]
fn healthcheck() {
    assert_eq!(cmd("HEALTHCHECK NONE"), Command::Healthcheck(None));
    assert_eq!(
        cmd("HEALTHCHECK --interval=5m --timeout=3s --start-period=1s --start-interval=2s --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1"),
        Command::Healthcheck(Some(HealthArgs {
            cmd: CmdLine::Shell("curl -f http://localhost/ || exit 1".into()),
            interval: Some("5m".into()),
            timeout: Some("3s".into()),
            start_period: Some("1s".into()),
            start_interval: Some("2s".into()),
            retries: Some("3".into()),
        }))
    );
    assert_eq!(
        cmd("HEALTHCHECK cmd [\"true\"]"),
        Command::Healthcheck(Some(HealthArgs {
            cmd: CmdLine::Exec(strings(&["true"])),
            interval: None,
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: None,
        }))
    );
}

#[test]
fn onbuild() {
    let i = second("ONBUILD  ADD . /app/src");
    let Command::Onbuild(trigger) = i.command else {
        panic!()
    };
    assert_eq!(trigger.keyword, "ADD");
    assert_eq!(trigger.original, "ADD . /app/src");
    assert_eq!(
        trigger.pos,
        Pos {
            line: 2,
            column: 10
        }
    );
    let Command::Onbuild(trigger) = cmd("onbuild run --mount=type=cache,target=/x make") else {
        panic!()
    };
    assert_eq!(trigger.original, "run --mount=type=cache,target=/x make");
    // dockerd 20.10 stored ["run echo hi"] for `onbuild  run echo hi`.
    let Command::Onbuild(trigger) = cmd("onbuild  run echo hi") else {
        panic!()
    };
    assert_eq!(crate::dockerfile::trigger_text(&trigger), "run echo hi");
    let Command::Onbuild(trigger) = cmd("ONBUILD COPY <<EOF /x\nhi\nEOF") else {
        panic!()
    };
    let text = crate::dockerfile::trigger_text(&trigger);
    assert_eq!(text, "COPY <<EOF /x\nhi\nEOF");
    let again = ok(&format!("FROM busybox\n{text}\n"));
    assert_eq!(again.instructions[1].command, trigger.command);
}

/// (instruction after `FROM busybox`, dockerd's message, line)
const REFUSED: &[(&str, &str)] = &[
    ("FOO bar", "unknown instruction: FOO"),
    ("foo bar", "unknown instruction: FOO"),
    ("FROM", "FROM requires either one or three arguments"),
    ("FROM busybox as", "FROM requires either one or three arguments"),
    (
        "FROM busybox AS 1abc",
        "invalid name for build stage: \"1abc\", name can't start with a number or contain symbols",
    ),
    (
        "COPY a",
        "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
    ),
    (
        "ADD a",
        "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
    ),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD MAINTAINER x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("ONBUILD", "ONBUILD requires at least one argument"),
    ("COPY --foo=1 a b", "unknown flag: foo"),
    ("WORKDIR --x /a", "unknown flag: x"),
    ("COPY --checksum=x a b", "unknown flag: checksum"),
    ("ADD --from=x a b", "unknown flag: from"),
    ("COPY --from=a --from=b a b", "duplicate flag specified: from"),
    ("COPY --from a b", "missing a value on flag: from"),
    ("COPY --link=maybe a b", "expecting boolean value for flag link, not: maybe"),
    ("CMD --help", "unknown flag: help"),
    ("ENV", "ENV requires at least one argument"),
    ("ARG", "ARG requires at least one argument"),
    ("ARG =x", "ARG names can not be blank"),
    ("LABEL", "LABEL requires at least one argument"),
    ("WORKDIR", "WORKDIR requires exactly one argument"),
    ("USER", "USER requires exactly one argument"),
    ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
    ("MAINTAINER", "MAINTAINER requires exactly one argument"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ("VOLUME []", "VOLUME requires at least one argument"),
    ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("HEALTHCHECK FOO x", "Unknown type \"FOO\" in HEALTHCHECK (try CMD)"),
    ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK --bad=1 CMD x", "unknown flag: bad"),
];

#[test]
fn refusals_with_dockers_wording() {
    for (line, message) in REFUSED {
        let e = err(&format!("FROM busybox\n{line}\n"));
        assert_eq!(e.message, *message, "{line}");
        assert_eq!(e.pos.line, 2, "{line}");
        assert_eq!(e.to_string(), format!("Dockerfile:2:1: {message}"));
        assert_eq!(e.kind(), muelle_types::ErrorKind::InvalidParameter);
    }
}

#[test]
fn dockerd_prefixes() {
    assert_eq!(
        err("FROM busybox\nFOO\n").docker_message(),
        "dockerfile parse error line 2: unknown instruction: FOO"
    );
    assert_eq!(
        err("FROM busybox\nENV a\n").docker_message(),
        "failed to parse Dockerfile: ENV must have two arguments"
    );
    assert_eq!(
        err("").docker_message(),
        "the Dockerfile (Dockerfile) cannot be empty"
    );
    assert_eq!(
        err("# just a comment\n\n").docker_message(),
        "failed to parse Dockerfile: file with no instructions"
    );
}

#[test]
fn cmd_without_arguments_is_accepted() {
    assert_eq!(cmd("CMD"), Command::Cmd(CmdLine::Shell(String::new())));
}

#[test]
fn flags_with_quotes_and_double_dash() {
    let Command::Copy(c) = cmd("COPY --chown=\"a b\" -- --x /y") else {
        panic!()
    };
    assert_eq!(c.chown.as_deref(), Some("a b"));
    assert_eq!(c.sources, [Source::Path("--x".into())]);
}
