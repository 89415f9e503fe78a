//! Each instruction's effects beyond what the legacy table shows: the executor's side of
//! the steps (argv, env, mounts, destinations), scoping corners, and state carried over.

use muelle_image::manifest::ContainerConfig;

use super::util::*;
use crate::dispatch::{RunMount, StageState, Step};
use crate::dockerfile::{Command, CopyArgs, Source};

fn fresh(base: Option<&ContainerConfig>, given: &[(&str, Option<&str>)]) -> StageState {
    StageState::new(base, &Default::default(), &build_args(given), '\\')
}

#[test]
fn env_replaces_in_place_and_sees_the_old_values() {
    let base = ContainerConfig {
        env: Some(vec!["A=0".into(), "PATH=/p".into(), "B=1".into()]),
        ..ContainerConfig::default()
    };
    let (st, h) = stage(Some(&base), &[], &[], &[env(&[("A", "1"), ("C", "$A")])]);
    assert_eq!(
        st.config.env.as_deref().unwrap(),
        ["A=1", "PATH=/p", "B=1", "C=0"]
    );
    assert_eq!(h, ["/bin/sh -c #(nop)  ENV A=1 C=0"]);
}

#[test]
fn run_step_carries_what_the_container_needs() {
    let mut st = fresh(
        Some(&busybox()),
        &[("X", Some("1")), ("HTTP_PROXY", Some("hp"))],
    );
    st.dispatch(&arg(&[("X", None)])).unwrap();
    st.dispatch(&user("app")).unwrap();
    st.dispatch(&workdir("/src")).unwrap();
    st.dispatch(&shell(&["/bin/bash", "-c"])).unwrap();
    let step = st
        .dispatch(&run_mounts(
            sh("make"),
            &["type=cache,target=.cache", "type=secret,id=tok"],
        ))
        .unwrap();
    let Step::Run {
        argv,
        env,
        user,
        workdir,
        mounts,
        network,
        created_by,
        ..
    } = step
    else {
        panic!("not a run step")
    };
    assert_eq!(argv, ["/bin/bash", "-c", "make"]);
    assert_eq!(
        env,
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HTTP_PROXY=hp",
            "X=1"
        ]
    );
    assert_eq!(user.as_deref(), Some("app"));
    assert_eq!(workdir.as_deref(), Some("/src"));
    assert_eq!(network, None);
    assert_eq!(created_by, "|1 X=1 /bin/bash -c make");
    assert!(matches!(&mounts[0], RunMount::Cache { target, .. } if target == "/src/.cache"));
    assert!(matches!(&mounts[1], RunMount::Secret { target, .. } if target == "/run/secrets/tok"));
    // Declared, the proxy shows in history too.
    st.dispatch(&arg(&[("HTTP_PROXY", None)])).unwrap();
    let step = st.dispatch(&run_exec(&["true"])).unwrap();
    assert_eq!(step.created_by(""), "|2 HTTP_PROXY=hp X=1 true");
}

#[test]
fn run_network_and_security() {
    let mut st = fresh(Some(&busybox()), &[]);
    let net = |n: &str| {
        ins(Command::Run {
            cmd: sh("x"),
            heredocs: vec![],
            mounts: vec![],
            network: Some(n.into()),
            security: None,
        })
    };
    assert!(
        matches!(st.dispatch(&net("none")).unwrap(), Step::Run { network: Some(n), .. } if n == "none")
    );
    assert!(matches!(
        st.dispatch(&net("default")).unwrap(),
        Step::Run { network: None, .. }
    ));
    assert_eq!(
        st.dispatch(&net("bridge")).unwrap_err().to_string(),
        "unsupported network mode \"bridge\""
    );
    let bad_mount = run_mounts(sh("x"), &["type=cache,target=/c,colour=red"]);
    assert_eq!(
        st.dispatch(&bad_mount).unwrap_err().to_string(),
        "unexpected key 'colour' in 'colour=red'"
    );
}

