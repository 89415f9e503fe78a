//! Docker's time forms, without a date crate: RFC 3339 as Go prints and parses it, Go's
//! `time.Time.String()` and ANSIC forms, and go-units' human durations ("2 hours"). All in
//! UTC: muelle reads no zone database.

use std::time::{Duration, SystemTime};

/// Go's zero `time.Time` in RFC 3339, which Docker shows for "never" (`FinishedAt` of a
/// container that has not exited).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the epoch (negative before it).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn split(unix: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses RFC 3339 (`2024-01-02T03:04:05.123456789Z`, or with a `+hh:mm` offset; a space or
/// lowercase `t` as the separator), as image configs, records and API filters carry it.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (clock, offset_secs) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else {
        let idx = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(idx);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off.get(1..)?.split_once(':')?;
        let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
        (c, sign * secs)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        digits.parse().ok()?
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    let base = SystemTime::UNIX_EPOCH;
    if secs >= 0 {
        base.checked_add(Duration::new(secs.unsigned_abs(), nanos))
    } else {
        base.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// [`parse_rfc3339`] to whole Unix seconds.
pub fn parse_rfc3339_unix(s: &str) -> Option<i64> {
    parse_rfc3339(s).map(unix_secs)
}

/// RFC 3339 with nanoseconds in UTC, as Go prints a `time.Time` in JSON.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let (y, mo, dd, h, mi, s) = split(d.as_secs() as i64);
    format!(
        "{y:04}-{mo:02}-{dd:02}T{h:02}:{mi:02}:{s:02}.{:09}Z",
        d.subsec_nanos()
    )
}

/// RFC 3339 with nanoseconds, trailing zeros trimmed (and the dot with them), as Go's
/// `time.RFC3339Nano` prints: "2026-11-23T17:33:03.5Z", "2026-11-23T17:33:03Z".
pub fn go_rfc3339_nano(t: SystemTime) -> String {
    let full = rfc3339_nanos(t);
    match full.strip_suffix('Z').and_then(|s| s.split_once('.')) {
        Some((whole, frac)) => match frac.trim_end_matches('0') {
            "" => format!("{whole}Z"),
            frac => format!("{whole}.{frac}Z"),
        },
        None => full,
    }
}

/// RFC 3339 in UTC, whole seconds: "2026-11-23T17:33:03Z".
pub fn rfc3339(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Go's `time.Time.String()` for a UTC time: "2026-11-23 17:33:03 +0000 UTC".
pub fn go_time_string(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} +0000 UTC")
}

/// Go's `time.ANSIC` in UTC ("Thu May  7 21:09:36 2026"), as `docker version` shows build times.
pub fn ansic(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = split(unix);
    let wd = DAYS[(unix.div_euclid(86_400) + 4).rem_euclid(7) as usize];
    let mon = MONTHS[(mo as usize).saturating_sub(1) % 12];
    format!("{wd} {mon} {d:>2} {h:02}:{mi:02}:{s:02} {y}")
}

/// go-units' `HumanDuration`, as Docker prints ages ("Up 2 hours", "3 days ago").
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as u64 / 24 / 365)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(secs(0.5)), "Less than a second");
        assert_eq!(human_duration(secs(1.0)), "1 second");
        assert_eq!(human_duration(secs(5.0)), "5 seconds");
        assert_eq!(human_duration(secs(59.0)), "59 seconds");
        assert_eq!(human_duration(secs(60.0)), "About a minute");
        assert_eq!(human_duration(secs(65.0)), "About a minute");
        assert_eq!(human_duration(secs(600.0)), "10 minutes");
        assert_eq!(human_duration(secs(59.0 * 60.0)), "59 minutes");
        assert_eq!(human_duration(secs(3600.0)), "About an hour");
        assert_eq!(human_duration(secs(2.0 * 3600.0)), "2 hours");
        assert_eq!(human_duration(secs(47.0 * 3600.0)), "47 hours");
        assert_eq!(human_duration(secs(2.0 * 86400.0)), "2 days");
        assert_eq!(human_duration(secs(15.0 * 86400.0)), "2 weeks");
        assert_eq!(human_duration(secs(70.0 * 86400.0)), "2 months");
        assert_eq!(human_duration(secs(800.0 * 86400.0)), "2 years");
    }

    #[test]
    fn rfc3339_parses_and_prints() {
        let t = parse_rfc3339("2024-01-02T03:04:05.5Z").unwrap();
        assert_eq!(rfc3339_nanos(t), "2024-01-02T03:04:05.500000000Z");
        let off = parse_rfc3339("2024-01-02T04:04:05+01:00").unwrap();
        assert_eq!(unix_secs(off), unix_secs(t));
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(SystemTime::UNIX_EPOCH)
        );
        for bad in [
            "",
            "garbage",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00.x1Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            parse_rfc3339_unix("2026-11-22T17:33:03.450189037Z"),
            Some(1_795_368_783)
        );
        assert_eq!(
            parse_rfc3339_unix("2026-11-22T18:33:03+01:00"),
            Some(1_795_368_783)
        );
        assert_eq!(
            parse_rfc3339_unix("2000-02-29T00:00:00Z"),
            Some(951_782_400)
        );
        assert_eq!(parse_rfc3339_unix(ZERO_TIME), Some(-62_135_596_800));
    }

    #[test]
    fn go_forms() {
        assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(rfc3339(1_795_368_783), "2026-11-22T17:33:03Z");
        let built = parse_rfc3339_unix("2026-05-07T21:09:36.000000000+00:00").unwrap();
        assert_eq!(ansic(built), "Thu May  7 21:09:36 2026");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_704_164_645, 5);
        assert_eq!(rfc3339_nanos(t), "2024-01-02T03:04:05.000000005Z");
    }

    proptest::proptest! {
        #[test]
        fn civil_round_trips(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            proptest::prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn printed_times_parse_back(secs in 0i64..10_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = SystemTime::UNIX_EPOCH + Duration::new(secs as u64, nanos);
            proptest::prop_assert_eq!(parse_rfc3339(&rfc3339_nanos(t)), Some(t));
            proptest::prop_assert_eq!(parse_rfc3339_unix(&rfc3339(secs)), Some(secs));
        }
    }
}
