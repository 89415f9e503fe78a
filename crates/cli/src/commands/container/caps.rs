//! `--cap-add`/`--cap-drop` as the docker CLI sends them: upper case with the `CAP_` prefix
//! (`ALL` as is), sorted without repeats, `ALL` alone when it is there, and a capability
//! both added and dropped only added. The daemon then names an unknown one as dockerd does
//! (`unknown capability: "CAP_X"`).

/// The normalised (add, drop) lists.
pub fn effective(add: &[String], drop: &[String]) -> (Vec<String>, Vec<String>) {
    let add = only_all(normalize(add));
    let drop: Vec<String> = only_all(normalize(drop))
        .into_iter()
        .filter(|c| !add.contains(c))
        .collect();
    (add, drop)
}

fn normalize(caps: &[String]) -> Vec<String> {
    let mut out: Vec<String> = caps
        .iter()
        .map(|c| {
            let c = c.trim().to_uppercase();
            if c == "ALL" || c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn only_all(caps: Vec<String>) -> Vec<String> {
    if caps.iter().any(|c| c == "ALL") {
        vec!["ALL".into()]
    } else {
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::effective;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn as_the_docker_cli_sends_them() {
        assert_eq!(
            effective(
                &s(&["net_admin", "CAP_SYS_TIME", "net_admin"]),
                &s(&["chown"])
            ),
            (s(&["CAP_NET_ADMIN", "CAP_SYS_TIME"]), s(&["CAP_CHOWN"]))
        );
        assert_eq!(
            effective(&s(&["all", "chown"]), &s(&["ALL"])),
            (s(&["ALL"]), s(&[]))
        );
        assert_eq!(
            effective(&s(&["chown"]), &s(&["CHOWN", "kill"])),
            (s(&["CAP_CHOWN"]), s(&["CAP_KILL"]))
        );
    }
}
