//! HEALTHCHECK: the test (`NONE`, `CMD` exec form, `CMD-SHELL` shell form), durations in Go
//! syntax stored as nanoseconds (unset ones left out, as dockerd leaves them), `--retries`,
//! errors worded as dockerd's parser words them.
//!
//! One legacy quirk is kept on purpose: dockerd's builder shares the healthcheck object
//! with the container it commits through, and creating that container fills the new
//! healthcheck's zero fields from the previous image's. So `HEALTHCHECK --timeout=3s CMD x`
//! after `HEALTHCHECK --interval=5s …` stores interval 5s too, while its history entry
//! (written before) shows `"0s"`.

use muelle_image::manifest::Healthcheck;

use super::config::parse_go_int;
use super::error::DispatchError;
use super::gofmt;
use super::state::{StageState, Step};
use crate::dockerfile::{CmdLine, HealthArgs, Instruction};

/// dockerd's `container.MinimumDuration`: 1ms.
const MINIMUM_NS: i64 = 1_000_000;

/// The parsed values, zero meaning unset.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Health {
    test: Vec<String>,
    interval: i64,
    timeout: i64,
    start_period: i64,
    start_interval: i64,
    retries: i64,
}

impl StageState {
    pub(crate) fn healthcheck(
        &mut self,
        ins: &Instruction,
        args: Option<&HealthArgs>,
    ) -> Result<Step, DispatchError> {
        let line = ins.pos.line;
        let new = match args {
            None => Health {
                test: vec!["NONE".into()],
                ..Health::default()
            },
            Some(a) => parse(line, a)?,
        };
        // dockerd prints a `%q` of its *HealthConfig (20.10's five fields).
        let comment = format!(
            "HEALTHCHECK &{{{} {} {} {} {}}}",
            gofmt::quote_list(&new.test),
            gofmt::quote(&gofmt::duration(new.interval)),
            gofmt::quote(&gofmt::duration(new.timeout)),
            gofmt::quote(&gofmt::duration(new.start_period)),
            gofmt::quote_rune(new.retries),
        );
        let prev = self.config.healthcheck.take();
        let inherit = |v: i64, old: Option<i64>| if v == 0 { old.unwrap_or(0) } else { v };
        let merged = match &prev {
            Some(p) => Health {
                test: if new.test.is_empty() {
                    p.test.clone().unwrap_or_default()
                } else {
                    new.test.clone()
                },
                interval: inherit(new.interval, p.interval),
                timeout: inherit(new.timeout, p.timeout),
                start_period: inherit(new.start_period, p.start_period),
                start_interval: inherit(new.start_interval, p.start_interval),
                retries: inherit(new.retries, p.retries),
            },
            None => new,
        };
        let nonzero = |v: i64| (v != 0).then_some(v);
        self.config.healthcheck = Some(Healthcheck {
            test: (!merged.test.is_empty()).then_some(merged.test),
            interval: nonzero(merged.interval),
            timeout: nonzero(merged.timeout),
            start_period: nonzero(merged.start_period),
            start_interval: nonzero(merged.start_interval),
            retries: nonzero(merged.retries),
            extra: prev.map(|p| p.extra).unwrap_or_default(),
        });
        Ok(self.meta(&comment))
    }
}

/// The flag checks alone (dockerd makes them while parsing).
pub(crate) fn check(line: usize, a: &HealthArgs) -> Result<(), DispatchError> {
    parse(line, a).map(|_| ())
}

fn parse(line: usize, a: &HealthArgs) -> Result<Health, DispatchError> {
    let err = |m: String| DispatchError::parse(line, m);
    let test = match &a.cmd {
        CmdLine::Exec(argv) if !argv.is_empty() => {
            let mut t = vec!["CMD".to_string()];
            t.extend(argv.iter().cloned());
            t
        }
        CmdLine::Shell(s) if !s.trim().is_empty() => vec!["CMD-SHELL".into(), s.clone()],
        _ => return Err(err("Missing command after HEALTHCHECK CMD".into())),
    };
    let retries = match a.retries.as_deref() {
        None | Some("") => 0,
        Some(v) => {
            let n = parse_int32(v).map_err(err)?;
            if n < 1 {
                return Err(err(format!("--retries must be at least 1 (not {n})")));
            }
            n
        }
    };
    Ok(Health {
        test,
        interval: interval("interval", a.interval.as_deref()).map_err(err)?,
        timeout: interval("timeout", a.timeout.as_deref()).map_err(err)?,
        start_period: interval("start-period", a.start_period.as_deref()).map_err(err)?,
        start_interval: interval("start-interval", a.start_interval.as_deref()).map_err(err)?,
        retries,
    })
}

/// dockerd's `parseOptInterval`: empty is unset; anything under 1ms (0 included) refused.
fn interval(flag: &str, value: Option<&str>) -> Result<i64, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(0);
    };
    let d = gofmt::parse_duration(v)?;
    if d < MINIMUM_NS {
        return Err(format!(
            "Interval {} cannot be less than 1ms",
            gofmt::quote(flag)
        ));
    }
    Ok(d)
}

/// Go's `strconv.ParseInt(v, 10, 32)` with its error wording.
fn parse_int32(v: &str) -> Result<i64, String> {
    let syntax = || {
        format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            gofmt::quote(v)
        )
    };
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    match parse_go_int(v) {
        Some(n) if i32::try_from(n).is_ok() => Ok(n),
        _ => Err(format!(
            "strconv.ParseInt: parsing {}: value out of range",
            gofmt::quote(v)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_errors_as_dockerd() {
        assert_eq!(
            interval("interval", Some("abc")).unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            interval("interval", Some("0s")).unwrap_err(),
            "Interval \"interval\" cannot be less than 1ms"
        );
        assert_eq!(
            interval("start-period", Some("-1s")).unwrap_err(),
            "Interval \"start-period\" cannot be less than 1ms"
        );
        assert_eq!(interval("interval", Some("")), Ok(0));
        assert_eq!(interval("interval", Some(".5s")), Ok(500_000_000));
        assert_eq!(parse_int32("+5"), Ok(5));
        assert_eq!(
            parse_int32("x").unwrap_err(),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_int32("99999999999").unwrap_err(),
            "strconv.ParseInt: parsing \"99999999999\": value out of range"
        );
    }
}
