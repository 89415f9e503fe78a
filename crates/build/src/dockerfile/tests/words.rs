//! How a line is cut before its meaning is known: flag words, raw words, JSON.

use crate::dockerfile::words::{extract_flags, parse_json, parse_words, split_command, Json};

#[test]
fn flag_words() {
    assert_eq!(
        extract_flags("--a=1 --b rest of it"),
        ("rest of it", vec!["--a=1".to_string(), "--b".to_string()])
    );
    assert_eq!(
        extract_flags("--x=\"a b\" y"),
        ("y", vec!["--x=a b".to_string()])
    );
    assert_eq!(extract_flags("--x='a\\'b' y").1, ["--x=a'b"]);
    assert_eq!(extract_flags("-- --x y"), (" --x y", vec![]));
    assert_eq!(extract_flags("--"), ("", vec![]));
    assert_eq!(extract_flags("-x y"), ("-x y", vec![]));
    assert_eq!(extract_flags("--only"), ("", vec!["--only".to_string()]));
    assert_eq!(extract_flags(""), ("", vec![]));
}

#[test]
fn command_split() {
    assert_eq!(
        split_command("  copy\t--from=a  x y  "),
        ("copy", vec!["--from=a".to_string()], "x y")
    );
    assert_eq!(split_command("RUN"), ("RUN", vec![], ""));
}

#[test]
fn raw_words_keep_quotes_and_escapes() {
    let w = |s: &str| parse_words(s, '\\');
    assert_eq!(w("foo bar"), ["foo", "bar"]);
    assert_eq!(w("foo\\ bar baz"), ["foo\\ bar", "baz"]);
    assert_eq!(w("a=\"b c\" d='e f'"), ["a=\"b c\"", "d='e f'"]);
    assert_eq!(w("a=\"b \\\" c\""), ["a=\"b \\\" c\""]);
    assert_eq!(w("'a\\' b"), ["'a\\'", "b"]);
    assert_eq!(w("\"\""), ["\"\""]);
    assert_eq!(w("end\\"), ["end"]);
    assert_eq!(parse_words("a`  b c", '`'), ["a` ", "b", "c"]);
}

#[test]
fn json_form() {
    assert_eq!(
        parse_json(" [\"a\", \"b\"]"),
        Json::Array(vec!["a".into(), "b".into()])
    );
    assert_eq!(parse_json("[\"a\"] tail"), Json::Array(vec!["a".into()]));
    assert_eq!(parse_json("[\"a\",]"), Json::Shell);
    assert_eq!(parse_json("['a']"), Json::Shell);
    assert_eq!(parse_json("[1e400]"), Json::Shell);
    assert_eq!(parse_json("[null]"), Json::NotStrings);
    assert_eq!(parse_json("echo [\"a\"]"), Json::Shell);
}
