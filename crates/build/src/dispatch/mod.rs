// LEAD-STUB (uncommitted)
use crate::dockerfile::{Heredoc, Instruction, Source};
use muelle_image::manifest::ContainerConfig;
use std::collections::BTreeMap;
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DispatchError(pub String);
impl DispatchError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        muelle_types::ErrorKind::InvalidParameter
    }
}
#[derive(Debug, Clone, Default)]
pub struct BuildArgs {
    pub values: BTreeMap<String, Option<String>>,
}
pub struct StageState {
    pub config: ContainerConfig,
    pub shell: Vec<String>,
    pub escape: char,
    pub author: Option<String>,
}
impl StageState {
    pub fn new(
        base: Option<&ContainerConfig>,
        _m: &BTreeMap<String, Option<String>>,
        _b: &BuildArgs,
        escape: char,
    ) -> StageState {
        StageState {
            config: base.cloned().unwrap_or_default(),
            shell: vec![],
            escape,
            author: None,
        }
    }
    pub fn dispatch(&mut self, _i: &Instruction) -> Result<Step, DispatchError> {
        Err(DispatchError("stub".into()))
    }
    pub fn unused(&self) -> Vec<String> {
        vec![]
    }
}
pub fn resolve_from(
    image: &str,
    _m: &BTreeMap<String, Option<String>>,
    _e: char,
) -> Result<String, DispatchError> {
    Ok(image.into())
}
pub fn meta_args(
    _i: &[Instruction],
    _b: &BuildArgs,
    _e: char,
) -> Result<BTreeMap<String, Option<String>>, DispatchError> {
    Ok(BTreeMap::new())
}
pub fn onbuild_triggers(_b: &ContainerConfig, _e: char) -> Result<Vec<Instruction>, DispatchError> {
    Ok(vec![])
}
pub enum Step {
    Meta {
        created_by: String,
    },
    Workdir {
        path: String,
        created_by: String,
    },
    Run {
        argv: Vec<String>,
        env: Vec<String>,
        user: Option<String>,
        workdir: Option<String>,
        mounts: Vec<RunMount>,
        network: Option<String>,
        heredocs: Vec<Heredoc>,
        created_by: String,
    },
    Copy {
        add: bool,
        sources: Vec<Source>,
        from: Option<String>,
        dest: String,
        chown: Option<String>,
        chmod: Option<String>,
        link: bool,
        checksum: Option<String>,
        created_by_prefix: String,
    },
    Onbuild {
        created_by: String,
    },
}
pub enum RunMount {
    Cache {
        target: String,
        id: Option<String>,
        sharing: String,
        from: Option<String>,
        source: Option<String>,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        readonly: bool,
    },
    Bind {
        target: String,
        from: Option<String>,
        source: String,
        readonly: bool,
    },
    Secret {
        id: String,
        target: String,
        required: bool,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Tmpfs {
        target: String,
        size: Option<u64>,
    },
}
