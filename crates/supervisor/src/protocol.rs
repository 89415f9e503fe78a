//! The contract on `shim.sock` (PROTOCOL.md, "Requests"), both directions: the requests the
//! daemon sends and the replies the shim answers, as types that both sides serialise and
//! parse. A request or reply is one JSON line; the frames of a stream are in [`crate::frame`].

use oci_spec::runtime::Process;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ShimError;

/// Longest request line accepted (an exec request carries a whole OCI process).
pub const MAX_REQUEST: usize = 256 * 1024;

/// One request, the first line of a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Runs the created process. Reply: [`Ack`].
    Start,
    /// Held open until the container has exited and its output is drained. Reply:
    /// [`ExitRecord`] (without `pid`).
    Wait,
    /// Reply: [`Status`].
    Status,
    /// Sets the container's pty size. Reply: [`Ack`].
    Resize { height: u16, width: u16 },
    /// Reply: [`Ack`], then a stream of frames.
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
    },
    /// Runs another process in the container. Reply: [`ExecStarted`], then a stream.
    Exec {
        process: Box<Process>,
        #[serde(default)]
        tty: bool,
        #[serde(default)]
        stdin: bool,
    },
    /// Sets an exec'd process's pty size. Reply: [`Ack`].
    ExecResize { pid: i32, height: u16, width: u16 },
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
        #[derive(Deserialize)]
        struct Op {
            #[serde(default)]
            op: Option<String>,
        }
        let op = serde_json::from_slice::<Op>(line)
            .map_err(|e| ShimError::Request(format!("malformed request: {e}")))?
            .op
            .unwrap_or_default();
        if !OPS.contains(&op.as_str()) {
            return Err(ShimError::Request(format!("unknown op {op:?}")));
        }
        serde_json::from_slice(line).map_err(|e| ShimError::Request(format!("{op}: {e}")))
    }

    /// The request as the line the shim reads.
    pub fn to_line(&self) -> Vec<u8> {
        line(self)
    }
}

/// The ready line: the container is created (not started) and the socket accepts
/// connections. Its failure is an [`ErrorReply`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ready {
    /// The container's init.
    pub pid: i32,
}

/// `{"ok":true}`: the request was carried out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ack {
    pub ok: bool,
}

impl Ack {
    pub const OK: Ack = Ack { ok: true };
}

/// The reply to `exec`: the process runs; its stream follows.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecStarted {
    pub ok: bool,
    pub pid: i32,
}

/// The reply to `status`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// The container's init.
    pub pid: i32,
    /// Started and not yet exited.
    pub running: bool,
}

/// The exit record: the reply to `wait` and (with `pid`) the exit file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitRecord {
    pub exit_code: i32,
    pub finished_at: String,
    /// The container's cgroup saw the kernel's OOM killer at work.
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pid: Option<i32>,
}

/// The payload of a stream's last frame (stream 255).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitCode {
    pub exit_code: i32,
}

/// `{"error":"..."}`: any request's (or the ready line's) failure. The text keeps the
/// runtime's wording, which the daemon maps to Docker's exit codes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorReply {
    pub error: String,
}

/// `{"error":"..."}` as a line.
pub fn error_line(msg: &str) -> Vec<u8> {
    line(&ErrorReply {
        error: msg.to_string(),
    })
}

/// Any serialisable value as a line.
pub fn line(v: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    out
}

/// Parses a reply line that is either `T` or an [`ErrorReply`]: `Ok(Err(text))` for the
/// latter, `Err` when the line is neither.
pub fn parse_reply<T: DeserializeOwned>(
    line: &[u8],
) -> Result<Result<T, String>, serde_json::Error> {
    #[derive(Deserialize)]
    struct MaybeError {
        error: Option<String>,
    }
    if let Ok(MaybeError { error: Some(e) }) = serde_json::from_slice(line) {
        return Ok(Err(e));
    }
    serde_json::from_slice(line).map(Ok)
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
        let e = Request::parse(br#"{"height":1}"#).map_err(|e| e.to_string());
        assert_eq!(e.err().as_deref(), Some("unknown op \"\""));
        let e = Request::parse(b"nope").map_err(|e| e.to_string());
        assert!(e.is_err_and(|e| e.starts_with("malformed request")));
        let e = Request::parse(br#"{"op":"resize","height":70000,"width":1}"#);
        assert!(e.is_err_and(|e| e.to_string().starts_with("resize: ")));
    }

    #[test]
    fn requests_round_trip() {
        let mut process = Process::default();
        process.set_args(Some(vec!["true".into()]));
        let reqs = [
            Request::Start,
            Request::Wait,
            Request::Status,
            Request::Resize {
                height: 24,
                width: 80,
            },
            Request::Attach {
                stdin: true,
                stdout: true,
                stderr: false,
            },
            Request::Exec {
                process: Box::new(process),
                tty: true,
                stdin: false,
            },
            Request::ExecResize {
                pid: 7,
                height: 1,
                width: 2,
            },
        ];
        for r in reqs {
            let line = r.to_line();
            assert_eq!(line.last(), Some(&b'\n'));
            let back = Request::parse(&line[..line.len() - 1]).map_err(|e| e.to_string());
            assert_eq!(back, Ok(r));
        }
        assert_eq!(
            Request::Resize {
                height: 24,
                width: 80
            }
            .to_line(),
            b"{\"op\":\"resize\",\"height\":24,\"width\":80}\n"
        );
    }

    /// The replies' bytes are the protocol's (PROTOCOL.md); older daemons read them.
    #[test]
    fn reply_shapes() {
        assert_eq!(line(&Ready { pid: 12 }), b"{\"pid\":12}\n");
        assert_eq!(line(&Ack::OK), b"{\"ok\":true}\n");
        assert_eq!(
            line(&ExecStarted { ok: true, pid: 9 }),
            b"{\"ok\":true,\"pid\":9}\n"
        );
        assert_eq!(
            line(&Status {
                pid: 3,
                running: false
            }),
            b"{\"pid\":3,\"running\":false}\n"
        );
        assert_eq!(line(&ExitCode { exit_code: -1 }), b"{\"exit_code\":-1}\n");
        assert_eq!(error_line("a \"b\""), b"{\"error\":\"a \\\"b\\\"\"}\n");
        let rec = ExitRecord {
            exit_code: 137,
            finished_at: "2026-12-07T10:00:00Z".into(),
            oom_killed: true,
            pid: None,
        };
        assert_eq!(
            line(&rec),
            b"{\"exit_code\":137,\"finished_at\":\"2026-12-07T10:00:00Z\",\"oom_killed\":true}\n"
        );
        let with_pid = ExitRecord {
            pid: Some(5),
            ..rec
        };
        assert!(String::from_utf8_lossy(&line(&with_pid)).ends_with(",\"pid\":5}\n"));
    }

    #[test]
    fn replies_or_errors() {
        let ok = parse_reply::<Status>(br#"{"pid":3,"running":true}"#).map_err(|e| e.to_string());
        assert_eq!(
            ok,
            Ok(Ok(Status {
                pid: 3,
                running: true
            }))
        );
        let err = parse_reply::<Ack>(br#"{"error":"container has exited"}"#);
        assert!(matches!(err, Ok(Err(e)) if e == "container has exited"));
        assert!(parse_reply::<Ready>(br#"{"nothing":1}"#).is_err());
        let old = parse_reply::<ExitRecord>(br#"{"exit_code":1,"finished_at":"x"}"#);
        assert!(matches!(old, Ok(Ok(r)) if !r.oom_killed && r.pid.is_none()));
    }
}
