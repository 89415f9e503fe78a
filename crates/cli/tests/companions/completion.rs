//! `muelle completion bash` is a script bash can source: it registers a completion for
//! `muelle`, which offers the commands, a resource's subcommands and a command's flags.
//! zsh and fish get theirs too (checked by their own parsers where the shells are installed).

use std::process::Command;

use super::*;

/// What the bash completion offers for the words of a command line (the last one being
/// completed), after sourcing `muelle completion bash` in a fresh non-interactive bash.
fn bash_offers(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source {script}\n\
         complete -p muelle >&2 || exit 3\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _muelle muelle '{cur}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        cur = words.last().unwrap(),
        prev = words[words.len().saturating_sub(2)],
    );
    let out = run(Command::new("bash").arg("-c").arg(program));
    assert!(out.status.success(), "bash: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_registers_and_offers_commands() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("muelle.bash");
    let out = run(Command::new(MUELLE).args(["completion", "bash"]));
    std::fs::write(&script, ok(out, "muelle completion bash")).unwrap();

    let registered = run(Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p muelle", script.display())));
    let registered = ok(registered, "complete -p muelle");
    assert!(
        registered.contains("-F _muelle") && registered.trim_end().ends_with(" muelle"),
        "{registered}"
    );

    let top = bash_offers(&script, &["muelle", ""]);
    for c in [
        "run",
        "ps",
        "images",
        "volume",
        "container",
        "context",
        "completion",
        "top",
    ] {
        assert!(top.iter().any(|o| o == c), "{c} not offered: {top:?}");
    }
    let vol = bash_offers(&script, &["muelle", "volume", ""]);
    for c in ["create", "ls", "inspect", "rm", "prune"] {
        assert!(
            vol.iter().any(|o| o == c),
            "volume {c} not offered: {vol:?}"
        );
    }
    let ctx = bash_offers(&script, &["muelle", "context", ""]);
    for c in ["create", "ls", "use", "inspect", "rm", "show"] {
        assert!(
            ctx.iter().any(|o| o == c),
            "context {c} not offered: {ctx:?}"
        );
    }
    let flags = bash_offers(&script, &["muelle", "ps", "--"]);
    for f in ["--all", "--filter", "--format", "--quiet"] {
        assert!(
            flags.iter().any(|o| o == f),
            "ps {f} not offered: {flags:?}"
        );
    }
    let pre = bash_offers(&script, &["muelle", "vol"]);
    assert_eq!(pre, ["volume"]);
}

#[test]
fn zsh_fish_and_powershell_scripts_are_made() {
    for (shell, marker, check) in [
        ("zsh", "#compdef muelle", Some(["zsh", "-n"])),
        ("fish", "complete -c muelle", Some(["fish", "-n"])),
        ("powershell", "Register-ArgumentCompleter", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join(shell);
        let body = ok(
            run(Command::new(MUELLE).args(["completion", shell])),
            "muelle completion",
        );
        assert!(body.contains(marker), "{shell}: no {marker:?}");
        assert!(body.contains("volume"), "{shell}: no volume command");
        std::fs::write(&script, &body).unwrap();
        let Some([bin, flag]) = check else { continue };
        if which(bin) {
            ok(
                run(Command::new(bin).arg(flag).arg(&script)),
                &format!("{bin} -n"),
            );
        }
    }
}

fn which(bin: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(bin).exists())
}
