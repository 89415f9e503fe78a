//! The instructions that only change the image config: ENV, ARG, LABEL, USER, WORKDIR,
//! VOLUME, STOPSIGNAL, SHELL, CMD, ENTRYPOINT, MAINTAINER, ONBUILD — each as dockerd's
//! legacy builder applies it, with its history comment.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::DispatchError;
use super::gofmt;
use super::history;
use super::state::{StageState, Step};
use crate::dockerfile::{CmdLine, Instruction};

impl StageState {
    /// ENV: all pairs substituted first (so `ENV a=1 b=$a` sees the old `a`), then each
    /// replaces its key in place or is appended.
    pub(crate) fn env(
        &mut self,
        ins: &Instruction,
        pairs: &[(String, String)],
    ) -> Result<Step, DispatchError> {
        let expanded = self.expand_pairs(ins, "ENV", pairs)?;
        let mut comment = String::from("ENV");
        let env = self.config.env.get_or_insert_with(Vec::new);
        for (key, value) in expanded {
            let entry = format!("{key}={value}");
            comment.push(' ');
            comment.push_str(&entry);
            match env
                .iter_mut()
                .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
            {
                Some(slot) => *slot = entry,
                None => env.push(entry),
            }
        }
        Ok(self.meta(&comment))
    }

    /// LABEL: pairs substituted, then set.
    pub(crate) fn label(
        &mut self,
        ins: &Instruction,
        pairs: &[(String, String)],
    ) -> Result<Step, DispatchError> {
        let expanded = self.expand_pairs(ins, "LABEL", pairs)?;
        let mut comment = String::from("LABEL");
        let labels = self.config.labels.get_or_insert_with(BTreeMap::new);
        for (key, value) in expanded {
            comment.push_str(&format!(" {key}={value}"));
            labels.insert(key, value);
        }
        Ok(self.meta(&comment))
    }

    /// One `--label k=v` of the build options: dockerd appends one unexpanded LABEL per
    /// label, in key order, to the last stage it builds (the target); the progress line
    /// of that step is `LABEL k=v`, as the history entry.
    pub fn label_option(&mut self, key: &str, value: &str) -> Step {
        self.config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        self.meta(&format!("LABEL {key}={value}"))
    }

    fn expand_pairs(
        &self,
        ins: &Instruction,
        keyword: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<(String, String)>, DispatchError> {
        pairs
            .iter()
            .map(|(k, v)| {
                let key = self.expand(k)?;
                if key.is_empty() {
                    return Err(DispatchError::parse(
                        ins.pos.line,
                        format!("{keyword} names can not be blank"),
                    ));
                }
                Ok((key, self.expand(v)?))
            })
            .collect()
    }

    /// ARG: declares the args in this stage (a default substituted), recorded in history.
    pub(crate) fn arg(
        &mut self,
        ins: &Instruction,
        pairs: &[(String, Option<String>)],
    ) -> Result<Step, DispatchError> {
        let mut expanded = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = self.expand(k)?;
            if key.is_empty() {
                return Err(DispatchError::parse(
                    ins.pos.line,
                    "ARG names can not be blank",
                ));
            }
            let value = match v {
                Some(v) => Some(self.expand(v)?),
                None => None,
            };
            expanded.push((key, value));
        }
        let mut parts = Vec::with_capacity(expanded.len());
        for (key, value) in expanded {
            parts.push(match &value {
                Some(v) => format!("{key}={v}"),
                None => key.clone(),
            });
            self.args.declare(&key, value);
        }
        Ok(self.meta(&format!("ARG {}", parts.join(" "))))
    }

    /// USER: substituted; an empty user clears it.
    pub(crate) fn user(&mut self, user: &str) -> Result<Step, DispatchError> {
        let user = self.expand(user)?;
        self.config.user = (!user.is_empty()).then(|| user.clone());
        Ok(self.meta(&format!("USER {user}")))
    }

