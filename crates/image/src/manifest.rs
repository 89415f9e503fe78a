//! Manifests, indexes, image configs and platforms: the JSON documents of the OCI image spec
//! (manifest.md, image-index.md, config.md, descriptor.md) and of Docker's image manifest v2
//! schema 2 and manifest list, which have the same shape under other media types.
//!
//! Fetched documents are parsed here, at the edge, and their bytes are kept exactly as
//! received by whoever fetched them (digests are over those bytes). Documents we produce go
//! through [`canonical_json`], so the same value always has the same digest.
//!
//! The image config is our own type rather than oci-spec's, which drops Docker's
//! `Healthcheck`, `OnBuild` and `Shell`; fields we do not model are kept in `extra` maps so
//! that a parse → serialise round trip loses nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::digest::{Algorithm, Digest, Digester};

/// Media types of the documents and blobs an image is made of.
pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// The empty `{}` blob used as config (and layer) of artifacts.
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    pub const OCI_LAYER: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER;
    pub const OCI_LAYER_GZIP: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER_GZIP;
    pub const OCI_LAYER_ZSTD: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER_ZSTD;
    pub const OCI_LAYER_NONDISTRIBUTABLE: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER_ND;
    pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER_ND_GZIP;
    pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str = crate::unpack::MEDIA_TYPE_OCI_LAYER_ND_ZSTD;
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER: &str = crate::unpack::MEDIA_TYPE_DOCKER_LAYER;
    pub const DOCKER_LAYER_GZIP: &str = crate::unpack::MEDIA_TYPE_DOCKER_LAYER_GZIP;
    pub const DOCKER_FOREIGN_LAYER_GZIP: &str = crate::unpack::MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP;
    /// Docker schema 1: deprecated, unsigned and signed forms. Recognised only to refuse them.
    pub const DOCKER_SCHEMA1_MANIFEST: &str =
        "application/vnd.docker.distribution.manifest.v1+json";
    pub const DOCKER_SCHEMA1_SIGNED_MANIFEST: &str =
        "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// An image manifest (OCI or Docker schema 2).
    pub fn is_manifest(mt: &str) -> bool {
        mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
    }

    /// An index of manifests (OCI index or Docker manifest list).
    pub fn is_index(mt: &str) -> bool {
        mt == OCI_INDEX || mt == DOCKER_MANIFEST_LIST
    }

    /// A config blob that is an image config (and so names the layers' DiffIDs).
    pub fn is_image_config(mt: &str) -> bool {
        mt == OCI_CONFIG || mt == DOCKER_CONFIG
    }

    pub fn is_schema1(mt: &str) -> bool {
        mt == DOCKER_SCHEMA1_MANIFEST || mt == DOCKER_SCHEMA1_SIGNED_MANIFEST
    }
}

/// Registries refuse manifests above 4 MiB (distribution's limit); so do we, before parsing.
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// Errors parsing or choosing from manifests and configs, each naming the document concerned.
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("manifest too large: {size} bytes (at most {MAX_MANIFEST_SIZE})")]
    TooLarge { size: usize },
    #[error("invalid {what} JSON: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("unsupported manifest type {media_type}{hint}")]
    Unsupported {
        media_type: String,
        hint: &'static str,
    },
    #[error(
        "cannot tell the manifest type: no mediaType field, no manifest content type, \
         and neither \"manifests\" nor \"config\""
    )]
    UnknownType,
    #[error("manifest declares mediaType {declared} but was served as {content_type}")]
    MediaTypeMismatch {
        declared: String,
        content_type: String,
    },
    /// A document carrying the fields of both kinds could be read as either (CVE-2021-41190).
    #[error("ambiguous manifest: a {media_type} must not have a {field:?} field")]
    Ambiguous {
        media_type: String,
        field: &'static str,
    },
    #[error("unsupported manifest schemaVersion {found} (expected 2)")]
    SchemaVersion { found: String },
    #[error("image config: rootfs type is {found:?}, expected \"layers\"")]
    RootfsType { found: String },
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform { input: String, reason: &'static str },
    #[error("no manifest for platform {wanted} in the index; available: {}", available_list(.available))]
    NoMatchingPlatform {
        wanted: String,
        available: Vec<String>,
    },
}

fn available_list(available: &[String]) -> String {
    if available.is_empty() {
        "none".to_string()
    } else {
        available.join(", ")
    }
}

