//! The build context as the request body, as the docker CLI prepares it: a directory tarred
//! (only what `.dockerignore` leaves), a tar (plain or compressed) from stdin passed through
//! as it comes, or a Dockerfile alone on stdin. `-f` is relative to the current directory;
//! a Dockerfile outside the context, or from stdin, travels inside the tar under a random
//! name, as docker does it.
//!
//! The tar is written on a blocking thread into a channel that the request body drains, so
//! a large context is streamed, never held whole.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::client::Body;

/// What the body is, and what the progress display may know of the Dockerfile.
pub struct Prepared {
    pub body: Body,
    /// The `dockerfile` query parameter (empty: the daemon's default).
    pub dockerfile_param: String,
    /// The Dockerfile's text when the client has it (for the display's stage counts).
    pub dockerfile_text: Option<String>,
    /// Bytes of the body sent so far.
    pub sent: Arc<AtomicU64>,
}

/// Bytes a tar chunk holds before it goes to the body.
const CHUNK: usize = 64 << 10;
/// A tar header block: enough to tell a tar or a compressed stream from a Dockerfile.
const TAR_BLOCK: usize = 512;

/// Prepares the context `path` (a directory or `-`) with `-f` as given.
pub async fn prepare(path: &str, dockerfile: Option<&str>) -> Result<Prepared> {
    if path == "-" {
        if dockerfile == Some("-") {
            bail!("invalid argument: can't use stdin for both build context and dockerfile");
        }
        return from_stdin(dockerfile).await;
    }
    if path.contains("://") || path.starts_with("git@") {
        bail!("unable to prepare context: remote build contexts ({path}) are not supported: give a local directory or - for a tar on stdin");
    }
    let dir = std::fs::canonicalize(path)
        .with_context(|| format!("unable to prepare context: path {path:?} not found"))?;
    if !dir.is_dir() {
        bail!(
            "unable to prepare context: context must be a directory: {}",
            dir.display()
        );
    }
    let (name, content): (String, Option<Vec<u8>>) = match dockerfile {
        Some("-") => {
            let mut text = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut text)
                .await
                .context("reading the Dockerfile from stdin")?;
            (random_name(), Some(text))
        }
        Some(f) => {
            // Relative to the current directory, not the context (docker's rule).
            let abs = std::path::absolute(f)
                .with_context(|| format!("unable to prepare context: Dockerfile path {f:?}"))?;
            let abs = std::fs::canonicalize(&abs).with_context(|| {
                format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: {}",
                    abs.display()
                )
            })?;
            match abs.strip_prefix(&dir) {
                Ok(rel) => (slash_path(rel), None),
                Err(_) => {
                    let text = std::fs::read(&abs)
                        .with_context(|| format!("reading the Dockerfile {}", abs.display()))?;
                    (random_name(), Some(text))
                }
            }
        }
        None => {
            let name = if !dir.join("Dockerfile").exists() && dir.join("dockerfile").exists() {
                "dockerfile"
            } else {
                "Dockerfile"
            };
            if !dir.join(name).exists() {
                bail!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                    dir.join(name).display()
                );
            }
            (name.to_string(), None)
        }
    };
    let text = match &content {
        Some(c) => Some(String::from_utf8_lossy(c).into_owned()),
        None => std::fs::read(dir.join(&name))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    };
    let sent = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let writer_tx = tx.clone();
    let override_name = name.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            tx: writer_tx,
            buf: Vec::with_capacity(CHUNK),
        };
        let over = content.as_deref().map(|c| (override_name.as_str(), c));
        let result = write_context_tar(&dir, over, &mut out)
            .and_then(|()| out.flush().map_err(anyhow::Error::from));
        if let Err(e) = result {
            let _ = out
                .tx
                .blocking_send(Err(io::Error::other(format!("{e:#}"))));
        }
    });
    drop(tx);
    Ok(Prepared {
        body: ChannelBody {
            rx,
            sent: sent.clone(),
        }
        .boxed_unsync(),
        dockerfile_param: name,
        dockerfile_text: text,
        sent,
    })
}

/// The context from stdin: a tar (or a compressed one) as it comes, or a Dockerfile alone.
async fn from_stdin(dockerfile: Option<&str>) -> Result<Prepared> {
    let mut stdin = tokio::io::stdin();
    let mut head = Vec::with_capacity(TAR_BLOCK);
    (&mut stdin)
        .take(TAR_BLOCK as u64)
        .read_to_end(&mut head)
        .await
        .context("reading the build context from stdin")?;
    let sent = Arc::new(AtomicU64::new(0));
    if is_archive(&head) {
        let reader = std::io::Cursor::new(head).chain(stdin);
        return Ok(Prepared {
            body: counted(crate::client::reader(reader), sent.clone()),
            dockerfile_param: dockerfile.unwrap_or_default().to_string(),
            dockerfile_text: None,
            sent,
        });
    }
    // A Dockerfile alone: the context is a tar of it and nothing else.
    let mut text = head;
    stdin
        .read_to_end(&mut text)
        .await
        .context("reading the Dockerfile from stdin")?;
    let mut tar = tar::Builder::new(Vec::new());
    append_file(&mut tar, "Dockerfile", &text)?;
    let data = tar.into_inner().context("writing the context tar")?;
    Ok(Prepared {
        body: counted(crate::client::bytes(data), sent.clone()),
        dockerfile_param: "Dockerfile".into(),
        dockerfile_text: Some(String::from_utf8_lossy(&text).into_owned()),
        sent,
    })
}

