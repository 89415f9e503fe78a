//! Putting a [`Rules`] value into the kernel: validation of the names that go into the script,
//! the sysctls, and one `nft -f -` run holding our tables and the tagged rules in another
//! firewall's table (see `foreign`), so both change in the same transaction.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{foreign, render, sysctl, Rules};
use crate::{NetError, Result};

/// Apply `render(rules)`, the sysctls it needs and the coexistence rules, in one transaction.
/// Idempotent: the same rules give the same ruleset.
pub fn apply(rules: &Rules) -> Result<()> {
    check_table(&rules.table)?;
    for n in &rules.networks {
        check_ifname(&n.bridge)?;
    }
    sysctl::prepare(rules)?;
    let mut bridges: Vec<&str> = rules.networks.iter().map(|n| n.bridge.as_str()).collect();
    bridges.sort_unstable();
    bridges.dedup();
    run_with_foreign(&rules.table, &render(rules), &bridges)
}

/// Remove our tables (both families) and our tagged rules elsewhere; Ok if none exist.
/// The sysctls are left as they are: other software may rely on forwarding by now.
pub fn clear(table: &str) -> Result<()> {
    check_table(table)?;
    let empty = Rules {
        table: table.to_string(),
        networks: Vec::new(),
        ports: Vec::new(),
    };
    run_with_foreign(table, &render(&empty), &[])
}

/// The other firewall's chains can change between our listing and our run (dockerd starting
/// a container); the transaction then fails as a whole, so it is planned and run once more.
fn run_with_foreign(table: &str, ours: &str, bridges: &[&str]) -> Result<()> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let foreign = foreign::plan(table, bridges)?;
        let script = format!("{ours}{foreign}");
        match nft_script(table, &script) {
            Err(_) if !foreign.is_empty() && attempts < 2 => continue,
            other => return other,
        }
    }
}

/// Run `script` through `nft -f -`. On failure nft names the rule it rejected (file position,
/// the line, a caret under the faulty part) on stderr, which becomes the error.
fn nft_script(table: &str, script: &str) -> Result<()> {
    let io = |what: &str, source| NetError::Io {
        what: what.to_string(),
        source,
    };
    tracing::debug!(table, "nft -f -:\n{script}");
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io("running nft", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error (nft exited early) shows up again, better described, in its status.
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| io("waiting for nft", e))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(io(
        &format!("nft -f - for table {table} failed ({})", out.status),
        std::io::Error::other(stderr.trim().to_string()),
    ))
}

/// An nft table identifier, also used as a rule comment: a letter, then letters, digits, `_`
/// and `-`.
fn check_table(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(NetError::Invalid(format!(
            "invalid firewall table name {name:?}"
        )))
    }
}

/// A Linux interface name that can sit inside nft quotes as itself: at most 15 bytes, no
/// quote, backslash, slash, whitespace, and no `*` (nft's wildcard in interface names).
pub(super) fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | '*'));
    if ok {
        Ok(())
    } else {
        Err(NetError::Invalid(format!("invalid bridge name {name:?}")))
    }
}
