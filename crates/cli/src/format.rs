//! docker's output formats over a template: `""` → the command's default table, `table …` →
//! a table whose header comes from the command's header names, `json` → `{{json .}}` per line,
//! anything else → one template line per item.

use crate::json::Value;
use crate::tabwriter::tabwrite;
use crate::template::{Res, Template};

pub enum Kind {
    Table(String),
    Json,
    Raw(String),
}

/// docker's `Format.IsTable`/`IsJSON` plus `preFormat`: `\t` and `\n` in the format are
/// the escapes, not the two characters.
pub fn kind(format: &str, default_table: &str) -> Kind {
    let format = if format.is_empty() {
        default_table
    } else {
        format
    };
    if format.trim() == "json" {
        return Kind::Json;
    }
    let unescape = |s: &str| s.trim().replace("\\t", "\t").replace("\\n", "\n");
    match format.strip_prefix("table") {
        Some("") => Kind::Table(unescape(
            default_table.strip_prefix("table").unwrap_or(default_table),
        )),
        Some(rest) => Kind::Table(unescape(rest)),
        None => Kind::Raw(unescape(format)),
    }
}

/// Renders list items: a table with a header line (names from `headers`, field → header),
/// `json` lines, or one template line per item.
pub fn render(
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    items: &[Value],
) -> Res<String> {
    match kind(format, default_table) {
        Kind::Json => {
            let mut out = String::new();
            for item in items {
                out.push_str(&item.to_go_json());
                out.push('\n');
            }
            Ok(out)
        }
        Kind::Raw(src) => {
            let t = Template::parse(&src)?;
            let mut out = String::new();
            for item in items {
                out.push_str(&t.execute_row(item)?);
                out.push('\n');
            }
            Ok(out)
        }
        Kind::Table(src) => {
            let t = Template::parse(&src)?;
            let header = Value::object(headers.iter().map(|(k, h)| (*k, Value::from(*h))));
            let mut lines = Vec::with_capacity(items.len() + 1);
            // Header cells for fields without a name are left empty, as docker's header map does.
            lines.push(t.execute_lenient(&header));
            for item in items {
                lines.push(t.execute_row(item)?);
            }
            Ok(tabwrite(&lines.join("\n")))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn tables_like_docker() {
        let rows = vec![
            v(
                r#"{"Repository":"busybox","Tag":"latest","ID":"5e72c6dd051f","CreatedSince":"2 hours ago","Size":"1.99MB"}"#,
            ),
            v(
                r#"{"Repository":"foo","Tag":"1","ID":"5e72c6dd051f","CreatedSince":"2 hours ago","Size":"1.99MB"}"#,
            ),
        ];
        let headers = [
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("CreatedSince", "CREATED"),
            ("Size", "SIZE"),
        ];
        let table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
        let out = render("", table, &headers, &rows).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             busybox      latest    5e72c6dd051f   2 hours ago   1.99MB\n\
             foo          1         5e72c6dd051f   2 hours ago   1.99MB\n"
        );
        let out = render(
            "table {{.Repository}}\\t{{.Other}}",
            table,
            &headers,
            &rows[..0],
        )
        .unwrap();
        assert_eq!(out, "REPOSITORY   \n");
        let out = render("{{.Repository}}:{{.Tag}}", table, &headers, &rows).unwrap();
        assert_eq!(out, "busybox:latest\nfoo:1\n");
        let out = render("json", table, &headers, &rows[1..]).unwrap();
        assert_eq!(
            out,
            "{\"Repository\":\"foo\",\"Tag\":\"1\",\"ID\":\"5e72c6dd051f\",\"CreatedSince\":\"2 hours ago\",\"Size\":\"1.99MB\"}\n"
        );
        assert!(render("{{.Nope}}", table, &headers, &rows).is_err());
    }
}
