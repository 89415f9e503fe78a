//! `docker import` (a rootfs tarball becomes a one-layer image) and `docker export` of an
//! image's flattened filesystem.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::SystemTime;

use serde_json::Value;

use super::archive::decompressed;
use super::history::rfc3339;
use super::{
    record_labels, snap_err, summary, unique_ingest_ref, ImageError, ImageService, ImageSummary,
    Result, UNTAGGED_PREFIX,
};
use crate::digest::Digest;
use crate::manifest::{
    canonical_json, media_type, ContainerConfig, Descriptor, History, ImageConfig, Manifest,
    Platform, RootFs,
};
use crate::meta::LeaseResource;
use crate::reference::Reference;
use crate::snapshot;
use crate::store::StoreError;

/// What `docker import` takes besides the tarball.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The name to give the image; untagged (`<none>`) without one.
    pub reference: Option<Reference>,
    /// The history comment (Docker's `--message`); "Imported from -" without one.
    pub message: Option<String>,
    /// Dockerfile instructions applied to the config (`--change 'CMD ["/bin/sh"]'`).
    pub changes: Vec<String>,
    /// The platform the config declares; the host's without one.
    pub platform: Option<Platform>,
}

fn import_err(reason: impl Into<String>) -> ImageError {
    ImageError::Import {
        reason: reason.into(),
    }
}

/// Applies one `--change` instruction to `config`. The instructions `docker import`
/// accepts: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
/// VOLUME, WORKDIR.
pub fn parse_change(change: &str, config: &mut ContainerConfig) -> Result<()> {
    let change = change.trim();
    let (instr, rest) = change
        .split_once(char::is_whitespace)
        .map(|(i, r)| (i, r.trim()))
        .unwrap_or((change, ""));
    let bad = |why: &str| import_err(format!("--change {change:?}: {why}"));
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => config.cmd = Some(command_form(rest).ok_or_else(|| bad("empty command"))?),
        "ENTRYPOINT" => {
            config.entrypoint = Some(command_form(rest).ok_or_else(|| bad("empty entrypoint"))?)
        }
        "ENV" => {
            let pairs = key_values(rest, true).map_err(|e| bad(&e))?;
            let env = config.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != k);
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let pairs = key_values(rest, false).map_err(|e| bad(&e))?;
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(pairs);
        }
        "EXPOSE" => {
            if rest.is_empty() {
                return Err(bad("no port"));
            }
            let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                let ok_num = num
                    .split('-')
                    .all(|n| n.parse::<u16>().is_ok_and(|n| n > 0));
                if !ok_num || !matches!(proto, "tcp" | "udp" | "sctp") {
                    return Err(bad(&format!("invalid port {p:?}")));
                }
                ports.insert(format!("{num}/{proto}"), Value::Object(Default::default()));
            }
        }
        "VOLUME" => {
            let paths = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest)
                    .map_err(|e| bad(&format!("not a JSON array of strings: {e}")))?
            } else {
                rest.split_whitespace().map(str::to_string).collect()
            };
            if paths.is_empty() {
                return Err(bad("no path"));
            }
            let vols = config.volumes.get_or_insert_with(BTreeMap::new);
            for p in paths {
                vols.insert(p, Value::Object(Default::default()));
            }
        }
        "USER" if !rest.is_empty() => config.user = Some(rest.to_string()),
        "WORKDIR" if !rest.is_empty() => {
            // Relative WORKDIRs are relative to the previous one, as in a Dockerfile.
            let base = config.working_dir.clone().unwrap_or_else(|| "/".into());
            config.working_dir = Some(if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("{}/{rest}", base.trim_end_matches('/'))
            });
        }
        "HEALTHCHECK" => {
            config.healthcheck =
                Some(super::healthcheck::parse_healthcheck(rest).map_err(|e| bad(&e))?)
        }
        "STOPSIGNAL" if !rest.is_empty() => config.stop_signal = Some(rest.to_string()),
        "ONBUILD" if !rest.is_empty() => config
            .on_build
            .get_or_insert_with(Vec::new)
            .push(rest.to_string()),
        "USER" | "WORKDIR" | "STOPSIGNAL" | "ONBUILD" => return Err(bad("missing argument")),
        other => {
            return Err(bad(&format!(
                "{other} is not an instruction import can apply (CMD, ENTRYPOINT, ENV, EXPOSE, \
                 HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)"
            )))
        }
    }
    Ok(())
}

/// Exec form (`["a", "b"]`) or shell form (`a b` → `/bin/sh -c "a b"`).
fn command_form(rest: &str) -> Option<Vec<String>> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return Some(v);
        }
    }
    (!rest.is_empty()).then(|| vec!["/bin/sh".into(), "-c".into(), rest.to_string()])
}

