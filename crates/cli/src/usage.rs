//! docker's words for a command line it cannot parse: `unknown flag: --x`,
//! `unknown shorthand flag: 'x' in -ax`, `flag needs an argument: --format`, each followed by
//! the command's usage line (docker's, not clap's) and exit status 125; a stray argument to a
//! command that takes none is docker's `'docker ps' accepts no arguments` with status 1.
//! clap finds the error; this module only rewrites what it prints.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The arguments part of docker 28's usage line, by the command's canonical path.
const DOCKER_USAGE: &[(&str, &str)] = &[
    ("pull", "[OPTIONS] NAME[:TAG|@DIGEST]"),
    ("push", "[OPTIONS] NAME[:TAG]"),
    ("images", "[OPTIONS] [REPOSITORY[:TAG]]"),
    ("inspect", "[OPTIONS] NAME|ID [NAME|ID...]"),
    ("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"),
    ("rmi", "[OPTIONS] IMAGE [IMAGE...]"),
    ("save", "[OPTIONS] IMAGE [IMAGE...]"),
    ("load", "[OPTIONS]"),
    ("import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]"),
    ("history", "[OPTIONS] IMAGE"),
    ("login", "[OPTIONS] [SERVER]"),
    ("logout", "[SERVER]"),
    ("version", "[OPTIONS]"),
    ("info", "[OPTIONS]"),
    ("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]"),
    ("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]"),
    ("start", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("stop", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("kill", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("restart", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("rm", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("ps", "[OPTIONS]"),
    ("logs", "[OPTIONS] CONTAINER"),
    ("attach", "[OPTIONS] CONTAINER"),
    ("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]"),
    ("wait", "CONTAINER [CONTAINER...]"),
    ("top", "CONTAINER [ps OPTIONS]"),
    ("stats", "[OPTIONS] [CONTAINER...]"),
    ("update", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("port", "CONTAINER [PRIVATE_PORT[/PROTO]]"),
    ("rename", "CONTAINER NEW_NAME"),
    ("pause", "CONTAINER [CONTAINER...]"),
    ("unpause", "CONTAINER [CONTAINER...]"),
    ("diff", "CONTAINER"),
    ("export", "[OPTIONS] CONTAINER"),
    ("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]"),
    (
        "cp",
        "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tmuelle cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    ),
    ("events", "[OPTIONS]"),
    ("completion", ""),
    ("completion bash", ""),
    ("completion fish", ""),
    ("completion powershell", ""),
    ("completion zsh", ""),
    ("image ls", "[OPTIONS] [REPOSITORY[:TAG]]"),
    ("image inspect", "[OPTIONS] IMAGE [IMAGE...]"),
    ("image rm", "[OPTIONS] IMAGE [IMAGE...]"),
    ("image prune", "[OPTIONS]"),
    ("image tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"),
    ("image pull", "[OPTIONS] NAME[:TAG|@DIGEST]"),
    ("image push", "[OPTIONS] NAME[:TAG]"),
    ("image save", "[OPTIONS] IMAGE [IMAGE...]"),
    ("image load", "[OPTIONS]"),
    ("image import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]"),
    ("image history", "[OPTIONS] IMAGE"),
    ("container ls", "[OPTIONS]"),
    ("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]"),
    ("container prune", "[OPTIONS]"),
    ("system df", "[OPTIONS]"),
    ("system prune", "[OPTIONS]"),
    ("system events", "[OPTIONS]"),
    ("system info", "[OPTIONS]"),
    ("volume create", "[OPTIONS] [VOLUME]"),
    ("volume inspect", "[OPTIONS] VOLUME [VOLUME...]"),
    ("volume ls", "[OPTIONS]"),
    ("volume prune", "[OPTIONS]"),
    ("volume rm", "[OPTIONS] VOLUME [VOLUME...]"),
    ("network create", "[OPTIONS] NETWORK"),
    ("network connect", "[OPTIONS] NETWORK CONTAINER"),
    ("network disconnect", "[OPTIONS] NETWORK CONTAINER"),
    ("network inspect", "[OPTIONS] NETWORK [NETWORK...]"),
    ("network ls", "[OPTIONS]"),
    ("network prune", "[OPTIONS]"),
    ("network rm", "NETWORK [NETWORK...]"),
    ("context create", "[OPTIONS] CONTEXT"),
    ("context ls", "[OPTIONS]"),
    ("context use", "CONTEXT"),
    ("context inspect", "[OPTIONS] [CONTEXT] [CONTEXT...]"),
    ("context rm", "CONTEXT [CONTEXT...]"),
    ("context show", ""),
];

/// The arguments part of a command's usage line: docker's own, else what clap rendered.
fn usage_args(path: &str, clap_rest: &str) -> String {
    if let Some((_, args)) = DOCKER_USAGE.iter().find(|(p, _)| *p == path) {
        return (*args).to_owned();
    }
    // `container run` and the like share the top-level shortcut's arguments.
    if let Some(leaf) = path.strip_prefix("container ") {
        if let Some((_, args)) = DOCKER_USAGE.iter().find(|(p, _)| *p == leaf) {
            return (*args).to_owned();
        }
    }
    clap_rest.to_owned()
}

/// `muelle PATH ARGS`.
fn usage_line(path: &str, args: &str) -> String {
    format!("muelle {path} {args}").trim_end().to_owned()
}

/// The arguments part of clap's `Usage: muelle volume ls [OPTIONS]` (`[OPTIONS]`), for commands
/// the table above lacks. Command names are lower-case words; arguments are not.
fn clap_usage_rest(rendered: &str) -> String {
    let line = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
        .unwrap_or("")
        .trim();
    line.split_whitespace()
        .skip(1)
        .skip_while(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Global flags that take a value: their value is not a command name.
const GLOBAL_VALUED: &[&str] = &["-H", "--host", "--config", "-c", "--context"];

/// The command the user named (canonical names, `container ls` for `container list`) and
/// its definition, found by walking argv down the command tree.
fn command_path(argv: &[String]) -> (String, Option<clap::Command>) {
    use clap::CommandFactory;
    let mut cmd = crate::commands::Cli::command();
    let mut path: Vec<String> = Vec::new();
    let mut words = argv.iter().skip(1);
    while let Some(w) = words.next() {
        if w == "--" {
            break;
        }
        if w.starts_with('-') {
            if path.is_empty() && GLOBAL_VALUED.contains(&w.as_str()) {
                words.next();
            }
            continue;
        }
        let Some(sub) = cmd.find_subcommand(w).cloned() else {
            break;
        };
        path.push(sub.get_name().to_owned());
        let leaf = !sub.has_subcommands();
        cmd = sub;
        if leaf {
            break;
        }
    }
    let found = (!path.is_empty()).then_some(cmd);
    (path.join(" "), found)
}

/// How the user spelled the flag clap names `--filter <filter>`: docker says
/// `'f' in -f` for the short form.
fn spelled_flag(argv: &[String], cmd: Option<&clap::Command>, clap_name: &str) -> String {
    let long = clap_name
        .split([' ', '<', '='])
        .flat_map(|w| w.split(','))
        .find(|w| w.starts_with("--"))
        .unwrap_or(clap_name)
        .to_owned();
    let short = cmd.and_then(|c| {
        c.get_arguments()
            .find(|a| a.get_long().is_some_and(|l| long == format!("--{l}")))
            .and_then(clap::Arg::get_short)
    });
    let typed_long = argv
        .iter()
        .any(|a| *a == long || a.starts_with(&format!("{long}=")));
    match short {
        Some(c) if !typed_long => format!("'{c}' in {}", short_cluster(argv, c)),
        _ => long,
    }
}

fn context_str(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// What pflag names a short flag by: the rest of its cluster from that letter on (`-Zq` for
/// the `Z` of `-aZq`), up to any `=value`.
fn short_cluster(argv: &[String], c: char) -> String {
    let word = argv
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .filter(|a| !a.starts_with("--") && a.starts_with('-'))
        .find_map(|a| a[1..].find(c).map(|at| &a[1 + at..]));
    let word = word.map_or_else(
        || c.to_string(),
        |w| w.split('=').next().unwrap_or(w).to_owned(),
    );
    format!("-{word}")
}

/// pflag's name of a flag in messages: `-a, --all`, or `--add-host` without a shorthand.
fn flag_names(cmd: Option<&clap::Command>, clap_name: &str) -> String {
    let long = clap_name
        .split([' ', '<', '='])
        .flat_map(|w| w.split(','))
        .find(|w| w.starts_with("--"))
        .unwrap_or(clap_name)
        .to_owned();
    let short = cmd.and_then(|c| {
        c.get_arguments()
            .find(|a| a.get_long().is_some_and(|l| long == format!("--{l}")))
            .and_then(clap::Arg::get_short)
    });
    match short {
        Some(c) => format!("-{c}, {long}"),
        None => long,
    }
}

/// docker's message and exit status for a parse error, or `None` to let clap print its own
/// (help, version, and kinds docker words differently anyway).
pub fn docker_error(e: &clap::Error, argv: &[String]) -> Option<(String, i32)> {
    let (path, cmd) = command_path(argv);
    let rest = clap_usage_rest(&context_str(e, ContextKind::Usage).unwrap_or_default());
    let args = usage_args(&path, &rest);
    let usage = usage_line(&path, &args);
    let tail = format!("\n\nUsage:  {usage}\n\nRun 'muelle {path} --help' for more information\n");
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let arg = context_str(e, ContextKind::InvalidArg)?;
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split_once('=').map_or(long, |(n, _)| n);
                Some((format!("unknown flag: --{name}{tail}"), crate::USAGE_EXIT))
            } else if let Some(c) = arg.strip_prefix('-').and_then(|s| s.chars().next()) {
                let word = short_cluster(argv, c);
                Some((
                    format!("unknown shorthand flag: '{c}' in {word}{tail}"),
                    crate::USAGE_EXIT,
                ))
            } else if args.is_empty() || args == "[OPTIONS]" {
                Some((
                    format!("muelle: 'muelle {path}' accepts no arguments{tail}"),
                    1,
                ))
            } else {
                None
            }
        }
        ErrorKind::InvalidSubcommand => {
            let word = context_str(e, ContextKind::InvalidSubcommand)?;
            let full = format!("{path} {word}");
            // docker's `volume` alone names its argument in this usage line.
            let usage = match path.as_str() {
                "" => String::new(),
                "volume" => "\nUsage:  muelle volume COMMAND\n".to_owned(),
                p => format!("\nUsage:  muelle {p}\n"),
            };
            Some((
                format!(
                    "muelle: unknown command: muelle {}\n{usage}\nRun 'muelle {}--help' for more information\n",
                    full.trim_start(),
                    if path.is_empty() { String::new() } else { format!("{path} ") }
                ),
                // docker exits 1 for a command it does not know (125 is for flags).
                1,
            ))
        }
        ErrorKind::MissingRequiredArgument => {
            // A missing positional: docker's `'docker rmi' requires at least 1 argument`,
            // status 1. A missing required flag is clap's to word.
            let cmd = cmd.as_ref()?;
            let missing = context_str(e, ContextKind::InvalidArg)?;
            if missing.trim_start().starts_with('-') {
                return None;
            }
            let positionals: Vec<&clap::Arg> = cmd.get_positionals().collect();
            let min: usize = positionals
                .iter()
                .filter(|a| a.is_required_set())
                .map(|a| a.get_num_args().map_or(1, |r| r.min_values().max(1)))
                .sum();
            let max: Option<usize> = positionals.iter().try_fold(0usize, |acc, a| {
                let most = a.get_num_args().map_or(1, |r| r.max_values());
                (most != usize::MAX).then(|| acc + most)
            });
            let noun = |n: usize| if n == 1 { "argument" } else { "arguments" };
            // cobra's wording per kind of arity (docker's cli.ExactArgs, RequiresMinArgs,
            // RequiresRangeArgs), each with its own last line.
            let (what, last) = match max {
                Some(max) if max == min => (format!("{min} {}", noun(min)), "Run"),
                Some(max) => (
                    format!("at least {min} and at most {max} {}", noun(max)),
                    "Run",
                ),
                None => (format!("at least {min} {}", noun(min)), "See"),
            };
            Some((
                format!(
                    "muelle: 'muelle {path}' requires {what}\n\nUsage:  {usage}\n\n{last} 'muelle {path} --help' for more information\n"
                ),
                1,
            ))
        }
        ErrorKind::ValueValidation => {
            let value = context_str(e, ContextKind::InvalidValue)?;
            let arg = context_str(e, ContextKind::InvalidArg)?;
            let why = std::error::Error::source(e).map(ToString::to_string)?;
            let flag = flag_names(cmd.as_ref(), &arg);
            Some((
                format!("invalid argument {value:?} for {flag:?} flag: {why}{tail}"),
                crate::USAGE_EXIT,
            ))
        }
        ErrorKind::InvalidValue => {
            let value = context_str(e, ContextKind::InvalidValue).unwrap_or_default();
            if !value.is_empty() {
                return None;
            }
            let arg = context_str(e, ContextKind::InvalidArg)?;
            let what = spelled_flag(argv, cmd.as_ref(), &arg);
            Some((
                format!("flag needs an argument: {what}{tail}"),
                crate::USAGE_EXIT,
            ))
        }
        _ => None,
    }
}

/// docker's answer to an unknown flag that clap let through because it came where a
/// trailing command line starts (`exec --bogus c ls`: clap takes `--bogus` for the container).
pub fn refuse_leading_flag(first: Option<&str>) -> anyhow::Result<()> {
    let Some(first) = first else {
        return Ok(());
    };
    let argv: Vec<String> = std::env::args().collect();
    let (path, _) = command_path(&argv);
    let path = path.as_str();
    let what = if let Some(long) = first.strip_prefix("--") {
        let name = long.split_once('=').map_or(long, |(n, _)| n);
        format!("unknown flag: --{name}")
    } else if let Some(c) = first.strip_prefix('-').and_then(|s| s.chars().next()) {
        format!("unknown shorthand flag: '{c}' in {first}")
    } else {
        return Ok(());
    };
    let usage = usage_line(path, &usage_args(path, ""));
    eprintln!("{what}\n\nUsage:  {usage}\n\nRun 'muelle {path} --help' for more information");
    Err(crate::Exit(crate::USAGE_EXIT).into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clap_usage_loses_the_command_path() {
        assert_eq!(
            clap_usage_rest("Usage: muelle volume ls [OPTIONS]"),
            "[OPTIONS]"
        );
        assert_eq!(
            clap_usage_rest("Usage: muelle top <CONTAINER> [PS_ARGS]..."),
            "<CONTAINER> [PS_ARGS]..."
        );
    }

    #[test]
    fn the_command_path_is_canonical() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let path = |a: &[&str]| command_path(&argv(a)).0;
        assert_eq!(
            path(&["muelle", "-H", "ps", "container", "list", "-x"]),
            "container ls"
        );
        assert_eq!(path(&["muelle", "ps", "--format"]), "ps");
        assert_eq!(path(&["muelle", "volume", "--x", "ls"]), "volume ls");
    }

    #[test]
    fn docker_usage_wins_over_clap() {
        assert_eq!(usage_args("top", "<CONTAINER>"), "CONTAINER [ps OPTIONS]");
        assert_eq!(usage_args("container logs", "x"), "[OPTIONS] CONTAINER");
        assert_eq!(usage_args("nothing known", "x y"), "x y");
    }

    #[test]
    fn short_flags_are_named_by_their_cluster() {
        let argv: Vec<String> = ["muelle", "ps", "-aZq"].map(String::from).to_vec();
        assert_eq!(short_cluster(&argv, 'Z'), "-Zq");
    }
}
