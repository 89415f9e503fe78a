//! `muelle login [SERVER]`: checks the credentials with the daemon (`POST /auth`), then
//! stores them in config.json as docker does, so both CLIs share them.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{bail, Context, Result};
use hyper::Method;
use serde::Deserialize;

use crate::client::{bytes, read_json};
use crate::config::{AuthConfig, ConfigFile};
use crate::reference::DOCKER_HUB_AUTH_KEY;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Username
    #[arg(short, long, value_name = "string")]
    username: Option<String>,
    /// Password or Personal Access Token
    #[arg(short, long, value_name = "string")]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct AuthReply {
    status: String,
    identity_token: String,
}

/// docker's rule: Docker Hub keeps its historical key, every other registry is stored under
/// its bare `host[:port]`.
pub fn server_key(server: Option<&str>) -> String {
    match server.filter(|s| !s.is_empty()) {
        None => DOCKER_HUB_AUTH_KEY.to_owned(),
        Some(s) if s == DOCKER_HUB_AUTH_KEY || s == "docker.io" || s == "index.docker.io" => {
            DOCKER_HUB_AUTH_KEY.to_owned()
        }
        Some(s) => {
            let s = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"))
                .unwrap_or(s);
            s.split('/').next().unwrap_or(s).to_owned()
        }
    }
}

fn prompt(question: &str) -> Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question}")?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads a line with the terminal's echo off, restoring it afterwards.
fn prompt_hidden(question: &str) -> Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("turning off echo")?;
    let answer = prompt(question);
    let _ = tcsetattr(&stdin, OptionalActions::Now, &saved);
    eprintln!();
    answer
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let server = server_key(a.server.as_deref());
    if a.password.is_some() && a.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    let mut password = a.password.clone();
    if a.password_stdin {
        if a.username.is_none() {
            bail!("Must provide --username with --password-stdin");
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the password from stdin")?;
        password = Some(s.trim_end_matches(['\r', '\n']).to_owned());
    } else if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let mut cfg = ConfigFile::load(&ctx.config_dir)?;
    let client = ctx.client().await?;

    let mut auth = AuthConfig {
        serveraddress: server.clone(),
        ..Default::default()
    };
    let stored = cfg.get_auth(&server)?;
    match (a.username, password) {
        (Some(u), Some(p)) => {
            auth.username = u;
            auth.password = p;
        }
        (None, None)
            if !stored.username.is_empty()
                && (!stored.password.is_empty() || !stored.identitytoken.is_empty()) =>
        {
            crate::out("Authenticating with existing credentials...\n")?;
            auth = stored;
        }
        (user, pass) => {
            if !std::io::stdin().is_terminal() {
                bail!("Cannot perform an interactive login from a non TTY device");
            }
            auth.username = match user {
                Some(u) => u,
                None => {
                    let default = stored.username.clone();
                    let hint = if default.is_empty() {
                        String::new()
                    } else {
                        format!(" ({default})")
                    };
                    let u = prompt(&format!("Username{hint}: "))?;
                    if u.is_empty() {
                        default
                    } else {
                        u
                    }
                }
            };
            if auth.username.is_empty() {
                bail!("Error: Non-null Username Required");
            }
            auth.password = match pass {
                Some(p) => p,
                None => prompt_hidden("Password: ")?,
            };
            if auth.password.is_empty() {
                bail!("Error: Password Required");
            }
        }
    }
    let body = serde_json::to_vec(&auth).context("encoding the credentials")?;
    let res = client
        .request(
            Method::POST,
            "/auth",
            &[("content-type", "application/json".to_owned())],
            bytes(body),
        )
        .await?;
    let reply: AuthReply = read_json(res).await?;
    if !reply.identity_token.is_empty() {
        auth.identitytoken = reply.identity_token;
        auth.password.clear();
    }
    if let Some(helper) = cfg.uses_helper(&server) {
        eprintln!("WARNING! credential helper {helper:?} is configured; muelle stores credentials in config.json instead");
    }
    cfg.set_auth(&server, &auth);
    cfg.save()?;
    eprintln!(
        "WARNING! Your credentials are stored unencrypted in '{}'.",
        cfg.path.display()
    );
    let status = if reply.status.is_empty() {
        "Login Succeeded".to_owned()
    } else {
        reply.status
    };
    crate::out(&format!("{status}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys() {
        assert_eq!(server_key(None), DOCKER_HUB_AUTH_KEY);
        assert_eq!(server_key(Some("docker.io")), DOCKER_HUB_AUTH_KEY);
        assert_eq!(
            server_key(Some("http://127.0.0.1:5000/v2/")),
            "127.0.0.1:5000"
        );
        assert_eq!(server_key(Some("localhost:5000")), "localhost:5000");
    }
}
