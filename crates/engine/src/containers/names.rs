//! Container names and IDs: Docker's rule for a valid name, generated `adjective_noun`
//! names, random 64-hex-digit IDs.

use std::io::Read;

const ADJECTIVES: &[&str] = &[
    "agile", "bold", "brave", "bright", "calm", "clever", "cool", "crisp", "daring", "eager",
    "fair", "fast", "fierce", "gentle", "glad", "grand", "happy", "hardy", "keen", "kind",
    "lively", "lucid", "merry", "mighty", "modest", "neat", "nimble", "noble", "patient", "polite",
    "proud", "quick", "quiet", "rapid", "ready", "serene", "sharp", "shy", "silent", "sleepy",
    "smart", "snappy", "solid", "steady", "stoic", "sunny", "swift", "tender", "tidy", "vivid",
    "warm", "wise", "witty", "zealous",
];

const NOUNS: &[&str] = &[
    "anchor",
    "barge",
    "beacon",
    "berth",
    "buoy",
    "cargo",
    "channel",
    "coral",
    "crane",
    "current",
    "delta",
    "dinghy",
    "dock",
    "ferry",
    "fjord",
    "harbor",
    "hull",
    "inlet",
    "island",
    "jetty",
    "keel",
    "lagoon",
    "lighthouse",
    "marina",
    "mast",
    "mooring",
    "oar",
    "pier",
    "pilot",
    "port",
    "quay",
    "reef",
    "rudder",
    "sail",
    "schooner",
    "shore",
    "skiff",
    "sloop",
    "strait",
    "tide",
    "tugboat",
    "vessel",
    "wharf",
    "yacht",
];

/// A name like Docker's generated ones (`adjective_noun`), random per call.
pub fn generate_name(retry: u32) -> String {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    let a = ADJECTIVES[b[0] as usize % ADJECTIVES.len()];
    let n = NOUNS[(u16::from_le_bytes([b[1], b[2]]) as usize) % NOUNS.len()];
    if retry > 0 {
        format!("{a}_{n}{}", b[3] % 10)
    } else {
        format!("{a}_{n}")
    }
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    name.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// 64 random hex digits.
pub fn new_id() -> std::io::Result<String> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("web-1"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a"));
        assert!(!valid_name("a b"));
        assert!(valid_name(&generate_name(0)));
    }
}
