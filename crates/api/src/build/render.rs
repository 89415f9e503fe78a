//! A build's events as dockerd's legacy builder writes them: `{"stream": …}` lines
//! (`Step 1/3 : FROM busybox`, ` ---> Running in 0123456789ab`, the steps' output …), the
//! final `{"aux":{"ID":"sha256:…"}}`, and with `q=1` nothing but the image ID, unless the
//! build fails, when the held-back progress comes out before the error as dockerd does it.
//!
//! The lines are encoded as Go's `encoding/json` does (`<`, `>`, `&` as `\u003c` …), so the
//! bytes match dockerd's and not only their meaning.

use bytes::Bytes;
use muelle_engine::builds::BuildEvent;
use muelle_types::image::{Aux, BuildResult, ErrorDetail, JsonMessage};
use serde::Serialize;

use crate::error::short_id;

/// Turns events into the response's lines, holding them back in quiet mode.
pub struct Renderer {
    quiet: bool,
    held: Vec<Bytes>,
    /// The end of the last output chunk when it stopped inside a UTF-8 character.
    partial: Vec<u8>,
}

impl Renderer {
    pub fn new(quiet: bool) -> Self {
        Renderer {
            quiet,
            held: Vec::new(),
            partial: Vec::new(),
        }
    }

    /// The lines to send now for `event`.
    pub fn event(&mut self, event: BuildEvent) -> Vec<Bytes> {
        let mut lines = Vec::new();
        if !matches!(event, BuildEvent::Output(_)) {
            lines.extend(self.flush_partial());
        }
        match event {
            BuildEvent::Step { index, total, text } => {
                // dockerd writes the step and its newline as two messages.
                lines.push(stream(format!("Step {index}/{total} : {text}")));
                lines.push(stream("\n"));
            }
            BuildEvent::Cached => lines.push(stream(" ---> Using cache\n")),
            BuildEvent::Running { container } => lines.push(stream(format!(
                " ---> Running in {}\n",
                short_id(&container)
            ))),
            BuildEvent::Output(data) => lines.extend(self.output(&data)),
            BuildEvent::StepDone { image } => {
                lines.push(stream(format!(" ---> {}\n", short_id(&image))))
            }
            BuildEvent::Removed { container } => lines.push(stream(format!(
                "Removing intermediate container {}\n",
                short_id(&container)
            ))),
            BuildEvent::Warning(text) => {
                let mut text = if text.starts_with("[Warning]") {
                    text
                } else {
                    format!("[Warning] {text}")
                };
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                lines.push(stream(text));
            }
            BuildEvent::Built { id } => {
                lines.push(go_json_line(&JsonMessage {
                    aux: Some(Aux::Build(BuildResult { id: id.clone() })),
                    ..Default::default()
                }));
                lines.push(stream(format!("Successfully built {}\n", short_id(&id))));
            }
            BuildEvent::Tagged { name } => {
                lines.push(stream(format!("Successfully tagged {name}\n")))
            }
        }
        self.pass(lines)
    }

    /// The lines after a successful build: in quiet mode the image ID alone.
    pub fn success(&mut self, id: &str) -> Vec<Bytes> {
        let mut lines = self.flush_partial();
        if self.quiet {
            self.held.clear();
            lines.clear();
            lines.push(stream(format!("{id}\n")));
        }
        lines
    }

    /// The lines before a failed build's error: what quiet mode held back.
    pub fn failure(&mut self) -> Vec<Bytes> {
        let mut lines = std::mem::take(&mut self.held);
        lines.extend(self.flush_partial());
        lines
    }

    fn pass(&mut self, lines: Vec<Bytes>) -> Vec<Bytes> {
        if self.quiet {
            self.held.extend(lines);
            Vec::new()
        } else {
            lines
        }
    }

    /// Output as text, a character cut between two chunks kept for the next one.
    fn output(&mut self, data: &[u8]) -> Vec<Bytes> {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(data);
        let keep = incomplete_tail(&bytes);
        self.partial = bytes.split_off(bytes.len() - keep);
        if bytes.is_empty() {
            return Vec::new();
        }
        vec![stream(String::from_utf8_lossy(&bytes).into_owned())]
    }

    fn flush_partial(&mut self) -> Vec<Bytes> {
        if self.partial.is_empty() {
            return Vec::new();
        }
        let rest = std::mem::take(&mut self.partial);
        vec![stream(String::from_utf8_lossy(&rest).into_owned())]
    }
}

