//! muelle-shim: one per started container. See the crate docs and PROTOCOL.md; the work is
//! in the library's `server`. This only reads the command line.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;

use muelle_supervisor::args::Options;
use muelle_supervisor::{protocol, server};

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = std::io::stdout().write_all(&protocol::error_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    std::process::exit(server::serve(opts));
}