pub type Result<T, E = ManifestError> = std::result::Result<T, E>;

/// Go encodes nil slices and maps as `null`; read those as empty.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The spec's sizes are int64; a negative one is refused with a message saying so.
fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = i64::deserialize(d)?;
    u64::try_from(v).map_err(|_| de::Error::custom(format!("negative size {v}")))
}

/// Where an image runs: the `platform` of a descriptor, the top of an image config, and the
/// `--platform` option (`linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Platform {
            architecture: architecture.to_string(),
            os: os.to_string(),
            variant: variant.map(str::to_string),
            ..Platform::default()
        }
    }

    /// The platform of this machine, in the spec's names (x86_64 → linux/amd64).
    pub fn host() -> Self {
        Platform::new(std::env::consts::OS, std::env::consts::ARCH, None).normalized()
    }

    /// Parses `os[/arch[/variant]]`, or a lone architecture (`arm64`) for the host's OS.
    pub fn parse(input: &str) -> Result<Self> {
        let err = |reason| ManifestError::InvalidPlatform {
            input: input.to_string(),
            reason,
        };
        let parts: Vec<&str> = input.split('/').collect();
        for p in &parts {
            if p.is_empty() {
                return Err(err("empty component"));
            }
            if !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            {
                return Err(err(
                    "components may hold only letters, digits, '_', '-', '.'",
                ));
            }
        }
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let host = Platform::host();
        let p = match lower.as_slice() {
            [one] if KNOWN_OS.contains(&one.as_str()) => {
                Platform::new(one, &host.architecture, None).with_variant_of(&host)
            }
            [arch] => Platform::new(&host.os, arch, None),
            [os, arch] => Platform::new(os, arch, None),
            [os, arch, variant] => Platform::new(os, arch, Some(variant)),
            _ => return Err(err("expected os[/arch[/variant]]")),
        };
        Ok(p)
    }

    fn with_variant_of(mut self, other: &Platform) -> Self {
        self.variant = other.variant.clone();
        self
    }

    /// The platform in canonical spelling, as containerd normalises it: `x86_64` → `amd64`,
    /// `aarch64` → `arm64` with variant `v8`, `arm` defaults to `v7`, `armhf` → `arm/v7`,
    /// `armel` → `arm/v6`, `i386` → `386`, bare variant numbers get their `v`.
    pub fn normalized(&self) -> Self {
        let os = match self.os.to_ascii_lowercase().as_str() {
            "macos" => "darwin".to_string(),
            os => os.to_string(),
        };
        let variant = self.variant.as_deref().map(str::to_ascii_lowercase);
        let variant = variant.as_deref().filter(|v| !v.is_empty());
        let (arch, variant): (&str, Option<String>) =
            match self.architecture.to_ascii_lowercase().as_str() {
                "i386" | "386" => ("386", variant.map(str::to_string)),
                "x86_64" | "x86-64" | "amd64" => (
                    "amd64",
                    // v1 is the baseline every amd64 machine runs: the same as no variant.
                    match variant {
                        None | Some("v1") | Some("1") => None,
                        Some(v) => Some(v_prefixed(v)),
                    },
                ),
                "aarch64" | "arm64" => (
                    "arm64",
                    Some(match variant {
                        None | Some("8") | Some("v8") => "v8".to_string(),
                        Some(v) => v_prefixed(v),
                    }),
                ),
                "armhf" => ("arm", Some("v7".to_string())),
                "armel" => ("arm", Some("v6".to_string())),
                "arm" => (
                    "arm",
                    Some(variant.map_or_else(|| "v7".to_string(), v_prefixed)),
                ),
                other => {
                    return Platform {
                        architecture: other.to_string(),
                        os,
                        variant: variant.map(str::to_string),
                        ..self.clone()
                    }
                }
            };
        Platform {
            architecture: arch.to_string(),
            os,
            variant,
            ..self.clone()
        }
    }

    /// How well an image for `self` runs where `wanted` is asked for: `Some(0)` for the same
    /// platform, `Some(n)` for an older variant of the same architecture (an arm/v6 image on
    /// arm/v7 is 1), `None` if it does not run there.
    pub fn match_rank(&self, wanted: &Platform) -> Option<u32> {
        let have = self.normalized();
        let want = wanted.normalized();
        if have.os != want.os || have.architecture != want.architecture {
            return None;
        }
        if have.variant == want.variant {
            return Some(0);
        }
        let level = |v: &Option<String>| match v.as_deref() {
            None if have.architecture == "amd64" => Some(1),
            None => None,
            Some(v) => v.strip_prefix('v').and_then(|n| n.parse::<u32>().ok()),
        };
        match (level(&have.variant), level(&want.variant)) {
            (Some(h), Some(w)) if h < w => Some(w - h),
            _ => None,
        }
    }

    /// Whether an image for `self` runs where `wanted` is asked for.
    pub fn matches(&self, wanted: &Platform) -> bool {
        self.match_rank(wanted).is_some()
    }
}

