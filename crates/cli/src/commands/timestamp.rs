//! docker's `timetypes.GetTimestamp`: what `--since`/`--until` of `logs` and `events` accept
//! (Go durations relative to now, RFC 3339 times and dates, Unix seconds), as the API wants it.

use crate::units::{now_unix, parse_rfc3339_unix};

/// A Go duration ("1h30m", "42m", "10s", "1.5h") in seconds.
fn go_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total)
}

/// docker's `timetypes.GetTimestamp`: a duration is relative to now, RFC 3339 and dates are
/// converted, anything else (Unix seconds) goes as it is.
pub fn timestamp(s: &str) -> String {
    if let Some(d) = go_duration(s) {
        let t = now_unix() - d;
        return format!("{:.9}", t);
    }
    if let Some(t) = parse_rfc3339_unix(s) {
        return t.to_string();
    }
    if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        if let Some(t) = parse_rfc3339_unix(&format!("{s}T00:00:00Z")) {
            return t.to_string();
        }
    }
    if s.len() == 19 && s.as_bytes().get(10) == Some(&b'T') {
        if let Some(t) = parse_rfc3339_unix(&format!("{s}Z")) {
            return t.to_string();
        }
    }
    s.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_timestamps() {
        assert_eq!(go_duration("42m"), Some(2520.0));
        assert_eq!(go_duration("1h30m"), Some(5400.0));
        assert_eq!(go_duration("1.5s"), Some(1.5));
        assert_eq!(go_duration("1234"), None);
        assert_eq!(timestamp("2013-01-02T13:23:37Z"), "1357133017");
        assert_eq!(timestamp("1357133017"), "1357133017");
    }
}
