//! The body of `POST /containers/create` (Docker's Config with HostConfig inside), parsed as
//! the API parses it and checked by the engine's `validate`: any bytes must give a value or
//! an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use muelle_engine::containers::{validate, ContainerConfig, HostConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    let host = obj.remove("HostConfig").unwrap_or(serde_json::Value::Null);
    let Ok(config) = serde_json::from_value::<ContainerConfig>(v) else {
        return;
    };
    let host: HostConfig = if host.is_null() {
        HostConfig::default()
    } else {
        match serde_json::from_value(host) {
            Ok(h) => h,
            Err(_) => return,
        }
    };
    let _ = validate(&config, &host);
    // The published ports it asks for (`PortBindings`, `-P` over `ExposedPorts`).
    let _ = muelle_engine::networks::ports::wanted(&config, &host);
});
