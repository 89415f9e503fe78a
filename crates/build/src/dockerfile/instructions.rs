//! The second of Docker's passes: a node into an `Instruction`, with the checks BuildKit's
//! `instructions.ParseInstruction` makes (the flags each instruction takes, its number of
//! arguments, SHELL's JSON form, HEALTHCHECK's type, ONBUILD's forbidden triggers, COPY's
//! heredoc sources) and Docker's wording for each refusal. Errors here are the ones dockerd
//! reports as `dockerfile parse error line N: …`.
//!
//! Arguments stay raw: quotes and `$` are left for `expand`, which the dispatcher runs
//! when the values are known.

use super::ast::{CmdLine, Command, CopyArgs, HealthArgs, Heredoc, Instruction, Source};
use super::flags::{Flags, Kind};
use super::heredoc;
use super::node::{Args, Node};

/// The instruction a node means, or Docker's message refusing it.
pub(crate) fn instruction(node: Node) -> Result<Instruction, String> {
    let Node {
        pos,
        keyword,
        original,
        flags,
        args,
        heredocs,
    } = node;
    let no_flags = |flags: &[String]| Flags::parse(flags, &[]).map(|_| ());
    let command = match keyword.as_str() {
        "FROM" => from(args, &flags)?,
        "RUN" => {
            let f = Flags::parse(
                &flags,
                &[
                    ("mount", Kind::Strings),
                    ("network", Kind::String),
                    ("security", Kind::String),
                ],
            )?;
            Command::Run {
                cmd: cmd_line(args),
                heredocs,
                mounts: f.strings("mount"),
                network: f.string("network"),
                security: f.string("security"),
            }
        }
        "CMD" => {
            no_flags(&flags)?;
            Command::Cmd(cmd_line(args))
        }
        "ENTRYPOINT" => {
            no_flags(&flags)?;
            Command::Entrypoint(cmd_line(args))
        }
        "SHELL" => {
            no_flags(&flags)?;
            match args {
                Args::Json(a) if !a.is_empty() => Command::Shell(a),
                Args::Empty | Args::Json(_) => return Err(at_least_one("SHELL")),
                _ => return Err(not_json("SHELL", &original)),
            }
        }
        "COPY" => Command::Copy(copy_args("COPY", args, &flags, heredocs)?),
        "ADD" => Command::Add(copy_args("ADD", args, &flags, heredocs)?),
        "ENV" | "LABEL" => {
            no_flags(&flags)?;
            let Args::Pairs(pairs) = args else {
                return Err(at_least_one(&keyword));
            };
            if pairs.iter().any(|(k, _)| k.is_empty()) {
                return Err(format!("{keyword} names can not be blank"));
            }
            if keyword == "ENV" {
                Command::Env(pairs)
            } else {
                Command::Label(pairs)
            }
        }
        "ARG" => {
            no_flags(&flags)?;
            let Args::Words(words) = args else {
                return Err(at_least_one("ARG"));
            };
            if words.iter().any(|w| w.starts_with('=')) {
                return Err("ARG names can not be blank".to_string());
            }
            Command::Arg(
                words
                    .into_iter()
                    .map(|w| match w.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (w, None),
                    })
                    .collect(),
            )
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" => {
            // Docker never checks STOPSIGNAL's flags: `STOPSIGNAL --x SIGTERM` sets SIGTERM.
            if keyword != "STOPSIGNAL" {
                no_flags(&flags)?;
            }
            let Args::Text(text) = args else {
                return Err(format!("{keyword} requires exactly one argument"));
            };
            match keyword.as_str() {
                "WORKDIR" => Command::Workdir(text),
                "USER" => Command::User(text),
                "STOPSIGNAL" => Command::StopSignal(text),
                _ => Command::Maintainer(text),
            }
        }
        "EXPOSE" => {
            no_flags(&flags)?;
            let Args::Words(mut words) = args else {
                return Err(at_least_one("EXPOSE"));
            };
            // Docker sorts the raw words at parse time: dockerd 20.10 records
            // `EXPOSE 8080 443/udp 80` as `#(nop)  EXPOSE 443/udp 80 8080`.
            words.sort();
            Command::Expose(words)
        }
        "VOLUME" => {
            no_flags(&flags)?;
            let list = match args {
                Args::Json(a) | Args::Words(a) if !a.is_empty() => a,
                _ => return Err(at_least_one("VOLUME")),
            };
            let mut volumes = Vec::with_capacity(list.len());
            for v in list {
                let v = v.trim();
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".to_string());
                }
                volumes.push(v.to_string());
            }
            Command::Volume(volumes)
        }
        "HEALTHCHECK" => healthcheck(args, &flags)?,
        "ONBUILD" => {
            let Args::Sub(sub) = args else {
                return Err(at_least_one("ONBUILD"));
            };
            no_flags(&flags)?;
            match sub.keyword.as_str() {
                "ONBUILD" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string())
                }
                "MAINTAINER" | "FROM" => {
                    return Err(format!(
                        "{} isn't allowed as an ONBUILD trigger",
                        sub.keyword
                    ))
                }
                _ => {}
            }
            Command::Onbuild(Box::new(instruction(*sub)?))
        }
        _ => return Err(format!("unknown instruction: {keyword}")),
    };
    Ok(Instruction {
        pos,
        keyword,
        original,
        command,
    })
}