const KNOWN_OS: &[&str] = &[
    "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix",
];

fn v_prefixed(v: &str) -> String {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        format!("v{v}")
    } else {
        v.to_string()
    }
}

impl fmt::Display for Platform {
    /// `os/arch[/variant]`, as `--platform` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A reference to a blob: what it is, its digest and size, and optional extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    #[serde(deserialize_with = "size")]
    pub size: u64,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub urls: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Base64 of the content itself, for small blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            artifact_type: None,
            platform: None,
        }
    }
}

/// An image manifest: one config and the layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "nullable")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (or Docker manifest list): manifests for several platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest document and the media type it was recognised as.
// Not boxed: one `Parsed` lives briefly per fetched document, and boxing would make every
// match on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Manifest {
        media_type: &'static str,
        manifest: Manifest,
    },
    Index {
        media_type: &'static str,
        index: Index,
    },
}

impl Parsed {
    pub fn media_type(&self) -> &'static str {
        match self {
            Parsed::Manifest { media_type, .. } | Parsed::Index { media_type, .. } => media_type,
        }
    }
}

/// Just enough of a document to tell what it is.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<Value>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<IgnoredAny>,
    config: Option<IgnoredAny>,
    layers: Option<IgnoredAny>,
    #[serde(rename = "fsLayers")]
    fs_layers: Option<IgnoredAny>,
}

/// The media type of a `Content-Type` value, without parameters; `None` for the generic types
/// some registries and files serve manifests as.
fn content_type_essence(content_type: &str) -> Option<String> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "application/octet-stream" | "text/plain" => None,
        _ => Some(essence),
    }
}

/// The media types we read, as `'static` strings.
fn known_type(mt: &str) -> Option<&'static str> {
    [
        media_type::OCI_MANIFEST,
        media_type::DOCKER_MANIFEST,
        media_type::OCI_INDEX,
        media_type::DOCKER_MANIFEST_LIST,
    ]
    .into_iter()
    .find(|k| *k == mt)
}

fn unsupported(mt: &str) -> ManifestError {
    ManifestError::Unsupported {
        media_type: mt.to_string(),
        hint: if media_type::is_schema1(mt) {
            " (Docker schema 1 is deprecated; push the image again with a current client)"
        } else {
            ""
        },
    }
}

