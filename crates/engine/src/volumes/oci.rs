//! A container's mount point as the OCI spec's mount, as dockerd writes it: binds and
//! volumes `rbind` (`bind` with `bind-recursive=disabled`), `ro`/`rw` (`rro` when
//! `bind-recursive=readonly`), with their propagation; `tmpfs` mounts `nosuid,nodev,noexec`
//! with their size and mode.

use muelle_types::container::MountPoint;
use oci_spec::runtime::Mount;

use super::MountExtra;

pub fn oci_mount(m: &MountPoint, extra: Option<&MountExtra>) -> Mount {
    let none = MountExtra::default();
    let extra = extra.unwrap_or(&none);
    let mut out = Mount::default();
    out.set_destination(m.destination.clone().into());
    if m.typ == "tmpfs" {
        let mut o: Vec<String> = ["nosuid", "nodev", "noexec"].map(String::from).to_vec();
        o.extend(
            extra
                .tmpfs
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
        out.set_typ(Some("tmpfs".into()))
            .set_source(Some("tmpfs".into()))
            .set_options(Some(o));
        return out;
    }
    let bind = if extra.non_recursive { "bind" } else { "rbind" };
    let access = match (m.rw, extra.readonly_recursive) {
        (true, _) => "rw",
        (false, true) => "rro",
        (false, false) => "ro",
    };
    let propagation = format!("r{}", m.propagation_or_default().trim_start_matches('r'));
    // A non-recursive bind takes the propagation of its own mount only.
    let propagation = if extra.non_recursive {
        propagation.trim_start_matches('r').to_string()
    } else {
        propagation
    };
    out.set_typ(Some("bind".into()))
        .set_source(Some(m.source.clone().into()))
        .set_options(Some(vec![bind.into(), access.into(), propagation]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    #[test]
    fn mounts_as_dockerd_writes_them() {
        let t = MountPoint {
            typ: "tmpfs".into(),
            destination: "/t".into(),
            rw: true,
            ..Default::default()
        };
        let extra = MountExtra {
            tmpfs: "mode=1770,size=1m".into(),
            ..Default::default()
        };
        assert_eq!(
            opts(&oci_mount(&t, Some(&extra))),
            ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]
        );
        let b = MountPoint {
            typ: "bind".into(),
            source: "/s".into(),
            destination: "/b".into(),
            propagation: "rprivate".into(),
            ..Default::default()
        };
        assert_eq!(opts(&oci_mount(&b, None)), ["rbind", "ro", "rprivate"]);
        let extra = MountExtra {
            non_recursive: true,
            readonly_recursive: true,
            ..Default::default()
        };
        assert_eq!(
            opts(&oci_mount(&b, Some(&extra))),
            ["bind", "rro", "private"]
        );
    }
}
