//! Our tagged rules in another firewall's `filter` table (dockerd's iptables-nft, or any
//! `filter` table with a forward chain whose policy is drop), in each of `ip` and `ip6`.
//!
//! The target chain is `DOCKER-USER` when the table has one (Docker's documented place for
//! rules of the host's own, which dockerd creates but never flushes), else a forward base
//! chain with policy drop; with neither, nothing is added, since nothing there drops our
//! traffic by default. The rules only accept a bridge's traffic both ways (filtering of it is
//! in our own `forward` chain, whose drops are final); they carry the comment `<table>`, by
//! which the next plan finds them again. When the listed tagged rules are already exactly the
//! wanted ones, the plan is empty, so a re-apply does not churn another daemon's chain.

use std::process::{Child, Command, Stdio};

use crate::{NetError, Result};

/// The nft commands that turn the tagged rules of the host's `filter` tables into one accept
/// per direction per bridge of `bridges` (sorted), or delete them all when `bridges` is empty.
pub(super) fn plan(tag: &str, bridges: &[&str]) -> Result<String> {
    // Both listings run at once: each nft run costs a few milliseconds of start-up.
    let families = ["ip", "ip6"];
    let children: Vec<_> = families
        .iter()
        .map(|f| list_filter(f))
        .collect::<Result<_>>()?;
    let mut script = String::new();
    for (family, child) in families.into_iter().zip(children) {
        if let Some(listing) = listed(family, child)? {
            script.push_str(&ops(family, &parse(&listing, tag), tag, bridges));
        }
    }
    Ok(script)
}

/// One chain of a listed table, with what the plan needs of it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Chain {
    pub name: String,
    /// A base chain on the forward hook whose policy is drop.
    pub forward_drop: bool,
    /// Rules carrying our tag: (handle, rule text without the handle), top to bottom.
    pub tagged: Vec<(u64, String)>,
}

/// Start `nft -a list table <family> filter`.
fn list_filter(family: &str) -> Result<Child> {
    Command::new("nft")
        .args(["-a", "list", "table", family, "filter"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| NetError::Io {
            what: "running nft".to_string(),
            source,
        })
}

/// The listing of a [`list_filter`] run, or None when there is no such table.
fn listed(family: &str, child: Child) -> Result<Option<String>> {
    let out = child.wait_with_output().map_err(|source| NetError::Io {
        what: "waiting for nft".to_string(),
        source,
    })?;
    if out.status.success() {
        return Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No such file or directory") {
        return Ok(None);
    }
    Err(NetError::Io {
        what: format!("nft list table {family} filter failed ({})", out.status),
        source: std::io::Error::other(stderr.trim().to_string()),
    })
}

/// The chains of an `nft -a list table` output (nft's own stable text format: one chain per
/// `chain NAME {` block, the base chain's `type ... policy ...;` line first, each rule on one
/// line ending in `# handle N`).
pub(super) fn parse(listing: &str, tag: &str) -> Vec<Chain> {
    let suffix = format!("comment \"{tag}\"");
    let mut chains: Vec<Chain> = Vec::new();
    let mut open = false;
    for line in listing.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("chain ") {
            let name = rest.split(" {").next().unwrap_or(rest).trim();
            chains.push(Chain {
                name: name.to_string(),
                ..Chain::default()
            });
            open = true;
        } else if line == "}" {
            open = false;
        } else if let (true, Some(chain)) = (open, chains.last_mut()) {
            if line.starts_with("type filter hook forward ") && line.contains("policy drop;") {
                chain.forward_drop = true;
            } else if let Some((text, handle)) = line.rsplit_once(" # handle ") {
                if let (true, Ok(handle)) = (text.ends_with(&suffix), handle.trim().parse()) {
                    chain.tagged.push((handle, text.to_string()));
                }
            }
        }
    }
    chains
}

