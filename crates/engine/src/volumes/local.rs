//! The `local` driver's options (`type`, `device`, `o`, as `mount -t TYPE -o O DEVICE`):
//! checked at create as moby's local driver does, mounted on the volume's `_data` when the
//! first container using the volume starts and unmounted when the last one stops.

use std::collections::BTreeMap;
use std::path::Path;

use rustix::mount::{MountFlags, UnmountFlags};

/// A local volume's mount options; an empty set means a plain directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOptions {
    pub typ: String,
    pub device: String,
    pub o: String,
}

impl LocalOptions {
    /// Checks the options as moby's local driver: known keys only, and a `type` and a
    /// `device` whenever any is given.
    pub fn parse(opts: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        if opts.is_empty() {
            return Ok(None);
        }
        if let Some(k) = opts
            .keys()
            .find(|k| !matches!(k.as_str(), "type" | "device" | "o"))
        {
            return Err(format!("invalid option: {k:?}"));
        }
        for need in ["device", "type"] {
            if opts.get(need).is_none_or(|v| v.is_empty()) {
                return Err(format!("missing required option: {need:?}"));
            }
        }
        let get = |k: &str| opts.get(k).cloned().unwrap_or_default();
        let typ = get("type");
        // moby's local driver would mount these over the network; muelle's host has none
        // to give, so they are refused at create rather than failing at the first start.
        let network = matches!(
            typ.as_str(),
            "nfs" | "nfs4" | "cifs" | "smb3" | "smbfs" | "ceph" | "glusterfs" | "9p" | "sshfs"
        ) || get("o").split(',').any(|w| w.starts_with("addr="));
        if network {
            return Err(format!(
                "volume type {typ:?}: network filesystems are not supported by muelle's local driver (only local devices, tmpfs and binds)"
            ));
        }
        Ok(Some(LocalOptions {
            typ,
            device: get("device"),
            o: get("o"),
        }))
    }

    /// Mounts the device on `target` (the volume's `_data`).
    pub fn mount(&self, target: &Path) -> Result<(), String> {
        let words: Vec<String> = self
            .o
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let parsed = muelle_runtime::rootfs::parse_options(&words);
        let flags = MountFlags::from_bits_retain(parsed.flags as u32);
        let data = parsed.data.join(",");
        let typ = if self.typ == "none" { "" } else { &self.typ };
        let bind = parsed.flags & MS_BIND != 0;
        let r = if bind {
            let recursive = words.iter().any(|w| w == "rbind");
            if recursive {
                rustix::mount::mount_bind_recursive(self.device.as_str(), target)
            } else {
                rustix::mount::mount_bind(self.device.as_str(), target)
            }
        } else {
            match std::ffi::CString::new(data.clone()) {
                Ok(c) => {
                    rustix::mount::mount(self.device.as_str(), target, typ, flags, c.as_c_str())
                }
                Err(_) => Err(rustix::io::Errno::INVAL),
            }
        };
        r.map_err(|e| {
            format!(
                "error while mounting volume '{}': failed to mount local volume: mount {}:{}, flags: {:#x}, data: {data}: {e}",
                target.display(),
                self.device,
                target.display(),
                parsed.flags
            )
        })
    }

    pub fn unmount(target: &Path) {
        let _ = rustix::mount::unmount(target, UnmountFlags::DETACH);
    }
}

/// MS_BIND, which `parse_options` folds into the flags for `bind`/`rbind`.
const MS_BIND: std::os::raw::c_ulong = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_checked_as_moby() {
        let o = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(LocalOptions::parse(&o(&[])), Ok(None));
        let t = LocalOptions::parse(&o(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(t.o, "size=1m");
        assert_eq!(
            LocalOptions::parse(&o(&[("bogus", "1")])).unwrap_err(),
            "invalid option: \"bogus\""
        );
        assert!(LocalOptions::parse(&o(&[
            ("type", "nfs"),
            ("device", ":/x"),
            ("o", "addr=10.0.0.1")
        ]))
        .unwrap_err()
        .contains("network filesystems are not supported"));
        assert!(LocalOptions::parse(&o(&[("type", "tmpfs")]))
            .unwrap_err()
            .contains("device"));
    }
}
