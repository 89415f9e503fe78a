//! COPY and ADD: sources, destination, `--chown`, `--chmod` and `--checksum` substituted
//! (`--from` not, as dockerd); the destination made absolute against WORKDIR (a trailing
//! `/` kept: it says "into this directory"); the history entry's two halves around the
//! content hash the executor computes (dockerd writes the destination as written, and
//! glues `--chown=<v>` to the hash without a space). Heredoc sources are passed as parsed.

use super::config::clean_path;
use super::error::DispatchError;
use super::history;
use super::state::{StageState, Step};
use crate::dockerfile::{CopyArgs, Source};

impl StageState {
    pub(crate) fn copy(&mut self, c: &CopyArgs, add: bool) -> Result<Step, DispatchError> {
        let name = if add { "ADD" } else { "COPY" };
        if c.parents {
            return Err(DispatchError::Unsupported(format!(
                "{name} --parents is not supported"
            )));
        }
        if !c.exclude.is_empty() {
            return Err(DispatchError::Unsupported(format!(
                "{name} --exclude is not supported"
            )));
        }
        let sources = c
            .sources
            .iter()
            .map(|s| match s {
                Source::Path(p) => self.expand(p).map(Source::Path),
                Source::Heredoc(h) => Ok(Source::Heredoc(h.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let written = self.expand(&c.dest)?;
        let opt = |v: &Option<String>| -> Result<Option<String>, DispatchError> {
            Ok(match v {
                Some(v) => Some(self.expand(v)?).filter(|v| !v.is_empty()),
                None => None,
            })
        };
        let chown = opt(&c.chown)?;
        let chmod = opt(&c.chmod)?;
        let checksum = opt(&c.checksum)?;
        // dockerd's legacy builder takes `--from` as written (a stage name or an image).
        let from = c.from.clone().filter(|f| !f.is_empty());
        let chown_comment = chown
            .as_ref()
            .map(|v| format!("--chown={v}"))
            .unwrap_or_default();
        let workdir = self.config.working_dir.clone().unwrap_or_default();
        Ok(Step::Copy {
            add,
            sources,
            from,
            dest: absolute_dest(&workdir, &written),
            chown,
            chmod,
            link: c.link,
            checksum,
            created_by_prefix: history::nop_string(&self.shell, &format!("{name} {chown_comment}")),
            created_by_suffix: format!(" in {written} "),
        })
    }
}

/// dockerd's `normalizeDest`, cleaned: relative joins WORKDIR; `/`, `/.` or `.` at the
/// end means a directory, kept as a trailing `/`.
pub(crate) fn absolute_dest(workdir: &str, dest: &str) -> String {
    let dir = dest.ends_with('/') || dest.ends_with("/.") || dest == ".";
    let abs = if dest.starts_with('/') {
        clean_path(dest)
    } else {
        clean_path(&format!("/{workdir}/{dest}"))
    };
    if dir && abs != "/" {
        format!("{abs}/")
    } else {
        abs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(absolute_dest("/w", "a/b/"), "/w/a/b/");
        assert_eq!(absolute_dest("/w", "../c"), "/c");
        assert_eq!(absolute_dest("/w", "/d/."), "/d/");
        assert_eq!(absolute_dest("/w", "."), "/w/");
        assert_eq!(absolute_dest("", "x"), "/x");
        assert_eq!(absolute_dest("", "."), "/");
        assert_eq!(absolute_dest("/w", "/x//y"), "/x/y");
    }
}
