//! Variable substitution, with cases from BuildKit's lexer tests (`envVarTest`,
//! `wordsTest`) and the Dockerfile reference.

use crate::dockerfile::{expand, expand_heredoc, expand_words, ExpandError};

fn env(name: &str) -> Option<String> {
    match name {
        "PWD" => Some("/home".into()),
        "SHELL" => Some("bash".into()),
        "EMPTY" => Some(String::new()),
        "SPACED" => Some(" a  b ".into()),
        "KOREAN" => Some("한국어".into()),
        "FILE" => Some("dir/sub/file.tar.gz".into()),
        _ => None,
    }
}

fn x(word: &str) -> String {
    expand(word, '\\', &env).unwrap_or_else(|e| panic!("{word}: {e}"))
}

fn xb(word: &str) -> String {
    expand(word, '`', &env).unwrap_or_else(|e| panic!("{word}: {e}"))
}

fn w(text: &str) -> Vec<String> {
    expand_words(text, '\\', &env).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn plain_and_variables() {
    let cases = [
        ("A", "A"),
        ("$PWD", "/home"),
        ("${PWD}", "/home"),
        ("${PWD}x", "/homex"),
        ("$PWDx", ""),
        ("$PWD/x", "/home/x"),
        ("$nonexist", ""),
        ("${nonexist}", ""),
        ("$", "$"),
        ("a$", "a$"),
        ("$ a", "$ a"),
        ("$KOREAN", "한국어"),
        ("${KOREAN}!", "한국어!"),
        ("$1", ""),
        ("$@x", "x"),
    ];
    for (word, want) in cases {
        assert_eq!(x(word), want, "{word}");
    }
}

#[test]
fn operators() {
    let cases = [
        ("${nonexist:-word}", "word"),
        ("${EMPTY:-word}", "word"),
        ("${EMPTY-word}", ""),
        ("${nonexist-word}", "word"),
        ("${PWD:-word}", "/home"),
        ("${PWD:+word}", "word"),
        ("${EMPTY:+word}", ""),
        ("${EMPTY+word}", "word"),
        ("${nonexist+word}", ""),
        ("${nonexist:-$PWD}", "/home"),
        ("${nonexist:-${SHELL:-x}y}", "bashy"),
        ("${nonexist:-'a b'}", "a b"),
        ("${nonexist:-\"$PWD x\"}", "/home x"),
        ("${PWD:?oops}", "/home"),
        ("${EMPTY?oops}", ""),
    ];
    for (word, want) in cases {
        assert_eq!(x(word), want, "{word}");
    }
}

#[test]
fn quotes_and_escapes() {
    let cases = [
        ("'$PWD'", "$PWD"),
        ("\"$PWD\"", "/home"),
        ("\\$PWD", "$PWD"),
        ("'\\$PWD'", "\\$PWD"),
        ("abc\\\\def", "abc\\def"),
        ("\"abc\\\\def\"", "abc\\def"),
        ("'abc\\\\def'", "abc\\\\def"),
        ("hello\\", "hello"),
        ("he\\'llo", "he'llo"),
        ("he\\\"llo", "he\"llo"),
        ("\"he'llo\"", "he'llo"),
        ("'he\"llo'", "he\"llo"),
        ("\"he\\\"llo\"", "he\"llo"),
        ("abc\\tdef", "abctdef"),
        ("\"abc\\tdef\"", "abc\\tdef"),
        ("'abc\\tdef'", "abc\\tdef"),
        ("\"a\\$b\"", "a$b"),
        ("a\"b\"c'd'e", "abcde"),
        ("\"\"", ""),
        ("a b", "a b"),
        ("\"Rex The Dog\"", "Rex The Dog"),
        ("Rex\\ The\\ Dog", "Rex The Dog"),
    ];
    for (word, want) in cases {
        assert_eq!(x(word), want, "{word}");
    }
}

#[test]
fn backtick_escape() {
    assert_eq!(xb("`$PWD"), "$PWD");
    assert_eq!(xb("c:\\windows"), "c:\\windows");
    assert_eq!(xb("\"a`\"b\""), "a\"b");
    assert_eq!(xb("a``b"), "a`b");
    assert_eq!(x("a`b"), "a`b");
}

#[test]
fn errors() {
    let e = expand("${nonexist:?}", '\\', &env).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to process \"${nonexist:?}\": nonexist: is not allowed to be unset"
    );
    assert_eq!(e.kind(), muelle_types::ErrorKind::InvalidParameter);
    let e = expand("${EMPTY:?must be set}", '\\', &env).unwrap_err();
    assert!(matches!(&e, ExpandError::Required { message, .. } if message == "must be set"));
    let e = expand("${EMPTY:?}", '\\', &env).unwrap_err();
    assert!(
        matches!(&e, ExpandError::Required { message, .. } if message == "is not allowed to be empty")
    );
    let e = expand("${nonexist?}", '\\', &env).unwrap_err();
    assert!(matches!(&e, ExpandError::Required { .. }));
    for (word, what) in [
        ("${PWD", "missing '}'"),
        ("${PWD:-x", "missing '}'"),
        ("${", "missing '}'"),
        ("${}", "bad substitution"),
        ("${:x}", "bad substitution"),
        ("${PWD:x}", "unsupported modifier (:x) in substitution"),
        ("${PWD:#x}", "unsupported modifier (:#) in substitution"),
        ("${PWD^x}", "unsupported modifier (^) in substitution"),
        ("${PWD/x}", "missing '/' in ${}"),
        (
            "${PWD#\\x}",
            "invalid pattern (\\x) in substitution: invalid escape '\\x'",
        ),
        ("'abc", "matching single-quote"),
        ("\"abc", "matching double-quote"),
    ] {
        let e = expand(word, '\\', &env).unwrap_err();
        assert!(e.to_string().contains(what), "{word}: {e}");
    }
}

