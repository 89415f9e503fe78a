//! `--use-api-socket` (docker CLI 28.1+), done on the client as docker does it: the
//! daemon's socket bound at /var/run/docker.sock in the container (the socket this CLI talks
//! to, where docker hard-codes /var/run/docker.sock), and, when the user has registry
//! credentials and has not set `DOCKER_CONFIG` for the container, a config.json with just
//! those credentials copied to /run/secrets/docker after create, with `DOCKER_CONFIG`
//! pointing there.

use anyhow::{Context as _, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::Method;
use serde_json::{json, Map, Value};

use super::mount_opt::Mount;
use crate::client::{bytes, encode_path, Client, Query};
use crate::config::ConfigFile;
use crate::Ctx;

const CONFIG_DIR_IN_CONTAINER: &str = "/run/secrets/docker";

/// The credentials to write into the container: docker's config.json with only `auths`,
/// each entry as `auth` (base64 `user:password`) and `identitytoken`.
fn credentials(ctx: &Ctx) -> Result<Option<Vec<u8>>> {
    let file = ConfigFile::load(&ctx.config_dir).context("resolving credentials failed")?;
    let mut auths = Map::new();
    for key in file.auth_keys() {
        let a = file
            .get_auth(&key)
            .context("resolving credentials failed")?;
        let mut entry = Map::new();
        if !a.username.is_empty() || !a.password.is_empty() {
            entry.insert(
                "auth".into(),
                STANDARD
                    .encode(format!("{}:{}", a.username, a.password))
                    .into(),
            );
        }
        if !a.identitytoken.is_empty() {
            entry.insert("identitytoken".into(), a.identitytoken.into());
        }
        if !entry.is_empty() {
            auths.insert(key, Value::Object(entry));
        }
    }
    if auths.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_vec_pretty(&json!({ "auths": auths }))?))
}

/// Adds the socket's bind and, with credentials, `DOCKER_CONFIG` to the create body;
/// returns the config.json to copy in once the container exists.
pub fn prepare(ctx: &Ctx, body: &mut Value) -> Result<Option<Vec<u8>>> {
    let socket = ctx.host.path.display().to_string();
    let mount = serde_json::to_value(Mount::api_socket(&socket))?;
    if let Some(hc) = body.get_mut("HostConfig").and_then(Value::as_object_mut) {
        let mounts = hc.entry("Mounts").or_insert_with(|| json!([]));
        if mounts.is_null() {
            *mounts = json!([]);
        }
        if let Some(list) = mounts.as_array_mut() {
            list.push(mount);
        }
    }
    let env_set = body.get("Env").and_then(Value::as_array).is_some_and(|e| {
        e.iter()
            .filter_map(Value::as_str)
            .any(|v| v.starts_with("DOCKER_CONFIG="))
    });
    if env_set {
        return Ok(None);
    }
    let creds = credentials(ctx)?;
    if creds.is_some() {
        if let Some(obj) = body.as_object_mut() {
            let env = obj.entry("Env").or_insert_with(|| json!([]));
            if env.is_null() {
                *env = json!([]);
            }
            if let Some(list) = env.as_array_mut() {
                list.push(format!("DOCKER_CONFIG={CONFIG_DIR_IN_CONTAINER}").into());
            }
        }
    }
    Ok(creds)
}

/// Copies the config.json into the new container (mode 0600), as docker's
/// `copyDockerConfigIntoContainer`.
pub async fn inject(client: &Client, id: &str, config: &[u8]) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(config.len() as u64);
    h.set_mode(0o600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    h.set_entry_type(tar::EntryType::Regular);
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(
        &mut h,
        format!(
            "{}/config.json",
            CONFIG_DIR_IN_CONTAINER.trim_start_matches('/')
        ),
        config,
    )?;
    let tar = b.into_inner()?;
    let q = Query::new().set("path", "/").render();
    client
        .request(
            Method::PUT,
            &format!("/containers/{}/archive{q}", encode_path(id)),
            &[("content-type", "application/x-tar".to_owned())],
            bytes(tar),
        )
        .await
        .context("injecting docker config.json into container failed")?;
    Ok(())
}