/// Parses a manifest or index. Its type comes from the document's `mediaType`, else from the
/// `Content-Type` it was served with, else from its shape. Schema 1 and unknown types are
/// refused, as are documents whose fields contradict their type.
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed> {
    if bytes.len() > MAX_MANIFEST_SIZE {
        return Err(ManifestError::TooLarge { size: bytes.len() });
    }
    let json = |source| ManifestError::Json {
        what: "manifest",
        source,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(json)?;
    let declared = probe.media_type.as_deref().filter(|m| !m.is_empty());
    let served = content_type.and_then(content_type_essence);
    let mt: &str = match (declared, served.as_deref()) {
        (Some(d), Some(s)) if known_type(d).is_some() && known_type(s).is_some() && d != s => {
            return Err(ManifestError::MediaTypeMismatch {
                declared: d.to_string(),
                content_type: s.to_string(),
            })
        }
        (Some(d), _) => d,
        (None, Some(s)) => s,
        (None, None)
            if probe.schema_version.as_ref().and_then(Value::as_u64) == Some(1)
                || probe.fs_layers.is_some() =>
        {
            media_type::DOCKER_SCHEMA1_MANIFEST
        }
        (None, None) if probe.manifests.is_some() => media_type::OCI_INDEX,
        (None, None) if probe.config.is_some() => media_type::OCI_MANIFEST,
        (None, None) => return Err(ManifestError::UnknownType),
    };
    let mt = known_type(mt).ok_or_else(|| unsupported(mt))?;
    match &probe.schema_version {
        Some(v) if v.as_u64() == Some(2) => {}
        Some(v) => {
            return Err(ManifestError::SchemaVersion {
                found: v.to_string(),
            })
        }
        None => {
            return Err(ManifestError::SchemaVersion {
                found: "(missing)".to_string(),
            })
        }
    }
    let ambiguous = |field| ManifestError::Ambiguous {
        media_type: mt.to_string(),
        field,
    };
    if media_type::is_manifest(mt) {
        if probe.manifests.is_some() {
            return Err(ambiguous("manifests"));
        }
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(json)?;
        Ok(Parsed::Manifest {
            media_type: mt,
            manifest,
        })
    } else {
        if probe.config.is_some() {
            return Err(ambiguous("config"));
        }
        if probe.layers.is_some() {
            return Err(ambiguous("layers"));
        }
        let index: Index = serde_json::from_slice(bytes).map_err(json)?;
        Ok(Parsed::Index {
            media_type: mt,
            index,
        })
    }
}

/// The manifest of `index` for `wanted`: an exact match first, else the closest older variant
/// of the same architecture; the first in index order among equals. Entries without a platform
/// are taken only if no entry names one. Nested indexes are not descended into.
pub fn select_platform<'a>(index: &'a Index, wanted: &Platform) -> Result<&'a Descriptor> {
    let images = || {
        index
            .manifests
            .iter()
            .filter(|d| media_type::is_manifest(&d.media_type))
    };
    let best = images()
        .filter_map(|d| {
            let p = d.platform.as_ref()?;
            Some((p.match_rank(wanted)?, d))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, d)| d);
    if let Some(d) = best {
        return Ok(d);
    }
    if images().all(|d| d.platform.is_none()) {
        if let Some(d) = images().next() {
            return Ok(d);
        }
    }
    let mut available: Vec<String> = images()
        .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
        .collect();
    available.dedup();
    Err(ManifestError::NoMatchingPlatform {
        wanted: wanted.to_string(),
        available,
    })
}

/// The image config JSON (config.md, plus Docker's fields). Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// RFC 3339, kept as written: reformatting it would change the config's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub history: Vec<History>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The execution parameters (`config` in the image config), with Docker's field names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `"80/tcp": {}`; the values are empty objects, kept as they came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// `None` (absent or null) and `Some([])` differ to Docker: the latter clears the base
    /// image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's HEALTHCHECK. Durations are nanoseconds (Go's time.Duration).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The layers' DiffIDs (digests of the uncompressed tars), bottom first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub diff_ids: Vec<Digest>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ImageConfig {
    /// Parses an image config blob; `rootfs.type` must be `layers`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let config: ImageConfig =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
                what: "image config",
                source,
            })?;
        if config.rootfs.kind != "layers" {
            return Err(ManifestError::RootfsType {
                found: config.rootfs.kind,
            });
        }
        Ok(config)
    }

    /// The platform the image was built for.
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone().unwrap_or_default(),
            variant: self.variant.clone(),
        }
    }

    /// ChainIDs of the layers: the keys of their snapshots.
    pub fn chain_ids(&self) -> Vec<Digest> {
        chain_ids(&self.rootfs.diff_ids)
    }
}

