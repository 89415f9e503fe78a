//! `/etc/resolv.conf` from `--dns`, `--dns-search` and `--dns-option`, written as dockerd's
//! libnetwork writes it: what a flag gives replaces the host file's name servers, search
//! domains or options, the rest comes from the host's file; `search`, then `nameserver`
//! lines, then `options`. `--dns-search .` means no search line.

/// The words after `key` on each of the host file's `key` lines.
fn values(host: &str, key: &str) -> Vec<String> {
    host.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.map(str::to_owned).collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

/// The file for a container given the host's file and the three flags' values.
pub fn build(host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let pick = |given: &[String], key: &str| {
        if given.is_empty() {
            values(host, key)
        } else {
            given.to_vec()
        }
    };
    let (dns, search, options) = (
        pick(dns, "nameserver"),
        pick(search, "search"),
        pick(options, "options"),
    );
    let mut out = String::new();
    let search = search.join(" ");
    if !search.is_empty() && search.trim() != "." {
        out.push_str(&format!("search {search}\n"));
    }
    for ns in &dns {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    let options = options.join(" ");
    if !options.trim().is_empty() {
        out.push_str(&format!("options {options}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_replace_what_they_name() {
        let host = "nameserver 10.0.0.1\nsearch corp.example\noptions edns0\n";
        assert_eq!(
            build(
                host,
                &v(&["9.9.9.9", "1.1.1.1"]),
                &v(&["a.org", "b.org"]),
                &v(&["ndots:2", "rotate"])
            ),
            "search a.org b.org\nnameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:2 rotate\n"
        );
        assert_eq!(
            build(host, &v(&["9.9.9.9"]), &[], &[]),
            "search corp.example\nnameserver 9.9.9.9\noptions edns0\n"
        );
        assert_eq!(
            build(host, &[], &v(&["."]), &[]),
            "nameserver 10.0.0.1\noptions edns0\n"
        );
    }
}
