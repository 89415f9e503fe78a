//! Variable substitution as the dispatcher uses it: one word (`word`) or a list split on
//! unquoted whitespace (`words`), with the stage's lookup, errors wrapped the way dockerd
//! words them (`failed to process "<word>": …`).
//! The substitution itself is the parser module's (`crate::dockerfile::expand`).

use super::error::DispatchError;

pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One word, quotes removed, variables substituted.
pub(crate) fn word(text: &str, escape: char, lookup: Lookup<'_>) -> Result<String, DispatchError> {
    crate::dockerfile::expand(text, escape, lookup)
        .map_err(|e| DispatchError::Expand(e.to_string()))
}

/// Several words: split on unquoted whitespace, including whitespace that a variable's
/// value brings in (EXPOSE's `$PORTS`).
pub(crate) fn words(
    text: &str,
    escape: char,
    lookup: Lookup<'_>,
) -> Result<Vec<String>, DispatchError> {
    crate::dockerfile::expand_words(text, escape, lookup)
        .map_err(|e| DispatchError::Expand(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("a".into()),
            "E" => Some(String::new()),
            "P" => Some("80 443".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_unquotes() {
        let w = |t: &str| word(t, '\\', &env).unwrap();
        assert_eq!(w("$A"), "a");
        assert_eq!(w("${A}x"), "ax");
        assert_eq!(w("\"y z\""), "y z");
        assert_eq!(w("'x $A'"), "x $A");
        assert_eq!(w("${N:-d}"), "d");
        assert_eq!(w("${E:-d}"), "d");
        assert_eq!(w("${E-d}"), "");
        assert_eq!(w("${A:+s}"), "s");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("f\\\"g"), "f\"g");
        assert_eq!(
            word("${N:?bad}", '\\', &env).unwrap_err().to_string(),
            "failed to process \"${N:?bad}\": N: bad"
        );
        assert_eq!(words("$P 8", '\\', &env).unwrap(), ["80", "443", "8"]);
        assert_eq!(words("\"$P\"", '\\', &env).unwrap(), ["80 443"]);
        assert!(words("$N", '\\', &env).unwrap().is_empty());
    }
}