/// Canonical JSON for what we produce: object keys sorted bytewise at every level, no
/// insignificant whitespace. Keys are sorted here rather than trusting map order, so the
/// output does not depend on serde_json's `preserve_order` feature being off.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let err = |source| ManifestError::Json {
        what: "canonical",
        source,
    };
    let value = serde_json::to_value(value).map_err(err)?;
    let mut out = Vec::new();
    write_canonical(&value, &mut out).map_err(err)?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k)?;
                out.push(b':');
                write_canonical(v, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

/// ChainIDs per the image spec: ChainID(L0) = DiffID(L0),
/// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => {
                let mut d = Digester::new(Algorithm::Sha256);
                d.update(format!("{parent} {diff_id}").as_bytes());
                d.finish()
            }
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> Digest {
        Digest::sha256_of(s.as_bytes())
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).expect("json")
    }

    fn desc_json(mt: &str, name: &str, size: i64) -> Value {
        json!({"mediaType": mt, "digest": d(name).to_string(), "size": size})
    }

    fn oci_manifest() -> Value {
        json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": desc_json(media_type::OCI_CONFIG, "config", 7),
            "layers": [desc_json(media_type::OCI_LAYER_GZIP, "l1", 100),
                       desc_json(media_type::OCI_LAYER_ZSTD, "l2", 200)],
            "annotations": {"org.opencontainers.image.ref.name": "v1"}
        })
    }

    fn platform_entry(name: &str, os: &str, arch: &str, variant: Option<&str>) -> Value {
        let mut e = desc_json(media_type::OCI_MANIFEST, name, 10);
        let mut p = json!({"os": os, "architecture": arch});
        if let Some(v) = variant {
            p["variant"] = json!(v);
        }
        e["platform"] = p;
        e
    }

    fn index(entries: Vec<Value>) -> Index {
        let v =
            json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": entries});
        match parse_manifest(&bytes(&v), None).expect("index") {
            Parsed::Index { index, .. } => index,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_oci_manifest() {
        let p = parse_manifest(&bytes(&oci_manifest()), None).expect("parse");
        assert_eq!(p.media_type(), media_type::OCI_MANIFEST);
        let Parsed::Manifest { manifest, .. } = p else {
            panic!("not a manifest")
        };
        assert_eq!(manifest.schema_version, 2);
        assert_eq!(manifest.config.digest, d("config"));
        assert_eq!(manifest.config.size, 7);
        assert_eq!(manifest.layers.len(), 2);
        assert_eq!(manifest.layers[1].media_type, media_type::OCI_LAYER_ZSTD);
        assert_eq!(
            manifest
                .annotations
                .get("org.opencontainers.image.ref.name"),
            Some(&"v1".to_string())
        );
    }

    #[test]
    fn parses_docker_schema2_and_manifest_list() {
        let m = json!({
            "schemaVersion": 2,
            "mediaType": media_type::DOCKER_MANIFEST,
            "config": desc_json(media_type::DOCKER_CONFIG, "c", 1469),
            "layers": [desc_json(media_type::DOCKER_LAYER_GZIP, "l", 2_000_000),
                       {"mediaType": media_type::DOCKER_FOREIGN_LAYER_GZIP, "digest": d("f").to_string(),
                        "size": 5, "urls": ["https://example.com/layer"]}]
        });
        let p = parse_manifest(&bytes(&m), Some(media_type::DOCKER_MANIFEST)).expect("schema2");
        assert_eq!(p.media_type(), media_type::DOCKER_MANIFEST);
        let Parsed::Manifest { manifest, .. } = p else {
            panic!()
        };
        assert_eq!(manifest.layers[1].urls, vec!["https://example.com/layer"]);

        let mut e = desc_json(media_type::DOCKER_MANIFEST, "m", 528);
        e["platform"] = json!({"architecture": "arm", "os": "linux", "variant": "v7",
                               "os.features": null, "os.version": "10.0"});
        let list = json!({"schemaVersion": 2, "mediaType": media_type::DOCKER_MANIFEST_LIST,
                          "manifests": [e]});
        let p = parse_manifest(&bytes(&list), None).expect("list");
        assert_eq!(p.media_type(), media_type::DOCKER_MANIFEST_LIST);
        let Parsed::Index { index, .. } = p else {
            panic!()
        };
        let plat = index.manifests[0].platform.as_ref().expect("platform");
        assert_eq!(plat.os_version.as_deref(), Some("10.0"));
        assert_eq!(plat.to_string(), "linux/arm/v7");
    }

    #[test]
    fn type_from_content_type_or_shape() {
        let mut m = oci_manifest();
        m.as_object_mut().expect("obj").remove("mediaType");
        let b = bytes(&m);
        for ct in [
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            Some("application/json"),
            None,
        ] {
            assert_eq!(
                parse_manifest(&b, ct).expect("parse").media_type(),
                media_type::OCI_MANIFEST,
                "{ct:?}"
            );
        }
        let idx = json!({"schemaVersion": 2, "manifests": []});
        assert_eq!(
            parse_manifest(&bytes(&idx), None)
                .expect("idx")
                .media_type(),
            media_type::OCI_INDEX
        );
        // The served type says index but the document is a manifest: refused, not guessed.
        let err = parse_manifest(&b, Some(media_type::OCI_INDEX)).expect_err("ambiguous");
        assert!(
            matches!(
                err,
                ManifestError::Ambiguous {
                    field: "config",
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_manifest(&bytes(&oci_manifest()), Some(media_type::DOCKER_MANIFEST))
            .expect_err("mismatch");
        assert!(
            matches!(err, ManifestError::MediaTypeMismatch { .. }),
            "{err}"
        );
        let err = parse_manifest(b"{\"schemaVersion\": 2}", None).expect_err("unknown");
        assert!(matches!(err, ManifestError::UnknownType), "{err}");
    }

    #[test]
    fn refuses_schema1_and_unknown_types() {
        let s1 = json!({"schemaVersion": 1, "name": "x", "tag": "latest", "fsLayers": []});
        for ct in [
            None,
            Some(media_type::DOCKER_SCHEMA1_MANIFEST),
            Some(media_type::DOCKER_SCHEMA1_SIGNED_MANIFEST),
        ] {
            let err = parse_manifest(&bytes(&s1), ct).expect_err("schema1");
            let msg = err.to_string();
            assert!(
                msg.starts_with(
                    "unsupported manifest type application/vnd.docker.distribution.manifest.v1+"
                ),
                "{msg}"
            );
            assert!(msg.contains("schema 1"), "{msg}");
        }
        let mut m = oci_manifest();
        m["mediaType"] = json!("application/vnd.example.thing+json");
        let err = parse_manifest(&bytes(&m), None).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unsupported manifest type application/vnd.example.thing+json"
        );
        let err = parse_manifest(&bytes(&oci_manifest()), Some("application/vnd.example.x"));
        assert!(
            err.is_ok(),
            "a declared type wins over an unknown served one"
        );
    }

    #[test]
    fn validates_fields() {
        let mut m = oci_manifest();
        m["schemaVersion"] = json!(3);
        let err = parse_manifest(&bytes(&m), None).expect_err("v3");
        assert_eq!(
            err.to_string(),
            "unsupported manifest schemaVersion 3 (expected 2)"
        );
        m.as_object_mut().expect("obj").remove("schemaVersion");
        assert!(matches!(
            parse_manifest(&bytes(&m), None),
            Err(ManifestError::SchemaVersion { .. })
        ));

        let mut m = oci_manifest();
        m["layers"][0]["size"] = json!(-1);
        let err = parse_manifest(&bytes(&m), None).expect_err("negative");
        assert!(err.to_string().contains("negative size -1"), "{err}");

        let mut m = oci_manifest();
        m["config"]["digest"] = json!("sha256:1234");
        let err = parse_manifest(&bytes(&m), None).expect_err("digest");
        assert!(err.to_string().contains("sha256:1234"), "{err}");

        let mut m = oci_manifest();
        m["manifests"] = json!([]);
        assert!(matches!(
            parse_manifest(&bytes(&m), None),
            Err(ManifestError::Ambiguous {
                field: "manifests",
                ..
            })
        ));

        let mut idx =
            json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": []});
        idx["layers"] = json!([]);
        assert!(matches!(
            parse_manifest(&bytes(&idx), None),
            Err(ManifestError::Ambiguous {
                field: "layers",
                ..
            })
        ));

        assert!(matches!(
            parse_manifest(b"not json", None),
            Err(ManifestError::Json { .. })
        ));
        let big = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert!(matches!(
            parse_manifest(&big, None),
            Err(ManifestError::TooLarge { .. })
        ));
    }

    #[test]
    fn platform_parse_and_normalise() {
        let p = Platform::parse("linux/arm64/v8").expect("parse");
        assert_eq!((p.os.as_str(), p.architecture.as_str()), ("linux", "arm64"));
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(
            Platform::parse("Linux/AMD64").expect("p").to_string(),
            "linux/amd64"
        );
        assert_eq!(Platform::parse("arm64").expect("p").os, "linux");
        assert_eq!(
            Platform::parse("linux").expect("p").architecture,
            Platform::host().architecture
        );
        for bad in ["", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(
                matches!(
                    Platform::parse(bad),
                    Err(ManifestError::InvalidPlatform { .. })
                ),
                "{bad}"
            );
        }
        let n = |s: &str| Platform::parse(s).expect(s).normalized().to_string();
        assert_eq!(n("linux/x86_64"), "linux/amd64");
        assert_eq!(n("linux/amd64/v1"), "linux/amd64");
        assert_eq!(n("linux/aarch64"), "linux/arm64/v8");
        assert_eq!(n("linux/arm64/8"), "linux/arm64/v8");
        assert_eq!(n("linux/arm"), "linux/arm/v7");
        assert_eq!(n("linux/armhf"), "linux/arm/v7");
        assert_eq!(n("linux/armel"), "linux/arm/v6");
        assert_eq!(n("linux/arm/6"), "linux/arm/v6");
        assert_eq!(n("linux/i386"), "linux/386");
        assert_eq!(n("linux/riscv64"), "linux/riscv64");
        assert_eq!(Platform::host().to_string(), "linux/amd64", "this machine");
    }

    #[test]
    fn platform_matching() {
        let p = |s: &str| Platform::parse(s).expect(s);
        assert!(p("linux/arm64").matches(&p("linux/aarch64/v8")));
        assert!(p("linux/x86_64").matches(&p("linux/amd64")));
        assert!(p("linux/arm").matches(&p("linux/arm/v7")));
        assert_eq!(p("linux/arm/v6").match_rank(&p("linux/arm/v7")), Some(1));
        assert!(!p("linux/arm/v7").matches(&p("linux/arm/v6")));
        assert!(!p("linux/amd64").matches(&p("linux/arm64")));
        assert!(!p("windows/amd64").matches(&p("linux/amd64")));
        assert!(!p("linux/amd64/v3").matches(&p("linux/amd64")));
        assert_eq!(p("linux/amd64").match_rank(&p("linux/amd64/v3")), Some(2));
    }

    #[test]
    fn select_platform_picks_and_explains() {
        let idx = index(vec![
            platform_entry("amd", "linux", "amd64", None),
            platform_entry("v6", "linux", "arm", Some("v6")),
            platform_entry("v7", "linux", "arm", Some("v7")),
            platform_entry("arm64", "linux", "arm64", Some("v8")),
            platform_entry("att", "unknown", "unknown", None),
        ]);
        let pick = |s: &str| {
            select_platform(&idx, &Platform::parse(s).expect(s))
                .expect(s)
                .digest
                .clone()
        };
        assert_eq!(pick("linux/amd64"), d("amd"));
        assert_eq!(pick("linux/x86_64"), d("amd"));
        assert_eq!(pick("linux/aarch64"), d("arm64"));
        assert_eq!(pick("linux/arm"), d("v7"));
        assert_eq!(pick("linux/arm/v6"), d("v6"));
        assert_eq!(
            select_platform(&idx, &Platform::host())
                .expect("host")
                .digest,
            d("amd")
        );
        let err =
            select_platform(&idx, &Platform::parse("linux/s390x").expect("p")).expect_err("none");
        assert_eq!(
            err.to_string(),
            "no manifest for platform linux/s390x in the index; available: linux/amd64, \
             linux/arm/v6, linux/arm/v7, linux/arm64/v8, unknown/unknown"
        );
        let only_v6 = index(vec![platform_entry("v6", "linux", "arm", Some("v6"))]);
        assert_eq!(
            select_platform(&only_v6, &Platform::parse("linux/arm/v7").expect("p"))
                .expect("older variant")
                .digest,
            d("v6")
        );
        let bare = index(vec![desc_json(media_type::OCI_MANIFEST, "bare", 1)]);
        assert_eq!(
            select_platform(&bare, &Platform::host())
                .expect("bare")
                .digest,
            d("bare")
        );
        let empty = index(vec![]);
        assert!(select_platform(&empty, &Platform::host())
            .expect_err("empty")
            .to_string()
            .ends_with("available: none"));
    }

    const DOCKER_CONFIG: &str = r##"{
        "architecture": "amd64",
        "config": {
            "Hostname": "",
            "User": "nobody",
            "AttachStdin": false,
            "ExposedPorts": {"80/tcp": {}},
            "Env": ["PATH=/usr/local/sbin:/usr/bin"],
            "Cmd": ["sh"],
            "Entrypoint": null,
            "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000,
                            "Timeout": 5000000000, "StartPeriod": 1000000000,
                            "StartInterval": 500000000, "Retries": 3, "Future": 1},
            "OnBuild": ["RUN echo hi"],
            "Shell": ["/bin/bash", "-c"],
            "ArgsEscaped": true,
            "Volumes": {"/data": {}},
            "WorkingDir": "/srv",
            "Labels": {"a": "b"},
            "StopSignal": "SIGQUIT",
            "StopTimeout": 20
        },
        "container": "3f8c",
        "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
        "created": "2024-09-26T21:31:42.123456789Z",
        "docker_version": "23.0.11",
        "history": [
            {"created": "2024-09-26T21:31:42Z", "created_by": "ADD file:abc in / "},
            {"created": "2024-09-26T21:31:42Z", "created_by": "CMD [\"sh\"]", "empty_layer": true,
             "x-extra": [1, 2]}
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},
        "variant": "v1"
    }"##;

    #[test]
    fn image_config_keeps_docker_fields_and_unknowns() {
        let c = ImageConfig::from_slice(DOCKER_CONFIG.as_bytes()).expect("config");
        let cc = c.config.as_ref().expect("config.config");
        assert_eq!(cc.user.as_deref(), Some("nobody"));
        assert_eq!(cc.entrypoint, None);
        assert_eq!(
            cc.shell.as_deref(),
            Some(&["/bin/bash".to_string(), "-c".to_string()][..])
        );
        assert_eq!(cc.on_build.as_ref().map(Vec::len), Some(1));
        let hc = cc.healthcheck.as_ref().expect("healthcheck");
        assert_eq!(hc.interval, Some(30_000_000_000));
        assert_eq!(hc.start_interval, Some(500_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(cc.stop_timeout, Some(20));
        assert_eq!(cc.args_escaped, Some(true));
        assert!(cc.extra.contains_key("Hostname") && cc.extra.contains_key("AttachStdin"));
        assert_eq!(c.extra.get("docker_version"), Some(&json!("23.0.11")));
        assert_eq!(c.history[1].empty_layer, Some(true));
        assert_eq!(c.created.as_deref(), Some("2024-09-26T21:31:42.123456789Z"));
        assert_eq!(c.platform().to_string(), "linux/amd64/v1");

        // Round trip: everything except the null Entrypoint survives.
        let out = canonical_json(&c).expect("canonical");
        let mut want: Value = serde_json::from_str(DOCKER_CONFIG).expect("json");
        want["config"]
            .as_object_mut()
            .expect("obj")
            .remove("Entrypoint");
        let got: Value = serde_json::from_slice(&out).expect("reparse");
        assert_eq!(got, want);
        assert_eq!(ImageConfig::from_slice(&out).expect("again"), c);
    }

    #[test]
    fn image_config_validation() {
        let err = ImageConfig::from_slice(br#"{"rootfs": {"type": "tarballs", "diff_ids": []}}"#)
            .expect_err("rootfs type");
        assert!(err.to_string().contains("tarballs"), "{err}");
        let err = ImageConfig::from_slice(br#"{"os": "linux"}"#).expect_err("no rootfs");
        assert!(err.to_string().contains("rootfs"), "{err}");
        let err =
            ImageConfig::from_slice(br#"{"rootfs": {"type": "layers", "diff_ids": ["sha256:0"]}}"#)
                .expect_err("digest");
        assert!(err.to_string().contains("image config"), "{err}");
    }

    #[test]
    fn canonical_json_sorts_and_compacts() {
        let v =
            json!({"b": 1, "a": {"z": [3, {"y": null, "x": "\u{e9}\"<"}], "m": true}, "A": 1.5});
        let out = canonical_json(&v).expect("canonical");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            r#"{"A":1.5,"a":{"m":true,"z":[3,{"x":"é\"<","y":null}]},"b":1}"#
        );
        let m: Manifest = serde_json::from_value(oci_manifest()).expect("manifest");
        let a = canonical_json(&m).expect("a");
        assert_eq!(a, canonical_json(&m.clone()).expect("b"), "stable");
        let back = parse_manifest(&a, None).expect("reparse");
        assert_eq!(
            back,
            Parsed::Manifest {
                media_type: media_type::OCI_MANIFEST,
                manifest: m
            }
        );
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        assert!(chain_ids(&[]).is_empty());
        let (a, b, c) = (d("a"), d("b"), d("c"));
        let ids = chain_ids(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(ids[0], a);
        let ab = Digest::sha256_of(format!("{a} {b}").as_bytes());
        assert_eq!(ids[1], ab);
        assert_eq!(ids[2], Digest::sha256_of(format!("{ab} {c}").as_bytes()));
        // A known vector: two empty-tar layers.
        let e = Digest::parse(
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .expect("digest");
        let two = chain_ids(&[e.clone(), e.clone()]);
        assert_eq!(
            two[1],
            Digest::sha256_of(
                b"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 \
                  sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            )
        );
    }
}
