//! The Go spellings dockerd writes into history: the legacy builder formats its commit
//! comments with Go's `fmt` verbs (`%q` of string slices, `%v` of slices, `%q` of a
//! `*HealthConfig`) and durations with `time.Duration.String`, and reads durations with
//! `time.ParseDuration`. Matching them byte for byte keeps `created_by` (and so cache keys
//! and `docker history`) identical to dockerd's.

/// `strconv.Quote`: Go's double-quoted string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune` of an integer, which is what `%q` prints for an `int` field (the
/// healthcheck's retries): `'\x03'`, `'\n'`, `'A'`.
pub(crate) fn quote_rune(value: i64) -> String {
    let c = u32::try_from(value)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}');
    let mut out = String::from("'");
    match c {
        '\'' => out.push_str("\\'"),
        '\\' => out.push_str("\\\\"),
        _ => push_escaped(&mut out, c),
    }
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.IsPrint`, approximated without Unicode category tables: controls, the
/// non-ASCII spaces and separators, the common format characters, private use and
/// non-characters are unprintable. Exact for ASCII, which is what Dockerfiles hold.
fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || (c.is_whitespace()) {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xFFFE | 0xFFFF
        | 0xE000..=0xF8FF | 0x110BD | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xF0000..)
}

/// `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// `%v` of a `[]string`: `[a b]`.
pub(crate) fn plain_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `time.Duration.String` of nanoseconds: `1h2m3.5s`, `500ms`, `0s`, `1µs`.
pub(crate) fn duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let body = if u < 1_000_000_000 {
        // Under a second: the largest unit among ns, µs, ms, with a fraction.
        let (unit, prec) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        format!("{}{unit}", fraction(u, prec))
    } else {
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let mut s = String::new();
        let (h, m, sec) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            s.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            s.push_str(&format!("{m}m"));
        }
        s.push_str(&fraction(sec * 1_000_000_000 + frac, 9));
        s.push('s');
        s
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// `v / 10^prec` printed with the fraction's trailing zeros (and a bare `.`) removed.
fn fraction(v: u64, prec: u32) -> String {
    let scale = 10u64.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.quote`, used in `time.ParseDuration`'s errors: ASCII kept (`"` and `\`
/// escaped), every byte of anything else as `\xHH`.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units ns us µs μs ms s m h;
/// errors worded as Go's.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(text));
    let mut s = text;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            // "." alone, or no digits at all before the unit.
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(text)
            ));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit),
                    time_quote(text)
                ))
            }
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = int.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Go keeps the fraction's precision as far as it matters, truncating.
            let digits = &frac_part[..frac_part.len().min(30)];
            let f: u128 = digits.parse().map_err(|_| invalid())?;
            let den = 10u128.pow(digits.len() as u32);
            value += f * scale / den;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    let total = i128::try_from(total).map_err(|_| invalid())?;
    let signed = if neg { -total } else { total };
    i64::try_from(signed).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(
            quote("a \"b\"\\\n\t\u{1}é"),
            "\"a \\\"b\\\"\\\\\\n\\t\\x01é\""
        );
        assert_eq!(quote_list(&["sh".into()]), "[\"sh\"]");
        assert_eq!(quote_list(&[]), "[]");
        assert_eq!(plain_list(&["/a".into(), "/b".into()]), "[/a /b]");
        assert_eq!(quote_rune(0), "'\\x00'");
        assert_eq!(quote_rune(3), "'\\x03'");
        assert_eq!(quote_rune(10), "'\\n'");
        assert_eq!(quote_rune(65), "'A'");
        assert_eq!(quote_rune(39), "'\\''");
        assert_eq!(quote_rune(127), "'\\x7f'");
        assert_eq!(quote_rune(0x11_0000), "'\u{FFFD}'");
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(5_000_000_000), "5s");
        assert_eq!(duration(90_000_000_000), "1m30s");
        assert_eq!(duration(5_400_000_000_000), "1h30m0s");
        assert_eq!(duration(3_723_504_005_006), "1h2m3.504005006s");
        assert_eq!(duration(100_000_000), "100ms");
        assert_eq!(duration(1_500_000), "1.5ms");
        assert_eq!(duration(1_000), "1µs");
        assert_eq!(duration(7), "7ns");
        assert_eq!(duration(-1_500_000_000), "-1.5s");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("1h2m3.5s4ms5us6ns"), Ok(3_723_504_005_006));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_duration("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_duration("1x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"1x\""
        );
        assert_eq!(
            parse_duration("1é").unwrap_err(),
            "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\""
        );
        assert!(parse_duration("9999999999h").is_err());
    }
}
