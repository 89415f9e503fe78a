//! RUN: the command line (shell form wrapped in the current SHELL), the environment the
//! container gets (the config's env plus every build arg with a value, which the image
//! does not keep), `--mount`s, `--network`, and the history entry dockerd writes
//! (`|N k=v … cmd`, the predefined proxy args left out unless declared).

use super::error::DispatchError;
use super::history;
use super::mounts::RunMount;
use super::state::{StageState, Step};
use crate::dockerfile::{CmdLine, Heredoc};

impl StageState {
    pub(crate) fn run(
        &mut self,
        cmd: &CmdLine,
        heredocs: &[Heredoc],
        mounts: &[String],
        network: Option<&str>,
        security: Option<&str>,
    ) -> Result<Step, DispatchError> {
        let (argv, _) = self.resolve_cmdline(cmd);
        let env = self.config.env.clone().unwrap_or_default();
        let allowed = self.args.filter_allowed(&env);
        let shown: Vec<String> = allowed
            .iter()
            .filter(|(k, _)| self.args.shown_in_history(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let created_by = history::run(!allowed.is_empty(), shown, &argv);
        let mut run_env = env;
        run_env.extend(allowed.iter().map(|(k, v)| format!("{k}={v}")));

        let workdir = self.config.working_dir.clone().filter(|w| !w.is_empty());
        let lookup = |name: &str| self.lookup(name);
        let mounts = mounts
            .iter()
            .map(|m| RunMount::parse(m, workdir.as_deref().unwrap_or("/"), &lookup, self.escape))
            .collect::<Result<Vec<_>, _>>()?;
        let network = match network {
            None | Some("default") => None,
            Some(n @ ("none" | "host")) => Some(n.to_string()),
            Some(other) => {
                return Err(DispatchError::Invalid(format!(
                    "unsupported network mode \"{other}\""
                )))
            }
        };
        match security {
            None | Some("sandbox") => {}
            Some("insecure") => {
                return Err(DispatchError::Unsupported(
                    "RUN --security=insecure is not supported".into(),
                ))
            }
            Some(other) => {
                return Err(DispatchError::Invalid(format!(
                    "unsupported security mode \"{other}\""
                )))
            }
        }
        Ok(Step::Run {
            argv,
            env: run_env,
            user: self.config.user.clone().filter(|u| !u.is_empty()),
            workdir,
            mounts,
            network,
            heredocs: heredocs.to_vec(),
            created_by,
        })
    }
}
