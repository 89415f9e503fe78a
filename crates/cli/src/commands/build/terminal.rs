//! Where the build's progress lines go: stderr as plain lines (piped or `--progress=plain`),
//! stderr with a live status line for the running step under them (a terminal), or nowhere
//! until the build fails (`-q`, whose progress docker prints only for a failure).

use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Screen {
    Plain,
    Tty {
        multi: MultiProgress,
        status: Option<ProgressBar>,
        shown: Option<String>,
    },
    Quiet {
        held: Vec<String>,
    },
}

impl Screen {
    pub fn plain() -> Screen {
        Screen::Plain
    }

    pub fn tty() -> Screen {
        Screen::Tty {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            status: None,
            shown: None,
        }
    }

    pub fn quiet() -> Screen {
        Screen::Quiet { held: Vec::new() }
    }

    pub fn print(&mut self, lines: Vec<String>) {
        match self {
            Screen::Plain => {
                let mut err = std::io::stderr().lock();
                for l in lines {
                    let _ = writeln!(err, "{l}");
                }
            }
            Screen::Tty { multi, .. } => {
                // Written with the status line cleared and redrawn after, as plain lines:
                // the terminal keeps them in its scrollback.
                multi.suspend(|| {
                    let mut err = std::io::stderr().lock();
                    for l in lines {
                        let _ = writeln!(err, "{l}");
                    }
                });
            }
            Screen::Quiet { held } => held.extend(lines),
        }
    }

    /// The running step (its label, and how long it has run), for the live line.
    pub fn status(&mut self, active: Option<(String, Duration)>) {
        let Screen::Tty {
            multi,
            status,
            shown,
        } = self
        else {
            return;
        };
        let label = active.as_ref().map(|(l, _)| l.clone());
        if *shown == label {
            return;
        }
        if let Some(pb) = status.take() {
            pb.finish_and_clear();
            multi.remove(&pb);
        }
        if let Some((label, ran)) = active {
            let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let pb = multi.add(
                ProgressBar::new_spinner()
                    .with_style(style)
                    .with_message(label.clone())
                    .with_elapsed(ran),
            );
            pb.enable_steady_tick(Duration::from_millis(100));
            *status = Some(pb);
        }
        *shown = label;
    }

    /// The build failed: quiet mode's held progress goes to stderr now.
    pub fn failed(&mut self) {
        if let Screen::Quiet { held } = self {
            let mut err = std::io::stderr().lock();
            for l in held.drain(..) {
                let _ = writeln!(err, "{l}");
            }
        }
        self.status(None);
    }

    pub fn done(&mut self) {
        self.status(None);
    }
}
