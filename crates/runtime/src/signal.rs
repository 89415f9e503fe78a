//! Signal names and numbers, as `kill` and `--stop-signal` accept them.

const NAMES: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// Parses "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2", "SIGRTMAX-1" (blanks around the
/// name are ignored, as Docker's `--stop-signal` does).
pub fn parse(s: &str) -> Result<i32, String> {
    let bad = || format!("invalid signal {s:?}");
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some((_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(*n);
    }
    let (rtmin, rtmax) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let rt = |base: i32, rest: &str, sign: i32| -> Result<i32, String> {
        let off = if rest.is_empty() {
            0
        } else {
            rest.parse::<i32>().map_err(|_| bad())?
        };
        let n = base + sign * off;
        if (rtmin..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(r) = name.strip_prefix("RTMIN") {
        return rt(rtmin, r.trim_start_matches('+'), 1);
    }
    if let Some(r) = name.strip_prefix("RTMAX") {
        return rt(rtmax, r.trim_start_matches('-'), -1);
    }
    Err(bad())
}

/// The name of a signal number, without `SIG`.
pub fn name(n: i32) -> String {
    NAMES
        .iter()
        .find(|(_, v)| *v == n)
        .map(|(k, _)| k.to_string())
        .unwrap_or_else(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_forms() {
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("sigterm"), Ok(15));
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse(" TERM "), Ok(15));
        assert_eq!(parse("kill"), Ok(9));
        assert_eq!(parse("SIGRTMIN+1"), Ok(libc::SIGRTMIN() + 1));
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
    }
}
