//! Variable substitution in instruction arguments, as BuildKit's shell lexer
//! (`frontend/dockerfile/shell/lex.go`) does it: `$V`, `${V}`, `${V:-w}`, `${V-w}`,
//! `${V:+w}`, `${V+w}`, `${V:?msg}`, `${V?msg}`, and BuildKit's newer `${V#p}`, `${V##p}`,
//! `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}` (dockerd 20.10's lexer knows only the `:`
//! forms); single quotes literal, double quotes expanding, the escape character (`\` or
//! the `# escape=` one) quoting the next character; quotes and escapes are removed. Unset
//! variables expand to "" (no error), as Docker's.
//!
//! `expand` gives one word (ENV values, WORKDIR, USER, …); `expand_words` splits on
//! unquoted whitespace, where whitespace coming out of a variable splits too but whitespace
//! inside quotes or escaped does not (EXPOSE, VOLUME, COPY sources).

use muelle_types::ErrorKind;

use super::pattern::Pattern;

/// Why a word could not be expanded. Each variant names the whole word, as BuildKit's
/// `failed to process "…": …` does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `${V:?msg}` / `${V?msg}` with V unset (or empty, for `:?`).
    #[error("failed to process {word:?}: {name}: {message}")]
    Required {
        word: String,
        name: String,
        message: String,
    },
    /// `${V` without its `}`.
    #[error("failed to process {word:?}: syntax error: missing '}}'")]
    MissingBrace { word: String },
    /// `${}`, `${:x}`, `${{x}`.
    #[error("failed to process {word:?}: syntax error: bad substitution")]
    BadSubstitution { word: String },
    /// `${V:x}`, `${V%x}`: an operator BuildKit's lexer does not offer here.
    #[error("failed to process {word:?}: unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier { word: String, modifier: String },
    /// `${V/p` without the `/` before the replacement.
    #[error("failed to process {word:?}: syntax error: missing '/' in ${{}}")]
    MissingSlash { word: String },
    /// A pattern with an escape BuildKit refuses (`${V#\x}`).
    #[error("failed to process {word:?}: invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        word: String,
        pattern: String,
        reason: String,
    },
    /// A quote opened and never closed.
    #[error(
        "failed to process {word:?}: unexpected end of statement while looking for matching {what}"
    )]
    Unterminated { word: String, what: String },
}

impl ExpandError {
    /// A bad word in a Dockerfile or a build arg is the caller's mistake.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidParameter
    }
}

/// One word with its variables substituted and its quotes and escapes removed.
pub fn expand(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(word, escape, true, lookup);
    lexer
        .process_until(None, false)
        .map(|(text, _)| text)
        .map_err(|e| e.for_word(word))
}

