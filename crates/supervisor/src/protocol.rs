//! Requests and replies on `shim.sock` (PROTOCOL.md, "Requests").

use oci_spec::runtime::Process;
use serde::{Deserialize, Serialize};

use crate::error::ShimError;

/// Longest request line accepted (an exec request carries a whole OCI process).
pub const MAX_REQUEST: usize = 256 * 1024;

/// One request, the first line of a connection.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    Start,
    Wait,
    Status,
    Resize {
        height: u16,
        width: u16,
    },
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
    },
    Exec {
        process: Box<Process>,
        #[serde(default)]
        tty: bool,
        #[serde(default)]
        stdin: bool,
    },
    ExecResize {
        pid: i32,
        height: u16,
        width: u16,
    },
}

const OPS: &[&str] = &[
    "start",
    "wait",
    "status",
    "resize",
    "attach",
    "exec",
    "exec-resize",
];

impl Request {
    /// Parses a request line; an unknown op is named in the error.
    pub fn parse(line: &[u8]) -> Result<Request, ShimError> {
        let v: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| ShimError::Request(format!("malformed request: {e}")))?;
        let op = v
            .get("op")
            .and_then(|o| o.as_str())
            .unwrap_or_default()
            .to_string();
        if !OPS.contains(&op.as_str()) {
            return Err(ShimError::Request(format!("unknown op {op:?}")));
        }
        serde_json::from_value(v).map_err(|e| ShimError::Request(format!("{op}: {e}")))
    }
}

/// The exit record: the reply to `wait` and (with `pid`) the exit file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitRecord {
    pub exit_code: i32,
    pub finished_at: String,
    pub oom_killed: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pid: Option<i32>,
}

/// `{"error":"..."}` as a line.
pub fn error_line(msg: &str) -> Vec<u8> {
    let mut v = serde_json::json!({ "error": msg }).to_string().into_bytes();
    v.push(b'\n');
    v
}

/// Any serialisable value as a line.
pub fn line(v: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ops() {
        assert!(matches!(
            Request::parse(br#"{"op":"start"}"#),
            Ok(Request::Start)
        ));
        assert!(matches!(
            Request::parse(br#"{"op":"attach","stdout":true}"#),
            Ok(Request::Attach {
                stdin: false,
                stdout: true,
                stderr: false
            })
        ));
        assert!(matches!(
            Request::parse(br#"{"op":"exec-resize","pid":3,"height":1,"width":2}"#),
            Ok(Request::ExecResize { pid: 3, .. })
        ));
        let e = Request::parse(br#"{"op":"frobnicate"}"#).map_err(|e| e.to_string());
        assert_eq!(e.err().as_deref(), Some("unknown op \"frobnicate\""));
    }
}
