//! How BuildKit's parser cuts an instruction's text before it knows what the instruction
//! means: the keyword, the leading `--flag` words, whitespace-separated words with quotes
//! kept (ENV, LABEL, ARG), plain whitespace splits (FROM, EXPOSE, COPY), and the JSON
//! exec form (a JSON array of strings; anything else not starting with a valid array is
//! shell form, as Docker falls back).

/// Go's `reWhitespace`: `[\t\v\f\r ]+`.
fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// The keyword (as written), the raw flag words and the rest of the line, trimmed.
pub(crate) fn split_command(line: &str) -> (&str, Vec<String>, &str) {
    let line = line.trim();
    match line.find(is_blank) {
        None => (line, Vec::new(), ""),
        Some(i) => {
            let keyword = &line[..i];
            let rest = line[i..].trim_start_matches(is_blank);
            let (args, flags) = extract_flags(rest);
            (keyword, flags, args.trim())
        }
    }
}

/// The `--flag[=value]` words at the start of `line` (quotes removed inside them, `\`
/// escaping; a bare `--` ends them) and what follows them, as BuildKit's
/// `extractBuilderFlags`.
pub(crate) fn extract_flags(line: &str) -> (&str, Vec<String>) {
    let mut flags = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        // Between words: stop at the first one not starting with `--`.
        let start = loop {
            match chars.peek() {
                None => return ("", flags),
                Some(&(_, c)) if c.is_whitespace() => {
                    chars.next();
                }
                Some(&(i, _)) => break i,
            }
        };
        if !line[start..].starts_with("--") || line.len() == start + 1 {
            return (&line[start..], flags);
        }
        let mut word = String::new();
        let mut blank_ok = false;
        let mut quote: Option<char> = None;
        let end = loop {
            let Some((i, c)) = chars.next() else {
                break None;
            };
            match quote {
                None if c.is_whitespace() => break Some(i),
                None if c == '\'' || c == '"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                Some(q) if c == q => quote = None,
                _ if c == '\\' => match chars.next() {
                    Some((_, n)) => word.push(n),
                    // A `\` at the very end is dropped (and ends a quote).
                    None => break None,
                },
                _ => word.push(c),
            }
        };
        match end {
            Some(i) if word == "--" => return (&line[i..], flags),
            _ if word == "--" => return ("", flags),
            _ => {
                if blank_ok || !word.is_empty() {
                    flags.push(word);
                }
            }
        }
        if end.is_none() {
            return ("", flags);
        }
    }
}

/// Words split on whitespace outside quotes, quotes and escapes KEPT (BuildKit's
/// `parseWords`): the raw words of ENV, LABEL and ARG, expanded later.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    // The escape and what it escapes stay; a last escape is dropped.
                    let Some(n) = chars.next() else { continue };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == escape && q != '\'' {
                    let Some(n) = chars.next() else {
                        quote = None;
                        continue;
                    };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                word.push(c);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// `rest` split on runs of blanks (no quote handling: `COPY "a b" c` is three words, as in
/// Docker, which asks for the JSON form for such paths).
pub(crate) fn split_blanks(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(is_blank)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>()
}

/// The first whitespace-separated part and the rest (Go's `reWhitespace.Split(rest, 2)`).
pub(crate) fn split_first(rest: &str) -> (&str, Option<&str>) {
    match rest.find(is_blank) {
        None => (rest, None),
        Some(i) => (&rest[..i], Some(rest[i..].trim_start_matches(is_blank))),
    }
}

/// The outcome of trying the JSON form.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Json {
    Array(Vec<String>),
    /// Not JSON (or not an array): the shell form.
    Shell,
    /// A valid JSON array with something other than strings: Docker refuses it.
    NotStrings,
}

pub(crate) const NOT_STRINGS: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// Go's `json.NewDecoder(r).Decode(&[]interface{})` on text starting with `[`: the first
/// JSON value decides, anything after it is ignored.
pub(crate) fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::Shell;
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Array(items))) = stream.next() else {
        return Json::Shell;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            serde_json::Value::String(s) => out.push(s),
            _ => return Json::NotStrings,
        }
    }
    Json::Array(out)
}
