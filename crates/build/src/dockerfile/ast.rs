//! The parsed Dockerfile: instructions with their raw (unexpanded) arguments and where they
//! were written. Variable substitution happens later, per stage, when the values are known.

/// A place in the Dockerfile, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// `\` or the `# escape=` directive's character.
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    /// In order; the ARGs before the first FROM included.
    pub instructions: Vec<Instruction>,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub pos: Pos,
    /// Upper case: `RUN`.
    pub keyword: String,
    /// The source text with its continuations joined (Docker's `Original`), heredoc bodies
    /// left out.
    pub original: String,
    pub command: Command,
}

/// Exec form (`["a", "b"]`) or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdLine {
    Exec(Vec<String>),
    Shell(String),
}

/// A here-document (`<<EOF` … `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`): no substitution in the body.
    pub expand: bool,
    /// `<<-EOF`: leading tabs removed from each line.
    pub chomp: bool,
}

/// A COPY/ADD source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(String),
    Heredoc(Heredoc),
}

/// COPY and ADD's arguments and flags, raw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyArgs {
    pub sources: Vec<Source>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
}

/// HEALTHCHECK's command and flags, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthArgs {
    pub cmd: CmdLine,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

/// What an instruction says, unexpanded.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    From {
        image: String,
        name: Option<String>,
        platform: Option<String>,
    },
    Run {
        cmd: CmdLine,
        heredocs: Vec<Heredoc>,
        /// Raw `--mount` values.
        mounts: Vec<String>,
        network: Option<String>,
        security: Option<String>,
    },
    Copy(CopyArgs),
    Add(CopyArgs),
    /// Key, value; the legacy `ENV k v` form too.
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Label(Vec<(String, String)>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Cmd(CmdLine),
    Entrypoint(CmdLine),
    Shell(Vec<String>),
    StopSignal(String),
    /// `None`: `HEALTHCHECK NONE`.
    Healthcheck(Option<HealthArgs>),
    Onbuild(Box<Instruction>),
    Maintainer(String),
}
