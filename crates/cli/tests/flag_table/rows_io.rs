//! Rows for how a run talks to its client and what it records: attach, detach, tty, stdin,
//! signals, names, labels, annotations, the environment, logging, pull and platform.

use crate::Dockerd::*;
use crate::Verdict::*;
use crate::{same, success, Row};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub const ROWS: &[Row] = &[
    Row {
        flag: "--attach",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let o = r.run(&["-a", "stdout"], &["sh", "-c", "echo out; echo err >&2"]);
            let out = success(o.clone(), "run -a stdout")?;
            same(&out, "out\n", "stdout")?;
            if crate::text(&o.stderr).contains("err") {
                return Err("stderr was attached".into());
            }
            Ok(())
        },
    },
    Row {
        flag: "--detach",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let id = r.out(&["-d"], &["true"])?;
            let id = id.trim();
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("run -d printed {id:?}, not an id"));
            }
            r.eventually("the detached container exits", || {
                r.inspect(id, "{{.State.Status}}", "exited")
            })
        },
    },
    Row {
        // The detach sequence itself is driven through a terminal in the containers
        // tests (interactive_tty, exec_detach_keys_from_config); here: accepted, and a
        // malformed one refused as dockerd refuses it.
        flag: "--detach-keys",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--detach-keys", "ctrl-x,y"], &["echo", "ok"], "ok\n"),
    },
    Row {
        flag: "--interactive",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let o = r.run_stdin(&["-i"], &["cat"], Some(b"through stdin\n"));
            same(&success(o, "run -i cat")?, "through stdin\n", "stdout")
        },
    },
    Row {
        flag: "--tty",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-t"], &["tty"], "/dev/pts/0\r\n"),
    },
    Row {
        flag: "--sig-proxy",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            // SIGTERM to the client reaches the container's process (default true).
            let label = format!("{}={}", crate::LABEL, r.tag);
            let bin = match r.cli {
                crate::Cli::Muelle => crate::MUELLE,
                crate::Cli::Docker28 => crate::DOCKER28,
            };
            let mut child = Command::new(bin)
                .args([
                    "-H",
                    &r.d.host,
                    "run",
                    "--label",
                    &label,
                    "--network=none",
                    "--sig-proxy=true",
                ])
                .args([
                    "busybox",
                    "sh",
                    "-c",
                    "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done",
                ])
                .env("DOCKER_CONFIG", r.tmp.join("docker-config"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
            if first != "ready" {
                let _ = child.kill();
                return Err(format!("first line {first:?}"));
            }
            rustix::process::kill_process(
                rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
                rustix::process::Signal::TERM,
            )
            .map_err(|e| e.to_string())?;
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            let st = child.wait().map_err(|e| e.to_string())?;
            if rest != ["got-term"] || !st.success() {
                return Err(format!("after SIGTERM: {rest:?}, {st}"));
            }
            Ok(())
        },
    },
    Row {
        flag: "--name",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("name");
            r.create(&n, &[])?;
            r.inspect(&n, "{{.Name}}", &format!("/{n}"))
        },
    },
    Row {
        flag: "--rm",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("rm");
            r.expect(&["--rm", "--name", &n], &["echo", "ok"], "ok\n")?;
            r.eventually("the container is removed", || {
                let left = r.ok(&["ps", "-aq", "--filter", &format!("name=^{n}$")])?;
                same(&left, "", "ps -aq")
            })
        },
    },
    Row {
        flag: "--quiet",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-q"], &["echo", "ok"], "ok\n"),
    },
    Row {
        flag: "--pull",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(&["--pull", "never"], &["echo", "ok"], "ok\n")?;
            let o = r.cmd(&[
                "run",
                "--pull",
                "never",
                "--network=none",
                "ft-no-such-image:1",
                "true",
            ]);
            if o.status.code() != Some(125) || !crate::text(&o.stderr).contains("No such image") {
                return Err(format!(
                    "--pull never of a missing image: {:?} {}",
                    o.status.code(),
                    crate::text(&o.stderr)
                ));
            }
            Ok(())
        },
    },
    Row {
        flag: "--platform",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--platform", "linux/amd64"], &["echo", "ok"], "ok\n"),
    },
    Row {
        // Without a notary there is nothing to verify: accepted, as by the docker CLI.
        flag: "--disable-content-trust",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--disable-content-trust"], &["echo", "ok"], "ok\n"),
    },
    Row {
        flag: "--help",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let out = r.ok(&["run", "--help"])?;
            if out.contains("Usage:") && out.contains("run [OPTIONS] IMAGE [COMMAND] [ARG...]") {
                Ok(())
            } else {
                Err(format!("run --help: {out}"))
            }
        },
    },
    Row {
        flag: "--cidfile",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("cid");
            let file = r.tmp.join(&n);
            let path = file.to_str().unwrap();
            r.expect(&["--cidfile", path, "--name", &n], &["true"], "")?;
            let id = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            r.inspect(&n, "{{.Id}}", &id)?;
            // A second run with the same file is refused before anything is created.
            r.refused(&["--cidfile", path], "ontainer ID file found")
        },
    },
    Row {
        flag: "--init",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let comm = r.out(&["--init"], &["cat", "/proc/1/comm"])?;
            if comm.trim().is_empty() || comm == "cat\n" {
                return Err(format!("pid 1 is {comm:?}, not an init"));
            }
            Ok(())
        },
    },
    Row {
        flag: "--entrypoint",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--entrypoint", "echo"], &["hi"], "hi\n"),
    },
    Row {
        flag: "--env",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-e", "FOO=bar"], &["sh", "-c", "echo $FOO"], "bar\n"),
    },
    Row {
        flag: "--env-file",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let f = crate::tmp_file(r, &r.name("env"), "# a comment\nFOO=from file\n\nBAR=2\n");
            r.expect(
                &["--env-file", f.to_str().unwrap()],
                &["sh", "-c", "echo \"$FOO/$BAR\""],
                "from file/2\n",
            )
        },
    },
    Row {
        flag: "--workdir",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-w", "/made/here"], &["pwd"], "/made/here\n"),
    },
    Row {
        flag: "--label",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("label");
            r.create(&n, &["-l", "a=b"])?;
            r.inspect(&n, "{{index .Config.Labels \"a\"}}", "b")
        },
    },
    Row {
        flag: "--label-file",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("lfile");
            let f = crate::tmp_file(r, &n, "# labels\nfrom=file\n");
            r.create(&n, &["--label-file", f.to_str().unwrap()])?;
            r.inspect(&n, "{{index .Config.Labels \"from\"}}", "file")
        },
    },
    Row {
        flag: "--annotation",
        verdict: Works,
        dockerd: Differs("API 1.43: dockerd 20.10 speaks 1.41 and the docker CLI refuses the flag"),
        check: |r| {
            let n = r.name("annot");
            r.create(&n, &["--annotation", "x=y"])?;
            r.inspect(&n, "{{index .HostConfig.Annotations \"x\"}}", "y")
        },
    },
    Row {
        flag: "--log-driver",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("nolog");
            r.expect(
                &["--log-driver", "none", "--name", &n],
                &["echo", "live"],
                "live\n",
            )?;
            r.inspect(&n, "{{.HostConfig.LogConfig.Type}}", "none")?;
            let o = r.cmd(&["logs", &n]);
            let err = crate::text(&o.stderr);
            if o.status.success()
                || !err.contains("configured logging driver does not support reading")
            {
                return Err(format!(
                    "logs of a none-driver container: {:?} {err}",
                    o.status.code()
                ));
            }
            Ok(())
        },
    },
    Row {
        flag: "--log-opt",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("logopt");
            r.create(&n, &["--log-opt", "max-size=1m", "--log-opt", "max-file=2"])?;
            r.inspect(
                &n,
                "{{index .HostConfig.LogConfig.Config \"max-size\"}}",
                "1m",
            )?;
            r.inspect(
                &n,
                "{{index .HostConfig.LogConfig.Config \"max-file\"}}",
                "2",
            )
        },
    },
];
