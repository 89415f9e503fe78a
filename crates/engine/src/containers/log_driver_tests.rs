use super::*;

fn cfg(typ: &str, opts: &[(&str, &str)]) -> LogConfig {
    LogConfig {
        typ: typ.into(),
        config: opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn sizes_as_go_units() {
    assert_eq!(from_human_size("1k"), Ok(1000));
    assert_eq!(from_human_size("20m"), Ok(20_000_000));
    assert_eq!(from_human_size("1.5 MB"), Ok(1_500_000));
    assert_eq!(from_human_size("10KiB"), Ok(10_000));
    assert_eq!(from_human_size("512"), Ok(512));
    assert_eq!(
        from_human_size("bogus"),
        Err("invalid size: 'bogus'".into())
    );
    assert_eq!(from_human_size("-1"), Err("invalid size: '-1'".into()));
    assert!(from_human_size("k").is_err());
}

#[test]
fn daemon_defaults_fill_what_the_container_leaves_out() {
    let d = daemon_default(None, &BTreeMap::new()).unwrap();
    assert_eq!(d, muelled_default());
    let mut c = cfg("", &[("max-size", "1k")]);
    merge(&mut c, &d);
    assert_eq!(
        c,
        cfg("json-file", &[("max-size", "1k"), ("max-file", "5")])
    );
    // Another driver than the daemon's takes none of its options.
    let mut c = cfg("local", &[]);
    merge(&mut c, &d);
    assert_eq!(c, cfg("local", &[]));
    // daemon.json's options win over muelled's, key by key.
    let opts = [("max-file".to_string(), "2".to_string())].into();
    let d = daemon_default(Some("json-file"), &opts).unwrap();
    assert_eq!(
        d,
        cfg("json-file", &[("max-file", "2"), ("max-size", "20m")])
    );
    let d = daemon_default(Some("local"), &BTreeMap::new()).unwrap();
    assert_eq!(d, cfg("local", &[]));
    assert!(daemon_default(Some("bogus"), &BTreeMap::new()).is_err());
    let bad = [("max-size".to_string(), "x".to_string())].into();
    assert!(daemon_default(None, &bad).is_err());
}

#[test]
fn create_checks_have_dockerds_messages() {
    let e = validate(&cfg("json-file", &[("unknown", "1")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown log opt 'unknown' for json-file log driver"
    );
    let e = validate(&cfg("local", &[("unknown", "1")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown log opt 'unknown' for log driver local"
    );
    let e = validate(&cfg("bogus", &[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "error looking up logging plugin bogus: plugin \"bogus\" not found"
    );
    // Values are checked when the driver starts, as dockerd does.
    assert!(validate(&cfg("json-file", &[("max-size", "bogus")])).is_ok());
    assert!(validate(&cfg("none", &[("anything", "1")])).is_ok());
    assert!(validate(&cfg("json-file", &[("mode", "x")])).is_err());
}

#[test]
fn start_checks_have_dockerds_messages() {
    let w = |c: &LogConfig| writer(c, Path::new("/c"), "/c/id-json.log");
    assert_eq!(
        w(&cfg("json-file", &[("max-size", "bogus")])),
        Err("invalid size: 'bogus'".into())
    );
    assert_eq!(
        w(&cfg("json-file", &[("max-file", "0")])),
        Err("max-file cannot be less than 1".into())
    );
    assert_eq!(
        w(&cfg("json-file", &[("compress", "true")])),
        Err("compress cannot be true when max-file is less than 2 or max-size is not set".into())
    );
    assert_eq!(
        w(&cfg(
            "json-file",
            &[("max-size", "1k"), ("compress", "yes")]
        )),
        Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into())
    );
    let f = w(&cfg(
        "json-file",
        &[("max-size", "1k"), ("max-file", "3"), ("compress", "true")],
    ))
    .unwrap()
    .unwrap();
    assert_eq!(
        f,
        LogFile {
            path: "/c/id-json.log".into(),
            max_size: 1000,
            max_file: 3,
            compress: true
        }
    );
    let f = w(&cfg("local", &[])).unwrap().unwrap();
    assert_eq!(
        f,
        LogFile {
            path: "/c/local-logs/container.log".into(),
            max_size: 20 * 1024 * 1024,
            max_file: 5,
            compress: true
        }
    );
    assert_eq!(
        w(&cfg("local", &[("max-size", "bogus")])),
        Err("invalid value for max-size: bogus: invalid size: 'bogus'".into())
    );
    assert_eq!(
        w(&cfg("local", &[("max-file", "1")])),
        Err("compression cannot be enabled when max file count is 1".into())
    );
    assert_eq!(w(&cfg("none", &[])), Ok(None));
    assert!(w(&cfg("gelf", &[])).is_err());
}
