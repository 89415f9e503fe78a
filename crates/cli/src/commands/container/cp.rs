//! `muelle cp`: files between a container and the host as tar streams through
//! `/containers/{id}/archive` (GET to read, PUT to write, HEAD to stat), with docker's naming
//! rules: into an existing directory the source keeps its name, otherwise it takes the
//! destination's name. `-` is a tar stream on stdin or stdout.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use muelle_image::{extract_to_dir, ExtractOptions};
use serde::Deserialize;

use crate::client::{bytes, empty, encode_path, ApiError, Client, Query};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// CONTAINER:SRC_PATH or SRC_PATH|-
    #[arg(value_name = "SRC")]
    src: String,
    /// DEST_PATH|- or CONTAINER:DEST_PATH
    #[arg(value_name = "DEST")]
    dest: String,
}

/// docker's `splitCpArg`: `ctr:path`, unless the argument is clearly a local path.
fn split(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PathStat {
    name: String,
    mode: u32,
    #[serde(rename = "linkTarget")]
    link_target: String,
}

impl PathStat {
    fn is_dir(&self) -> bool {
        // Go's os.ModeDir.
        self.mode & (1 << 31) != 0
    }
}

fn stat_header(res: &hyper::Response<hyper::body::Incoming>) -> Option<PathStat> {
    let h = res.headers().get("x-docker-container-path-stat")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(h.as_bytes())
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let (sc, sp) = split(&a.src);
    let (dc, dp) = split(&a.dest);
    match (sc, dc) {
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
        (Some(c), None) => from_container(ctx, c, sp, dp, &a.src, a.follow_link).await,
        (None, Some(c)) => to_container(ctx, sp, c, dp, &a.dest, a.archive, a.follow_link).await,
    }
}

fn cp_not_found(e: anyhow::Error, arg: &str) -> anyhow::Error {
    match e.downcast_ref::<ApiError>() {
        Some(api) if api.status == StatusCode::NOT_FOUND => {
            anyhow!("Error: No such container:path: {arg}")
        }
        _ => e,
    }
}

/// A blocking reader over body chunks sent from the async side (also `build --output`'s).
pub(crate) struct ChanReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    cur: bytes::Bytes,
}

impl ChanReader {
    pub(crate) fn new(rx: std::sync::mpsc::Receiver<bytes::Bytes>) -> Self {
        ChanReader {
            rx,
            cur: bytes::Bytes::new(),
        }
    }
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.cur = b,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Extracts the daemon's archive `r` into the host directory `base`; the archive's
/// top-level name becomes `rename` when given (`.` for its contents). The archive is as
/// untrusted as the container it comes from, so this is the image crate's root-scoped
/// extraction with `base` as the root: an entry cannot leave `base` by `..`, an absolute
/// name, or a symlink that an earlier entry planted (`top/a -> /etc`, then `top/a/x`).
fn extract(r: impl Read, base: &Path, rename: Option<&str>) -> Result<()> {
    let opts = ExtractOptions {
        rename_top: rename.map(str::to_owned),
        // As Docker's client (`archive.CopyTo`).
        no_overwrite_dir_non_dir: true,
        symlinks_out: false,
    };
    extract_to_dir(r, base, &opts)
        .with_context(|| format!("extracting into {}", base.display()))?;
    Ok(())
}

async fn from_container(
    ctx: &Ctx,
    ctr: &str,
    src: &str,
    dest: &str,
    arg: &str,
    follow: bool,
) -> Result<()> {
    let client = ctx.client().await?;
    // `-L`: a symlink's target is copied, under the link's name (docker's `CopyInfoSourcePath`
    // with `followLink`, asked of the daemon).
    let mut link_name = None;
    let mut target = src.to_owned();
    if follow {
        let st = stat(&client, ctr, src)
            .await
            .map_err(|e| cp_not_found(e, arg))?;
        if let Some(st) = st.filter(|s| s.mode & GO_MODE_SYMLINK != 0 && !s.link_target.is_empty())
        {
            let parent = Path::new(src).parent().unwrap_or(Path::new("/"));
            target = parent.join(&st.link_target).to_string_lossy().into_owned();
            link_name = Path::new(src)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
        }
    }
    let src = target.as_str();
    let q = Query::new().set("path", src).render();
    let res = client
        .request(
            Method::GET,
            &format!("/containers/{}/archive{q}", encode_path(ctr)),
            &[],
            empty(),
        )
        .await
        .map_err(|e| cp_not_found(e, arg))?;
    let stat = stat_header(&res).unwrap_or_default();
    if dest == "-" {
        return super::export::body_to(res, None).await;
    }
    let dest_path = PathBuf::from(dest);
    let dest_is_dir = dest_path.is_dir();
    let (base, rename) = if dest_is_dir {
        if src.ends_with("/.") {
            // Contents of the directory, not the directory.
            (dest_path.clone(), Some(".".to_owned()))
        } else {
            (dest_path.clone(), link_name)
        }
    } else {
        if dest_path.exists() && stat.is_dir() {
            bail!("cannot copy a directory to a file: {dest}");
        }
        if dest.ends_with('/') {
            bail!("destination directory {dest} does not exist");
        }
        let name = dest_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| anyhow!("invalid destination {dest}"))?;
        let parent = dest_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (parent, Some(name))
    };
    let _ = stat.name;
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
    let worker = tokio::task::spawn_blocking(move || {
        extract(
            ChanReader {
                rx,
                cur: bytes::Bytes::new(),
            },
            &base,
            rename.as_deref(),
        )
    });
    let mut body = res.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if tx.send(data).is_err() {
                break;
            }
        }
    }
    drop(tx);
    worker.await??;
    Ok(())
}