    /// WORKDIR: relative to the previous one, cleaned; the executor creates it.
    pub(crate) fn workdir(&mut self, path: &str) -> Result<Step, DispatchError> {
        let requested = self.expand(path)?;
        if requested.is_empty() {
            return Err(DispatchError::Invalid("cannot normalize nothing".into()));
        }
        let current = self.config.working_dir.clone().unwrap_or_default();
        let path = if requested.starts_with('/') {
            clean_path(&requested)
        } else {
            clean_path(&format!("/{current}/{requested}"))
        };
        self.config.working_dir = Some(path.clone());
        Ok(Step::Workdir {
            created_by: history::nop_string(&self.shell, &format!("WORKDIR {path}")),
            path,
        })
    }

    /// VOLUME: each path substituted as one word; an empty one refused.
    pub(crate) fn volume(&mut self, vols: &[String]) -> Result<Step, DispatchError> {
        let mut expanded = Vec::with_capacity(vols.len());
        for v in vols {
            let v = self.expand(v)?;
            if v.is_empty() {
                return Err(DispatchError::Invalid(
                    "VOLUME specified can not be an empty string".into(),
                ));
            }
            expanded.push(v);
        }
        let volumes = self.config.volumes.get_or_insert_with(BTreeMap::new);
        for v in &expanded {
            volumes.insert(v.clone(), Value::Object(Default::default()));
        }
        Ok(self.meta(&format!("VOLUME {}", gofmt::plain_list(&expanded))))
    }

    /// STOPSIGNAL: substituted, checked as dockerd's `signal.ParseSignal`, kept as written.
    pub(crate) fn stop_signal(&mut self, sig: &str) -> Result<Step, DispatchError> {
        let sig = self.expand(sig)?;
        if !valid_signal(&sig) {
            return Err(DispatchError::Invalid(format!("Invalid signal: {sig}")));
        }
        self.config.stop_signal = Some(sig.clone());
        Ok(self.meta(&format!("STOPSIGNAL {sig}")))
    }

    /// SHELL: the new shell, which this very entry's prefix already uses.
    pub(crate) fn set_shell(
        &mut self,
        ins: &Instruction,
        shell: &[String],
    ) -> Result<Step, DispatchError> {
        if shell.is_empty() {
            return Err(DispatchError::parse(
                ins.pos.line,
                "SHELL requires at least one argument",
            ));
        }
        self.shell = shell.to_vec();
        self.config.shell = Some(shell.to_vec());
        Ok(self.meta(&format!("SHELL {}", gofmt::plain_list(shell))))
    }

    /// A CMD/ENTRYPOINT/RUN command line: exec form as given, shell form wrapped in the
    /// current shell (an empty shell form is the shell alone, as dockerd has it).
    pub(crate) fn resolve_cmdline(&self, cmd: &CmdLine) -> (Vec<String>, bool) {
        match cmd {
            CmdLine::Exec(argv) => (argv.clone(), !argv.is_empty()),
            CmdLine::Shell(s) if s.trim().is_empty() => (self.shell.clone(), false),
            CmdLine::Shell(s) => {
                let mut argv = self.shell.clone();
                argv.push(s.clone());
                (argv, true)
            }
        }
    }

    /// CMD: set (an empty exec form clears it); ArgsEscaped is false on Linux.
    pub(crate) fn cmd(&mut self, cmd: &CmdLine) -> Result<Step, DispatchError> {
        let (argv, given) = self.resolve_cmdline(cmd);
        self.config.cmd = (!argv.is_empty()).then(|| argv.clone());
        self.config.args_escaped = None;
        if given {
            self.cmd_set = true;
        }
        Ok(self.meta(&format!("CMD {}", gofmt::quote_list(&argv))))
    }

    /// ENTRYPOINT: set; drops a CMD this stage did not set itself.
    pub(crate) fn entrypoint(&mut self, cmd: &CmdLine) -> Result<Step, DispatchError> {
        let (argv, _) = self.resolve_cmdline(cmd);
        self.config.entrypoint = (!argv.is_empty()).then(|| argv.clone());
        self.config.args_escaped = None;
        if !self.cmd_set {
            self.config.cmd = None;
        }
        Ok(self.meta(&format!("ENTRYPOINT {}", gofmt::quote_list(&argv))))
    }

