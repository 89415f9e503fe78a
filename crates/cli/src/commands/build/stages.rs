//! The shape of a Dockerfile as the progress display needs it: its stages, each with its
//! name and number of instructions, so a step can be shown as BuildKit shows it
//! (`[build 2/4] RUN make`). The legacy stream numbers steps across the whole file only.
//!
//! This is a scan, not the parser: logical lines (continuations, comments, the `# escape=`
//! directive) and heredoc bodies skipped; a Dockerfile it misreads only shows other counts.

/// A stage: its name (`AS name`, else `stage-N`), its FROM line and its instruction count
/// (the FROM included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub from: String,
    pub steps: usize,
}

/// The stages of `text`, in order.
pub fn scan(text: &str) -> Vec<Stage> {
    let escape = escape_char(text);
    let mut stages: Vec<Stage> = Vec::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let trimmed = first.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut logical = String::new();
        let mut line = first.to_string();
        loop {
            let t = line.trim_end();
            if let Some(cont) = t.strip_suffix(escape) {
                logical.push_str(cont);
                // Comment and empty lines inside a continuation are dropped, as Docker does.
                let next = loop {
                    match lines.next() {
                        Some(l) if l.trim().starts_with('#') || l.trim().is_empty() => {}
                        other => break other,
                    }
                };
                match next {
                    Some(l) => line = l.to_string(),
                    None => break,
                }
            } else {
                logical.push_str(t);
                break;
            }
        }
        let logical = logical.trim().to_string();
        let keyword = logical
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        for word in heredoc_words(&keyword, &logical) {
            for l in lines.by_ref() {
                if l.trim_start_matches('\t') == word || l == word {
                    break;
                }
            }
        }
        if keyword == "FROM" {
            let words: Vec<&str> = logical.split_whitespace().collect();
            let name = match words.iter().position(|w| w.eq_ignore_ascii_case("as")) {
                Some(i) if i + 1 < words.len() => words[i + 1].to_string(),
                _ => format!("stage-{}", stages.len()),
            };
            stages.push(Stage {
                name,
                from: logical.clone(),
                steps: 1,
            });
        } else if let Some(s) = stages.last_mut() {
            s.steps += 1;
        }
    }
    stages
}

/// `# escape=`` ` ``: only as a parser directive, before anything else.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let t = line.trim();
        let Some(directive) = t.strip_prefix('#') else {
            break;
        };
        let directive = directive.trim();
        if let Some((k, v)) = directive.split_once('=') {
            if k.trim().eq_ignore_ascii_case("escape") && v.trim() == "`" {
                return '`';
            }
            continue;
        }
        break;
    }
    '\\'
}

/// The terminators of the heredocs an instruction opens (`<<EOF`, `<<-"EOF"`).
fn heredoc_words(keyword: &str, line: &str) -> Vec<String> {
    if !matches!(keyword, "RUN" | "COPY" | "ADD") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("<<") {
        rest = &rest[at + 2..];
        let r = rest.strip_prefix('-').unwrap_or(rest);
        let r = r.trim_start_matches(['"', '\'']);
        let word: String = r
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_counts() {
        let s = scan(
            "# syntax=docker/dockerfile:1\nARG V=1\nFROM golang AS build\nRUN a \\\n  # note\n  b\nCOPY <<EOF /x\nFROM nope\nEOF\n\nFROM busybox\nCOPY --from=build /x /y\nCMD [\"x\"]\n",
        );
        assert_eq!(
            s,
            vec![
                Stage {
                    name: "build".into(),
                    from: "FROM golang AS build".into(),
                    steps: 3
                },
                Stage {
                    name: "stage-1".into(),
                    from: "FROM busybox".into(),
                    steps: 3
                },
            ]
        );
    }

    #[test]
    fn backtick_escape() {
        let s = scan("# escape=`\nFROM x\nRUN a `\n b\nRUN c\n");
        assert_eq!(s[0].steps, 3);
    }
}