/// Docker's refusal of a shell form where JSON is required, with its hint for a Windows
/// path whose backslashes were not doubled (`SHELL ["c:\\bin\\sh.exe"]`).
fn not_json(keyword: &str, original: &str) -> String {
    let lower = original.to_lowercase();
    let rest = lower.replace(&format!("{} ", keyword.to_lowercase()), "");
    let windows_path = rest.match_indices('"').any(|(i, _)| {
        let b = rest.as_bytes();
        b.get(i + 1).is_some_and(u8::is_ascii_lowercase)
            && b.get(i + 2) == Some(&b':')
            && b.get(i + 3) == Some(&b'\\')
    });
    let hint = if windows_path && !rest.contains("\\\\") && rest.contains('[') && rest.contains(']')
    {
        format!(
            ". It looks like '{rest}' includes a file path without an escaped back-slash. JSON requires back-slashes to be escaped such as [\"c:\\\\path\\\\to\\\\file.exe\", \"/parameter\"]"
        )
    } else {
        String::new()
    };
    format!("{keyword} requires the arguments to be in JSON form{hint}")
}

fn at_least_one(keyword: &str) -> String {
    format!("{keyword} requires at least one argument")
}

/// Exec form for a JSON array, shell form otherwise; no arguments at all (`CMD` alone, which
/// Docker accepts) is `Shell("")`.
fn cmd_line(args: Args) -> CmdLine {
    match args {
        Args::Json(a) => CmdLine::Exec(a),
        Args::Text(t) => CmdLine::Shell(t),
        _ => CmdLine::Shell(String::new()),
    }
}

/// `FROM [--platform=p] image [AS name]`; the stage name is lower-cased and must be a
/// valid name, as BuildKit requires.
fn from(args: Args, flags: &[String]) -> Result<Command, String> {
    let words = match args {
        Args::Words(w) => w,
        _ => Vec::new(),
    };
    let name = match words.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !valid_stage_name(&lower) {
                return Err(format!(
                    "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                ));
            }
            Some(lower)
        }
        _ => return Err("FROM requires either one or three arguments".to_string()),
    };
    let f = Flags::parse(flags, &[("platform", Kind::String)])?;
    Ok(Command::From {
        image: words[0].clone(),
        name,
        platform: f.string("platform"),
    })
}

/// `^[a-z][a-z0-9-_\.]*$`.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// COPY and ADD: sources (heredoc words become their bodies) and the destination, last.
fn copy_args(
    keyword: &str,
    args: Args,
    flags: &[String],
    heredocs: Vec<Heredoc>,
) -> Result<CopyArgs, String> {
    let (mut words, json) = match args {
        Args::Json(a) => (a, true),
        Args::Words(w) => (w, false),
        _ => (Vec::new(), false),
    };
    if words.len() < 2 {
        return Err(format!(
            "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined"
        ));
    }
    let allowed: &[(&'static str, Kind)] = if keyword == "COPY" {
        &[
            ("from", Kind::String),
            ("chown", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("parents", Kind::Bool),
            ("exclude", Kind::Strings),
        ]
    } else {
        &[
            ("chown", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("keep-git-dir", Kind::Bool),
            ("checksum", Kind::String),
            ("exclude", Kind::Strings),
        ]
    };
    let f = Flags::parse(flags, allowed)?;
    let dest = words.pop().unwrap_or_default();
    if !json && heredoc::opener(&dest).is_some() {
        return Err(format!(
            "{keyword} cannot accept a heredoc as a destination"
        ));
    }
    let sources = words
        .into_iter()
        .map(|w| match heredoc::opener(&w).filter(|_| !json) {
            Some(open) => {
                let content = heredocs
                    .iter()
                    .find(|h| h.name == open.name)
                    .map(|h| h.content.clone())
                    .unwrap_or_default();
                Source::Heredoc(Heredoc {
                    name: open.name,
                    content,
                    expand: open.expand,
                    chomp: open.chomp,
                })
            }
            None => Source::Path(w),
        })
        .collect();
    Ok(CopyArgs {
        sources,
        dest,
        from: f.string("from"),
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        checksum: f.string("checksum"),
        keep_git_dir: f.bool("keep-git-dir"),
        parents: f.bool("parents"),
        exclude: f.strings("exclude"),
    })
}

/// `HEALTHCHECK NONE` (flags ignored, as Docker does) or `HEALTHCHECK [flags] CMD …`.
fn healthcheck(args: Args, flags: &[String]) -> Result<Command, String> {
    let Args::Health(typ, cmd) = args else {
        return Err(at_least_one("HEALTHCHECK"));
    };
    let typ = typ.to_uppercase();
    if typ == "NONE" {
        if !matches!(*cmd, Args::Empty) {
            return Err("HEALTHCHECK NONE takes no arguments".to_string());
        }
        return Ok(Command::Healthcheck(None));
    }
    let f = Flags::parse(
        flags,
        &[
            ("interval", Kind::String),
            ("timeout", Kind::String),
            ("start-period", Kind::String),
            ("start-interval", Kind::String),
            ("retries", Kind::String),
        ],
    )?;
    if typ != "CMD" {
        return Err(format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"));
    }
    let cmd = match *cmd {
        Args::Json(a) if !a.is_empty() => CmdLine::Exec(a),
        Args::Text(t) => CmdLine::Shell(t),
        _ => return Err("Missing command after HEALTHCHECK CMD".to_string()),
    };
    Ok(Command::Healthcheck(Some(HealthArgs {
        cmd,
        interval: f.string("interval"),
        timeout: f.string("timeout"),
        start_period: f.string("start-period"),
        start_interval: f.string("start-interval"),
        retries: f.string("retries"),
    })))
}
