//! Mount options come from config.json: folding any list of strings must not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let opts: Vec<String> = s.split(',').map(str::to_string).collect();
    let _ = muelle_runtime::rootfs::parse_options(&opts);
    let _ = muelle_runtime::signal::parse(&s);
});