/// How many bytes at the end of `b` start a UTF-8 character that is not complete yet.
fn incomplete_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let byte = b[b.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

fn stream(text: impl Into<String>) -> Bytes {
    go_json_line(&JsonMessage::stream(text))
}

/// The error line of a failed build; a failed RUN carries its exit code as dockerd's does.
pub fn error_line(message: &str, code: Option<i64>) -> Bytes {
    go_json_line(&JsonMessage {
        error_detail: Some(ErrorDetail {
            code,
            message: message.to_string(),
        }),
        error: Some(message.to_string()),
        ..Default::default()
    })
}

/// One JSON line as Go encodes it: HTML-sensitive characters and the JavaScript line
/// separators escaped. Those characters cannot be JSON syntax, only string content, so
/// escaping them in the serialized bytes is exact.
pub fn go_json_line<T: Serialize + ?Sized>(value: &T) -> Bytes {
    let plain = crate::stream::json_line(value);
    let Ok(text) = std::str::from_utf8(&plain) else {
        return plain;
    };
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(lines: &[Bytes]) -> String {
        lines
            .iter()
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect()
    }

    const ID: &str = "sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8";

    fn build(r: &mut Renderer) -> Vec<Bytes> {
        let events = vec![
            BuildEvent::Step {
                index: 1,
                total: 2,
                text: "FROM busybox".into(),
            },
            BuildEvent::StepDone {
                image: "sha256:9afb9e2993e18406f341c828a82cf021236725178fff5a258746ceae34852885"
                    .into(),
            },
            BuildEvent::Step {
                index: 2,
                total: 2,
                text: "RUN echo hello && echo err >&2".into(),
            },
            BuildEvent::Running {
                container: "80e8f83627ac0123456789".into(),
            },
            BuildEvent::Output(b"hello\n".to_vec()),
            BuildEvent::Removed {
                container: "80e8f83627ac0123456789".into(),
            },
            BuildEvent::StepDone { image: ID.into() },
            BuildEvent::Built { id: ID.into() },
            BuildEvent::Tagged {
                name: "hfront-test:1".into(),
            },
        ];
        events.into_iter().flat_map(|e| r.event(e)).collect()
    }

    /// The bytes dockerd 20.10 sent for the same build.
    #[test]
    fn lines_as_dockerd_writes_them() {
        let mut r = Renderer::new(false);
        let mut lines = build(&mut r);
        lines.extend(r.success(ID));
        assert_eq!(
            text(&lines),
            r#"{"stream":"Step 1/2 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/2 : RUN echo hello \u0026\u0026 echo err \u003e\u00262"}
{"stream":"\n"}
{"stream":" ---\u003e Running in 80e8f83627ac\n"}
{"stream":"hello\n"}
{"stream":"Removing intermediate container 80e8f83627ac\n"}
{"stream":" ---\u003e 79c03d7c923f\n"}
{"aux":{"ID":"sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8"}}
{"stream":"Successfully built 79c03d7c923f\n"}
{"stream":"Successfully tagged hfront-test:1\n"}
"#
        );
    }

    #[test]
    fn quiet_sends_the_id_or_everything_before_an_error() {
        let mut r = Renderer::new(true);
        assert!(build(&mut r).is_empty());
        assert_eq!(
            text(&r.success(ID)),
            format!("{{\"stream\":\"{ID}\\n\"}}\n")
        );
        let mut r = Renderer::new(true);
        build(&mut r);
        let before = text(&r.failure());
        assert!(before.starts_with(r#"{"stream":"Step 1/2 : FROM busybox"}"#));
        assert_eq!(
            text(&[error_line("The command '/bin/sh -c exit 3' returned a non-zero code: 3", Some(3))]),
            "{\"errorDetail\":{\"code\":3,\"message\":\"The command '/bin/sh -c exit 3' returned a non-zero code: 3\"},\"error\":\"The command '/bin/sh -c exit 3' returned a non-zero code: 3\"}\n"
        );
    }

    #[test]
    fn characters_cut_between_chunks_stay_whole() {
        let mut r = Renderer::new(false);
        let s = "aé€😀".as_bytes();
        let mut out = String::new();
        for b in s {
            for l in r.event(BuildEvent::Output(vec![*b])) {
                let v: serde_json::Value = serde_json::from_slice(&l).unwrap();
                out.push_str(v["stream"].as_str().unwrap());
            }
        }
        assert_eq!(out, "aé€😀");
        assert_eq!(incomplete_tail(&[0xE2, 0x82]), 2);
        assert_eq!(incomplete_tail(b"abc"), 0);
        // A lone lead byte at the end of the build still comes out (as U+FFFD).
        r.event(BuildEvent::Output(vec![0xE2]));
        assert_eq!(text(&r.success(ID)), "{\"stream\":\"\u{FFFD}\"}\n");
    }

    #[test]
    fn warnings() {
        let mut r = Renderer::new(false);
        let l = r.event(BuildEvent::Warning(
            "One or more build-args [NOPE] were not consumed".into(),
        ));
        assert_eq!(
            text(&l),
            "{\"stream\":\"[Warning] One or more build-args [NOPE] were not consumed\\n\"}\n"
        );
    }
}
