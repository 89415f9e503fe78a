//! Sizes and durations in the words docker prints (its go-units package): base-10 sizes with
//! `%.Ng` precision ("1.99MB", "0B"), and "2 days"-style durations (those from `muelle_types::time`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use muelle_types::time::{ansic, go_time_string, human_duration, parse_rfc3339_unix, rfc3339};

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// `units.HumanSizeWithPrecision`: what `docker images` shows with precision 3.
pub fn human_size_prec(size: f64, precision: usize) -> String {
    let (v, unit) = scale(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", format_g(v, precision))
}

/// `units.HumanSize` (precision 4): prune totals, `VirtualSize`, progress bars.
pub fn human_size(size: f64) -> String {
    human_size_prec(size, 4)
}

/// `units.BytesSize`: binary units with two decimals ("23.47GiB"), as `docker info` shows memory.
pub fn bytes_size(size: f64) -> String {
    let (v, unit) = scale(size, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", format_g(v, 4))
}

fn scale(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// Go's `%.*g`: shortest of `%e`/`%f` at `precision` significant digits, trailing zeros dropped.
pub fn format_g(v: f64, precision: usize) -> String {
    let precision = precision.max(1);
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", precision - 1, v);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if exp < -4 || exp >= precision as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// "2 hours ago" for a Unix timestamp.
pub fn since(unix: i64) -> String {
    format!(
        "{} ago",
        human_duration(Duration::from_secs_f64((now_unix() - unix as f64).max(0.0)))
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size_prec(1_985_650.0, 3), "1.99MB");
        assert_eq!(human_size(1_985_650.0), "1.986MB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size_prec(999.0, 3), "999B");
        assert_eq!(human_size_prec(1000.0, 3), "1kB");
        assert_eq!(human_size_prec(5_000_000.0, 3), "5MB");
        assert_eq!(human_size_prec(12_345_678_901.0, 3), "12.3GB");
        // Go prints 999.95 at 3 digits in exponent form; so do we.
        assert_eq!(human_size_prec(999_950.0, 3), "1e+03kB");
        assert_eq!(bytes_size(25_200_000_000.0), "23.47GiB");
    }

    #[test]
    fn format_g_cases() {
        assert_eq!(format_g(1.5, 3), "1.5");
        assert_eq!(format_g(0.0001234, 3), "0.000123");
        assert_eq!(format_g(0.00001234, 3), "1.23e-05");
        assert_eq!(format_g(123.0, 3), "123");
        assert_eq!(format_g(1234.0, 3), "1.23e+03");
    }
}
