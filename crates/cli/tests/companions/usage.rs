//! A flag a command does not know, a flag without its value and an argument to a command
//! that takes none: the same words (docker's name aside), usage line and exit status as
//! the docker CLI 28, on every command both have.

use std::process::Command;

use super::*;

/// Every command path muelle shares with docker.
const COMMANDS: &[&str] = &[
    "pull",
    "push",
    "images",
    "inspect",
    "tag",
    "rmi",
    "save",
    "load",
    "import",
    "history",
    "login",
    "logout",
    "version",
    "info",
    "run",
    "create",
    "start",
    "stop",
    "kill",
    "restart",
    "rm",
    "ps",
    "logs",
    "attach",
    "exec",
    "wait",
    "top",
    "stats",
    "update",
    "port",
    "rename",
    "pause",
    "unpause",
    "diff",
    "export",
    "commit",
    "cp",
    "events",
    "image ls",
    "image inspect",
    "image rm",
    "image prune",
    "image tag",
    "image pull",
    "image push",
    "image save",
    "image load",
    "image import",
    "image history",
    "container run",
    "container create",
    "container start",
    "container stop",
    "container kill",
    "container restart",
    "container rm",
    "container ls",
    "container list",
    "container ps",
    "container logs",
    "container attach",
    "container exec",
    "container inspect",
    "container wait",
    "container top",
    "container stats",
    "container update",
    "container port",
    "container rename",
    "container pause",
    "container unpause",
    "container diff",
    "container export",
    "container commit",
    "container prune",
    "container cp",
    "system df",
    "system prune",
    "system events",
    "system info",
    "volume create",
    "volume inspect",
    "volume ls",
    "volume prune",
    "volume rm",
    "network create",
    "network connect",
    "network disconnect",
    "network inspect",
    "network ls",
    "network prune",
    "network rm",
    "context create",
    "context ls",
    "context use",
    "context inspect",
    "context rm",
    "context show",
    "completion",
];

/// Runs a CLI with no daemon to reach and a config directory of its own.
fn cli(bin: &str, args: &[&str]) -> (Option<i32>, String) {
    let cfg = tempfile::tempdir().unwrap();
    let out = run(Command::new(bin)
        .env("DOCKER_CONFIG", cfg.path())
        .env_remove("DOCKER_CONTEXT")
        .args(["-H", "unix:///nonexistent/muelle-usage.sock"])
        .args(args));
    (out.status.code(), text(&out.stderr))
}

/// What differs from docker for these arguments, if anything.
fn differs(args: &[&str]) -> Option<String> {
    let (dc, de) = cli(DOCKER28, args);
    let (mc, me) = cli(MUELLE, args);
    let de = de.replace("docker", "muelle");
    (me.trim_end() != de.trim_end() || mc != dc)
        .then(|| format!("{args:?}: muelle {mc:?} {me:?}\n   docker {dc:?} {de:?}"))
}

fn all_same_as_docker(cases: Vec<Vec<&str>>) {
    let bad: Vec<String> = cases.iter().filter_map(|a| differs(a)).collect();
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn unknown_flags_are_dockers_usage_error_needs_docker() {
    require_docker28();
    let mut cases = Vec::new();
    for path in COMMANDS {
        let words: Vec<&str> = path.split(' ').collect();
        for bad in ["--bogus", "--bogus=1", "-Z", "-Zq"] {
            let mut args = words.clone();
            args.extend([bad, "x"]);
            cases.push(args);
        }
    }
    all_same_as_docker(cases);
}

#[test]
fn flags_without_their_value_and_stray_arguments_needs_docker() {
    require_docker28();
    let cases = [
        &["ps", "--format"][..],
        &["ps", "-f"],
        &["ps", "-af"],
        &["image", "ls", "-q", "--filter"],
        &["volume", "ls", "--filter"],
        &["logs", "--tail"],
        &["ps", "x"],
        &["volume", "ls", "x"],
        &["exec", "--bogus", "x", "ls"],
        &["run", "--add-host", "db:x", "busybox"],
        &["create", "--dns", "x", "busybox"],
    ];
    all_same_as_docker(cases.iter().map(|c| c.to_vec()).collect());
}

/// An unknown command: docker's words and status (1).
#[test]
fn unknown_commands_in_dockers_words_needs_docker() {
    require_docker28();
    for args in [
        &["bogus"][..],
        &["container", "bogus"],
        &["volume", "bogus", "x"],
        &["image", "bogus"],
        &["system", "bogus"],
        &["context", "bogus"],
    ] {
        let (dc, de) = cli(DOCKER28, args);
        let (mc, me) = cli(MUELLE, args);
        assert_eq!(me, de.replace("docker", "muelle"), "{args:?}");
        assert_eq!((mc, dc), (Some(1), Some(1)), "{args:?}");
    }
}

/// A command without the arguments it needs: docker's words and status (1).
#[test]
fn missing_arguments_in_dockers_words_needs_docker() {
    require_docker28();
    for args in [
        &["rmi"][..],
        &["rm"],
        &["history"],
        &["tag"],
        &["exec"],
        &["port"],
        &["volume", "inspect"],
    ] {
        let (dc, de) = cli(DOCKER28, args);
        let (mc, me) = cli(MUELLE, args);
        assert_eq!(me, de.replace("docker", "muelle"), "{args:?}");
        assert_eq!((mc, dc), (Some(1), Some(1)), "{args:?}");
    }
}
