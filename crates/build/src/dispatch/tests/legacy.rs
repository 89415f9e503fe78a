//! Dockerfiles replayed against what dockerd's legacy builder made of them.
//!
//! Every expected config and `created_by` below was taken from dockerd 20.10.24's legacy
//! builder (`DOCKER_BUILDKIT=0 docker build --pull=false` on busybox:latest, whose config
//! there is `{"Cmd":["/bin/sh"]}`), read back with `docker image inspect --format
//! '{{json .Config}}'` and `docker history --no-trunc`. Each case quotes its Dockerfile.

use serde_json::json;

use super::util::*;
use crate::dispatch::StageState;

fn check(st: &StageState, history: &[String], config: serde_json::Value, expected: &[&str]) {
    assert_eq!(config_json(st), config);
    assert_eq!(history, expected);
}

/// FROM busybox / ENV a=b c="d e" PATH=/x:$PATH / ENV k v w / LABEL x="y z" $a=1 /
/// ARG A=1 / ARG B=$A / RUN echo $A $B / RUN ["echo","hi"] / CMD echo hi /
/// EXPOSE 80 443/udp 1000-1002 / VOLUME /data /v2 / VOLUME ["/j"] / USER nobody /
/// WORKDIR /w / WORKDIR x/../y / STOPSIGNAL SIGKILL
#[test]
fn config_instructions() {
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            env(&[("a", "b"), ("c", "\"d e\""), ("PATH", "/x:$PATH")]),
            env(&[("k", "v w")]),
            label(&[("x", "\"y z\""), ("$a", "1")]),
            arg(&[("A", Some("1"))]),
            arg(&[("B", Some("$A"))]),
            run("echo $A $B"),
            run_exec(&["echo", "hi"]),
            cmd(sh("echo hi")),
            expose(&["80", "443/udp", "1000-1002"]),
            volume(&["/data", "/v2"]),
            volume(&["/j"]),
            user("nobody"),
            workdir("/w"),
            workdir("x/../y"),
            stopsignal("SIGKILL"),
        ],
    );
    check(
        &st,
        &h,
        json!({"User":"nobody","ExposedPorts":{"1000/tcp":{},"1001/tcp":{},"1002/tcp":{},"443/udp":{},"80/tcp":{}},"Env":["PATH=/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","a=b","c=d e","k=v w"],"Cmd":["/bin/sh","-c","echo hi"],"Volumes":{"/data":{},"/j":{},"/v2":{}},"WorkingDir":"/w/y","Labels":{"b":"1","x":"y z"},"StopSignal":"SIGKILL"}),
        &[
            "/bin/sh -c #(nop)  ENV a=b c=d e PATH=/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "/bin/sh -c #(nop)  ENV k=v w",
            "/bin/sh -c #(nop)  LABEL x=y z b=1",
            "/bin/sh -c #(nop)  ARG A=1",
            "/bin/sh -c #(nop)  ARG B=1",
            "|2 A=1 B=1 /bin/sh -c echo $A $B",
            "|2 A=1 B=1 echo hi",
            "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo hi\"]",
            "/bin/sh -c #(nop)  EXPOSE 1000-1002 443/udp 80",
            "/bin/sh -c #(nop)  VOLUME [/data /v2]",
            "/bin/sh -c #(nop)  VOLUME [/j]",
            "/bin/sh -c #(nop)  USER nobody",
            "/bin/sh -c #(nop) WORKDIR /w",
            "/bin/sh -c #(nop) WORKDIR /w/y",
            "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL",
        ],
    );
}

