//! Properties: parsing never panics, plain words expand to themselves, and a Dockerfile
//! rendered from instructions parses back to them.

use proptest::prelude::*;

use crate::dockerfile::{expand, expand_words, parse, CmdLine, Command, CopyArgs, Heredoc, Source};

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./][a-zA-Z0-9_./:-]{0,7}"
}

fn json_string() -> impl Strategy<Value = String> {
    "\\PC{0,6}"
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn words(n: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(word(), 1..=n)
}

fn cmd_line() -> impl Strategy<Value = CmdLine> {
    prop_oneof![
        prop::collection::vec(json_string(), 0..4).prop_map(CmdLine::Exec),
        words(4).prop_map(|w| CmdLine::Shell(w.join(" "))),
    ]
}

fn render_cmd(c: &CmdLine) -> String {
    match c {
        CmdLine::Exec(v) => json(v),
        CmdLine::Shell(s) => s.clone(),
    }
}

/// An instruction and its text.
fn instruction() -> impl Strategy<Value = (String, Command)> {
    prop_oneof![
        (word(), prop::option::of("[a-z][a-z0-9]{0,5}")).prop_map(|(image, name)| {
            let text = match &name {
                Some(n) => format!("FROM {image} AS {n}"),
                None => format!("FROM {image}"),
            };
            (
                text,
                Command::From {
                    image,
                    name,
                    platform: None,
                },
            )
        }),
        cmd_line().prop_map(|c| (
            format!("RUN {}", render_cmd(&c)),
            Command::Run {
                cmd: c,
                heredocs: vec![],
                mounts: vec![],
                network: None,
                security: None
            }
        )),
        (word(), "[a-z ]{0,12}").prop_map(|(cmd, body)| (
            format!("RUN <<EOF {cmd}\n{body}\nEOF"),
            Command::Run {
                cmd: CmdLine::Shell(format!("<<EOF {cmd}")),
                heredocs: vec![Heredoc {
                    name: "EOF".into(),
                    content: format!("{body}\n"),
                    expand: true,
                    chomp: false
                }],
                mounts: vec![],
                network: None,
                security: None
            }
        )),
        cmd_line().prop_map(|c| (format!("CMD {}", render_cmd(&c)), Command::Cmd(c))),
        cmd_line().prop_map(|c| (
            format!("ENTRYPOINT {}", render_cmd(&c)),
            Command::Entrypoint(c)
        )),
        prop::collection::vec((word(), word()), 1..4).prop_map(|kv| {
            let text = kv
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>();
            (format!("ENV {}", text.join(" ")), Command::Env(kv))
        }),
        prop::collection::vec((word(), word()), 1..4).prop_map(|kv| {
            let text = kv
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>();
            (format!("LABEL {}", text.join(" ")), Command::Label(kv))
        }),
        prop::collection::vec(
            ("[a-zA-Z_][a-zA-Z0-9_]{0,5}", prop::option::of(word())),
            1..3
        )
        .prop_map(|kv| {
            let text = kv
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect::<Vec<_>>();
            (format!("ARG {}", text.join(" ")), Command::Arg(kv))
        }),
        word().prop_map(|w| (format!("WORKDIR {w}"), Command::Workdir(w))),
        word().prop_map(|w| (format!("USER {w}"), Command::User(w))),
        word().prop_map(|w| (format!("STOPSIGNAL {w}"), Command::StopSignal(w))),
        word().prop_map(|w| (format!("MAINTAINER {w}"), Command::Maintainer(w))),
        words(3).prop_map(|w| {
            let text = format!("EXPOSE {}", w.join(" "));
            let mut sorted = w;
            sorted.sort();
            (text, Command::Expose(sorted))
        }),
        words(3).prop_map(|w| (format!("VOLUME {}", json(&w)), Command::Volume(w))),
        prop::collection::vec(json_string(), 1..3)
            .prop_map(|w| (format!("SHELL {}", json(&w)), Command::Shell(w))),
        (words(3), word(), prop::option::of("[a-z]{1,5}")).prop_map(|(srcs, dest, from)| {
            let flag = from
                .as_ref()
                .map(|f| format!("--from={f} "))
                .unwrap_or_default();
            (
                format!("COPY {flag}{} {dest}", srcs.join(" ")),
                Command::Copy(CopyArgs {
                    sources: srcs.into_iter().map(Source::Path).collect(),
                    dest,
                    from,
                    ..CopyArgs::default()
                }),
            )
        }),
        Just(("HEALTHCHECK NONE".to_string(), Command::Healthcheck(None))),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC*") {
        let _ = parse("Dockerfile", &text);
    }

    #[test]
    fn parse_never_panics_on_dockerfile_like_text(
        text in "((FROM|RUN|COPY|ENV|ONBUILD|HEALTHCHECK|#|--|<<-?|EOF|\\[|\\]|\"|'|\\\\|`|=| |\t|\n|\r|a|\\$|\\{|\\}|:|-|\\+|\\?|#|%|/|\\*)){0,40}"
    ) {
        let _ = parse("Dockerfile", &text);
        let _ = expand(&text, '\\', &|_| Some("v v".into()));
        let _ = expand_words(&text, '`', &|_| None);
    }

    #[test]
    fn expansion_never_panics(text in "((\\$|\\{|\\}|:|-|\\+|\\?|#|%|/|\\*|\\\\|'|\"|a|b| )){0,24}") {
        let lookup = |n: &str| (n == "a").then(|| "ab/ba*".to_string());
        let _ = expand(&text, '\\', &lookup);
        let _ = expand_words(&text, '\\', &lookup);
        let _ = crate::dockerfile::expand_heredoc(&text, &lookup);
    }

    #[test]
    fn plain_words_expand_to_themselves(word in "[^$'\"\\\\]*") {
        prop_assert_eq!(expand(&word, '\\', &|_| Some("x".into())).ok(), Some(word));
    }

    #[test]
    fn rendered_instructions_parse_back(
        list in prop::collection::vec((instruction(), any::<[bool; 5]>()), 1..8)
    ) {
        let text: String = list.iter().map(|((t, _), style)| styled(t, *style)).collect();
        let parsed = parse("Dockerfile", &text);
        prop_assert!(parsed.is_ok(), "{text:?}: {parsed:?}");
        let commands: Vec<Command> = parsed
            .map(|d| d.instructions.into_iter().map(|i| i.command).collect())
            .unwrap_or_default();
        let want: Vec<Command> = list.into_iter().map(|((_, c), _)| c).collect();
        prop_assert_eq!(commands, want, "{:?}", text);
    }
}

/// One instruction's text written in one of the ways that must not change its meaning: the
/// keyword in lower case, the arguments on a continuation line (a comment and an empty line
/// inside the continuation), a blank line and a comment before it.
fn styled(
    text: &str,
    [lower, continued, comment_inside, empty_inside, comment_before]: [bool; 5],
) -> String {
    let (keyword, rest) = text.split_once(' ').unwrap_or((text, ""));
    let keyword = if lower {
        keyword.to_lowercase()
    } else {
        keyword.to_string()
    };
    let mut out = String::new();
    if comment_before {
        out.push_str("\n  # a comment\n");
    }
    out.push_str(&keyword);
    out.push(' ');
    if continued {
        out.push_str("\\\n");
        if comment_inside {
            out.push_str("   # inside\n");
        }
        if empty_inside {
            out.push_str("  \n");
        }
    }
    out.push_str(rest);
    out.push('\n');
    out
}