/// `k=v k2="v 2"`, or with `legacy` also the old `ENV key value with spaces` form.
fn key_values(rest: &str, legacy: bool) -> std::result::Result<Vec<(String, String)>, String> {
    let words = shell_words(rest)?;
    if words.is_empty() {
        return Err("no key=value".into());
    }
    if !words[0].contains('=') {
        if legacy {
            let (k, v) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{rest:?} has no value"))?;
            return Ok(vec![(k.to_string(), v.trim().to_string())]);
        }
        return Err(format!("{:?} is not key=value", words[0]));
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{w:?} is not key=value")),
        })
        .collect()
}

/// Splits on whitespace, honouring double and single quotes and backslash escapes.
fn shell_words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

impl ImageService {
    /// `docker import`: stores the tarball `input` (plain, gzip or zstd) as the single,
    /// uncompressed layer of a new image, unpacks it and names it. The layer must be a
    /// valid tar: unpacking it checks every entry as for a pulled layer.
    pub fn import(&self, input: &mut dyn Read, opts: &ImportOptions) -> Result<ImageSummary> {
        let mut config = ContainerConfig::default();
        for c in &opts.changes {
            parse_change(c, &mut config)?;
        }
        let lease = self.new_lease("import")?;
        let result = self.import_leased(&lease, input, opts, config);
        let _ = self.meta.delete_lease(&lease);
        result
    }

    fn import_leased(
        &self,
        lease: &str,
        input: &mut dyn Read,
        opts: &ImportOptions,
        container_config: ContainerConfig,
    ) -> Result<ImageSummary> {
        let mut data = decompressed(input).map_err(|e| import_err(e.to_string()))?;
        let reference = unique_ingest_ref("import", &Digest::sha256_of(lease.as_bytes()));
        let mut writer = self.store.writer(&reference, None)?;
        if let Err(e) = std::io::copy(&mut data, &mut writer) {
            drop(writer);
            let _ = self.store.abort(&reference);
            return Err(import_err(format!("reading the tarball: {e}")));
        }
        let layer_size = writer.offset();
        let diff_id = writer.commit()?;
        self.meta
            .add_lease_resource(lease, LeaseResource::Content(diff_id.clone()))?;
        if layer_size == 0 {
            return Err(import_err("the tarball is empty"));
        }
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        let now = rfc3339(SystemTime::now());
        let config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            os_version: platform.os_version.clone(),
            os_features: None,
            variant: platform.variant.clone(),
            created: Some(now.clone()),
            author: None,
            config: Some(container_config),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![diff_id.clone()],
                extra: BTreeMap::new(),
            },
            history: vec![History {
                created: Some(now),
                created_by: None,
                author: None,
                comment: Some(
                    opts.message
                        .clone()
                        .unwrap_or_else(|| "Imported from -".into()),
                ),
                empty_layer: None,
                extra: BTreeMap::new(),
            }],
            // Docker's image JSON also carries the message at the top (inspect's Comment).
            extra: opts
                .message
                .iter()
                .map(|m| ("comment".to_string(), Value::String(m.clone())))
                .collect(),
        };
        let layers = vec![Descriptor::new(media_type::OCI_LAYER, diff_id, layer_size)];
        let what = opts
            .reference
            .as_ref()
            .map_or_else(|| "import".to_string(), Reference::to_string);
        self.store_image(lease, &what, config, layers, opts.reference.as_ref())
    }

    /// Stores a new image made here (import, commit): its config and an OCI manifest over
    /// `layers` (whose blobs are in the store, under `lease`), unpacks the layers, and names
    /// it `reference`, or leaves it untagged.
    pub(super) fn store_image(
        &self,
        lease: &str,
        what: &str,
        config: ImageConfig,
        layers: Vec<Descriptor>,
        reference: Option<&Reference>,
    ) -> Result<ImageSummary> {
        let record = match reference {
            Some(r) => RecordName::Reference(r),
            None => RecordName::Untagged,
        };
        self.store_image_as(lease, what, config, layers, record)
    }

    /// [`store_image`](Self::store_image) under the record `record`.
    pub(super) fn store_image_as(
        &self,
        lease: &str,
        what: &str,
        config: ImageConfig,
        layers: Vec<Descriptor>,
        record: RecordName<'_>,
    ) -> Result<ImageSummary> {
        let doc_err = |digest: Digest, source| ImageError::Document {
            reference: what.to_string(),
            digest,
            source,
        };
        let config_bytes =
            canonical_json(&config).map_err(|e| doc_err(Digest::sha256_of(what.as_bytes()), e))?;
        let config_digest = Digest::sha256_of(&config_bytes);
        self.put_blob(lease, &config_digest, &config_bytes)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(
                media_type::OCI_CONFIG,
                config_digest.clone(),
                config_bytes.len() as u64,
            ),
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        };
        let manifest_bytes =
            canonical_json(&manifest).map_err(|e| doc_err(config_digest.clone(), e))?;
        let manifest_digest = Digest::sha256_of(&manifest_bytes);
        self.put_blob(lease, &manifest_digest, &manifest_bytes)?;
        self.unpack_all(lease, what, &manifest.layers, &config, &mut |_| {})?;
        let target = Descriptor::new(
            media_type::OCI_MANIFEST,
            manifest_digest.clone(),
            manifest_bytes.len() as u64,
        );
        let labels = record_labels(&manifest_digest, &config_digest);
        let name = match record {
            RecordName::Cache(key) => format!("{}{key}", super::BUILD_CACHE_PREFIX),
            RecordName::Reference(r) => r.to_string(),
            RecordName::Untagged => format!("{UNTAGGED_PREFIX}{config_digest}"),
        };
        let stored = self.meta.put_image(&name, target, labels)?;
        Ok(summary(
            &super::Resolved {
                manifest_digest,
                manifest,
                config_digest,
                config,
            },
            &[stored],
        ))
    }

    /// The flattened filesystem of an image as a tar (what `docker export` gives for a
    /// fresh container of it): its layers are mounted read-only through a temporary view
    /// and the merged tree is archived.
    pub fn export_image(&self, name: &str, out: &mut dyn Write) -> Result<()> {
        let groups = self.groups()?;
        let id = self.find_id(name, &groups)?;
        let Some((resolved, _)) = groups.get(&id) else {
            return Err(ImageError::NotFound {
                name: name.to_string(),
            });
        };
        let lease = self.new_lease("export")?;
        let result = (|| {
            // Layers a load or pull left packed (or GC'd snapshots) are unpacked first.
            let chain = self.unpack_all(
                &lease,
                name,
                &resolved.manifest.layers,
                &resolved.config,
                &mut |_| {},
            )?;
            let key = format!("export-{lease}");
            let parent = chain.last().map(Digest::to_string);
            let mounts = self
                .snapshotter
                .view(&key, parent.as_deref())
                .map_err(snap_err(&key))?;
            let dir = self.root.join("tmp").join(&key);
            let mounted = std::fs::create_dir_all(&dir)
                .map_err(|source| ImageError::Root {
                    path: dir.clone(),
                    source,
                })
                .and_then(|()| snapshot::mount_at(&mounts, &dir).map_err(snap_err(&key)));
            let written = mounted.and_then(|()| {
                let r = super::tree::write_tree_tar(&dir, out).map_err(|source| {
                    StoreError::Blob {
                        digest: id.clone(),
                        source,
                    }
                    .into()
                });
                for _ in &mounts {
                    let _ = snapshot::unmount(&dir);
                }
                r
            });
            let _ = std::fs::remove_dir(&dir);
            let _ = self.snapshotter.remove(&key);
            written
        })();
        let _ = self.meta.delete_lease(&lease);
        result
    }
}

