//! The legacy builder's message stream (`Step 2/3 : RUN …`, ` ---> Using cache`, the
//! step's output, ` ---> 0123456789ab`, `Successfully built …`) shown as BuildKit's plain
//! progress: numbered vertices (`#4 [2/3] RUN make`), `#4 CACHED`, output as `#4 0.123 …`
//! with the time into the step, `#4 DONE 0.3s`, and for a failed step `#4 ERROR: …` with
//! a summary of its last output lines.
//!
//! The display is a pure state machine over messages and times (the terminal half is
//! [`super::terminal`]), so what it prints is tested on strings.

use std::collections::VecDeque;
use std::time::Duration;

use crate::progress::Message;

use super::stages::Stage;

/// Output lines of the running step kept for a failure's summary.
const SUMMARY_LINES: usize = 10;

/// The vertex being shown.
struct Vertex {
    number: usize,
    label: String,
    started: Duration,
    cached: bool,
    partial: String,
    last_lines: VecDeque<String>,
}

/// The display's state.
pub struct Display {
    stages: Vec<Stage>,
    used: Vec<bool>,
    multi_stage: bool,
    next_vertex: usize,
    /// The stage a step is in: its index into `stages` (None when unknown) and its step.
    stage: Option<(Option<usize>, usize)>,
    current: Option<Vertex>,
    exporting: Option<Vertex>,
    image_id: Option<String>,
    started_context: Option<Duration>,
}

/// How the stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Built { id: Option<String> },
    Failed { message: String },
}

impl Display {
    pub fn new(stages: Vec<Stage>) -> Self {
        Display {
            used: vec![false; stages.len()],
            multi_stage: stages.len() > 1,
            stages,
            next_vertex: 1,
            stage: None,
            current: None,
            exporting: None,
            image_id: None,
            started_context: None,
        }
    }

    fn vertex(&mut self, label: String, at: Duration) -> (usize, Vertex) {
        let n = self.next_vertex;
        self.next_vertex += 1;
        (
            n,
            Vertex {
                number: n,
                label,
                started: at,
                cached: false,
                partial: String::new(),
                last_lines: VecDeque::new(),
            },
        )
    }

    /// The lines before anything is sent: reading the Dockerfile, sending the context.
    pub fn begin(
        &mut self,
        dockerfile: &str,
        dockerfile_size: Option<usize>,
        at: Duration,
    ) -> Vec<String> {
        let (n, _) = self.vertex(String::new(), at);
        let mut lines = vec![format!(
            "#{n} [internal] load build definition from {dockerfile}"
        )];
        if let Some(size) = dockerfile_size {
            lines.push(format!("#{n} transferring dockerfile: {size}B done"));
        }
        lines.push(format!("#{n} DONE 0.0s"));
        lines.push(String::new());
        let (n, _) = self.vertex(String::new(), at);
        lines.push(format!("#{n} [internal] load build context"));
        self.started_context = Some(at);
        lines
    }

    /// The daemon has read the whole context (its first answer came): `sent` bytes.
    pub fn context_sent(&mut self, sent: u64, at: Duration) -> Vec<String> {
        let Some(start) = self.started_context.take() else {
            return Vec::new();
        };
        let n = 2;
        vec![
            format!(
                "#{n} transferring context: {} done",
                crate::units::human_size(sent as f64)
            ),
            format!("#{n} DONE {}", secs(at.saturating_sub(start))),
        ]
    }

    /// The label of the running step, for a live status line.
    pub fn active(&self) -> Option<String> {
        self.current
            .as_ref()
            .or(self.exporting.as_ref())
            .map(|v| format!("#{} {}", v.number, v.label))
    }

    /// When the running step started.
    pub fn active_since(&self) -> Option<Duration> {
        self.current
            .as_ref()
            .or(self.exporting.as_ref())
            .map(|v| v.started)
    }

    /// The lines for one message; an error message ends the build.
    pub fn message(&mut self, m: &Message, at: Duration) -> (Vec<String>, Option<End>) {
        let mut lines = Vec::new();
        if let Some(e) = m.error_text() {
            lines.extend(self.fail(&e, at));
            return (lines, Some(End::Failed { message: e }));
        }
        if let Some(id) = m
            .aux
            .as_ref()
            .and_then(|a| a.get("ID"))
            .and_then(|v| v.as_str())
        {
            self.image_id = Some(id.to_string());
        }
        if let Some(s) = m.stream.as_deref() {
            lines.extend(self.stream(s, at));
        }
        (lines, None)
    }

