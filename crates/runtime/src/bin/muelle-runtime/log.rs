//! The runtime's log: `--log FILE` in text or json. Engines (containerd's shim, podman) read
//! the json lines of a failed command to show the user why it failed.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

struct Log {
    file: Option<std::fs::File>,
    json: bool,
    debug: bool,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    file: None,
    json: false,
    debug: false,
});

pub fn init(path: Option<&Path>, format: &str, debug: bool) {
    let file = path.and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    if let Ok(mut l) = LOG.lock() {
        *l = Log {
            file,
            json: format == "json",
            debug,
        };
    }
}

fn write(level: &str, msg: &str) {
    let Ok(mut l) = LOG.lock() else { return };
    let json = l.json;
    let Some(f) = l.file.as_mut() else { return };
    let time = muelle_runtime::state::now_rfc3339();
    let line = if json {
        serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
    } else {
        format!("time=\"{time}\" level={level} msg={msg:?}")
    };
    let _ = writeln!(f, "{line}");
}

pub fn error(msg: &str) {
    write("error", msg);
}

pub fn warn(msg: &str) {
    write("warning", msg);
}

pub fn debug(msg: &str) {
    let on = LOG.lock().map(|l| l.debug).unwrap_or(false);
    if on {
        write("debug", msg);
    }
}