#[test]
fn copy_step_resolves_against_workdir() {
    let mut st = fresh(Some(&busybox()), &[("V", Some("9"))]);
    st.dispatch(&arg(&[("V", None)])).unwrap();
    st.dispatch(&workdir("/app")).unwrap();
    let c = CopyArgs {
        sources: vec![Source::Path("src-$V".into())],
        dest: "out/".into(),
        from: Some("build".into()),
        chown: Some("$V:$V".into()),
        chmod: Some("0755".into()),
        link: true,
        ..CopyArgs::default()
    };
    let step = st.dispatch(&ins(Command::Copy(c))).unwrap();
    assert_eq!(
        step.created_by("file:h"),
        "/bin/sh -c #(nop) COPY --chown=9:9file:h in out/ "
    );
    let Step::Copy {
        add,
        sources,
        from,
        dest,
        chown,
        chmod,
        link,
        ..
    } = step
    else {
        panic!("not a copy step")
    };
    assert!(!add && link);
    assert_eq!(sources, [Source::Path("src-9".into())]);
    assert_eq!(from.as_deref(), Some("build"));
    assert_eq!(dest, "/app/out/");
    assert_eq!(chown.as_deref(), Some("9:9"));
    assert_eq!(chmod.as_deref(), Some("0755"));
    let parents = CopyArgs {
        parents: true,
        ..copy_args(&["a"], "/b")
    };
    assert!(st.dispatch(&ins(Command::Copy(parents))).is_err());
}

#[test]
fn workdir_step_and_relative_chain() {
    let mut st = fresh(None, &[]);
    let step = st.dispatch(&workdir("a")).unwrap();
    assert_eq!(
        step,
        Step::Workdir {
            path: "/a".into(),
            created_by: "/bin/sh -c #(nop) WORKDIR /a".into()
        }
    );
    st.dispatch(&workdir("../../b/./c/")).unwrap();
    assert_eq!(st.config.working_dir.as_deref(), Some("/b/c"));
}

#[test]
fn meta_args_need_redeclaring() {
    let meta = [arg(&[("M", Some("m"))])];
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &meta,
        &[
            env(&[("A", "[$M]")]),
            arg(&[("M", None)]),
            env(&[("B", "[$M]")]),
        ],
    );
    assert_eq!(h[0], "/bin/sh -c #(nop)  ENV A=[]");
    assert_eq!(h[2], "/bin/sh -c #(nop)  ENV B=[m]");
    assert_eq!(st.lookup("M").as_deref(), Some("m"));
}

#[test]
fn unused_counts_meta_and_earlier_stages() {
    let given = [
        ("A", Some("1")),
        ("B", Some("2")),
        ("M", Some("3")),
        ("http_proxy", Some("p")),
    ];
    let (first, _) = stage(Some(&busybox()), &given, &[], &[arg(&[("A", None)])]);
    let (mut last, _) = stage(Some(&busybox()), &given, &[arg(&[("M", None)])], &[]);
    assert_eq!(last.unused(), ["A", "B"]);
    last.merge_referenced(&first);
    assert_eq!(last.unused(), ["B"]);
}

#[test]
fn new_stage_from_base() {
    let base = ContainerConfig {
        env: Some(vec!["PATH=/mine".into()]),
        on_build: Some(vec!["RUN x".into()]),
        shell: Some(vec!["/bin/bash".into(), "-c".into()]),
        args_escaped: Some(true),
        ..ContainerConfig::default()
    };
    let mut st = fresh(Some(&base), &[]);
    assert_eq!(st.config.env.as_deref().unwrap(), ["PATH=/mine"]);
    assert_eq!(st.config.on_build, None);
    assert_eq!(st.shell, ["/bin/bash", "-c"]);
    // RUN keeps the image's ArgsEscaped; CMD (on Linux) clears it.
    st.dispatch(&run("true")).unwrap();
    assert_eq!(st.config.args_escaped, Some(true));
    st.dispatch(&cmd(exec(&["x"]))).unwrap();
    assert_eq!(st.config.args_escaped, None);
    assert!(st.dispatch(&from("busybox")).is_err());
}

