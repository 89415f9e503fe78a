//! A Dockerfile's stages: where each begins, what it is called, which other stages it needs
//! (its FROM, `COPY --from`, `RUN --mount=from=`), and which of them a target needs. Stages
//! a target does not need are not built.

use std::collections::BTreeSet;

use muelle_build::dockerfile::{Command, Instruction};

use super::BuildError;

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone)]
pub(super) struct Stage {
    pub index: usize,
    /// `AS name`, lower-cased as Docker compares them.
    pub name: Option<String>,
    pub from: Instruction,
    pub body: Vec<Instruction>,
}

/// The ARGs before the first FROM, and the stages.
pub(super) struct Stages {
    pub meta: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

impl Stages {
    pub fn split(instructions: &[Instruction]) -> Result<Stages, BuildError> {
        let mut meta = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for ins in instructions {
            match &ins.command {
                Command::From { name, .. } => {
                    let name = name.as_ref().map(|n| n.to_ascii_lowercase());
                    if let Some(n) = &name {
                        if stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                            return Err(BuildError::Invalid(format!(
                                "duplicate name {n}: the stage names of a Dockerfile must be unique"
                            )));
                        }
                    }
                    stages.push(Stage {
                        index: stages.len(),
                        name,
                        from: ins.clone(),
                        body: Vec::new(),
                    });
                }
                _ => match stages.last_mut() {
                    Some(s) => s.body.push(ins.clone()),
                    None => match &ins.command {
                        Command::Arg(_) => meta.push(ins.clone()),
                        _ => {
                            return Err(BuildError::Invalid(format!(
                                "line {}: {} before the first FROM: only ARG may come before it",
                                ins.pos.line, ins.keyword
                            )))
                        }
                    },
                },
            }
        }
        if stages.is_empty() {
            return Err(BuildError::Invalid(
                "the Dockerfile has no FROM: no build stage in it".into(),
            ));
        }
        Ok(Stages { meta, stages })
    }

    /// The stage a `FROM x`, `--from=x` or `from=x` names: a stage name or index before
    /// `before` (a stage can only use earlier ones).
    pub fn find(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self.stages[..before]
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(s.index);
        }
        match name.parse::<usize>() {
            Ok(i) if i < before => Some(i),
            _ => None,
        }
    }

    /// The index of the target stage (the last without one).
    pub fn target(&self, target: Option<&str>) -> Result<usize, BuildError> {
        match target.filter(|t| !t.is_empty()) {
            None => Ok(self.stages.len() - 1),
            Some(t) => self.find(t, self.stages.len()).ok_or_else(|| {
                BuildError::Invalid(format!("failed to reach build target {t} in Dockerfile"))
            }),
        }
    }

    /// The stages `target` needs, itself included, in order. `from_of` gives a stage's
    /// base as written, expanded with the meta args.
    pub fn needed(&self, target: usize, from_of: &dyn Fn(&Stage) -> String) -> BTreeSet<usize> {
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if need.insert(i) {
                todo.extend(self.deps(i, from_of));
            }
        }
        need
    }

    /// The earlier stages stage `i` uses directly.
    pub fn deps(&self, i: usize, from_of: &dyn Fn(&Stage) -> String) -> BTreeSet<usize> {
        let stage = &self.stages[i];
        let mut refs = vec![from_of(stage)];
        for ins in &stage.body {
            match &ins.command {
                Command::Copy(a) | Command::Add(a) => refs.extend(a.from.clone()),
                Command::Run { mounts, .. } => {
                    refs.extend(mounts.iter().filter_map(|m| mount_from(m)));
                }
                _ => {}
            }
        }
        refs.iter().filter_map(|r| self.find(r, i)).collect()
    }
}

/// The `from=` key of a raw `--mount` value.
fn mount_from(raw: &str) -> Option<String> {
    raw.split(',')
        .find_map(|kv| kv.strip_prefix("from="))
        .map(str::to_string)
}