/// `HEAD /containers/{id}/archive?path=…`: the destination's stat, None if it is missing.
async fn stat(client: &Client, ctr: &str, path: &str) -> Result<Option<PathStat>> {
    let q = Query::new().set("path", path).render();
    match client
        .request(
            Method::HEAD,
            &format!("/containers/{}/archive{q}", encode_path(ctr)),
            &[],
            empty(),
        )
        .await
    {
        Ok(res) => Ok(Some(stat_header(&res).unwrap_or_default())),
        Err(e) => match e.downcast_ref::<ApiError>() {
            Some(api) if api.status == StatusCode::NOT_FOUND => {
                // A missing container is an error; a missing path is a new name.
                let msg = api.message.to_lowercase();
                if msg.contains("no such container") || msg.is_empty() || msg == "not found" {
                    // HEAD answers carry no body: tell the two apart by inspecting.
                    super::calls::inspect(client, ctr).await?;
                }
                Ok(None)
            }
            _ => Err(e),
        },
    }
}

/// Go's `os.ModeSymlink` in a path stat's mode.
const GO_MODE_SYMLINK: u32 = 1 << 27;

/// `follow` (`-L`): a symlink at `src` is archived as what it points to.
fn tar_of(src: &Path, name: &str, follow: bool) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let resolved;
    let src = if follow {
        resolved = src
            .canonicalize()
            .with_context(|| format!("lstat {}", src.display()))?;
        resolved.as_path()
    } else {
        src
    };
    let meta =
        std::fs::symlink_metadata(src).with_context(|| format!("lstat {}", src.display()))?;
    if meta.is_dir() {
        b.append_dir_all(name, src)?;
    } else {
        b.append_path_with_name(src, name)?;
    }
    Ok(b.into_inner()?)
}