#[test]
fn maintainer_sets_author_and_onbuild_appends() {
    let (st, h) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            maintainer("me"),
            onbuild("ONBUILD RUN a", run("a")),
            onbuild("onbuild  COPY x /y", copy(&["x"], "/y")),
        ],
    );
    assert_eq!(st.author.as_deref(), Some("me"));
    assert_eq!(
        st.config.on_build.as_deref().unwrap(),
        ["RUN a", "COPY x /y"]
    );
    assert_eq!(h[2], "/bin/sh -c #(nop)  ONBUILD COPY x /y");
}

#[test]
fn volume_label_expose_accumulate() {
    let (st, _) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[
            volume(&["/a"]),
            volume(&["/b", "/a"]),
            label(&[("k", "1")]),
            label(&[("k", "2"), ("j", "3")]),
            expose(&["80"]),
            expose(&["80/udp", "81-82/tcp"]),
        ],
    );
    let c = config_json(&st);
    assert_eq!(c["Volumes"], serde_json::json!({"/a":{},"/b":{}}));
    assert_eq!(c["Labels"], serde_json::json!({"j":"3","k":"2"}));
    assert_eq!(
        c["ExposedPorts"],
        serde_json::json!({"80/tcp":{},"80/udp":{},"81/tcp":{},"82/tcp":{}})
    );
}

#[test]
fn healthcheck_none_after_none_and_exec_form() {
    let (st, _) = stage(
        Some(&busybox()),
        &[],
        &[],
        &[health(
            exec(&["curl", "-f"]),
            [Some("30s"), Some("5s"), Some("1s"), Some("4")],
        )],
    );
    assert_eq!(
        config_json(&st)["Healthcheck"],
        serde_json::json!({"Test":["CMD","curl","-f"],"Interval":30000000000_i64,"Timeout":5000000000_i64,"StartPeriod":1000000000,"Retries":4})
    );
    let mut st = fresh(Some(&busybox()), &[]);
    assert_eq!(
        st.dispatch(&health(exec(&[]), [None; 4]))
            .unwrap_err()
            .to_string(),
        "Missing command after HEALTHCHECK CMD"
    );
}

#[test]
fn triggers_are_parsed_and_refused_as_dockerd() {
    let base = ContainerConfig {
        on_build: Some(vec!["RUN echo hi".into(), "COPY a /b".into()]),
        ..ContainerConfig::default()
    };
    let t = crate::dispatch::onbuild_triggers(&base, '\\').unwrap();
    assert_eq!(
        t.iter().map(|i| i.keyword.as_str()).collect::<Vec<_>>(),
        ["RUN", "COPY"]
    );
    assert_eq!(t[0].original, "RUN echo hi");
    for bad in ["FROM x", "MAINTAINER me"] {
        let base = ContainerConfig {
            on_build: Some(vec![bad.into()]),
            ..ContainerConfig::default()
        };
        assert!(
            crate::dispatch::onbuild_triggers(&base, '\\').is_err(),
            "{bad}"
        );
    }
}

#[test]
fn precheck_finds_parse_time_refusals() {
    use crate::dispatch::precheck;
    let good = [
        run("x"),
        health(sh("x"), [Some("5s"), None, None, Some("2")]),
    ];
    assert!(precheck(&good).is_ok());
    let mut bad = health(sh("x"), [Some("0s"), None, None, None]);
    bad.pos.line = 7;
    let err = precheck(&[run("x"), bad]).unwrap_err();
    assert_eq!(
        err.dockerd_message(),
        "dockerfile parse error line 7: Interval \"interval\" cannot be less than 1ms"
    );
    let nested = onbuild(
        "ONBUILD HEALTHCHECK --retries=0 CMD x",
        health(sh("x"), [None, None, None, Some("0")]),
    );
    assert!(precheck(&[nested]).is_ok());
    assert!(precheck(&[onbuild("ONBUILD FROM x", from("x"))]).is_err());
    assert!(precheck(&[shell(&[])]).is_err());
}
