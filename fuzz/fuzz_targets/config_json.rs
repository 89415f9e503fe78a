//! config.json is untrusted input: parsing and validating any bytes must return a value or
//! an error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = muelle_runtime::spec::parse(data) {
        let _ = muelle_runtime::spec::validate(&spec);
        if let Some(p) = spec.process() {
            let _ = muelle_runtime::spec::validate_process(p);
        }
    }
    // The exec --process file is parsed the same way.
    let _ = serde_json::from_slice::<muelle_runtime::spec::Process>(data);
});