    fn stream(&mut self, s: &str, at: Duration) -> Vec<String> {
        if let Some(rest) = s.strip_prefix("Step ") {
            if let Some((counts, text)) = rest.split_once(" : ") {
                if counts.contains('/') {
                    return self.step(text.trim_end_matches('\n'), at);
                }
            }
        }
        if s == "\n" && self.current.as_ref().is_some_and(|v| v.partial.is_empty()) {
            // The newline dockerd sends after a step's title.
            return Vec::new();
        }
        if let Some(rest) = s.strip_prefix(" ---> ") {
            let rest = rest.trim_end();
            if rest == "Using cache" {
                if let Some(v) = self.current.as_mut() {
                    v.cached = true;
                    return vec![format!("#{} CACHED", v.number)];
                }
                return Vec::new();
            }
            if rest.starts_with("Running in ") {
                return Vec::new();
            }
            if rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return self.close(at);
            }
        }
        if s.starts_with("Removing intermediate container ") {
            return Vec::new();
        }
        if let Some(short) = s.strip_prefix("Successfully built ") {
            let mut lines = self.close(at);
            let (n, v) = self.vertex("exporting to image".into(), at);
            lines.push(String::new());
            lines.push(format!("#{n} exporting to image"));
            let id = self
                .image_id
                .clone()
                .unwrap_or_else(|| short.trim_end().to_string());
            lines.push(format!("#{n} writing image {id} done"));
            self.exporting = Some(v);
            return lines;
        }
        if let Some(name) = s.strip_prefix("Successfully tagged ") {
            if let Some(v) = &self.exporting {
                return vec![format!("#{} naming to {} done", v.number, name.trim_end())];
            }
            return Vec::new();
        }
        if s.starts_with("[Warning]") {
            return vec![s.trim_end().to_string()];
        }
        self.output(s, at)
    }

    fn step(&mut self, text: &str, at: Duration) -> Vec<String> {
        let mut lines = self.close(at);
        let is_from = text
            .split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("FROM"));
        if is_from {
            let stage = self.claim_stage(text);
            self.stage = Some((stage, 1));
        } else if let Some((_, k)) = self.stage.as_mut() {
            *k += 1;
        }
        let label = match self.stage {
            None => text.to_string(),
            Some((stage, k)) => {
                let known = stage.and_then(|i| self.stages.get(i));
                match known {
                    Some(s) if self.multi_stage => format!("[{} {k}/{}] {text}", s.name, s.steps),
                    Some(s) => format!("[{k}/{}] {text}", s.steps),
                    None => format!("[{k}] {text}"),
                }
            }
        };
        let (n, v) = self.vertex(label, at);
        lines.push(String::new());
        lines.push(format!("#{n} {}", v.label));
        self.current = Some(v);
        lines
    }

    /// The stage a FROM step begins: the first unclaimed one with that FROM line, else the
    /// next unclaimed one (the engine may skip stages the target does not need).
    fn claim_stage(&mut self, text: &str) -> Option<usize> {
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        let want = norm(text);
        let i = (0..self.stages.len())
            .find(|&i| !self.used[i] && norm(&self.stages[i].from) == want)
            .or_else(|| (0..self.stages.len()).find(|&i| !self.used[i]))?;
        self.used[i] = true;
        Some(i)
    }

    fn output(&mut self, s: &str, at: Duration) -> Vec<String> {
        let Some(v) = self.current.as_mut() else {
            return s.lines().map(str::to_string).collect();
        };
        let text = strip_stderr_colors(s);
        v.partial.push_str(&text);
        let mut lines = Vec::new();
        while let Some(i) = v.partial.find('\n') {
            let line: String = v.partial.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            lines.push(format!(
                "#{} {:.3} {line}",
                v.number,
                at.saturating_sub(v.started).as_secs_f64()
            ));
            v.last_lines.push_back(line);
            if v.last_lines.len() > SUMMARY_LINES {
                v.last_lines.pop_front();
            }
        }
        lines
    }

    /// Ends the running step: its unfinished output line, then DONE unless it was cached.
    fn close(&mut self, at: Duration) -> Vec<String> {
        let Some(mut v) = self.current.take() else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        if !v.partial.is_empty() {
            let line = std::mem::take(&mut v.partial);
            lines.push(format!(
                "#{} {:.3} {line}",
                v.number,
                at.saturating_sub(v.started).as_secs_f64()
            ));
        }
        if !v.cached {
            lines.push(format!(
                "#{} DONE {}",
                v.number,
                secs(at.saturating_sub(v.started))
            ));
        }
        lines
    }

    /// The stream is over without an error.
    pub fn finish(&mut self, at: Duration) -> (Vec<String>, End) {
        let mut lines = self.close(at);
        if let Some(v) = self.exporting.take() {
            lines.push(format!(
                "#{} DONE {}",
                v.number,
                secs(at.saturating_sub(v.started))
            ));
        }
        (
            lines,
            End::Built {
                id: self.image_id.clone(),
            },
        )
    }

    /// A failed build: the step's ERROR line and BuildKit's summary of it.
    fn fail(&mut self, message: &str, at: Duration) -> Vec<String> {
        let Some(mut v) = self.current.take().or_else(|| self.exporting.take()) else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        if !v.partial.is_empty() {
            let line = std::mem::take(&mut v.partial);
            lines.push(format!(
                "#{} {:.3} {line}",
                v.number,
                at.saturating_sub(v.started).as_secs_f64()
            ));
            v.last_lines.push_back(line);
        }
        lines.push(format!("#{} ERROR: {message}", v.number));
        lines.push("------".into());
        lines.push(format!(" > {}:", v.label));
        lines.extend(v.last_lines.iter().cloned());
        lines.push("------".into());
        lines
    }
}

