//! `version` and `info`.

use super::*;

pub(crate) fn check_version_info(d: &Daemon) {
    let out = ok(muelle(d, &["version"]), "version");
    assert!(out.starts_with("Client:\n Version:"), "{out}");
    assert!(
        out.contains("\nServer:") && out.contains(" Engine:\n"),
        "{out}"
    );
    let (m, k) = both_ok(
        d,
        &[
            "version",
            "--format",
            "{{.Server.APIVersion}} {{.Server.Os}}",
        ],
    );
    assert_eq!(m, k);
    let (m, k) = both_ok(
        d,
        &[
            "info",
            "--format",
            "{{.ServerVersion}} {{.Images}} {{json .Runtimes}}",
        ],
    );
    if shared(d) {
        // Other tests add and remove images in the shared dockerd between the two calls:
        // the count is compared as a number only.
        let fields = |s: &str| -> (String, String) {
            let mut f = s.splitn(3, ' ');
            let version = f.next().unwrap_or("").to_owned();
            let images = f.next().unwrap_or("");
            assert!(images.parse::<u64>().is_ok(), "{{.Images}}: {s}");
            (version, f.next().unwrap_or("").to_owned())
        };
        assert_eq!(fields(&m), fields(&k));
    } else {
        assert_eq!(m, k);
    }
    let out = ok(muelle(d, &["info"]), "info");
    assert!(out.contains("\nServer:\n Containers: "), "{out}");
}
