//! Why an instruction cannot be applied to a stage. The messages are dockerd's legacy
//! builder's wording (without the `dockerfile parse error line N: ` prefix dockerd adds to
//! the ones it finds while parsing; `at_parse_time` says which those are, `line` where).

use muelle_types::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// A variable substitution failed (`${X:?msg}`, a bad `${`): the substitution's own
    /// message, `failed to process "<word>": …`.
    #[error("{0}")]
    Expand(String),
    /// A flag or argument value Docker refuses while parsing the Dockerfile
    /// (HEALTHCHECK's durations and retries, ONBUILD's trigger, blank names).
    #[error("{message}")]
    Parse { line: usize, message: String },
    /// A value Docker refuses when it runs the instruction (EXPOSE's ports, STOPSIGNAL,
    /// an empty VOLUME or WORKDIR, a blank FROM).
    #[error("{0}")]
    Invalid(String),
    /// A `RUN --mount` value BuildKit would refuse.
    #[error("{0}")]
    Mount(String),
    /// An instruction that cannot appear here (FROM inside a stage, a trigger that does
    /// not parse).
    #[error("{0}")]
    Unsupported(String),
}

impl DispatchError {
    /// Every dispatch error is the Dockerfile's or the build args' fault.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidParameter
    }

    /// Whether dockerd reports this before running any step, as
    /// `dockerfile parse error line N: <message>`.
    pub fn at_parse_time(&self) -> bool {
        matches!(self, DispatchError::Parse { .. })
    }

    /// The message as dockerd words it to the client: parse-time refusals prefixed
    /// `dockerfile parse error line N: `.
    pub fn dockerd_message(&self) -> String {
        match self {
            DispatchError::Parse { line, message } => {
                format!("dockerfile parse error line {line}: {message}")
            }
            other => other.to_string(),
        }
    }

    pub(crate) fn parse(line: usize, message: impl Into<String>) -> DispatchError {
        DispatchError::Parse {
            line,
            message: message.into(),
        }
    }
}
