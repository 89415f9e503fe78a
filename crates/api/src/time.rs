//! Docker's forms of time at the API's edge: `since`/`until` as the docker CLI sends them
//! (Unix seconds with up to nine fraction digits), the wider `until` of prune filters (also
//! Go durations and RFC 3339 dates), and the Unix seconds of JSON `Created` fields.

use std::time::{Duration, SystemTime};

use muelle_types::time::parse_rfc3339;

use crate::error::{ApiError, ApiResult};

/// Unix seconds with an optional fraction of up to nine digits, read exactly (an f64 keeps
/// only about a microsecond of today's timestamps, and `logs --until` must keep its
/// boundary line).
pub fn unix_seconds(value: &str) -> Option<SystemTime> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let nanos: u32 = format!("{frac:0<9}").parse().ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// `until` (and `since`) as Docker takes them: Unix seconds, a Go duration before now
/// (`24h`, `1h30m`), or an RFC 3339 date.
pub fn parse_until(value: &str) -> ApiResult<SystemTime> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid filter 'until={value}': expected a Unix timestamp, a duration such as 24h, or an RFC 3339 date"
        ))
    };
    if let Some(t) = unix_seconds(value) {
        return Ok(t);
    }
    if let Ok(secs) = value.parse::<f64>() {
        if !(0.0..=1e12).contains(&secs) {
            return Err(bad());
        }
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs));
    }
    if let Some(d) = parse_go_duration(value) {
        return SystemTime::now().checked_sub(d).ok_or_else(bad);
    }
    parse_rfc3339(value).ok_or_else(bad)
}

fn parse_go_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let n: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = next;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Whole Unix seconds, 0 for none (Docker's `Created` numbers).
pub fn unix_secs(t: Option<SystemTime>) -> i64 {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whole Unix seconds of an RFC 3339 time, 0 if it does not parse.
pub fn unix_of(rfc3339: &str) -> i64 {
    unix_secs(parse_rfc3339(rfc3339))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_until() {
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("x"), None);
        assert!(parse_until("24h").is_ok());
        assert!(parse_until("1700000000").is_ok());
        assert!(parse_until("2024-01-01T00:00:00Z").is_ok());
        assert!(parse_until("-5").is_err());
        assert!(parse_until("soon").is_err());
    }

    #[test]
    fn unix_seconds_are_exact() {
        let t = unix_seconds("1796607433.000000001").unwrap();
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!((d.as_secs(), d.subsec_nanos()), (1_796_607_433, 1));
        assert!(unix_seconds("1.1234567891").is_none());
        assert!(unix_seconds("-1").is_none());
        assert!(unix_seconds("").is_none());
    }
}
