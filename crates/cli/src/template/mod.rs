//! `--format` templates: the subset of Go's text/template that docker users write.
//!
//! Supported: text, `{{.A.B}}`, `{{.}}`, `{{json .X}}`, pipes (`{{.X | json}}`), parentheses,
//! strings and integers, `$` and range variables (`{{range $k, $v := .Labels}}`), `if`/`else`/
//! `range`/`with`/`end`, `{{- -}}` trimming, and the functions docker adds (`json`, `join`,
//! `split`, `upper`, `lower`, `title`, `pad`, `truncate`) plus `index`, `len`, `eq`, `ne`,
//! `not`, `and`, `or`, `print`, `println`. Values are JSON ([`Value`]); the object printed
//! for a missing key is an error, as `docker inspect` has it.
//!
//! `lexer` splits the text into actions and tokens, `parser` builds the tree, `eval` runs it
//! and `funcs` holds the functions. The table/json/raw formats over it are `crate::format`.

mod eval;
mod funcs;
mod lexer;
mod parser;

use crate::json::Value;
use parser::Node;

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

pub(crate) type Res<T> = Result<T, TemplateError>;

pub(crate) fn parse_err(pos: usize, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError(format!("template parsing error: template: :1:{pos}: {msg}"))
}

#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    pub fn parse(src: &str) -> Res<Template> {
        Ok(Template {
            nodes: parser::parse(src)?,
        })
    }

    pub fn execute(&self, data: &Value) -> Res<String> {
        let mut out = String::new();
        let mut vars = vec![("$".to_owned(), data.clone())];
        eval::exec_nodes(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }

    /// [`Template::execute`] for a list row (images, ps, history…): in docker such a row is
    /// a Go type with its own MarshalJSON, so `{{json .}}` keeps Go's HTML escaping.
    pub fn execute_row(&self, data: &Value) -> Res<String> {
        let mut out = String::new();
        let mut vars = vec![
            ("$".to_owned(), data.clone()),
            (eval::ROW_MARKER.to_owned(), Value::Null),
        ];
        eval::exec_nodes(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }

    /// Executes with the actions that name no header field left empty, as docker's header
    /// map leaves them.
    pub(crate) fn execute_lenient(&self, data: &Value) -> String {
        let mut out = String::new();
        let mut vars = vec![("$".to_owned(), data.clone())];
        let nodes: Vec<Node> = self
            .nodes
            .iter()
            .map(|n| match n {
                Node::Action(p) if !eval::header_known(p, data) => Node::Text(String::new()),
                other => other.clone(),
            })
            .collect();
        let _ = eval::exec_nodes(&nodes, data, &mut vars, &mut out);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn run(t: &str, data: &str) -> Res<String> {
        Template::parse(t)?.execute(&v(data))
    }

    #[test]
    fn health_check_durations_print_as_go_durations() {
        let d = r#"{"Healthcheck":{"Test":["CMD","true"],"Interval":2000000000,"Timeout":1500000000,"StartPeriod":90000000000,"Retries":3}}"#;
        assert_eq!(run("{{.Healthcheck.Interval}}", d).unwrap(), "2s");
        assert_eq!(run("{{.Healthcheck.Timeout}}", d).unwrap(), "1.5s");
        assert_eq!(run("{{.Healthcheck.StartPeriod}}", d).unwrap(), "1m30s");
        assert_eq!(run("{{.Healthcheck.Retries}}", d).unwrap(), "3");
        assert_eq!(
            run("{{json .Healthcheck.Interval}}", d).unwrap(),
            "2000000000"
        );
    }

    #[test]
    fn fields_and_json() {
        let d = r#"{"ID":"abc","Config":{"Cmd":["/bin/sh","-c"],"Env":null,"Labels":null},"Size":1985650,"R":{"Type":"layers","Layers":["x"]}}"#;
        assert_eq!(run("{{.ID}}", d).unwrap(), "abc");
        assert_eq!(run("{{.Config.Cmd}}", d).unwrap(), "[/bin/sh -c]");
        assert_eq!(
            run("{{.Config.Env}}|{{.Config.Labels}}", d).unwrap(),
            "[]|map[]"
        );
        assert_eq!(run("{{.Size}}", d).unwrap(), "1985650");
        assert_eq!(
            run("{{json .R}}", d).unwrap(),
            r#"{"Type":"layers","Layers":["x"]}"#
        );
        assert_eq!(
            run("{{.R | json}}", d).unwrap(),
            r#"{"Type":"layers","Layers":["x"]}"#
        );
        assert_eq!(run("{{json .Config.Env}}", d).unwrap(), "null");
        // A list row marshals itself with Go's HTML escaping; the json function does not.
        let row = v(r#"{"a":"<none>"}"#);
        assert_eq!(
            Template::parse("{{json .}} {{json .a}}")
                .unwrap()
                .execute_row(&row)
                .unwrap(),
            r#"{"a":"\u003cnone\u003e"} "<none>""#
        );
        assert_eq!(
            run("{{json .}}", r#"{"a":"<none>"}"#).unwrap(),
            r#"{"a":"<none>"}"#
        );
        assert_eq!(run("{{.}}", r#""x""#).unwrap(), "x");
        assert_eq!(
            run(
                "{{.ID}} {{.Server.APIVersion}}",
                r#"{"Id":"a","Server":{"ApiVersion":"1.41"}}"#
            )
            .unwrap(),
            "a 1.41"
        );
    }

    #[test]
    fn missing_key_is_an_error_like_docker() {
        let e = run("{{.Config.Cmd}} {{.Nope}}", r#"{"Config":{"Cmd":null}}"#).unwrap_err();
        assert_eq!(
            e.0,
            r#"template parsing error: template: :1:18: executing "" at <.Nope>: map has no entry for key "Nope""#
        );
    }

    #[test]
    fn omitted_nil_pointers_evaluate_to_nil() {
        let d = r#"{"State":{"Status":"running"},"Config":{}}"#;
        assert_eq!(
            run(
                "{{json .State.Health}} {{.State.Health}} {{.Config.Healthcheck}}",
                d
            )
            .unwrap(),
            "null <nil> <nil>"
        );
    }

    #[test]
    fn control_flow_and_functions() {
        let d = r#"{"Tags":["a:1","b:2"],"Os":"linux","Parent":"","L":{"z":"1","a":"2"},"N":0}"#;
        assert_eq!(
            run("{{range .Tags}}<{{.}}>{{end}}", d).unwrap(),
            "<a:1><b:2>"
        );
        assert_eq!(
            run("{{index .Tags 1}} {{upper .Os}} {{len .Tags}}", d).unwrap(),
            "b:2 LINUX 2"
        );
        assert_eq!(run("{{join .Tags \",\"}}", d).unwrap(), "a:1,b:2");
        assert_eq!(run("{{if .Parent}}p{{else}}np{{end}}", d).unwrap(), "np");
        assert_eq!(
            run("{{range $k, $v := .L}}{{$k}}={{$v}};{{end}}", d).unwrap(),
            "a=2;z=1;"
        );
        assert_eq!(run("{{with .L}}{{.a}}{{end}}", d).unwrap(), "2");
        assert_eq!(run("{{if eq .Os \"linux\"}}yes{{end}}", d).unwrap(), "yes");
        assert_eq!(run("{{.L}}", d).unwrap(), "map[a:2 z:1]");
        assert_eq!(run("  {{- .Os -}}  !", d).unwrap(), "linux!");
        assert_eq!(run("{{title \"hello world\"}}", d).unwrap(), "Hello World");
        assert_eq!(run("{{json (index .Tags 0)}}", d).unwrap(), "\"a:1\"");
        assert_eq!(run("{{$.Os}}", d).unwrap(), "linux");
        assert_eq!(
            run("{{range .Tags}}{{$.Os}}{{end}}", d).unwrap(),
            "linuxlinux"
        );
    }

    #[test]
    fn parse_errors() {
        assert!(Template::parse("{{.ID").is_err());
        assert!(Template::parse("{{if .X}}a").is_err());
        assert!(Template::parse("{{end}}").is_err());
        assert!(run("{{nosuch .X}}", "{}").is_err());
        assert!(run("{{.X}}", r#"{"X":"a"}"#).is_ok());
    }
}
