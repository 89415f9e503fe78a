//! `muelle events`: `GET /events` as a JSON stream, printed as docker 20.10 prints it (time
//! with nanoseconds, type, action, actor, sorted attributes) or through `--format`.

use anyhow::Result;
use hyper::Method;

use crate::client::{empty, JsonStream, Query};
use crate::commands::filters::filters_json;
use crate::commands::timestamp::timestamp;
use crate::json::Value;
use crate::template::Template;
use crate::units::rfc3339;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Filter output based on conditions provided
    #[arg(short, long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Format the output using the given Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "string")]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "string")]
    until: Option<String>,
}

/// `jsonmessage.RFC3339NanoFixed` in UTC: `2026-12-07T01:02:54.123456789Z`.
fn nano_time(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = rfc3339(secs);
    format!("{}.{frac:09}Z", base.trim_end_matches('Z'))
}

/// The event as docker decodes it into `events.Message` before a template sees it: Go's field
/// order whatever order the daemon wrote (`status`, `id`, `from`, `scope`, `time`, `timeNano`
/// omitted when empty, `Type`/`Action`/`Actor` always there), attributes sorted as Go encodes
/// a map, unknown fields dropped.
fn as_message(e: &Value) -> Value {
    let string = |v: Option<&Value>| Value::from(v.and_then(Value::as_str).unwrap_or(""));
    let mut fields: Vec<(String, Value)> = Vec::new();
    for k in ["status", "id", "from"] {
        if let Some(v) = e.get(k).filter(|v| v.truthy()) {
            fields.push((k.to_owned(), string(Some(v))));
        }
    }
    fields.push(("Type".into(), string(e.get("Type"))));
    fields.push(("Action".into(), string(e.get("Action"))));
    let actor = e.get("Actor");
    let attributes = match actor.and_then(|a| a.get("Attributes")) {
        Some(Value::Object(attrs)) => {
            let mut kv: Vec<(String, Value)> = attrs
                .iter()
                .map(|(k, v)| (k.clone(), string(Some(v))))
                .collect();
            kv.sort_by(|a, b| a.0.cmp(&b.0));
            kv.dedup_by(|a, b| a.0 == b.0);
            Value::Object(kv)
        }
        _ => Value::Null,
    };
    fields.push((
        "Actor".into(),
        Value::object([
            ("ID", string(actor.and_then(|a| a.get("ID")))),
            ("Attributes", attributes),
        ]),
    ));
    if let Some(v) = e.get("scope").filter(|v| v.truthy()) {
        fields.push(("scope".into(), string(Some(v))));
    }
    for k in ["time", "timeNano"] {
        if let Some(v) = e.get(k).filter(|v| v.as_i64().is_some_and(|n| n != 0)) {
            fields.push((k.to_owned(), v.clone()));
        }
    }
    Value::Object(fields)
}

/// docker's `prettyPrintEvent`.
pub fn pretty(e: &Value) -> String {
    let mut out = String::new();
    let nanos = e.get("timeNano").and_then(Value::as_i64).unwrap_or(0);
    let secs = e.get("time").and_then(Value::as_i64).unwrap_or(0);
    if nanos != 0 {
        out.push_str(&nano_time(nanos));
        out.push(' ');
    } else if secs != 0 {
        out.push_str(&nano_time(secs * 1_000_000_000));
        out.push(' ');
    }
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let actor = e.get("Actor");
    let id = actor
        .and_then(|a| a.get("ID"))
        .and_then(Value::as_str)
        .unwrap_or("");
    out.push_str(&format!("{} {} {}", s("Type"), s("Action"), id));
    if let Some(Value::Object(attrs)) = actor.and_then(|a| a.get("Attributes")) {
        if !attrs.is_empty() {
            let mut kv: Vec<String> = attrs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            kv.sort();
            out.push_str(&format!(" ({})", kv.join(", ")));
        }
    }
    out.push('\n');
    out
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut q = Query::new();
    if let Some(s) = &a.since {
        q = q.set("since", timestamp(s));
    }
    if let Some(u) = &a.until {
        q = q.set("until", timestamp(u));
    }
    if let Some(f) = filters_json(&a.filter)? {
        q = q.set("filters", f);
    }
    let template = match a.format.as_deref().filter(|f| !f.is_empty()) {
        Some(f) if f.trim() == "json" => Some(Template::parse("{{json .}}")?),
        Some(f) => Some(Template::parse(f)?),
        None => None,
    };
    let client = ctx.client().await?;
    let res = client
        .request(Method::GET, &format!("/events{}", q.render()), &[], empty())
        .await?;
    let mut stream = JsonStream::new(res);
    while let Some(e) = stream.next::<Value>().await? {
        let line = match &template {
            Some(t) => format!("{}\n", t.execute(&as_message(&e))?),
            None => pretty(&e),
        };
        crate::out(&line)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_go_field_order() {
        // muelled writes sorted keys; docker's {{json .}} shows events.Message's order.
        let e: Value = serde_json::from_str(
            r#"{"Action":"die","Actor":{"Attributes":{"name":"x","exitCode":"0"},"ID":"abc"},"Type":"container","extra":1,"id":"abc","scope":"local","status":"die","time":1,"timeNano":1000000005}"#,
        )
        .unwrap();
        assert_eq!(
            as_message(&e).to_go_json(),
            r#"{"status":"die","id":"abc","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0","name":"x"}},"scope":"local","time":1,"timeNano":1000000005}"#
        );
        let bare: Value = serde_json::from_str(r#"{"Type":"image","Action":"tag"}"#).unwrap();
        assert_eq!(
            as_message(&bare).to_go_json(),
            r#"{"Type":"image","Action":"tag","Actor":{"ID":"","Attributes":null}}"#
        );
    }

    #[test]
    fn pretty_like_docker() {
        let e: Value = serde_json::from_str(
            r#"{"status":"die","id":"abc","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"x","exitCode":"0","image":"busybox"}},"scope":"local","time":1,"timeNano":1000000005}"#,
        )
        .unwrap();
        assert_eq!(
            pretty(&e),
            "1970-01-01T00:00:01.000000005Z container die abc (exitCode=0, image=busybox, name=x)\n"
        );
    }
}