/// docker's `archive.IsArchive`: compressed, or a tar header.
pub fn is_archive(head: &[u8]) -> bool {
    let compressed = head.starts_with(&[0x1f, 0x8b, 0x08])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if compressed {
        return true;
    }
    if head.len() < TAR_BLOCK {
        // A tar is whole blocks; a short input is a tar only when empty of entries.
        return false;
    }
    let mut ar = tar::Archive::new(&head[..TAR_BLOCK]);
    ar.entries()
        .ok()
        .and_then(|mut e| e.next())
        .is_some_and(|e| e.is_ok())
}

/// The Dockerfile's name in the tar when it comes from elsewhere (docker's
/// `.dockerfile.<random>`, which `.dockerignore` cannot have named).
fn random_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("{nanos:x}{:x}", std::process::id());
    let digest = muelle_image::Digest::sha256_of(seed.as_bytes());
    format!(".dockerfile.{}", &digest.hex()[..20])
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The context tar of `dir`. The one switch point to `muelle_build::context::send`.
fn write_context_tar(
    dir: &Path,
    dockerfile_override: Option<(&str, &[u8])>,
    out: &mut dyn Write,
) -> Result<()> {
    fallback::write_context_tar(dir, dockerfile_override, out)
}

/// TEMPORARY STAND-IN for `muelle_build::context::send::write_context_tar`, which is being
/// written: tars the whole directory and does NOT honor `.dockerignore`. Remove it when the
/// real one lands (only [`write_context_tar`] calls it).
mod fallback {
    use super::*;

    pub fn write_context_tar(
        dir: &Path,
        dockerfile_override: Option<(&str, &[u8])>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        tar.mode(tar::HeaderMode::Deterministic);
        walk(&mut tar, dir, Path::new(""))?;
        if let Some((name, content)) = dockerfile_override {
            append_file(&mut tar, name, content)?;
        }
        tar.finish().context("writing the context tar")?;
        Ok(())
    }

    fn walk<W: Write>(tar: &mut tar::Builder<W>, root: &Path, rel: &Path) -> Result<()> {
        let dir = root.join(rel);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .map(|e| e.map(|e| PathBuf::from(e.file_name())))
            .collect::<io::Result<_>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        names.sort();
        for name in names {
            let rel = rel.join(&name);
            let full = root.join(&rel);
            let meta = std::fs::symlink_metadata(&full)
                .with_context(|| format!("reading {}", full.display()))?;
            // Sockets cannot be archived; docker's client skips them too.
            if std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                continue;
            }
            tar.append_path_with_name(&full, &rel)
                .with_context(|| format!("adding {} to the context", full.display()))?;
            if meta.is_dir() {
                walk(tar, root, &rel)?;
            }
        }
        Ok(())
    }
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, content: &[u8]) -> Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    tar.append_data(&mut h, name, content)
        .with_context(|| format!("adding {name} to the context"))
}

/// A `Write` on the blocking side whose chunks become the request body.
struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(data)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the daemon stopped reading the context",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The request body over the tar writer's chunks.
struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    sent: Arc<AtomicU64>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Some(Ok(b))) => {
                self.sent.fetch_add(b.len() as u64, Ordering::Relaxed);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
        }
    }
}

/// A body that counts what it sends.
fn counted(body: Body, sent: Arc<AtomicU64>) -> Body {
    body.map_frame(move |f| {
        if let Some(d) = f.data_ref() {
            sent.fetch_add(d.len() as u64, Ordering::Relaxed);
        }
        f
    })
    .boxed_unsync()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn archives_and_dockerfiles_told_apart() {
        let mut tar = tar::Builder::new(Vec::new());
        append_file(&mut tar, "Dockerfile", b"FROM busybox\n").unwrap();
        let data = tar.into_inner().unwrap();
        assert!(is_archive(&data[..TAR_BLOCK]));
        assert!(is_archive(&[0x1f, 0x8b, 0x08, 0]));
        assert!(!is_archive(b"FROM busybox\nRUN true\n"));
        assert!(!is_archive(&[b'F'; TAR_BLOCK]));
    }

    #[test]
    fn the_fallback_tars_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), "a").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let mut out = Vec::new();
        write_context_tar(dir.path(), Some((".dockerfile.x", b"FROM x\n")), &mut out).unwrap();
        let mut ar = tar::Archive::new(&out[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["Dockerfile", "link", "sub", "sub/a", ".dockerfile.x"]
        );
        assert!(out.len() >= 5 * 512);
    }

    #[test]
    fn random_names_are_dotfiles() {
        let n = random_name();
        assert!(n.starts_with(".dockerfile.") && n.len() == ".dockerfile.".len() + 20);
    }
}