/// FROM busybox / MAINTAINER Jane Doe <j@x> /
/// HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/ || exit 1 /
/// HEALTHCHECK --timeout=1m30s --start-period=100ms CMD ["true", "a b"] /
/// SHELL ["/bin/sh", "-xc"] / ENTRYPOINT echo hi / ONBUILD   RUN  echo  on /
/// ONBUILD COPY f.txt /x / COPY f.txt /f / COPY --chown=1:2 f.txt rel/ / ADD f.txt /g /
/// RUN echo x / HEALTHCHECK NONE
#[test]
fn healthcheck_shell_onbuild_copy() {
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            maintainer("Jane Doe <j@x>"),
            health(
                sh("curl -f http://x/ || exit 1"),
                [Some("5s"), None, None, Some("3")],
            ),
            health(
                exec(&["true", "a b"]),
                [None, Some("1m30s"), Some("100ms"), None],
            ),
            shell(&["/bin/sh", "-xc"]),
            entrypoint(sh("echo hi")),
            onbuild("ONBUILD   RUN  echo  on", run("echo  on")),
            onbuild("ONBUILD COPY f.txt /x", copy(&["f.txt"], "/x")),
            copy(&["f.txt"], "/f"),
            copy_chown(&["f.txt"], "rel/", "1:2"),
            add(&["f.txt"], "/g"),
            run("echo x"),
            health_none(),
        ],
    );
    check(
        &st,
        &h,
        json!({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/bin/sh","-xc","echo hi"],"Healthcheck":{"Test":["NONE"],"Interval":5000000000_i64,"Timeout":90000000000_i64,"StartPeriod":100000000,"Retries":3},"OnBuild":["RUN  echo  on","COPY f.txt /x"],"Shell":["/bin/sh","-xc"]}),
        &[
            "/bin/sh -c #(nop)  MAINTAINER Jane Doe <j@x>",
            "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://x/ || exit 1\"] \"5s\" \"0s\" \"0s\" '\\x03'}",
            "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD\" \"true\" \"a b\"] \"0s\" \"1m30s\" \"100ms\" '\\x00'}",
            "/bin/sh -xc #(nop)  SHELL [/bin/sh -xc]",
            "/bin/sh -xc #(nop)  ENTRYPOINT [\"/bin/sh\" \"-xc\" \"echo hi\"]",
            "/bin/sh -xc #(nop)  ONBUILD RUN  echo  on",
            "/bin/sh -xc #(nop)  ONBUILD COPY f.txt /x",
            &format!("/bin/sh -xc #(nop) COPY {FILE_HASH} in /f "),
            &format!("/bin/sh -xc #(nop) COPY --chown=1:2{FILE_HASH} in rel/ "),
            &format!("/bin/sh -xc #(nop) ADD {FILE_HASH} in /g "),
            "/bin/sh -xc echo x",
            "/bin/sh -xc #(nop)  HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}",
        ],
    );
    assert_eq!(st.author.as_deref(), Some("Jane Doe <j@x>"));
}

/// CMD and ENTRYPOINT against busybox's inherited `Cmd ["/bin/sh"]`.
#[test]
fn cmd_and_entrypoint() {
    let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    // ENTRYPOINT ["b"]: the inherited CMD goes.
    let (st, h) = stage(Some(&busybox()), &[], &[], &[entrypoint(exec(&["b"]))]);
    check(
        &st,
        &h,
        json!({"Env":[path],"Entrypoint":["b"]}),
        &["/bin/sh -c #(nop)  ENTRYPOINT [\"b\"]"],
    );
    // CMD ["a"] / ENTRYPOINT ["b"]: a CMD of this stage stays.
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[cmd(exec(&["a"])), entrypoint(exec(&["b"]))],
    );
    check(
        &st,
        &h,
        json!({"Env":[path],"Entrypoint":["b"],"Cmd":["a"]}),
        &[
            "/bin/sh -c #(nop)  CMD [\"a\"]",
            "/bin/sh -c #(nop)  ENTRYPOINT [\"b\"]",
        ],
    );
    // ENTRYPOINT ["b"] / CMD ["a"] / ENTRYPOINT []
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            entrypoint(exec(&["b"])),
            cmd(exec(&["a"])),
            entrypoint(exec(&[])),
        ],
    );
    check(
        &st,
        &h,
        json!({"Env":[path],"Cmd":["a"]}),
        &[
            "/bin/sh -c #(nop)  ENTRYPOINT [\"b\"]",
            "/bin/sh -c #(nop)  CMD [\"a\"]",
            "/bin/sh -c #(nop)  ENTRYPOINT []",
        ],
    );
    // ENTRYPOINT b / CMD (nothing): the shell alone.
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[entrypoint(sh("b")), cmd(sh(""))],
    );
    check(
        &st,
        &h,
        json!({"Env":[path],"Entrypoint":["/bin/sh","-c","b"],"Cmd":["/bin/sh","-c"]}),
        &[
            "/bin/sh -c #(nop)  ENTRYPOINT [\"/bin/sh\" \"-c\" \"b\"]",
            "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\"]",
        ],
    );
    // CMD [] / ENTRYPOINT ["b"]: an empty CMD does not count as set.
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[cmd(exec(&[])), entrypoint(exec(&["b"]))],
    );
    check(
        &st,
        &h,
        json!({"Env":[path],"Entrypoint":["b"]}),
        &[
            "/bin/sh -c #(nop)  CMD []",
            "/bin/sh -c #(nop)  ENTRYPOINT [\"b\"]",
        ],
    );
    // FROM scratch / ENV A=1: the default PATH comes first.
    let (st, h) = stage(None, &[], &[], &[env(&[("A", "1")])]);
    check(
        &st,
        &h,
        json!({"Env":[path, "A=1"]}),
        &["/bin/sh -c #(nop)  ENV A=1"],
    );
}

