use proptest::prelude::*;

use super::*;

fn m(text: &str) -> IgnoreMatcher {
    match IgnoreMatcher::parse(text) {
        Ok(m) => m,
        Err(e) => panic!("parse {text:?}: {e}"),
    }
}

#[test]
fn docs_examples() {
    let x = m("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
    assert!(x.excluded("somedir/temporary.txt", false));
    assert!(x.excluded("somedir/temp", true));
    assert!(
        x.excluded("somedir/temp/inner", false),
        "below an excluded dir"
    );
    assert!(x.excluded("somedir/subdir/temporary.txt", false));
    assert!(x.excluded("tempa", false));
    assert!(x.excluded("tempb", false));
    assert!(!x.excluded("temp", false));
    assert!(!x.excluded("tempab", false));
    assert!(!x.excluded("temporary.txt", false));
    assert!(!x.excluded("# comment", false));
}

#[test]
fn double_star() {
    let x = m("**/*.go");
    assert!(x.excluded("main.go", false));
    assert!(x.excluded("a/b/c.go", false));
    assert!(!x.excluded("a/b/c.rs", false));
    let y = m("a/**");
    assert!(y.excluded("a/x", false));
    assert!(y.excluded("a/x/y", false));
    assert!(!y.excluded("ab", false));
    let z = m("a/**/z");
    assert!(z.excluded("a/z", false));
    assert!(z.excluded("a/b/c/z", false));
    assert!(!z.excluded("a/bz", false));
    assert!(m("**").excluded("anything/at/all", false));
}

#[test]
fn exceptions_in_order() {
    let x = m("*.md\n!README.md");
    assert!(x.excluded("a.md", false));
    assert!(!x.excluded("README.md", false));
    let y = m("*.md\n!README*.md\nREADME-secret.md");
    assert!(y.excluded("README-secret.md", false));
    assert!(!y.excluded("README-public.md", false));
    let z = m("*.md\nREADME-secret.md\n!README*.md");
    assert!(!z.excluded("README-secret.md", false));
    assert!(z.excluded("other.md", false));
}

#[test]
fn cleaning_and_anchoring() {
    let x = m("/abs\n./dot\nsub/../up\n  spaced  \n\n");
    assert!(x.excluded("abs", false));
    assert!(x.excluded("dot", false));
    assert!(x.excluded("up", false));
    assert!(x.excluded("spaced", false));
    assert!(x.excluded("./abs", false));
    assert!(x.excluded("/abs/inner", false));
    assert_eq!(x.patterns(), vec!["abs", "dot", "up", "spaced"]);
    assert!(!m("").excluded("x", false));
    assert!(!IgnoreMatcher::empty().excluded("x", false));
    assert!(!m("\u{feff}# bom comment\n").excluded("# bom comment", false));
}

#[test]
fn bad_patterns() {
    assert!(IgnoreMatcher::parse("[").is_err());
    assert!(IgnoreMatcher::parse("a\\").is_err());
    assert!(IgnoreMatcher::parse("!").is_err());
    assert_eq!(
        IgnoreMatcher::parse("!").map(|_| ()).map_err(|e| e.kind()),
        Err(muelle_types::ErrorKind::InvalidParameter)
    );
}

#[test]
fn reinclusion_under_excluded_dirs() {
    let x = m("docs\n!docs/keep.md");
    assert!(x.excluded("docs", true));
    assert!(x.excluded("docs/other.md", false));
    assert!(!x.excluded("docs/keep.md", false));
    assert!(x.may_reinclude_under("docs"));
    assert!(!x.may_reinclude_under("src"));
    let y = m("*\n!**/*.go");
    assert!(y.may_reinclude_under("deep"));
    assert!(!y.excluded("deep/x.go", false));
    assert!(y.excluded("deep/x.rs", false));
    assert!(!m("docs").may_reinclude_under("docs"));
    // The docker CLI only enters a directory an exception names literally.
    assert!(x.cli_descends_into("docs"));
    assert!(!y.cli_descends_into("deep"));
}

#[test]
fn build_files_kept() {
    let x = m("*\n");
    let kept = x.with_exceptions(&["Dockerfile", ".dockerignore"]);
    assert!(!kept.excluded("Dockerfile", false));
    assert!(!kept.excluded(".dockerignore", false));
    assert!(kept.excluded("other", false));
    assert_eq!(
        m("x").with_exceptions(&["Dockerfile"]).patterns(),
        vec!["x"]
    );
}

#[test]
fn go_clean() {
    for (i, o) in [
        ("", "."),
        ("a/b/../c", "a/c"),
        ("/../a", "/a"),
        ("../a", "../a"),
        ("a/../..", ".."),
        ("./a//b/", "a/b"),
        ("/", "/"),
    ] {
        assert_eq!(clean(i), o, "{i}");
    }
}

proptest! {
    #[test]
    fn never_panics(pats in proptest::collection::vec("[!a-c*?\\[\\]\\\\/.^-]{0,8}", 0..4),
                    path in "[a-c*/.?\\[\\]-]{0,12}") {
        if let Ok(x) = IgnoreMatcher::from_patterns(&pats) {
            let _ = x.excluded(&path, false);
            let _ = x.may_reinclude_under(&path);
        }
        let _ = IgnoreMatcher::parse(&pats.join("\n"));
    }

    #[test]
    fn exception_undoes_exclusion(p in "[a-c*?/]{1,6}", path in "[a-c/]{1,10}") {
        let Ok(x) = IgnoreMatcher::from_patterns([p.clone()]) else { return Ok(()) };
        if x.excluded(&path, false) {
            let y = IgnoreMatcher::from_patterns([p.clone(), format!("!{p}")]);
            prop_assert!(y.is_ok());
            if let Ok(y) = y {
                prop_assert!(!y.excluded(&path, false), "{p} then !{p} on {path}");
            }
        }
    }
}