/// The name an image made here is recorded under.
pub(super) enum RecordName<'a> {
    Reference(&'a Reference),
    /// `<none>`: a dangling image.
    Untagged,
    /// A build step's result, by its cache key.
    Cache(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig> {
        let mut c = ContainerConfig::default();
        for ch in changes {
            parse_change(ch, &mut c)?;
        }
        Ok(c)
    }

    #[test]
    fn changes_apply_like_docker_import() {
        let c = apply(&[
            r#"CMD ["/bin/sh", "-c", "echo hi"]"#,
            "ENTRYPOINT /init --flag",
            "ENV A=1 B=\"two words\"",
            "ENV LEGACY some value",
            "ENV A=3",
            "LABEL org.x=y z='w w'",
            "EXPOSE 80 53/udp",
            "VOLUME /data /logs",
            "USER nobody:nogroup",
            "WORKDIR /srv",
            "WORKDIR app",
            "STOPSIGNAL SIGINT",
        ])
        .expect("valid changes");
        assert_eq!(
            c.cmd,
            Some(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            c.entrypoint,
            Some(vec!["/bin/sh".into(), "-c".into(), "/init --flag".into()])
        );
        assert_eq!(
            c.env,
            Some(vec![
                "B=two words".into(),
                "LEGACY=some value".into(),
                "A=3".into()
            ])
        );
        let labels = c.labels.expect("labels");
        assert_eq!(labels.get("org.x").map(String::as_str), Some("y"));
        assert_eq!(labels.get("z").map(String::as_str), Some("w w"));
        let ports: Vec<&String> = c.exposed_ports.as_ref().expect("ports").keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert_eq!(c.volumes.expect("volumes").len(), 2);
        assert_eq!(c.user.as_deref(), Some("nobody:nogroup"));
        assert_eq!(c.working_dir.as_deref(), Some("/srv/app"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    }

    #[test]
    fn bad_changes_name_what_is_wrong() {
        for (change, needle) in [
            ("RUN echo", "RUN is not an instruction"),
            ("EXPOSE 99999", "invalid port"),
            ("EXPOSE 80/icmp", "invalid port"),
            ("LABEL novalue", "is not key=value"),
            ("ENV A=\"unterminated", "unterminated quote"),
            ("USER", "missing argument"),
            ("CMD", "empty command"),
            ("VOLUME [not json", "not a JSON array"),
        ] {
            let err = apply(&[change]).expect_err(change).to_string();
            assert!(err.contains(needle), "{change}: {err}");
        }
    }
}
