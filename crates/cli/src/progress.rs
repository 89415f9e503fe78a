//! Docker's JSON message stream (pull, push, load, import) shown as docker shows it: on a
//! terminal, one line per layer id with a progress bar redrawn in place; piped, one plain
//! line per status change and no redraws; quiet, nothing but errors.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use anyhow::{bail, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Deserialize;

use crate::client::JsonStream;
use crate::units::human_size;

#[derive(Debug, Default, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "progressDetail")]
    pub progress_detail: Option<ProgressDetail>,
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default, rename = "errorDetail")]
    pub error_detail: Option<ErrorDetail>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub aux: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProgressDetail {
    #[serde(default)]
    pub current: Option<i64>,
    #[serde(default)]
    pub total: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
}

impl Message {
    /// The stream's own error report (`errorDetail`/`error`), which ends the operation.
    pub fn error_text(&self) -> Option<String> {
        let detail = self.error_detail.as_ref().and_then(|d| d.message.clone());
        detail
            .or_else(|| self.error.clone())
            .filter(|m| !m.is_empty())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Tty,
    Plain,
    Quiet,
}

impl Mode {
    pub fn for_stdout(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            Mode::Tty
        } else {
            Mode::Plain
        }
    }
}

/// Turns messages into output lines; the plain half is separate from the terminal so it can
/// be tested on strings.
#[derive(Default)]
pub struct Plain {
    last: HashMap<String, String>,
}

impl Plain {
    /// The text to print for a message, if any (each piece ends in a newline).
    pub fn line(&mut self, m: &Message) -> Option<String> {
        if let Some(s) = m.stream.as_deref().filter(|s| !s.is_empty()) {
            return Some(if s.ends_with('\n') {
                s.to_owned()
            } else {
                format!("{s}\n")
            });
        }
        let status = m.status.as_deref().filter(|s| !s.is_empty())?;
        match m.id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => {
                if self.last.get(id).map(String::as_str) == Some(status) {
                    return None;
                }
                self.last.insert(id.to_owned(), status.to_owned());
                Some(format!("{id}: {status}\n"))
            }
            None => Some(format!("{status}\n")),
        }
    }
}

struct Bars {
    multi: MultiProgress,
    by_id: HashMap<String, ProgressBar>,
    all: Vec<ProgressBar>,
    with_bar: ProgressStyle,
    text_only: ProgressStyle,
}

impl Bars {
    fn new() -> Bars {
        let sizes = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(
                w,
                "{}/{}",
                human_size(state.pos() as f64),
                human_size(state.len().unwrap_or(0) as f64)
            );
        };
        let with_bar = ProgressStyle::with_template("{prefix}: {msg} [{bar:50}] {sizes}")
            .map(|s| s.with_key("sizes", sizes).progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let text_only = ProgressStyle::with_template("{prefix}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            by_id: HashMap::new(),
            all: Vec::new(),
            with_bar,
            text_only,
        }
    }

    fn line(&mut self, text: &str) {
        // Styled before it is added: an added bar is drawn at once, in whatever style it has.
        let style =
            ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
        let pb = self.multi.add(
            ProgressBar::new(0)
                .with_style(style)
                .with_message(text.trim_end_matches('\n').to_owned()),
        );
        pb.finish();
        self.all.push(pb);
    }

    fn update(&mut self, m: &Message) {
        if let Some(s) = m.stream.as_deref().filter(|s| !s.is_empty()) {
            for l in s.trim_end_matches('\n').split('\n') {
                self.line(l);
            }
            return;
        }
        let Some(status) = m.status.as_deref().filter(|s| !s.is_empty()) else {
            return;
        };
        let Some(id) = m.id.as_deref().filter(|s| !s.is_empty()) else {
            self.line(status);
            return;
        };
        let pb = match self.by_id.get(id) {
            Some(pb) => pb.clone(),
            None => {
                let pb = self.multi.add(
                    ProgressBar::new(0)
                        .with_style(self.text_only.clone())
                        .with_prefix(id.to_owned())
                        .with_message(status.to_owned()),
                );
                self.by_id.insert(id.to_owned(), pb.clone());
                self.all.push(pb.clone());
                pb
            }
        };
        let detail = m.progress_detail.as_ref();
        match detail.and_then(|d| Some((d.current?, d.total?))) {
            Some((current, total)) if total > 0 => {
                pb.set_style(self.with_bar.clone());
                pb.set_length(total as u64);
                pb.set_position(current.clamp(0, total) as u64);
            }
            _ => pb.set_style(self.text_only.clone()),
        }
        pb.set_message(status.to_owned());
    }

    fn done(self) {
        for pb in self.all {
            pb.abandon();
        }
    }
}

/// Shows a whole message stream; returns the `aux` objects (push reports its digest there)
/// or the stream's error.
pub async fn show(stream: &mut JsonStream, mode: Mode) -> Result<Vec<serde_json::Value>> {
    let mut aux = Vec::new();
    let mut plain = Plain::default();
    let mut bars = if mode == Mode::Tty {
        Some(Bars::new())
    } else {
        None
    };
    let mut stdout = std::io::stdout();
    let result: Result<()> = async {
        while let Some(m) = stream.next::<Message>().await? {
            if let Some(e) = m.error_text() {
                bail!("{e}");
            }
            if let Some(a) = m.aux.clone() {
                aux.push(a);
            }
            match (&mut bars, mode) {
                (Some(b), _) => b.update(&m),
                (None, Mode::Plain) => {
                    if let Some(l) = plain.line(&m) {
                        stdout.write_all(l.as_bytes())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    if let Some(b) = bars {
        b.done();
    }
    let _ = stdout.flush();
    result.map(|()| aux)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::client::JsonSplitter;

    #[test]
    fn plain_lines_once_per_status_change() {
        let stream = br#"{"status":"Pulling from library/busybox","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Downloading","progressDetail":{"current":100,"total":1000},"progress":"[=> ] 100B/1kB","id":"a1b2c3d4e5f6"}
{"status":"Downloading","progressDetail":{"current":900,"total":1000},"id":"a1b2c3d4e5f6"}
{"status":"Pull complete","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Digest: sha256:abc"}
{"status":"Status: Downloaded newer image for busybox:latest"}
{"stream":"Loaded image: busybox:latest\n"}
"#;
        let mut s = JsonSplitter::default();
        s.push(stream);
        let mut p = Plain::default();
        let mut out = String::new();
        while let Some(m) = s.next::<Message>().unwrap() {
            out.extend(p.line(&m));
        }
        assert_eq!(
            out,
            "latest: Pulling from library/busybox\n\
             a1b2c3d4e5f6: Pulling fs layer\n\
             a1b2c3d4e5f6: Downloading\n\
             a1b2c3d4e5f6: Pull complete\n\
             Digest: sha256:abc\n\
             Status: Downloaded newer image for busybox:latest\n\
             Loaded image: busybox:latest\n"
        );
    }

    #[test]
    fn errors_in_the_stream() {
        let mut s = JsonSplitter::default();
        s.push(br#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}{"error":"only error"}{"status":null,"id":null}"#);
        let m: Message = s.next().unwrap().unwrap();
        assert_eq!(m.error_text().as_deref(), Some("manifest unknown"));
        let m: Message = s.next().unwrap().unwrap();
        assert_eq!(m.error_text().as_deref(), Some("only error"));
        let m: Message = s.next().unwrap().unwrap();
        assert_eq!(m.error_text(), None);
        assert_eq!(Plain::default().line(&m), None);
    }
}
