//! The history entry's `created_by` as dockerd's legacy builder writes it: the container
//! command it commits with, joined by spaces. Config-only steps commit with
//! `<shell…> "#(nop) " <comment>` (hence the two spaces: `/bin/sh -c #(nop)  ENV a=b`);
//! WORKDIR, COPY and ADD with `<shell…> "#(nop) <comment>"` (one space); RUN with its
//! command, prefixed by `|N k=v…` when build args are in scope.

/// dockerd's default shell on Linux.
pub(crate) fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_string(), "-c".to_string()]
}

/// `withCmdComment`: the prefix of ENV, LABEL, CMD, … (two spaces after `#(nop)`).
pub(crate) fn nop(shell: &[String], comment: &str) -> String {
    format!("{} #(nop)  {comment}", shell.join(" "))
}

/// `withCmdCommentString`: the prefix of WORKDIR, COPY and ADD (one space).
pub(crate) fn nop_string(shell: &[String], comment: &str) -> String {
    format!("{} #(nop) {comment}", shell.join(" "))
}

/// A RUN's entry: `|N k=v … cmd…` when any build arg has a value in the stage (N counts
/// those shown: declared ones, and undeclared ones that are not predefined proxies), else
/// just the command. `shown` is sorted as dockerd sorts the `k=v` strings.
pub(crate) fn run(any_args: bool, mut shown: Vec<String>, argv: &[String]) -> String {
    if !any_args {
        return argv.join(" ");
    }
    shown.sort();
    let mut parts = vec![format!("|{}", shown.len())];
    parts.extend(shown);
    parts.extend(argv.iter().cloned());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let sh = default_shell();
        assert_eq!(nop(&sh, "ENV a=b"), "/bin/sh -c #(nop)  ENV a=b");
        assert_eq!(
            nop_string(&sh, "WORKDIR /x"),
            "/bin/sh -c #(nop) WORKDIR /x"
        );
        let argv = vec!["/bin/sh".into(), "-c".into(), "echo $X".into()];
        assert_eq!(
            run(true, vec!["X=1".into()], &argv),
            "|1 X=1 /bin/sh -c echo $X"
        );
        assert_eq!(run(true, vec![], &argv), "|0 /bin/sh -c echo $X");
        assert_eq!(run(false, vec![], &argv), "/bin/sh -c echo $X");
        assert_eq!(
            run(
                true,
                vec!["no_proxy=np".into(), "W=2".into(), "V=2".into()],
                &argv
            ),
            "|3 V=2 W=2 no_proxy=np /bin/sh -c echo $X"
        );
    }
}