    /// MAINTAINER: the image's author from here on.
    pub(crate) fn maintainer(&mut self, who: &str) -> Result<Step, DispatchError> {
        self.author = Some(who.to_string());
        Ok(self.meta(&format!("MAINTAINER {who}")))
    }

    /// ONBUILD: the trigger's text as written (after `ONBUILD` and its spaces) appended.
    pub(crate) fn onbuild(
        &mut self,
        ins: &Instruction,
        inner: &Instruction,
    ) -> Result<Step, DispatchError> {
        check_trigger(ins.pos.line, &inner.keyword)?;
        let expression = trigger_text(&ins.original);
        self.config
            .on_build
            .get_or_insert_with(Vec::new)
            .push(expression.clone());
        Ok(Step::Onbuild {
            created_by: history::nop(&self.shell, &format!("ONBUILD {expression}")),
        })
    }
}

/// Refuses the triggers dockerd refuses.
pub(crate) fn check_trigger(line: usize, keyword: &str) -> Result<(), DispatchError> {
    match keyword.to_ascii_uppercase().as_str() {
        "ONBUILD" => Err(DispatchError::parse(
            line,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        )),
        k @ ("FROM" | "MAINTAINER") => Err(DispatchError::parse(
            line,
            format!("{k} isn't allowed as an ONBUILD trigger"),
        )),
        _ => Ok(()),
    }
}

/// `ONBUILD  run  x` → `run  x`: dockerd strips `(?i)^\s*ONBUILD\s*` from the original.
fn trigger_text(original: &str) -> String {
    let s = original.trim_start();
    let rest = match s.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("ONBUILD") => &s[7..],
        _ => s,
    };
    rest.trim_start().to_string()
}

/// Go's `filepath.Clean` for absolute paths: no `.`, no `..` above the root, single `/`.
pub(crate) fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// dockerd's `signal.ParseSignal` on Linux: a non-zero number, or a name from its table,
/// case-insensitive, `SIG` optional.
fn valid_signal(raw: &str) -> bool {
    if let Some(n) = parse_go_int(raw) {
        return n != 0;
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    const NAMES: [&str; 35] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
        "UNUSED",
    ];
    NAMES.contains(&name)
        || name == "RTMIN"
        || name == "RTMAX"
        || (1..=15).any(|i| name == format!("RTMIN+{i}"))
        || (1..=14).any(|i| name == format!("RTMAX-{i}"))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, within 64 bits.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_clean_like_go() {
        assert_eq!(clean_path("/w/x/../y"), "/w/y");
        assert_eq!(clean_path("//a/./b/"), "/a/b");
        assert_eq!(clean_path("/../.."), "/");
        assert_eq!(clean_path("/"), "/");
    }

    #[test]
    fn signals_as_dockerd() {
        for ok in [
            "SIGKILL",
            "term",
            "9",
            "-3",
            "sigrtmin+3",
            "SIGRTMAX-1",
            "RTMAX",
            "RTMIN+15",
        ] {
            assert!(valid_signal(ok), "{ok}");
        }
        for bad in [
            "FOO", "0", "", "RTMIN+16", "RTMAX-15", "RTMIN+0", "SIG", "9x",
        ] {
            assert!(!valid_signal(bad), "{bad}");
        }
    }

    #[test]
    fn trigger_text_as_dockerd() {
        assert_eq!(trigger_text("ONBUILD   RUN  echo  on"), "RUN  echo  on");
        assert_eq!(trigger_text("onbuild run x"), "run x");
        assert!(check_trigger(1, "FROM").is_err());
        assert!(check_trigger(1, "onbuild").is_err());
        assert!(check_trigger(1, "RUN").is_ok());
    }
}