/// The commands for one family's table (empty when it already holds exactly what we want).
pub(super) fn ops(family: &str, chains: &[Chain], tag: &str, bridges: &[&str]) -> String {
    let plain = |c: &&Chain| {
        c.name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
    };
    let target = chains
        .iter()
        .filter(plain)
        .find(|c| c.name == "DOCKER-USER")
        .or_else(|| chains.iter().filter(plain).find(|c| c.forward_drop));
    let wanted: Vec<String> = match target {
        Some(_) => bridges
            .iter()
            .flat_map(|b| {
                [
                    format!("iifname \"{b}\" accept comment \"{tag}\""),
                    format!("oifname \"{b}\" accept comment \"{tag}\""),
                ]
            })
            .collect(),
        None => Vec::new(),
    };
    let in_target: Vec<&str> = target
        .map(|t| t.tagged.iter().map(|(_, r)| r.as_str()).collect())
        .unwrap_or_default();
    let elsewhere = chains
        .iter()
        .any(|c| !c.tagged.is_empty() && Some(c.name.as_str()) != target.map(|t| t.name.as_str()));
    if !elsewhere && in_target == wanted {
        return String::new();
    }
    let mut script = String::new();
    for chain in chains.iter().filter(plain) {
        for (handle, _) in &chain.tagged {
            script.push_str(&format!(
                "delete rule {family} filter {} handle {handle}\n",
                chain.name
            ));
        }
    }
    if let Some(target) = target {
        // `insert` puts a rule first, so the wanted order comes from inserting in reverse.
        for rule in wanted.iter().rev() {
            script.push_str(&format!(
                "insert rule {family} filter {} {rule}\n",
                target.name
            ));
        }
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dockerd 20.10's table as `nft -a` lists it, with our rules from an earlier apply.
    const DOCKER: &str = r#"table ip filter { # handle 2
	chain DOCKER { # handle 1
	}

	chain FORWARD { # handle 3
		type filter hook forward priority filter; policy drop;
		counter packets 0 bytes 0 jump DOCKER-USER # handle 10
		oifname "docker0" ct state related,established counter packets 0 bytes 0 accept # handle 11
	}

	chain DOCKER-USER { # handle 4
		iifname "mbr0" accept comment "muelle" # handle 20
		oifname "mbr0" accept comment "muelle" # handle 21
		counter packets 0 bytes 0 return # handle 5
	}
}
"#;

    #[test]
    fn parses_chains_policy_and_tagged_rules() {
        let chains = parse(DOCKER, "muelle");
        let names: Vec<&str> = chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["DOCKER", "FORWARD", "DOCKER-USER"]);
        assert!(chains[1].forward_drop && !chains[2].forward_drop);
        assert_eq!(
            chains[2].tagged,
            [
                (20, "iifname \"mbr0\" accept comment \"muelle\"".to_string()),
                (21, "oifname \"mbr0\" accept comment \"muelle\"".to_string())
            ]
        );
        assert!(parse(DOCKER, "other").iter().all(|c| c.tagged.is_empty()));
    }

    #[test]
    fn nothing_to_do_when_the_tagged_rules_are_already_right() {
        assert_eq!(ops("ip", &parse(DOCKER, "muelle"), "muelle", &["mbr0"]), "");
    }

    #[test]
    fn replaces_the_tagged_rules_in_docker_user_in_order() {
        let script = ops("ip", &parse(DOCKER, "muelle"), "muelle", &["mbr0", "mbr1"]);
        assert_eq!(
            script,
            "delete rule ip filter DOCKER-USER handle 20\n\
             delete rule ip filter DOCKER-USER handle 21\n\
             insert rule ip filter DOCKER-USER oifname \"mbr1\" accept comment \"muelle\"\n\
             insert rule ip filter DOCKER-USER iifname \"mbr1\" accept comment \"muelle\"\n\
             insert rule ip filter DOCKER-USER oifname \"mbr0\" accept comment \"muelle\"\n\
             insert rule ip filter DOCKER-USER iifname \"mbr0\" accept comment \"muelle\"\n"
        );
        let cleared = ops("ip", &parse(DOCKER, "muelle"), "muelle", &[]);
        assert_eq!(
            cleared,
            "delete rule ip filter DOCKER-USER handle 20\ndelete rule ip filter DOCKER-USER handle 21\n"
        );
    }

    #[test]
    fn without_docker_user_a_drop_policy_forward_chain_is_the_target() {
        let plain = "table ip filter {\n\tchain FORWARD { # handle 1\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n";
        let script = ops("ip", &parse(plain, "muelle"), "muelle", &["mbr0"]);
        assert!(
            script.contains(
                "insert rule ip filter FORWARD iifname \"mbr0\" accept comment \"muelle\""
            ),
            "{script}"
        );
        let accepting = plain.replace("policy drop", "policy accept");
        assert_eq!(
            ops("ip", &parse(&accepting, "muelle"), "muelle", &["mbr0"]),
            ""
        );
    }
}
