//! Parser directives (`# syntax=`, `# escape=`, `# check=`): comment lines at the very top
//! of a Dockerfile, as BuildKit's `DirectiveParser` reads them. The first line that is not a
//! directive (an instruction, a blank line, another comment, an unknown directive) ends the
//! directive section for good; names are case-insensitive; each may appear once.

/// The directives seen so far, and whether the section is over.
#[derive(Debug, Clone)]
pub(crate) struct Directives {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    done: bool,
    seen: Vec<&'static str>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
            done: false,
            seen: Vec::new(),
        }
    }
}

impl Directives {
    /// Looks at one physical line (newline and leading whitespace already removed). An
    /// `Err` is Docker's message for a bad or repeated directive.
    pub fn observe(&mut self, line: &str) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = directive(line) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        let key: &'static str = match name.as_str() {
            "syntax" => "syntax",
            "escape" => "escape",
            "check" => "check",
            _ => {
                self.done = true;
                return Ok(());
            }
        };
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key);
        match key {
            "escape" => {
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(format!(
                            "invalid escape token '{value}' does not match ` or \\"
                        ))
                    }
                }
            }
            "syntax" => self.syntax = Some(value.to_string()),
            _ => self.check = Some(value.to_string()),
        }
        Ok(())
    }
}

/// `#[ \t]*name[ \t]*=[ \t]*value[ \t]*` with a name of a letter then letters or digits and
/// a non-empty value: BuildKit's `^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let blank = |c: char| c == ' ' || c == '\t';
    let rest = line.strip_prefix('#')?.trim_start_matches(blank);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let after = rest.trim_start_matches(blank).strip_prefix('=')?;
    let value = after.trim_start_matches(blank).trim_end_matches(blank);
    if !value.is_empty() {
        return Some((name, value));
    }
    // Only blanks after `=`: the regex's lazy `.+?` still takes the last one.
    let last = after.char_indices().last()?.0;
    Some((name, &after[last..]))
}