/// docker build --build-arg HTTP_PROXY=hp --build-arg no_proxy=np --build-arg UNUSED=1
///   --build-arg V=2 --build-arg Y (Y unset on the client)
/// ARG V=1 / ARG W=$V-w / FROM busybox / RUN env / ARG V / ARG W / ARG X / ARG Y /
/// ARG no_proxy / RUN env / ENV V=fromenv / RUN echo $V / ENV Z=$V$W
#[test]
fn build_args_meta_args_and_proxies() {
    let given = [
        ("HTTP_PROXY", Some("hp")),
        ("no_proxy", Some("np")),
        ("UNUSED", Some("1")),
        ("V", Some("2")),
        ("Y", None),
    ];
    let q = "env | sort | grep -i -e proxy -e '^[VWXY]='";
    let (st, h) = stage(
        Some(&busybox()),
        &given,
        &[arg(&[("V", Some("1"))]), arg(&[("W", Some("$V-w"))])],
        &[
            run(q),
            arg(&[("V", None)]),
            arg(&[("W", None)]),
            arg(&[("X", None)]),
            arg(&[("Y", None)]),
            arg(&[("no_proxy", None)]),
            run(q),
            env(&[("V", "fromenv")]),
            run("echo $V"),
            env(&[("Z", "$V$W")]),
        ],
    );
    check(
        &st,
        &h,
        json!({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","V=fromenv","Z=fromenv2-w"],"Cmd":["/bin/sh"]}),
        &[
            &format!("|0 /bin/sh -c {q}"),
            "/bin/sh -c #(nop)  ARG V",
            "/bin/sh -c #(nop)  ARG W",
            "/bin/sh -c #(nop)  ARG X",
            "/bin/sh -c #(nop)  ARG Y",
            "/bin/sh -c #(nop)  ARG no_proxy",
            &format!("|3 V=2 W=2-w no_proxy=np /bin/sh -c {q}"),
            "/bin/sh -c #(nop)  ENV V=fromenv",
            "|2 W=2-w no_proxy=np /bin/sh -c echo $V",
            "/bin/sh -c #(nop)  ENV Z=fromenv2-w",
        ],
    );
    assert_eq!(st.unused(), ["UNUSED"]);
}

/// ARG IMG=busybox / FROM $IMG / ARG A=a / ENV A=b / ARG C=$A / RUN echo $A /
/// ENV D=$A$C / EXPOSE $P 80 / USER $A:$C / WORKDIR $A / WORKDIR ${A}2 / STOPSIGNAL 9
#[test]
fn env_shadows_args() {
    let meta = [arg(&[("IMG", Some("busybox"))])];
    let m = crate::dispatch::meta_args(&meta, &build_args(&[]), '\\').unwrap();
    assert_eq!(
        crate::dispatch::resolve_from("$IMG", &m, '\\').unwrap(),
        "busybox"
    );
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &meta,
        &[
            arg(&[("A", Some("a"))]),
            env(&[("A", "b")]),
            arg(&[("C", Some("$A"))]),
            run("echo $A"),
            env(&[("D", "$A$C")]),
            expose(&["$P", "80"]),
            user("$A:$C"),
            workdir("$A"),
            workdir("${A}2"),
            stopsignal("9"),
        ],
    );
    check(
        &st,
        &h,
        json!({"User":"b:b","ExposedPorts":{"80/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=b","D=bb"],"Cmd":["/bin/sh"],"WorkingDir":"/b/b2","StopSignal":"9"}),
        &[
            "/bin/sh -c #(nop)  ARG A=a",
            "/bin/sh -c #(nop)  ENV A=b",
            "/bin/sh -c #(nop)  ARG C=b",
            "|1 C=b /bin/sh -c echo $A",
            "/bin/sh -c #(nop)  ENV D=bb",
            "/bin/sh -c #(nop)  EXPOSE 80",
            "/bin/sh -c #(nop)  USER b:b",
            "/bin/sh -c #(nop) WORKDIR /b",
            "/bin/sh -c #(nop) WORKDIR /b/b2",
            "/bin/sh -c #(nop)  STOPSIGNAL 9",
        ],
    );
}

/// EXPOSE 80/TCP 8080:81 127.0.0.1:90:91/udp 7/sctp / LABEL "a b"=c d= "e"="f\"g" /
/// ENV E1= E2="" E3='x $E1' / ENV E4 "" / VOLUME ["/a b", "/c"] /
/// SHELL ["/bin/sh", "-c", "-e"] / RUN ["echo", "x"] / CMD echo hi
#[test]
fn ports_labels_quotes_shell() {
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            expose(&["80/TCP", "8080:81", "127.0.0.1:90:91/udp", "7/sctp"]),
            label(&[("\"a b\"", "c"), ("d", ""), ("\"e\"", "\"f\\\"g\"")]),
            env(&[("E1", ""), ("E2", "\"\""), ("E3", "'x $E1'")]),
            env(&[("E4", "\"\"")]),
            volume(&["/a b", "/c"]),
            shell(&["/bin/sh", "-c", "-e"]),
            run_exec(&["echo", "x"]),
            cmd(sh("echo hi")),
        ],
    );
    check(
        &st,
        &h,
        json!({"ExposedPorts":{"7/sctp":{},"80/tcp":{},"81/tcp":{},"91/udp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","E1=","E2=","E3=x $E1","E4="],"Cmd":["/bin/sh","-c","-e","echo hi"],"Volumes":{"/a b":{},"/c":{}},"Labels":{"a b":"c","d":"","e":"f\"g"},"Shell":["/bin/sh","-c","-e"]}),
        &[
            "/bin/sh -c #(nop)  EXPOSE 127.0.0.1:90:91/udp 7/sctp 80/TCP 8080:81",
            "/bin/sh -c #(nop)  LABEL a b=c d= e=f\"g",
            "/bin/sh -c #(nop)  ENV E1= E2= E3=x $E1",
            "/bin/sh -c #(nop)  ENV E4=",
            "/bin/sh -c #(nop)  VOLUME [/a b /c]",
            "/bin/sh -c -e #(nop)  SHELL [/bin/sh -c -e]",
            "echo x",
            "/bin/sh -c -e #(nop)  CMD [\"/bin/sh\" \"-c\" \"-e\" \"echo hi\"]",
        ],
    );
}

