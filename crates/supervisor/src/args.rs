//! The shim's command line (PROTOCOL.md, "Invocation"). Parsed by hand: the shim is started
//! only by muelled, and a parser crate would cost more memory than these few flags.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::ShimError;

/// Where the container's output goes besides attached clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDriver {
    JsonFile,
    None,
}

/// Everything the daemon tells a shim.
#[derive(Debug, Clone)]
pub struct Options {
    pub id: String,
    pub bundle: PathBuf,
    pub runtime_root: PathBuf,
    pub state_dir: PathBuf,
    pub exit_file: PathBuf,
    pub log_driver: LogDriver,
    pub log_path: Option<PathBuf>,
    pub log_max_size: u64,
    pub log_max_file: u32,
    /// Gzip the rotated log files.
    pub log_compress: bool,
    pub tty: bool,
    pub stdin: bool,
    pub stdin_once: bool,
    pub unmount: Vec<PathBuf>,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Options, ShimError> {
        let mut id = None;
        let mut bundle = None;
        let mut runtime_root = None;
        let mut state_dir = None;
        let mut exit_file = None;
        let mut o = Options {
            id: String::new(),
            bundle: PathBuf::new(),
            runtime_root: PathBuf::new(),
            state_dir: PathBuf::new(),
            exit_file: PathBuf::new(),
            log_driver: LogDriver::JsonFile,
            log_path: None,
            log_max_size: 0,
            log_max_file: 1,
            log_compress: false,
            tty: false,
            stdin: false,
            stdin_once: false,
            unmount: Vec::new(),
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let arg = arg
                .into_string()
                .map_err(|a| ShimError::Usage(format!("invalid argument {a:?}")))?;
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(OsString::from(v))),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<OsString, ShimError> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| ShimError::Usage(format!("{name} needs a value")))
            };
            let number = |name: &str, v: OsString| -> Result<u64, ShimError> {
                v.to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| ShimError::Usage(format!("{name}: not a number: {v:?}")))
            };
            match flag.as_str() {
                "--id" => {
                    id = Some(
                        value("--id")?
                            .into_string()
                            .map_err(|_| ShimError::Usage("--id: not UTF-8".into()))?,
                    )
                }
                "--bundle" => bundle = Some(PathBuf::from(value("--bundle")?)),
                "--runtime-root" => runtime_root = Some(PathBuf::from(value("--runtime-root")?)),
                "--state-dir" => state_dir = Some(PathBuf::from(value("--state-dir")?)),
                "--exit-file" => exit_file = Some(PathBuf::from(value("--exit-file")?)),
                "--log-driver" => {
                    o.log_driver = match value("--log-driver")?.to_str() {
                        Some("json-file") => LogDriver::JsonFile,
                        Some("none") => LogDriver::None,
                        other => {
                            return Err(ShimError::Usage(format!(
                                "--log-driver: unsupported driver {other:?} (json-file, none)"
                            )))
                        }
                    }
                }
                "--log-path" => o.log_path = Some(PathBuf::from(value("--log-path")?)),
                "--log-max-size" => o.log_max_size = number(&flag, value(&flag)?)?,
                "--log-max-file" => {
                    let n = number(&flag, value(&flag)?)?;
                    o.log_max_file = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
                }
                "--log-compress" => o.log_compress = true,
                "--tty" => o.tty = true,
                "--stdin" => o.stdin = true,
                "--stdin-once" => o.stdin_once = true,
                "--unmount" => o.unmount.push(PathBuf::from(value("--unmount")?)),
                other => return Err(ShimError::Usage(format!("unknown argument {other:?}"))),
            }
        }
        let need = |v: Option<PathBuf>, name: &str| {
            v.ok_or_else(|| ShimError::Usage(format!("{name} is required")))
        };
        o.id = id.ok_or_else(|| ShimError::Usage("--id is required".into()))?;
        o.bundle = need(bundle, "--bundle")?;
        o.runtime_root = need(runtime_root, "--runtime-root")?;
        o.state_dir = need(state_dir, "--state-dir")?;
        o.exit_file = need(exit_file, "--exit-file")?;
        if o.log_driver == LogDriver::JsonFile && o.log_path.is_none() {
            return Err(ShimError::Usage(
                "--log-path is required with the json-file log driver".into(),
            ));
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Options, ShimError> {
        Options::parse(a.iter().map(OsString::from))
    }

    #[test]
    fn full_command_line() {
        let o = parse(&[
            "--id",
            "c1",
            "--bundle",
            "/b",
            "--runtime-root",
            "/r",
            "--state-dir",
            "/s",
            "--exit-file",
            "/e",
            "--log-path=/l",
            "--log-max-size",
            "100",
            "--log-max-file",
            "3",
            "--tty",
            "--stdin",
            "--stdin-once",
            "--unmount",
            "/m1",
            "--unmount",
            "/m2",
        ])
        .map_err(|e| e.to_string());
        let o = match o {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(o.id, "c1");
        assert_eq!(o.log_path, Some(PathBuf::from("/l")));
        assert_eq!((o.log_max_size, o.log_max_file), (100, 3));
        assert!(o.tty && o.stdin && o.stdin_once);
        assert_eq!(o.unmount.len(), 2);
    }

    #[test]
    fn missing_and_unknown() {
        assert!(parse(&["--id", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        let none = parse(&[
            "--id",
            "c",
            "--bundle",
            "/b",
            "--runtime-root",
            "/r",
            "--state-dir",
            "/s",
            "--exit-file",
            "/e",
            "--log-driver",
            "none",
        ]);
        assert!(none.is_ok_and(|o| o.log_driver == LogDriver::None));
    }
}
