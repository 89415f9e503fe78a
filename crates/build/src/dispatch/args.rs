//! Build arguments as dockerd's legacy builder scopes them: the `--build-arg` values, the
//! ARGs before the first FROM (meta args, visible in FROM and, inside a stage, only once
//! re-declared there), the ARGs a stage declares, and the predefined proxy args (usable
//! without declaring, kept out of history unless declared).

use std::collections::{BTreeMap, BTreeSet};

use super::error::DispatchError;
use super::expand;
use crate::dockerfile::{Command, Instruction};

/// The args every build may use without an ARG: dockerd's `builtinAllowedBuildArgs`.
pub const PREDEFINED_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

pub(crate) fn is_predefined(name: &str) -> bool {
    PREDEFINED_ARGS.contains(&name)
}

/// `--build-arg k[=v]`: `None` when given without a value the client could fill in (Docker
/// then uses the ARG's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildArgs {
    pub values: BTreeMap<String, Option<String>>,
}

/// One stage's view of the args: dockerd's `BuildArgs` after `ResetAllowed`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArgScope {
    /// Declared in this stage, with their (expanded) defaults.
    pub declared: BTreeMap<String, Option<String>>,
    /// The meta args with their resolved values.
    pub meta: BTreeMap<String, Option<String>>,
    pub options: BTreeMap<String, Option<String>>,
    /// Declared anywhere so far (meta args included): what `unused` leaves out.
    pub referenced: BTreeSet<String>,
}

impl ArgScope {
    /// dockerd's `getBuildArg` over the stage's declared args: the build-arg if given,
    /// else the declared default, else (no default) the meta arg's value.
    fn value(&self, key: &str) -> Option<String> {
        if let Some(Some(v)) = self.options.get(key) {
            return Some(v.clone());
        }
        match self.declared.get(key) {
            Some(Some(default)) => Some(default.clone()),
            _ => self.meta.get(key).cloned().flatten(),
        }
    }

    /// Every arg with a value in this stage: declared ones and the predefined ones
    /// (dockerd's `GetAllAllowed`).
    pub fn all_allowed(&self) -> BTreeMap<String, String> {
        let keys = self
            .declared
            .keys()
            .map(String::as_str)
            .chain(PREDEFINED_ARGS);
        keys.filter_map(|k| self.value(k).map(|v| (k.to_string(), v)))
            .collect()
    }

    /// The allowed args the env does not shadow, `k=v` sorted (dockerd's `FilterAllowed`).
    pub fn filter_allowed(&self, env: &[String]) -> Vec<(String, String)> {
        let env_keys: BTreeSet<&str> = env.iter().map(|e| env_key(e)).collect();
        self.all_allowed()
            .into_iter()
            .filter(|(k, _)| !env_keys.contains(k.as_str()))
            .collect()
    }

    /// Whether a RUN's history shows this arg: declared, or not a predefined one.
    pub fn shown_in_history(&self, key: &str) -> bool {
        self.declared.contains_key(key) || !is_predefined(key)
    }

    pub fn declare(&mut self, key: &str, default: Option<String>) {
        self.declared.insert(key.to_string(), default);
        self.referenced.insert(key.to_string());
    }
}

/// The name of a `k=v` env entry (the whole entry when it has no `=`).
pub(crate) fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Evaluates the ARGs before the first FROM with the build args: each default substituted
/// with the meta args before it and the given predefined args, then overridden by its
/// build-arg. `None`: declared without a default and not given.
pub fn meta_args(
    instructions: &[Instruction],
    build_args: &BuildArgs,
    escape: char,
) -> Result<BTreeMap<String, Option<String>>, DispatchError> {
    let mut scope = ArgScope {
        options: build_args.values.clone(),
        ..ArgScope::default()
    };
    for ins in instructions {
        let args = match &ins.command {
            Command::From { .. } => break,
            Command::Arg(args) => args,
            _ => continue,
        };
        // Substituted against what was declared before this ARG, all pairs first.
        let allowed = scope.all_allowed();
        let lookup = |name: &str| allowed.get(name).cloned();
        let mut expanded = Vec::with_capacity(args.len());
        for (key, default) in args {
            let key = expand::word(key, escape, &lookup)?;
            if key.is_empty() {
                return Err(DispatchError::parse(
                    ins.pos.line,
                    "ARG names can not be blank",
                ));
            }
            let default = match default {
                Some(d) => Some(expand::word(d, escape, &lookup)?),
                None => None,
            };
            expanded.push((key, default));
        }
        for (key, default) in expanded {
            scope.declare(&key, default.clone());
            scope.meta.insert(key, default);
        }
    }
    Ok(scope
        .meta
        .keys()
        .map(|k| (k.clone(), scope.value(k)))
        .collect())
}

/// FROM's image reference with the meta args substituted; a reference that substitutes
/// to nothing is refused as dockerd does.
pub fn resolve_from(
    image: &str,
    meta_args: &BTreeMap<String, Option<String>>,
    escape: char,
) -> Result<String, DispatchError> {
    let lookup = |name: &str| meta_args.get(name).cloned().flatten();
    let name = expand::word(image, escape, &lookup)?;
    if name.is_empty() {
        return Err(DispatchError::Invalid(format!(
            "base name ({image}) should not be blank"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::Pos;

    fn arg(pairs: &[(&str, Option<&str>)]) -> Instruction {
        Instruction {
            pos: Pos { line: 1, column: 1 },
            keyword: "ARG".into(),
            original: "ARG".into(),
            command: Command::Arg(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                    .collect(),
            ),
        }
    }

    fn from() -> Instruction {
        Instruction {
            pos: Pos { line: 2, column: 1 },
            keyword: "FROM".into(),
            original: "FROM x".into(),
            command: Command::From {
                image: "x".into(),
                name: None,
                platform: None,
            },
        }
    }

    #[test]
    fn meta_args_use_earlier_ones_and_build_args() {
        let ins = [
            arg(&[("V", Some("1"))]),
            arg(&[("W", Some("$V-w"))]),
            arg(&[("X", None)]),
            from(),
            arg(&[("Z", Some("z"))]),
        ];
        let none = meta_args(&ins, &BuildArgs::default(), '\\').unwrap();
        assert_eq!(none.get("W"), Some(&Some("1-w".to_string())));
        assert_eq!(none.get("X"), Some(&None));
        assert!(!none.contains_key("Z"));
        let given = BuildArgs {
            values: [("V".to_string(), Some("2".to_string()))].into(),
        };
        let m = meta_args(&ins, &given, '\\').unwrap();
        assert_eq!(m.get("V"), Some(&Some("2".to_string())));
        assert_eq!(m.get("W"), Some(&Some("2-w".to_string())));
    }

    #[test]
    fn from_is_substituted_and_never_blank() {
        let m: BTreeMap<_, _> = [("IMG".to_string(), Some("busybox".to_string()))].into();
        assert_eq!(resolve_from("$IMG:1", &m, '\\').unwrap(), "busybox:1");
        assert_eq!(
            resolve_from("$NONE", &m, '\\').unwrap_err().to_string(),
            "base name ($NONE) should not be blank"
        );
    }
}
