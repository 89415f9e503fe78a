//! Content digests (`sha256:<hex>`, `sha512:<hex>`) and the one hasher behind them.
//!
//! Only the two algorithms the OCI image spec registers are accepted, and only in canonical
//! form (lowercase hex of the exact length), so that two spellings of one digest can never
//! name two different blobs.

use std::fmt;
use std::io;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;
use thiserror::Error;

/// A digest string that is not `<algorithm>:<hex>` in canonical form.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid digest {value:?}: {reason}")]
pub struct DigestError {
    pub value: String,
    pub reason: &'static str,
}

/// A hash algorithm allowed in a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings and as the directory under `blobs/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding of this algorithm's output.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated content digest. Ordered and hashable so it can key maps and sets.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `<algorithm>:<hex>`; the hex must be lowercase and of the algorithm's length.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let err = |reason| DigestError {
            value: s.to_string(),
            reason,
        };
        let (alg, hex) = s.split_once(':').ok_or_else(|| err("missing ':'"))?;
        let algorithm = Algorithm::from_name(alg)
            .ok_or_else(|| err("unsupported algorithm (sha256 or sha512)"))?;
        Self::from_parts(algorithm, hex).map_err(err)
    }

    fn from_parts(algorithm: Algorithm, hex: &str) -> Result<Self, &'static str> {
        if hex.len() != algorithm.hex_len() {
            return Err("wrong length for the algorithm");
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err("not lowercase hex");
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The sha256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Self {
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(data);
        d.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Incremental hashing for one algorithm. Every digest in muelle is computed through this
/// type, so the hash backend can be swapped (e.g. for ring on CPUs without SHA-NI) in one place.
#[derive(Clone)]
pub struct Digester {
    state: State,
}

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Digester {
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Digester { state }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.state {
            State::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            State::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digester({})", self.algorithm())
    }
}

/// Lets a digester be the sink of `io::copy` or the second half of a tee.
impl io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn known_vectors() {
        assert_eq!(
            Digest::sha256_of(b"").to_string(),
            format!("sha256:{EMPTY256}")
        );
        let mut d = Digester::new(Algorithm::Sha512);
        d.update(b"abc");
        assert_eq!(
            d.finish().hex(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn parse_round_trip() {
        let s = format!("sha256:{EMPTY256}");
        let d: Digest = s.parse().expect("valid");
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex(), EMPTY256);
        assert_eq!(d.to_string(), s);
        let sha512 = format!("sha512:{}", "0".repeat(128));
        assert_eq!(Digest::parse(&sha512).expect("valid").to_string(), sha512);
    }

    #[test]
    fn parse_rejects_non_canonical() {
        for bad in [
            "",
            "sha256",
            EMPTY256,
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            &format!("sha256:{}", EMPTY256.to_uppercase()),
            &format!("sha256:{}", &EMPTY256[1..]),
            &format!("sha256:{EMPTY256}0"),
            &format!("sha512:{EMPTY256}"),
            &format!("sha256:{}g", &EMPTY256[1..]),
            &format!("SHA256:{EMPTY256}"),
            &format!("sha256:{}/../x", &EMPTY256[..58]),
        ] {
            let err = Digest::parse(bad).expect_err(bad);
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn serde_as_string() {
        let d = Digest::sha256_of(b"x");
        let json = serde_json::to_string(&d).expect("ser");
        assert_eq!(json, format!("\"{d}\""));
        let back: Digest = serde_json::from_str(&json).expect("de");
        assert_eq!(back, d);
        let err = serde_json::from_str::<Digest>("\"sha256:abc\"").expect_err("short");
        assert!(err.to_string().contains("sha256:abc"), "{err}");
    }

    #[test]
    fn digester_as_writer() {
        let mut d = Digester::new(Algorithm::Sha256);
        std::io::copy(&mut &b"hello world"[..], &mut d).expect("copy");
        assert_eq!(d.finish(), Digest::sha256_of(b"hello world"));
    }
}