async fn to_container(
    ctx: &Ctx,
    src: &str,
    ctr: &str,
    dest: &str,
    arg: &str,
    archive: bool,
    follow: bool,
) -> Result<()> {
    let client = ctx.client().await?;
    let (upload_to, body) = if src == "-" {
        let mut data = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut data).await?;
        (dest.to_owned(), data)
    } else {
        let src_path = Path::new(src);
        // A symlink keeps its own name, followed (`-L`) or not; `.`/`..` take the
        // directory's.
        let given = match src_path.components().next_back() {
            Some(std::path::Component::Normal(n)) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        };
        let src_name = src_path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .map(|canonical| given.unwrap_or(canonical))
            .ok_or_else(|| anyhow!("no such file or directory: {src}"))?;
        let st = stat(&client, ctr, dest)
            .await
            .map_err(|e| cp_not_found(e, arg))?;
        let contents = src.ends_with("/.");
        match st {
            Some(s) if s.is_dir() => {
                let data = if contents {
                    tar_of(src_path, ".", follow)?
                } else {
                    tar_of(src_path, &src_name, follow)?
                };
                (dest.to_owned(), data)
            }
            Some(_) if src_path.is_dir() => {
                bail!("cannot copy a directory to a file: {dest}")
            }
            _ => {
                if dest.ends_with('/') && st.is_none() {
                    bail!("destination \"{arg}\" must be a directory");
                }
                let d = Path::new(dest);
                let name = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| anyhow!("invalid destination {dest}"))?;
                let parent = d
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| "/".to_owned(), |p| p.to_string_lossy().into_owned());
                (parent, tar_of(src_path, &name, follow)?)
            }
        }
    };
    let mut q = Query::new()
        .set("path", upload_to)
        .set("noOverwriteDirNonDir", "true");
    if archive {
        q = q.set("copyUIDGID", "true");
    }
    let q = q.render();
    let res = client
        .request(
            Method::PUT,
            &format!("/containers/{}/archive{q}", encode_path(ctr)),
            &[("content-type", "application/x-tar".to_owned())],
            bytes(body),
        )
        .await
        .map_err(|e| cp_not_found(e, arg))?;
    drop(res);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn split_args() {
        assert_eq!(split("ctr:/etc/hosts"), (Some("ctr"), "/etc/hosts"));
        assert_eq!(split("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split("./x:y"), (None, "./x:y"));
        assert_eq!(split("-"), (None, "-"));
    }

    #[test]
    fn extract_renames_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), "hi").unwrap();
        let t = tar_of(&src, "src", false).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        extract(&t[..], &out, Some("renamed")).unwrap();
        let one = tar_of(&src.join("sub/f"), "f", false).unwrap();
        extract(&one[..], &out, Some("g")).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("g")).unwrap(), "hi");
        assert_eq!(
            std::fs::read_to_string(out.join("renamed/sub/f")).unwrap(),
            "hi"
        );
    }

    /// A tar entry of `kind` at `path` (a symlink to `link` when given, else `data`).
    fn append(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, link: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(if kind == tar::EntryType::Regular {
            2
        } else {
            0
        });
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
        }
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        // The name as written, `./` and all (the builder's path setters normalise it).
        let name = &mut h.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        let data: &[u8] = if kind == tar::EntryType::Regular {
            b"pw"
        } else {
            b""
        };
        b.append(&h, data).unwrap();
    }

    /// A daemon (or a container through it) plants a symlink and then
    /// writes through it. Nothing may land outside the destination, whatever the rename.
    #[test]
    fn extract_does_not_follow_planted_symlinks_out() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("victimdir");
        std::fs::create_dir(&outside).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        append(&mut b, tar::EntryType::Directory, "top/", "");
        append(
            &mut b,
            tar::EntryType::Symlink,
            "top/a",
            outside.to_str().unwrap(),
        );
        append(&mut b, tar::EntryType::Regular, "top/a/victim", "");
        append(&mut b, tar::EntryType::Symlink, "top/r", "../../victimdir");
        append(&mut b, tar::EntryType::Regular, "top/r/victim2", "");
        let t = b.into_inner().unwrap();
        for rename in [None, Some("renamed"), Some(".")] {
            let out = dir.path().join("out");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir(&out).unwrap();
            // Refusing the archive is as good as containing it; escaping is not.
            let _ = extract(&t[..], &out, rename);
            let escaped: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
            assert!(escaped.is_empty(), "{rename:?}: wrote {escaped:?}");
        }
    }

    #[test]
    fn extract_contents_of_a_dot_archive() {
        // The daemon's archive of `dir/.`: entries `./…`.
        let dir = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        append(&mut b, tar::EntryType::Directory, "./", "");
        append(&mut b, tar::EntryType::Directory, "./sub/", "");
        append(&mut b, tar::EntryType::Regular, "./sub/f", "");
        let t = b.into_inner().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        extract(&t[..], &out, Some(".")).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("sub/f")).unwrap(), "pw");
        extract(&t[..], &out, Some("named")).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("named/sub/f")).unwrap(),
            "pw"
        );
    }
}
