//! A container's users and groups: `-u user[:group]` and `--group-add` resolved against
//! the image's /etc/passwd and /etc/group, read inside the rootfs, never following a link
//! out of it. (The /etc files the engine writes are the networks module's.)

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use muelle_runtime::safepath;
use rustix::fs::{Mode, OFlags};

/// A resolved user: uid, gid, supplementary groups, home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

fn read_in_root(root: &Path, path: &str) -> Option<String> {
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let fd =
        safepath::open_in_root(dir.as_fd(), Path::new(path), OFlags::RDONLY, Mode::empty()).ok()?;
    let mut s = String::new();
    // A passwd file is small; a hostile image's huge one is cut off.
    std::fs::File::from(fd)
        .take(4 << 20)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// Resolves Docker's `-u` forms (`name`, `uid`, `name:group`, `uid:gid`, empty = root)
/// against the rootfs at `root`. Errors read like Docker's.
pub fn resolve_user(root: &Path, spec: &str) -> Result<User, String> {
    let passwd = read_in_root(root, "/etc/passwd").unwrap_or_default();
    let group = read_in_root(root, "/etc/group").unwrap_or_default();
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entries: Vec<Vec<&str>> = passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 7)
        .collect();
    let by_name = entries.iter().find(|f| f[0] == u);
    let (uid, mut gid, home, name) = match (by_name, u.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse::<u32>()
                .map_err(|_| format!("invalid uid in passwd entry of {u}"))?,
            f[3].parse::<u32>().unwrap_or(0),
            f[5].to_string(),
            f[0].to_string(),
        ),
        (None, Ok(n)) => match entries.iter().find(|f| f[2] == n.to_string()) {
            Some(f) => (
                n,
                f[3].parse().unwrap_or(0),
                f[5].to_string(),
                f[0].to_string(),
            ),
            None => (n, 0, "/".to_string(), String::new()),
        },
        (None, Err(_)) => {
            return Err(format!(
                "unable to find user {u}: no matching entries in passwd file"
            ))
        }
    };
    let groups: Vec<Vec<&str>> = group
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    if let Some(g) = g {
        gid = match (groups.iter().find(|f| f[0] == g), g.parse::<u32>()) {
            (Some(f), _) => f[2]
                .parse()
                .map_err(|_| format!("invalid gid in group entry of {g}"))?,
            (None, Ok(n)) => n,
            (None, Err(_)) => {
                return Err(format!(
                    "unable to find group {g}: no matching entries in group file"
                ))
            }
        };
    }
    // The primary group is a supplementary group too, as Docker and containerd set it since
    // CVE-2023-25173: otherwise a process keeps whatever groups it inherited, and a file
    // whose group is denied access through the group bits stays readable.
    let mut additional = vec![gid];
    if !name.is_empty() {
        for f in &groups {
            let members = f.get(3).copied().unwrap_or("");
            if members.split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if n != gid && !additional.contains(&n) {
                        additional.push(n);
                    }
                }
            }
        }
    }
    Ok(User {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

/// The largest uid or gid Docker takes (Go's `user.maxID`).
const MAX_ID: u64 = i32::MAX as u64;

/// `--group-add` entries (`HostConfig.GroupAdd`) as gids, as runc's user package reads them:
/// a name or number found in the rootfs's /etc/group is that group's gid, else a number is
/// taken as is; anything else is an error worded like Docker's.
pub fn additional_groups(root: &Path, wanted: &[String]) -> Result<Vec<u32>, String> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let group = read_in_root(root, "/etc/group").unwrap_or_default();
    let entries: Vec<(&str, u32)> = group
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            Some((name, gid))
        })
        .collect();
    let mut out: Vec<u32> = Vec::new();
    for g in wanted {
        let found = entries
            .iter()
            .find(|(name, gid)| name == g || gid.to_string() == *g)
            .map(|(_, gid)| *gid);
        let gid = match found {
            Some(gid) => gid,
            None => match g.parse::<u64>() {
                Ok(n) if n <= MAX_ID => n as u32,
                Ok(_) => return Err("uids and gids must be in range 0-2147483647".into()),
                Err(_) => {
                    return Err(format!(
                        "Unable to find group {g}: no matching entries in group file"
                    ))
                }
            },
        };
        if !out.contains(&gid) {
            out.push(gid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_by_name_and_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nweb:x:1000:1000::/home/web:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nweb:x:1000:\nstaff:x:50:web\n",
        )
        .unwrap();
        let u = resolve_user(dir.path(), "web").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 1000, vec![1000, 50])
        );
        assert_eq!(u.home, "/home/web");
        let u = resolve_user(dir.path(), "1000:staff").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 50));
        let u = resolve_user(dir.path(), "4242:4343").unwrap();
        assert_eq!((u.uid, u.gid), (4242, 4343));
        assert!(resolve_user(dir.path(), "ghost")
            .unwrap_err()
            .contains("unable to find user ghost"));
        assert!(resolve_user(dir.path(), "web:nogroup").is_err());
        let u = resolve_user(dir.path(), "").unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
    }

    #[test]
    fn added_groups_by_name_or_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\naudio:x:29:\nstaff:x:50:web\n",
        )
        .unwrap();
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            additional_groups(dir.path(), &want(&["audio", "1234", "50", "29"])).unwrap(),
            vec![29, 1234, 50]
        );
        assert_eq!(
            additional_groups(dir.path(), &want(&["nosuch"])).unwrap_err(),
            "Unable to find group nosuch: no matching entries in group file"
        );
        assert!(additional_groups(dir.path(), &want(&["4294967295"])).is_err());
        assert_eq!(
            additional_groups(dir.path(), &[]).unwrap(),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn passwd_link_out_of_the_rootfs_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("etc/passwd")).unwrap();
        // Resolved inside the root, "/etc/passwd" is the link itself again: no host users.
        assert!(resolve_user(dir.path(), "root").is_err());
    }
}