/// Base: FROM busybox / ARG X=1 / ONBUILD ENV O=$X / ONBUILD  run  echo "a" $X /
/// HEALTHCHECK --interval=5s --retries=2 CMD true / ONBUILD COPY f.txt /on/
/// Child (--build-arg X=7): FROM base / ARG X=3 / HEALTHCHECK --timeout=3s CMD false /
/// WORKDIR /w / COPY f.txt a/b/ / COPY f.txt ../c / COPY f.txt /d/. / COPY f.txt . /
/// ENV DST=/e / COPY ["f.txt", "$DST"] / ADD f.txt f.txt /m/
/// (the triggers are dispatched here as the parser would give them).
#[test]
fn onbuild_child_healthcheck_merge_and_copy_destinations() {
    let (base, base_h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            arg(&[("X", Some("1"))]),
            onbuild("ONBUILD ENV O=$X", env(&[("O", "$X")])),
            onbuild("ONBUILD  run  echo \"a\" $X", run("echo \"a\" $X")),
            health(sh("true"), [Some("5s"), None, None, Some("2")]),
            onbuild("ONBUILD COPY f.txt /on/", copy(&["f.txt"], "/on/")),
        ],
    );
    assert_eq!(
        base_h,
        [
            "/bin/sh -c #(nop)  ARG X=1",
            "/bin/sh -c #(nop)  ONBUILD ENV O=$X",
            "/bin/sh -c #(nop)  ONBUILD run  echo \"a\" $X",
            "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x02'}",
            "/bin/sh -c #(nop)  ONBUILD COPY f.txt /on/",
        ]
    );
    let (st, h) = stage(
        Some(&base.config),
        &[("X", Some("7"))],
        &[],
        &[
            // The triggers, as parsed from the base's OnBuild.
            env(&[("O", "$X")]),
            run("echo \"a\" $X"),
            copy(&["f.txt"], "/on/"),
            arg(&[("X", Some("3"))]),
            health(sh("false"), [None, Some("3s"), None, None]),
            workdir("/w"),
            copy(&["f.txt"], "a/b/"),
            copy(&["f.txt"], "../c"),
            copy(&["f.txt"], "/d/."),
            copy(&["f.txt"], "."),
            env(&[("DST", "/e")]),
            copy(&["f.txt"], "$DST"),
            add(&["f.txt", "f.txt"], "/m/"),
        ],
    );
    check(
        &st,
        &h,
        json!({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","O=","DST=/e"],"Cmd":["/bin/sh"],"WorkingDir":"/w","Healthcheck":{"Test":["CMD-SHELL","false"],"Interval":5000000000_i64,"Timeout":3000000000_i64,"Retries":2}}),
        &[
            "/bin/sh -c #(nop)  ENV O=",
            "/bin/sh -c echo \"a\" $X",
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in /on/ "),
            "/bin/sh -c #(nop)  ARG X=3",
            "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"false\"] \"0s\" \"3s\" \"0s\" '\\x00'}",
            "/bin/sh -c #(nop) WORKDIR /w",
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in a/b/ "),
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in ../c "),
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in /d/. "),
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in . "),
            "/bin/sh -c #(nop)  ENV DST=/e",
            &format!("/bin/sh -c #(nop) COPY {FILE_HASH} in /e "),
            &format!("/bin/sh -c #(nop) ADD {MULTI_HASH} in /m/ "),
        ],
    );
    assert!(st.unused().is_empty());
}

/// HEALTHCHECK flag values, one Dockerfile each (`FROM busybox / HEALTHCHECK <flags> CMD x`).
#[test]
fn healthcheck_flags() {
    let ok: [([Option<&str>; 4], serde_json::Value, &str); 5] = [
        (
            [None, Some("1.5h"), None, None],
            json!({"Test":["CMD-SHELL","x"],"Timeout":5400000000000_i64}),
            "\"0s\" \"1h30m0s\" \"0s\" '\\x00'",
        ),
        (
            [Some("1h2m3.5s4ms5us6ns"), None, None, None],
            json!({"Test":["CMD-SHELL","x"],"Interval":3723504005006_i64}),
            "\"1h2m3.504005006s\" \"0s\" \"0s\" '\\x00'",
        ),
        (
            [Some(""), None, None, None],
            json!({"Test":["CMD-SHELL","x"]}),
            "\"0s\" \"0s\" \"0s\" '\\x00'",
        ),
        (
            [None, None, None, Some("10")],
            json!({"Test":["CMD-SHELL","x"],"Retries":10}),
            "\"0s\" \"0s\" \"0s\" '\\n'",
        ),
        (
            [Some(".5s"), None, None, Some("+5")],
            json!({"Test":["CMD-SHELL","x"],"Interval":500000000,"Retries":5}),
            "\"500ms\" \"0s\" \"0s\" '\\x05'",
        ),
    ];
    for (flags, hc, tail) in ok {
        let (st, h) = stage(Some(&busybox()), &[], &[], &[health(sh("x"), flags)]);
        assert_eq!(config_json(&st)["Healthcheck"], hc, "{flags:?}");
        assert_eq!(
            h,
            [format!(
                "/bin/sh -c #(nop)  HEALTHCHECK &{{[\"CMD-SHELL\" \"x\"] {tail}}}"
            )]
        );
    }
    let bad: [([Option<&str>; 4], &str); 8] = [
        (
            [Some("abc"), None, None, None],
            "time: invalid duration \"abc\"",
        ),
        (
            [Some("0s"), None, None, None],
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            [Some("500us"), None, None, None],
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            [None, None, Some("-1s"), None],
            "Interval \"start-period\" cannot be less than 1ms",
        ),
        (
            [Some("1"), None, None, None],
            "time: missing unit in duration \"1\"",
        ),
        (
            [None, None, None, Some("0")],
            "--retries must be at least 1 (not 0)",
        ),
        (
            [None, None, None, Some("-1")],
            "--retries must be at least 1 (not -1)",
        ),
        (
            [None, None, None, Some("x")],
            "strconv.ParseInt: parsing \"x\": invalid syntax",
        ),
    ];
    for (flags, msg) in bad {
        let mut st = StageState::new(
            Some(&busybox()),
            &Default::default(),
            &build_args(&[]),
            '\\',
        );
        let err = st.dispatch(&health(sh("x"), flags)).unwrap_err();
        assert_eq!(err.to_string(), msg);
        assert!(err.at_parse_time());
    }
}

/// Values dockerd refuses when it runs the instruction, one Dockerfile each.
#[test]
fn refusals() {
    let cases = [
        (stopsignal("FOO"), "Invalid signal: FOO"),
        (stopsignal("0"), "Invalid signal: 0"),
        (stopsignal("\"\""), "Invalid signal: "),
        (expose(&["70000"]), "Invalid containerPort: 70000"),
        (expose(&["80/xyz"]), "Invalid proto: xyz"),
        (expose(&["5-3"]), "Invalid containerPort: 5-3"),
        (
            volume(&["\"\""]),
            "VOLUME specified can not be an empty string",
        ),
        (
            volume(&["$NOPE"]),
            "VOLUME specified can not be an empty string",
        ),
        (
            env(&[("A", "${B:?bad}")]),
            "failed to process \"${B:?bad}\": B: bad",
        ),
        (workdir("\"\""), "cannot normalize nothing"),
        (
            onbuild("ONBUILD ONBUILD RUN x", onbuild("ONBUILD RUN x", run("x"))),
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            onbuild("ONBUILD FROM x", from("x")),
            "FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            onbuild("ONBUILD MAINTAINER x", maintainer("x")),
            "MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
        (env(&[("", "x")]), "ENV names can not be blank"),
        (label(&[("", "x")]), "LABEL names can not be blank"),
        (arg(&[("", Some("x"))]), "ARG names can not be blank"),
        (shell(&[]), "SHELL requires at least one argument"),
    ];
    for (i, msg) in cases {
        let mut st = StageState::new(
            Some(&busybox()),
            &Default::default(),
            &build_args(&[]),
            '\\',
        );
        assert_eq!(st.dispatch(&i).unwrap_err().to_string(), msg, "{i:?}");
    }
}

/// Accepted oddities: `STOPSIGNAL sigrtmin+3`, `EXPOSE [::1]:80:81`, `EXPOSE :80`,
/// `USER ""`, `ARG A B=2`, `EXPOSE ""`, `ONBUILD  run  echo "a"`.
#[test]
fn accepted_oddities() {
    let one = |i| {
        let (st, h) = stage(Some(&busybox()), &[], &[], &[i]);
        (config_json(&st), h.join(""))
    };
    let (c, h) = one(stopsignal("sigrtmin+3"));
    assert_eq!(
        (c["StopSignal"].as_str(), h.as_str()),
        (
            Some("sigrtmin+3"),
            "/bin/sh -c #(nop)  STOPSIGNAL sigrtmin+3"
        )
    );
    let (c, h) = one(expose(&["[::1]:80:81"]));
    assert_eq!(
        (c["ExposedPorts"].clone(), h.as_str()),
        (
            json!({"81/tcp":{}}),
            "/bin/sh -c #(nop)  EXPOSE [::1]:80:81"
        )
    );
    let (c, h) = one(expose(&[":80"]));
    assert_eq!(
        (c["ExposedPorts"].clone(), h.as_str()),
        (json!({"80/tcp":{}}), "/bin/sh -c #(nop)  EXPOSE :80")
    );
    let (c, h) = one(user("\"\""));
    assert_eq!(
        (c.get("User"), h.as_str()),
        (None, "/bin/sh -c #(nop)  USER ")
    );
    let (_, h) = one(arg(&[("A", None), ("B", Some("2"))]));
    assert_eq!(h, "/bin/sh -c #(nop)  ARG A B=2");
    let (c, h) = one(expose(&["\"\""]));
    assert_eq!(
        (c.get("ExposedPorts"), h.as_str()),
        (None, "/bin/sh -c #(nop)  EXPOSE ")
    );
    let (c, h) = one(onbuild("ONBUILD  run  echo \"a\"", run("echo \"a\"")));
    assert_eq!(
        (c["OnBuild"].clone(), h.as_str()),
        (
            json!(["run  echo \"a\""]),
            "/bin/sh -c #(nop)  ONBUILD run  echo \"a\""
        )
    );
}

/// docker build --build-arg HTTPS_PROXY=hs
/// ARG V=1 / ARG HTTPS_PROXY=metaproxy / FROM busybox / ARG V=5 / ENV $V=1 / ENV P=9000 /
/// EXPOSE $P 80 / ENV VV="/a b" / VOLUME $VV /
/// CMD ["héllo", "<TAB>tab", "\u0001", "a\\b", "\u00a0"] (not JSON: the tab) /
/// HEALTHCHECK --retries=1000 CMD x / RUN echo $V $HTTPS_PROXY / SHELL ["/bin/sh", "-ec"] /
/// RUN echo $V / COPY --chown=$V f.txt /x
/// (expected values pasted as dockerd printed them, JSON-encoded)
#[test]
fn go_quoting_sorting_and_meta_proxies() {
    let cmd_text = "[\"héllo\", \"\ttab\", \"\\u0001\", \"a\\\\b\", \"\\u00a0\"]";
    let (st, h) = stage(
        Some(&busybox()),
        &[("HTTPS_PROXY", Some("hs"))],
        &[
            arg(&[("V", Some("1"))]),
            arg(&[("HTTPS_PROXY", Some("metaproxy"))]),
        ],
        &[
            arg(&[("V", Some("5"))]),
            env(&[("$V", "1")]),
            env(&[("P", "9000")]),
            expose(&["$P", "80"]),
            env(&[("VV", "\"/a b\"")]),
            volume(&["$VV"]),
            cmd(sh(cmd_text)),
            health(sh("x"), [None, None, None, Some("1000")]),
            run("echo $V $HTTPS_PROXY"),
            shell(&["/bin/sh", "-ec"]),
            run("echo $V"),
            copy_chown(&["f.txt"], "/x", "$V"),
        ],
    );
    let config: serde_json::Value = serde_json::from_str(
        r#"{"ExposedPorts":{"80/tcp":{},"9000/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","5=1","P=9000","VV=/a b"],"Cmd":["/bin/sh","-c","[\"héllo\", \"\ttab\", \"\\u0001\", \"a\\\\b\", \"\\u00a0\"]"],"Volumes":{"/a b":{}},"Healthcheck":{"Test":["CMD-SHELL","x"],"Retries":1000},"Shell":["/bin/sh","-ec"]}"#,
    )
    .unwrap();
    let expected: Vec<String> = [
        r#""/bin/sh -c #(nop)  ARG V=5""#,
        r#""/bin/sh -c #(nop)  ENV 5=1""#,
        r#""/bin/sh -c #(nop)  ENV P=9000""#,
        r#""/bin/sh -c #(nop)  EXPOSE 9000 80""#,
        r#""/bin/sh -c #(nop)  ENV VV=/a b""#,
        r#""/bin/sh -c #(nop)  VOLUME [/a b]""#,
        r#""/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"[\\\"héllo\\\", \\\"\\ttab\\\", \\\"\\\\u0001\\\", \\\"a\\\\\\\\b\\\", \\\"\\\\u00a0\\\"]\"]""#,
        r#""/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"x\"] \"0s\" \"0s\" \"0s\" 'Ϩ'}""#,
        r#""|1 V=5 /bin/sh -c echo $V $HTTPS_PROXY""#,
        r#""/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]""#,
        r#""|1 V=5 /bin/sh -ec echo $V""#,
        r#""/bin/sh -ec #(nop) COPY --chown=5file:a76d97b9e333b20275d3a840325f2eb49929ce711c732e45f5b6a24cce4caac3 in /x ""#,
    ]
    .iter()
    .map(|j| serde_json::from_str(j).unwrap())
    .collect();
    assert_eq!(config_json(&st), config);
    assert_eq!(h, expected);
    // The RUN saw the given proxy, not the meta default.
    let mut st = st;
    let run_env = match st.dispatch(&run("true")).unwrap() {
        crate::dispatch::Step::Run { env, .. } => env,
        _ => unreachable!(),
    };
    assert!(run_env.contains(&"HTTPS_PROXY=hs".to_string()));
}

/// docker build --label 'b=2 $x' --label a=1 --label 'c=it"s'
/// FROM busybox / ENV x=1 / LABEL a=0 — the options come last, one unexpanded LABEL each,
/// in key order.
#[test]
fn label_options() {
    let (mut st, mut h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[env(&[("x", "1")]), label(&[("a", "0")])],
    );
    let given: std::collections::BTreeMap<&str, &str> =
        [("b", "2 $x"), ("a", "1"), ("c", "it\"s")].into();
    for (k, v) in given {
        h.push(st.label_option(k, v).created_by(""));
    }
    check(
        &st,
        &h,
        json!({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","x=1"],"Cmd":["/bin/sh"],"Labels":{"a":"1","b":"2 $x","c":"it\"s"}}),
        &[
            "/bin/sh -c #(nop)  ENV x=1",
            "/bin/sh -c #(nop)  LABEL a=0",
            "/bin/sh -c #(nop)  LABEL a=1",
            "/bin/sh -c #(nop)  LABEL b=2 $x",
            "/bin/sh -c #(nop)  LABEL c=it\"s",
        ],
    );
}

/// ARG HTTPS_PROXY=metaproxy / FROM busybox / RUN echo "[$HTTPS_PROXY]" /
/// ENV E=$HTTPS_PROXY — a predefined arg set before FROM is visible in the stage without
/// re-declaring, and still kept out of RUN's history (`|0`).
#[test]
fn predefined_meta_arg() {
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[arg(&[("HTTPS_PROXY", Some("metaproxy"))])],
        &[
            run("echo \"[$HTTPS_PROXY]\""),
            env(&[("E", "$HTTPS_PROXY")]),
        ],
    );
    check(
        &st,
        &h,
        json!({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","E=metaproxy"],"Cmd":["/bin/sh"]}),
        &[
            "|0 /bin/sh -c echo \"[$HTTPS_PROXY]\"",
            "/bin/sh -c #(nop)  ENV E=metaproxy",
        ],
    );
}
