//! Dockerfiles come from build contexts anyone can send: any text must parse to a
//! Dockerfile or an error, never a panic; parsing is deterministic; every raw argument the
//! dispatcher will expand expands to a value or an error, with both escape characters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muelle_build::dockerfile::{expand, expand_heredoc, expand_words, parse, Command, Source};

fn lookup(name: &str) -> Option<String> {
    match name.len() % 3 {
        0 => None,
        1 => Some(String::new()),
        _ => Some(format!(" {name} x ")),
    }
}

fn expand_all(word: &str) {
    for escape in ['\\', '`'] {
        let _ = expand(word, escape, &lookup);
        let _ = expand_words(word, escape, &lookup);
    }
    let _ = expand_heredoc(word, &lookup);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    expand_all(text);
    let first = parse("Dockerfile", text);
    assert_eq!(
        first,
        parse("Dockerfile", text),
        "parse is not deterministic"
    );
    let Ok(dockerfile) = first else { return };
    for ins in &dockerfile.instructions {
        match &ins.command {
            Command::Env(pairs) | Command::Label(pairs) => {
                for (k, v) in pairs {
                    expand_all(k);
                    expand_all(v);
                }
            }
            Command::Arg(args) => {
                for (k, v) in args {
                    expand_all(k);
                    if let Some(v) = v {
                        expand_all(v);
                    }
                }
            }
            Command::Copy(c) | Command::Add(c) => {
                expand_all(&c.dest);
                for s in &c.sources {
                    match s {
                        Source::Path(p) => expand_all(p),
                        Source::Heredoc(h) => expand_all(&h.content),
                    }
                }
            }
            Command::From { image, .. } => expand_all(image),
            Command::Workdir(s) | Command::User(s) | Command::StopSignal(s) => expand_all(s),
            Command::Expose(w) | Command::Volume(w) => w.iter().for_each(|w| expand_all(w)),
            _ => {}
        }
    }
});