/// dockerd paints a step's stderr red for terminals (`ESC[91m … ESC[0m`); the plain
/// display does not.
fn strip_stderr_colors(s: &str) -> String {
    s.replace("\u{1b}[91m", "").replace("\u{1b}[0m", "")
}

/// BuildKit's durations: tenths of a second.
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::client::JsonSplitter;

    fn run(stages: Vec<Stage>, stream: &str) -> (String, End) {
        let mut d = Display::new(stages);
        let mut out = d.begin("Dockerfile", Some(42), Duration::ZERO);
        let mut s = JsonSplitter::default();
        s.push(stream.as_bytes());
        let mut t = Duration::from_millis(100);
        out.extend(d.context_sent(2048, t));
        let mut end = None;
        while let Some(m) = s.next::<Message>().unwrap() {
            t += Duration::from_millis(100);
            let (lines, e) = d.message(&m, t);
            out.extend(lines);
            if e.is_some() {
                end = e;
                break;
            }
        }
        let end = end.unwrap_or_else(|| {
            let (lines, e) = d.finish(t);
            out.extend(lines);
            e
        });
        (out.join("\n"), end)
    }

    const BUILT: &str = r#"{"stream":"Step 1/3 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/3 : RUN echo hello \u0026\u0026 echo err \u003e\u00262"}
{"stream":"\n"}
{"stream":" ---\u003e Running in 80e8f83627ac\n"}
{"stream":"hello\n"}
{"stream":"\u001b[91merr\n\u001b[0m"}
{"stream":"Removing intermediate container 80e8f83627ac\n"}
{"stream":" ---\u003e 2dc0fd33d0e4\n"}
{"stream":"Step 3/3 : ENV A=b"}
{"stream":"\n"}
{"stream":" ---\u003e Using cache\n"}
{"stream":" ---\u003e 79c03d7c923f\n"}
{"aux":{"ID":"sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8"}}
{"stream":"Successfully built 79c03d7c923f\n"}
{"stream":"Successfully tagged x:latest\n"}
"#;

    #[test]
    fn a_build_as_buildkit_plain() {
        let stages = vec![Stage {
            name: "stage-0".into(),
            from: "FROM busybox".into(),
            steps: 3,
        }];
        let (out, end) = run(stages, BUILT);
        assert_eq!(
            out,
            "#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 42B done
#1 DONE 0.0s

#2 [internal] load build context
#2 transferring context: 2.048kB done
#2 DONE 0.1s

#3 [1/3] FROM busybox
#3 DONE 0.2s

#4 [2/3] RUN echo hello && echo err >&2
#4 0.300 hello
#4 0.400 err
#4 DONE 0.6s

#5 [3/3] ENV A=b
#5 CACHED

#6 exporting to image
#6 writing image sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8 done
#6 naming to x:latest done
#6 DONE 0.1s"
        );
        assert_eq!(
            end,
            End::Built {
                id: Some(
                    "sha256:79c03d7c923f495d962a57e304e7896e3a3c1885e8147ec3ba15692ceaead1b8"
                        .into()
                )
            }
        );
    }

    #[test]
    fn a_failed_step_is_named() {
        let stream = r#"{"stream":"Step 1/2 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/2 : RUN echo out; exit 3"}
{"stream":"\n"}
{"stream":" ---\u003e Running in d839c7f55995\n"}
{"stream":"out\n"}
{"errorDetail":{"code":3,"message":"The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3"},"error":"The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3"}
"#;
        let (out, end) = run(Vec::new(), stream);
        assert!(
            out.ends_with(
                "#4 [2] RUN echo out; exit 3
#4 0.300 out
#4 ERROR: The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3
------
 > [2] RUN echo out; exit 3:
out
------"
            ),
            "{out}"
        );
        assert_eq!(
            end,
            End::Failed {
                message: "The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3"
                    .into()
            }
        );
    }

    #[test]
    fn stages_are_named() {
        let stages = super::super::stages::scan(
            "FROM busybox AS b\nRUN x\nFROM busybox\nCOPY --from=b /a /a\n",
        );
        let stream = r#"{"stream":"Step 1/4 : FROM busybox AS b"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 2/4 : RUN x"}
{"stream":"\n"}
{"stream":" ---\u003e 2dc0fd33d0e4\n"}
{"stream":"Step 3/4 : FROM busybox"}
{"stream":"\n"}
{"stream":" ---\u003e 9afb9e2993e1\n"}
{"stream":"Step 4/4 : COPY --from=b /a /a"}
{"stream":"\n"}
{"stream":" ---\u003e 79c03d7c923f\n"}
"#;
        let (out, _) = run(stages, stream);
        assert!(out.contains("#3 [b 1/2] FROM busybox AS b\n"), "{out}");
        assert!(out.contains("#4 [b 2/2] RUN x\n"), "{out}");
        assert!(out.contains("#5 [stage-1 1/2] FROM busybox\n"), "{out}");
        assert!(
            out.contains("#6 [stage-1 2/2] COPY --from=b /a /a\n"),
            "{out}"
        );
    }
}
