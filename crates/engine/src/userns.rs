//! Daemon-wide user namespace remapping (dockerd's `userns-remap`): the name given
//! (`default`, `user`, `user:group`, by name or id) resolved to the subordinate id ranges of
//! /etc/subuid and /etc/subgid, the `dockremap` user and its ranges made for `default` as
//! dockerd makes them. Containers then run in a user namespace whose root is the first
//! subordinate id; what a container gets of it is `containers::userns`.

use std::path::Path;
use std::process::Command;

use muelle_types::ErrorKind;

/// The user dockerd creates for `userns-remap: default`.
pub const DEFAULT_REMAP_USER: &str = "dockremap";

/// The size of the range dockerd gives `dockremap`, and where it starts looking.
const RANGE_SIZE: u64 = 65536;
const FIRST_START: u64 = 100000;

/// One contiguous mapping: container ids `container..container+size` are host ids
/// `host..host+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The remapping every container gets unless it asks for `--userns host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    pub user: String,
    pub group: String,
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

impl Remap {
    /// The host uid and gid of the container's root.
    pub fn root(&self) -> (u32, u32) {
        (
            self.uids.first().map_or(0, |r| r.host),
            self.gids.first().map_or(0, |r| r.host),
        )
    }
}

/// Why `userns-remap` cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("invalid userns-remap {0:?}: expected default, user or user:group")]
    Invalid(String),
    #[error("userns-remap: no such user {0:?} in /etc/passwd")]
    NoUser(String),
    #[error("userns-remap: no such group {0:?} in /etc/group")]
    NoGroup(String),
    #[error("couldn't get {file} ranges: No {file} ranges found for {what} {name:?}")]
    NoRanges {
        file: &'static str,
        what: &'static str,
        name: String,
    },
    #[error("userns-remap: {what}: {reason}")]
    Setup { what: String, reason: String },
}

impl UsernsError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            UsernsError::Setup { .. } => ErrorKind::System,
            _ => ErrorKind::InvalidParameter,
        }
    }
}

/// A colon-separated database line's fields whose first field is `name` (or whose third,
/// the id, is `name`).
fn lookup(file: &Path, name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
        .find(|f| f.len() > 2 && (f[0] == name || f[2] == name))
}

/// The ranges of `/etc/subuid` or `/etc/subgid` that belong to `name` or `id`, in file
/// order, made contiguous from container id 0.
pub fn ranges(text: &str, name: &str, id: &str) -> Vec<IdRange> {
    let mut out = Vec::new();
    let mut next = 0u64;
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split(':').collect();
        let [owner, start, size] = f[..] else {
            continue;
        };
        if owner != name && owner != id {
            continue;
        }
        let (Ok(start), Ok(size)) = (start.parse::<u32>(), size.parse::<u32>()) else {
            continue;
        };
        let Ok(container) = u32::try_from(next) else {
            break;
        };
        out.push(IdRange {
            container,
            host: start,
            size,
        });
        next += u64::from(size);
    }
    out
}

/// The first start ≥ 100000 where a range of 65536 ids overlaps none in `text` (dockerd's
/// search for `dockremap`'s ranges).
pub fn free_start(text: &str) -> u64 {
    let mut used: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            let start = f.get(1)?.parse::<u64>().ok()?;
            let size = f.get(2)?.parse::<u64>().ok()?;
            Some((start, start + size))
        })
        .collect();
    used.sort_unstable();
    let mut start = FIRST_START;
    for (s, e) in used {
        if start + RANGE_SIZE <= s {
            break;
        }
        if e > start {
            start = e;
        }
    }
    start
}

fn run(cmd: &mut Command, what: &str) -> Result<(), UsernsError> {
    let out = cmd.output().map_err(|e| UsernsError::Setup {
        what: what.into(),
        reason: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(UsernsError::Setup {
            what: what.into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `dockremap` and its ranges, made when missing, as dockerd makes them.
fn ensure_default_user() -> Result<(), UsernsError> {
    let passwd = Path::new("/etc/passwd");
    if lookup(passwd, DEFAULT_REMAP_USER).is_none() {
        run(
            Command::new("useradd").args([
                "--system",
                "-s",
                "/bin/false",
                "-U",
                DEFAULT_REMAP_USER,
            ]),
            "creating the dockremap user",
        )?;
    }
    for (file, flag) in [("/etc/subuid", "-v"), ("/etc/subgid", "-w")] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if ranges(&text, DEFAULT_REMAP_USER, "").is_empty() {
            let start = free_start(&text);
            let range = format!("{start}-{}", start + RANGE_SIZE - 1);
            run(
                Command::new("usermod").args([flag, &range, DEFAULT_REMAP_USER]),
                &format!("adding {range} to {file} for dockremap"),
            )?;
        }
    }
    Ok(())
}

/// Resolves `userns-remap` (`default`, `user`, `user:group`, names or ids) to its ranges.
pub fn resolve(setting: &str) -> Result<Remap, UsernsError> {
    let (user, group) = match setting.split_once(':') {
        _ if setting == "default" => {
            ensure_default_user()?;
            (DEFAULT_REMAP_USER, DEFAULT_REMAP_USER)
        }
        Some((u, g)) if !u.is_empty() && !g.is_empty() => (u, g),
        None if !setting.is_empty() => (setting, setting),
        _ => return Err(UsernsError::Invalid(setting.into())),
    };
    let pw =
        lookup(Path::new("/etc/passwd"), user).ok_or_else(|| UsernsError::NoUser(user.into()))?;
    let (user_name, uid) = (pw[0].clone(), pw[2].clone());
    // A group given only by the user's name may not exist; the user's primary group then.
    let (group_name, gid) = match lookup(Path::new("/etc/group"), group) {
        Some(g) => (g[0].clone(), g[2].clone()),
        None if group == user => {
            let gid = pw.get(3).cloned().unwrap_or_default();
            let g = lookup(Path::new("/etc/group"), &gid)
                .ok_or_else(|| UsernsError::NoGroup(group.into()))?;
            (g[0].clone(), g[2].clone())
        }
        None => return Err(UsernsError::NoGroup(group.into())),
    };
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let uids = ranges(&read("/etc/subuid"), &user_name, &uid);
    if uids.is_empty() {
        return Err(UsernsError::NoRanges {
            file: "subuid",
            what: "user",
            name: user_name,
        });
    }
    let gids = ranges(&read("/etc/subgid"), &group_name, &gid);
    if gids.is_empty() {
        return Err(UsernsError::NoRanges {
            file: "subgid",
            what: "group",
            name: group_name,
        });
    }
    Ok(Remap {
        user: user_name,
        group: group_name,
        uids,
        gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_id_made_contiguous() {
        let text = "alice:100000:65536\nbob:200000:10\n1000:300000:5\nbad line\n";
        assert_eq!(
            ranges(text, "alice", "1000"),
            vec![
                IdRange {
                    container: 0,
                    host: 100000,
                    size: 65536
                },
                IdRange {
                    container: 65536,
                    host: 300000,
                    size: 5
                }
            ]
        );
        assert!(ranges(text, "carol", "7").is_empty());
    }

    #[test]
    fn free_start_skips_used_ranges() {
        assert_eq!(free_start(""), 100000);
        assert_eq!(free_start("a:100000:65536\n"), 165536);
        assert_eq!(free_start("a:300000:10\n"), 100000);
        assert_eq!(free_start("a:100000:10\nb:165536:1\n"), 165537);
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(matches!(resolve(":x"), Err(UsernsError::Invalid(_))));
        assert!(matches!(
            resolve("no-such-user-here"),
            Err(UsernsError::NoUser(_))
        ));
    }
}
