//! The `HEALTHCHECK` instruction of `--change` (commit, import) as Docker's builder reads
//! it: `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
//! [--retries=N] CMD command` (exec or shell form) or `HEALTHCHECK NONE`.

use muelle_types::duration::parse_go_duration;

use crate::manifest::Healthcheck;

/// The shortest non-zero duration the builder accepts (Docker's `MinimumDuration`).
const MINIMUM: i64 = 1_000_000;

/// The check `rest` (what follows `HEALTHCHECK`) describes, or the builder's error text.
pub fn parse_healthcheck(rest: &str) -> Result<Healthcheck, String> {
    let mut rest = rest.trim_start();
    let mut h = Healthcheck::default();
    while let Some(flag) = rest.strip_prefix("--") {
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
        rest = flag[end..].trim_start();
        let duration = |field: &str| -> Result<Option<i64>, String> {
            let d = parse_go_duration(value)?;
            if d != 0 && d < MINIMUM {
                return Err(format!("{field} \"{value}\" cannot be less than 1ms"));
            }
            Ok((d != 0).then_some(d))
        };
        match name {
            "interval" => h.interval = duration("Interval")?,
            "timeout" => h.timeout = duration("Timeout")?,
            "start-period" => h.start_period = duration("StartPeriod")?,
            "start-interval" => h.start_interval = duration("StartInterval")?,
            "retries" => {
                let n: i64 = value.parse().map_err(|_| {
                    format!("strconv.ParseInt: parsing \"{value}\": invalid syntax")
                })?;
                if n < 0 {
                    return Err("--retries cannot be negative".into());
                }
                h.retries = (n != 0).then_some(n);
            }
            other => return Err(format!("Unknown flag: {other}")),
        }
    }
    let (typ, args) = rest
        .split_once(char::is_whitespace)
        .map(|(t, a)| (t, a.trim()))
        .unwrap_or((rest, ""));
    let typ = typ.to_ascii_uppercase();
    match typ.as_str() {
        "" => Err("HEALTHCHECK requires an argument".into()),
        "NONE" if args.is_empty() => {
            h.test = Some(vec![typ]);
            Ok(h)
        }
        "NONE" => Err("HEALTHCHECK NONE takes no arguments".into()),
        "CMD" => {
            let exec = args
                .starts_with('[')
                .then(|| serde_json::from_str::<Vec<String>>(args).ok())
                .flatten();
            h.test = Some(match exec {
                Some(v) => std::iter::once("CMD".to_string()).chain(v).collect(),
                None if args.is_empty() => {
                    return Err("Missing command after HEALTHCHECK CMD".into())
                }
                None => vec!["CMD-SHELL".into(), args.to_string()],
            });
            Ok(h)
        }
        other => Err(format!("Unknown type \"{other}\" in HEALTHCHECK (try CMD)")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_the_builders() {
        let h = parse_healthcheck("--interval=1s --retries=2 CMD echo hi").unwrap();
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!({"Test": ["CMD-SHELL", "echo hi"], "Interval": 1_000_000_000, "Retries": 2})
        );
        let h = parse_healthcheck(r#"CMD ["true"]"#).unwrap();
        assert_eq!(h.test.unwrap(), ["CMD", "true"]);
        assert_eq!(parse_healthcheck("NONE").unwrap().test.unwrap(), ["NONE"]);
        assert_eq!(
            parse_healthcheck("--interval=1 CMD true").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_healthcheck("--foo=1s CMD true").unwrap_err(),
            "Unknown flag: foo"
        );
        assert_eq!(
            parse_healthcheck("true").unwrap_err(),
            "Unknown type \"TRUE\" in HEALTHCHECK (try CMD)"
        );
    }
}