#[test]
fn words() {
    assert_eq!(w("a b  c"), ["a", "b", "c"]);
    assert_eq!(w("  a  "), ["a"]);
    assert_eq!(w("\"a b\" c"), ["a b", "c"]);
    assert_eq!(w("a\\ b c"), ["a b", "c"]);
    assert_eq!(w("$SPACED"), ["a", "b"]);
    assert_eq!(w("\"$SPACED\""), [" a  b "]);
    assert_eq!(w("x$SPACED"), ["x", "a", "b"]);
    assert_eq!(w("80/tcp ${nonexist:-443}"), ["80/tcp", "443"]);
    // An empty quoted word does not survive, as in BuildKit.
    assert_eq!(w("\"\" a"), ["a"]);
    assert_eq!(w(""), Vec::<String>::new());
}

/// Each `ENV vN=word` of this Dockerfile, run by dockerd 20.10's legacy builder, gave the
/// value listed: the parser's raw values expanded here must give the same.
#[test]
fn dockerd_agrees() {
    let text = "FROM busybox\nENV base=/home sp=\" a  b \" e=\nENV v0=${base}x\nENV v1=$basex\nENV v2=\\$base\nENV v3='$base'\nENV v4=\"$base\"\nENV v5=${nope:-def}\nENV v6=${e:-def}\nENV v7=${base:+alt}\nENV v8=${e:+alt}\nENV v9=a\\ b\nENV v10=\"a \\\"q\\\" b\"\nENV v11='a\\b'\nENV v12=a\\\\b\nENV v13=\"a\\\\b\"\nENV v14=\"a\\b\"\nENV v15=${nope:-'x y'}\nENV v16=$1x\nENV v17=$@\nENV v18=a$\nENV v19=${sp}\nENV v20=\"${sp}\"\nENV v21=$\nENV v22=\\\\\nENV v23=\"a'b\"\nENV v24='a\"b'\nENV v25=${nope:-\"q $base\"}\nENV v26=x${base}y${base}\nENV v27=\"\\$base\"\n";
    let want: &[&str] = &[
        "v0=/homex",
        "v1=",
        "v2=$base",
        "v3=$base",
        "v4=/home",
        "v5=def",
        "v6=def",
        "v7=alt",
        "v8=",
        "v9=a b",
        "v10=a \"q\" b",
        "v11=a\\b",
        "v12=a\\b",
        "v13=a\\b",
        "v14=a\\b",
        "v15=x y",
        "v16=x",
        "v17=",
        "v18=a$",
        "v19= a  b ",
        "v20= a  b ",
        "v21=$",
        "v22=\\",
        "v23=a'b",
        "v24=a\"b",
        "v25=q /home",
        "v26=x/homey/home",
        "v27=$base",
    ];
    let d = crate::dockerfile::parse("Dockerfile", text).unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut got = Vec::new();
    for ins in &d.instructions {
        let crate::dockerfile::Command::Env(pairs) = &ins.command else {
            continue;
        };
        for (k, v) in pairs {
            let lookup = |n: &str| {
                env.iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
            };
            let key = expand(k, '\\', &lookup).unwrap();
            let value = expand(v, '\\', &lookup).unwrap();
            if key.starts_with('v') {
                got.push(format!("{key}={value}"));
            }
            env.push((key, value));
        }
    }
    assert_eq!(got, want);
}

#[test]
fn patterns() {
    // BuildKit's newer operators, with bash's results.
    let cases = [
        ("${FILE#*/}", "sub/file.tar.gz"),
        ("${FILE##*/}", "file.tar.gz"),
        ("${FILE%.*}", "dir/sub/file.tar"),
        ("${FILE%%.*}", "dir/sub/file"),
        ("${FILE#nomatch}", "dir/sub/file.tar.gz"),
        ("${FILE#d?r}", "/sub/file.tar.gz"),
        ("${FILE/sub/top}", "dir/top/file.tar.gz"),
        ("${FILE//\\//-}", "dir-sub-file.tar.gz"),
        ("${FILE/*/x}", "x"),
        ("${FILE//a/}", "dir/sub/file.tr.gz"),
        ("${nonexist#x}", ""),
        ("${FILE%\\*}", "dir/sub/file.tar.gz"),
    ];
    for (word, want) in cases {
        assert_eq!(x(word), want, "{word}");
    }
}

#[test]
fn heredoc_bodies_keep_quotes() {
    let lookup = |n: &str| (n == "NAME").then(|| "world".to_string());
    assert_eq!(
        expand_heredoc("echo \"hello $NAME\" 'it''s'\n", &lookup).unwrap(),
        "echo \"hello world\" 'it''s'\n"
    );
    assert_eq!(
        expand_heredoc("cost: \\$5 ${NAME:-x}\n", &lookup).unwrap(),
        "cost: $5 world\n"
    );
}
