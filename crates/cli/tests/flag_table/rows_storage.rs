//! Rows for the container's filesystems: volumes, binds, mounts, tmpfs, a read-only root,
//! volumes of another container, volume drivers, storage options and the API socket.

use crate::Dockerd::*;
use crate::Verdict::*;
use crate::{same, Row};

pub const ROWS: &[Row] = &[
    Row {
        flag: "--volume",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let v = r.name("vol");
            r.expect(
                &["-v", &format!("{v}:/data")],
                &["sh", "-c", "echo kept > /data/f"],
                "",
            )?;
            r.expect(
                &["-v", &format!("{v}:/data:ro")],
                &["cat", "/data/f"],
                "kept\n",
            )?;
            let dir = r.tmp.join(r.name("bind"));
            std::fs::create_dir(&dir).unwrap();
            r.expect(
                &["-v", &format!("{}:/b", dir.display())],
                &["sh", "-c", "echo host > /b/h"],
                "",
            )?;
            same(
                &std::fs::read_to_string(dir.join("h")).unwrap(),
                "host\n",
                "bind file",
            )
        },
    },
    Row {
        flag: "--mount",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let v = r.name("mnt");
            r.expect(
                &["--mount", &format!("type=volume,src={v},dst=/data")],
                &["sh", "-c", "echo m > /data/f && cat /data/f"],
                "m\n",
            )?;
            r.expect(
                &["--mount", "type=tmpfs,dst=/t,tmpfs-size=1m"],
                &["sh", "-c", "df -k /t | tail -1 | awk '{print $2}'"],
                "1024\n",
            )?;
            r.refused(
                &["--mount", "type=bind,src=/ft-nosuch,dst=/x"],
                "bind source path does not exist: /ft-nosuch",
            )
        },
    },
    Row {
        flag: "--tmpfs",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--tmpfs", "/t:size=2m"],
                &["sh", "-c", "df -k /t | tail -1 | awk '{print $2}'"],
                "2048\n",
            )
        },
    },
    Row {
        flag: "--read-only",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--read-only"],
                &[
                    "sh",
                    "-c",
                    "touch /x 2>/dev/null && echo wrote || echo refused",
                ],
                "refused\n",
            )
        },
    },
    Row {
        flag: "--volumes-from",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let src = r.name("vsrc");
            r.expect(
                &["--name", &src, "-v", "/shared"],
                &["sh", "-c", "echo from-src > /shared/f"],
                "",
            )?;
            r.expect(
                &["--volumes-from", &src],
                &["cat", "/shared/f"],
                "from-src\n",
            )?;
            r.expect(
                &["--volumes-from", &format!("{src}:ro")],
                &[
                    "sh",
                    "-c",
                    "touch /shared/g 2>/dev/null && echo wrote || echo ro",
                ],
                "ro\n",
            )?;
            r.refused(
                &["--volumes-from", "ft-nosuch"],
                "No such container: ft-nosuch",
            )
        },
    },
    Row {
        flag: "--volume-driver",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let v = r.name("vdrv");
            r.expect(
                &["--volume-driver", "local", "-v", &format!("{v}:/d")],
                &["echo", "ok"],
                "ok\n",
            )?;
            let w = r.name("vdrvx");
            r.refused(
                &["--volume-driver", "ft-nosuch", "-v", &format!("{w}:/d")],
                "plugin \"ft-nosuch\" not found",
            )
        },
    },
    Row {
        flag: "--storage-opt",
        verdict: Refused(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
        ),
        dockerd: Same,
        check: |r| {
            r.refused(
                &["--storage-opt", "size=1G"],
                "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
            )
        },
    },
    Row {
        flag: "--use-api-socket",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--use-api-socket"],
                &["sh", "-c", "test -S /var/run/docker.sock && echo socket"],
                "socket\n",
            )
        },
    },
];