/// The same, split into words on unquoted whitespace (including whitespace a variable's
/// value brings, as BuildKit's `ProcessWords`).
pub fn expand_words(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ExpandError> {
    let mut lexer = Lexer::new(text, escape, true, lookup);
    lexer
        .process_until(None, false)
        .map(|(_, words)| words)
        .map_err(|e| e.for_word(text))
}

/// The body of a heredoc whose delimiter was not quoted (`COPY <<EOF`), expanded as
/// BuildKit's `ExpandRaw` does: variables substituted, quotes left as they are, `\` (always
/// `\`, whatever the escape directive) still quoting the next character.
pub fn expand_heredoc(
    content: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lexer = Lexer::new(content, '\\', false, lookup);
    lexer
        .process_until(None, false)
        .map(|(text, _)| text)
        .map_err(|e| e.for_word(content))
}

/// An error before the word it happened in is known (the lexer recurses into `${…}`).
enum Fault {
    Required { name: String, message: String },
    MissingBrace,
    BadSubstitution,
    Unsupported(String),
    MissingSlash,
    Pattern(String, String),
    Unterminated(&'static str),
}

impl Fault {
    fn for_word(self, word: &str) -> ExpandError {
        let word = word.to_string();
        match self {
            Fault::Required { name, message } => ExpandError::Required {
                word,
                name,
                message,
            },
            Fault::MissingBrace => ExpandError::MissingBrace { word },
            Fault::BadSubstitution => ExpandError::BadSubstitution { word },
            Fault::Unsupported(modifier) => ExpandError::UnsupportedModifier { word, modifier },
            Fault::MissingSlash => ExpandError::MissingSlash { word },
            Fault::Pattern(pattern, reason) => ExpandError::InvalidPattern {
                word,
                pattern,
                reason,
            },
            Fault::Unterminated(what) => ExpandError::Unterminated {
                word,
                what: what.to_string(),
            },
        }
    }
}

/// The words being collected next to the single-string result.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    word: String,
    in_word: bool,
}

impl Words {
    /// A character that splits when it is whitespace (unquoted text, variable values).
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    /// Quoted text: kept whole, and it makes a word even when empty (`""` is one word).
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        // BuildKit drops an empty trailing word even when it came from `""`.
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    /// False for heredoc bodies: quotes are plain characters there.
    quotes: bool,
    /// Escapes kept in the result (patterns of `#`, `%`, `/`, which read them themselves).
    raw_escapes: bool,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Lexer<'a> {
    fn new(
        text: &str,
        escape: char,
        quotes: bool,
        lookup: &'a dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            escape,
            quotes,
            raw_escapes: false,
            lookup,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to `stop` (consumed) or the end; with a `stop`, reaching the end is an
    /// error the caller words (`${V:-w` is a missing brace).
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), Fault> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.process_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn process_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), Fault> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    words.add_string(&value);
                }
                '\'' if self.quotes => {
                    let value = self.single_quoted()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                '"' if self.quotes => {
                    let value = self.double_quoted()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                _ => {
                    self.pos += 1;
                    if ch == self.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // An escape at the very end is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if stop.is_some() {
            return Err(Fault::MissingBrace);
        }
        Ok((result, words.finish()))
    }

    fn single_quoted(&mut self) -> Result<String, Fault> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(Fault::Unterminated("single-quote")),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    /// Inside double quotes the escape only quotes `"`, `$` and itself, as in sh.
    fn double_quoted(&mut self) -> Result<String, Fault> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(Fault::Unterminated("double-quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            Some(_) => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The word of an operator up to `stop`; running out of text is reported as the missing
    /// `missing` (BuildKit rewords any error at the end of the text so).
    fn operand(&mut self, stop: char, raw: bool, missing: Fault) -> Result<String, Fault> {
        match self.process_until(Some(stop), raw) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err(missing),
            Err(e) => Err(e),
        }
    }

    /// After the `$`: a name, or `${…}` with its operators.
    fn dollar(&mut self) -> Result<String, Fault> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(self.get(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(Fault::MissingBrace),
            Some('{' | '}' | ':') => return Err(Fault::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let (op, null_is_unset) = match self.next() {
            None => return Err(Fault::MissingBrace),
            Some('}') => return Ok(self.get(&name).unwrap_or_default()),
            Some('/') => return self.replace(&name),
            Some(':') => match self.next() {
                None => return Err(Fault::MissingBrace),
                Some(op) => (op, true),
            },
            Some(op) => (op, false),
        };
        let shown = if null_is_unset {
            format!(":{op}")
        } else {
            op.to_string()
        };
        if !matches!(op, '+' | '-' | '?' | '#' | '%') {
            if null_is_unset {
                // BuildKit reads the word before refusing the operator.
                self.operand('}', false, Fault::MissingBrace)?;
            }
            return Err(Fault::Unsupported(shown));
        }
        let pattern = op == '#' || op == '%';
        if null_is_unset && pattern {
            return Err(Fault::Unsupported(shown));
        }
        let word = self.operand('}', pattern, Fault::MissingBrace)?;
        let value = self.get(&name);
        let unset = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            '-' => Ok(if unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            '+' => Ok(if unset { String::new() } else { word }),
            '?' => match value {
                None => Err(required(name, word, "is not allowed to be unset")),
                Some(v) if null_is_unset && v.is_empty() => {
                    Err(required(name, word, "is not allowed to be empty"))
                }
                Some(v) => Ok(v),
            },
            _ => {
                // `##` / `%%`: the longest match.
                let (raw, longest) = match word.strip_prefix(op) {
                    Some(rest) => (rest, true),
                    None => (word.as_str(), false),
                };
                let pattern =
                    Pattern::compile(raw).map_err(|e| Fault::Pattern(raw.to_string(), e))?;
                let value = value.unwrap_or_default();
                Ok(if op == '#' {
                    pattern.trim_prefix(&value, longest)
                } else {
                    pattern.trim_suffix(&value, longest)
                })
            }
        }
    }

    /// `${V/p/r}` and `${V//p/r}`, after the first `/`.
    fn replace(&mut self, name: &str) -> Result<String, Fault> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let raw = self.operand('/', true, Fault::MissingSlash)?;
        let replacement = self.operand('}', true, Fault::MissingBrace)?;
        let value = self.get(name).unwrap_or_default();
        let pattern = Pattern::compile(&raw).map_err(|e| Fault::Pattern(raw.clone(), e))?;
        Ok(pattern.replace(&value, &replacement, all))
    }

    /// A variable name: letters, digits and `_`; a run of digits (`$1`) or one special
    /// parameter (`$@`, `$*`, `$#`, `$?`, `$-`, `$$`, `$!`, `$0`) on its own.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(d) = self.peek().filter(|c| c.is_numeric()) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }
}

fn required(name: String, word: String, default: &str) -> Fault {
    let message = if word.is_empty() {
        default.to_string()
    } else {
        word
    };
    Fault::Required { name, message }
}
