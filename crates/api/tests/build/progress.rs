//! What a build printed, read back: the legacy builder's stream as the docker CLI shows it
//! (`Step N/M : TEXT`, ` ---> Using cache`, ` ---> 0123456789ab`), and `muelle build
//! --progress=plain`'s BuildKit-like lines (`#N [stage i/n] TEXT`, `#N CACHED`).

use regex::Regex;

/// One step of a build and whether the cache answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub text: String,
    pub cached: bool,
}

/// The steps of a legacy-builder stream (docker CLI output), in order.
pub fn legacy_steps(out: &str) -> Vec<Step> {
    let step = Regex::new(r"^Step \d+/\d+ : (.*)$").unwrap();
    let mut v: Vec<Step> = Vec::new();
    for line in out.lines() {
        if let Some(c) = step.captures(line) {
            v.push(Step {
                text: c[1].to_owned(),
                cached: false,
            });
        } else if line.trim() == "---> Using cache" {
            if let Some(last) = v.last_mut() {
                last.cached = true;
            }
        }
    }
    v
}

/// The steps of `muelle build --progress=plain` output, in the order they were announced:
/// `#N [...] TEXT` opens step N, `#N CACHED` marks it. Lines of BuildKit's internal
/// vertices (`#N [internal] ...`) are left out.
pub fn muelle_steps(out: &str) -> Vec<Step> {
    let open = Regex::new(r"^#(\d+) \[([^\]]*)\] (.*)$").unwrap();
    let cached = Regex::new(r"^#(\d+) CACHED\s*$").unwrap();
    let mut v: Vec<(String, Step)> = Vec::new();
    for line in out.lines() {
        if let Some(c) = open.captures(line) {
            if c[2].starts_with("internal") || v.iter().any(|(n, _)| *n == c[1]) {
                continue;
            }
            v.push((
                c[1].to_owned(),
                Step {
                    text: c[3].to_owned(),
                    cached: false,
                },
            ));
        } else if let Some(c) = cached.captures(line) {
            if let Some((_, s)) = v.iter_mut().find(|(n, _)| *n == c[1]) {
                s.cached = true;
            }
        }
    }
    v.into_iter().map(|(_, s)| s).collect()
}

/// Which of the steps that are not `FROM` came from the cache, as "RUN x: cached" lines:
/// the pattern a cache test compares (a FROM is never "Using cache" in the legacy stream).
pub fn cache_pattern(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| !s.text.to_ascii_uppercase().starts_with("FROM "))
        .map(|s| {
            let verb = s
                .text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            format!("{verb}: {}", if s.cached { "cached" } else { "built" })
        })
        .collect()
}

/// Whether a [`cache_pattern`] line is a step that makes no layer (ENV, ARG, CMD, ...).
pub fn is_meta(line: &str) -> bool {
    let verb = line.split(':').next().unwrap_or("");
    !matches!(verb, "RUN" | "COPY" | "ADD" | "WORKDIR" | "ran")
}

/// The image IDs a legacy stream printed (` ---> 0123456789ab`, `Successfully built ...`).
pub fn image_ids(out: &str) -> Vec<String> {
    let id = Regex::new(r"^(?: ---> |Successfully built )([0-9a-f]{12})\s*$").unwrap();
    let mut v: Vec<String> = Vec::new();
    for line in out.lines() {
        if let Some(c) = id.captures(line) {
            if !v.iter().any(|x| *x == c[1]) {
                v.push(c[1].to_owned());
            }
        }
    }
    v
}
