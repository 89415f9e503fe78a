//! Blobs: existence checks, resumable downloads into the content store, and uploads
//! (cross-repository mount, monolithic PUT, or chunked PATCH + PUT).

use std::io::Write;

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::{Method, StatusCode, Url};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::auth::repository_scope;
use super::client::{location, transport_error, RegistryClient, Subject};
use super::error::{RegistryError, Result};
use super::names::validate_repository;
use super::ops::blocking;
use super::progress::{BlobOutcome, Progress};
use crate::digest::{Digest, Digester};
use crate::store::{ContentStore, IngestWriter, StoreError};

/// The content-store ingest a download of `digest` uses. Digest strings are already within
/// the store's ref alphabet; anything else is mapped to '-' so the rule holds by construction.
pub fn ingest_ref(digest: &Digest) -> String {
    format!("fetch-{digest}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-:@+=".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Parses `Content-Range: bytes <start>-<end>/<total|*>` and returns the start.
fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

impl RegistryClient {
    /// HEAD on a blob: its size if the repository has it, `None` if not.
    pub async fn blob_exists(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        self.head_blob(
            host,
            repository,
            digest,
            vec![repository_scope(repository, false)],
        )
        .await
    }

    async fn head_blob(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
        scopes: Vec<String>,
    ) -> Result<Option<u64>> {
        let url = self
            .repo_url(host, repository, &format!("blobs/{digest}"))
            .await?;
        let req = self.request(Method::HEAD, url, "HEAD blob", repository, scopes);
        let resp = self.send(host, req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self
            .success(
                resp,
                host,
                repository,
                "HEAD blob",
                Subject::Blob(digest.clone()),
            )
            .await?;
        // HEAD has no body, so reqwest's content_length() is 0: read the header itself.
        Ok(Some(
            resp.headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }

    /// Downloads a blob into `store`, resuming an earlier partial download of it, following
    /// redirects to storage hosts. The store verifies size and digest at commit, so nothing
    /// unverified becomes visible; a mismatching download is discarded.
    pub async fn fetch_blob(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
        size: u64,
        store: &ContentStore,
        progress: &dyn Progress,
    ) -> Result<()> {
        validate_repository(repository)?;
        let store_err = |source| RegistryError::Store {
            host: host.to_string(),
            repository: repository.to_string(),
            digest: digest.clone(),
            source,
        };
        {
            let (s, d) = (store.clone(), digest.clone());
            if blocking("checking the content store", move || {
                s.exists(&d).map_err(|e| RegistryError::Task {
                    what: "checking the content store",
                    reason: e.to_string(),
                })
            })
            .await?
            {
                progress.update(digest, size, size);
                progress.finished(digest, BlobOutcome::AlreadyExists);
                return Ok(());
            }
        }
        let reference = ingest_ref(digest);
        let url = self
            .repo_url(host, repository, &format!("blobs/{digest}"))
            .await?;
        let policy = self.inner.opts.retry.clone();
        let mut attempt = 1u32;
        loop {
            let writer = match open_writer(store, &reference, digest, size).await {
                Ok(w) => w,
                Err(StoreError::IngestInUse { .. }) => {
                    // Another pull (here or in another process) is fetching this blob: wait
                    // for it rather than download it twice. If it gives up, its lock goes
                    // and this pull resumes from the bytes it left.
                    if wait_for_other(store, &reference, digest, size, progress).await {
                        progress.finished(digest, BlobOutcome::AlreadyExists);
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(store_err(e)),
            };
            let offset = writer.offset();
            if offset == size {
                // A previous run received everything but did not commit.
                return self
                    .commit(host, repository, digest, writer, progress)
                    .await;
            }
            let mut req = self.request(
                Method::GET,
                url.clone(),
                "GET blob",
                repository,
                vec![repository_scope(repository, false)],
            );
            // Blob bodies may take longer than any fixed limit; stalls are caught by the
            // client's read timeout instead.
            req.timeout = None;
            if offset > 0 {
                req.headers.insert(
                    RANGE,
                    HeaderValue::from_str(&format!("bytes={offset}-")).map_err(|e| {
                        RegistryError::Protocol {
                            host: host.to_string(),
                            what: e.to_string(),
                        }
                    })?,
                );
            }
            let resp = self.send(host, req).await?;
            let status = resp.status();
            let resumed = match status {
                StatusCode::PARTIAL_CONTENT if offset > 0 => {
                    let start = resp
                        .headers()
                        .get(CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(content_range_start);
                    start == Some(offset)
                }
                StatusCode::OK => false,
                _ => {
                    return Err(self
                        .error_for(
                            host,
                            repository,
                            "GET blob",
                            Subject::Blob(digest.clone()),
                            resp,
                        )
                        .await)
                }
            };
            let writer = if resumed || offset == 0 {
                writer
            } else {
                // The registry sent the whole blob (or another range): start the ingest over.
                drop(writer);
                let (s, r) = (store.clone(), reference.clone());
                blocking("restarting the ingest", move || {
                    s.abort(&r).map_err(|e| RegistryError::Task {
                        what: "restarting the ingest",
                        reason: e.to_string(),
                    })
                })
                .await?;
                if status == StatusCode::PARTIAL_CONTENT {
                    attempt += 1;
                    continue;
                }
                open_writer(store, &reference, digest, size)
                    .await
                    .map_err(store_err)?
            };
            match self
                .stream_into(host, repository, digest, size, resp, writer, progress)
                .await?
            {
                Streamed::Complete(w) => {
                    match self.commit(host, repository, digest, w, progress).await {
                        Err(RegistryError::Store {
                            source: StoreError::Incomplete { .. },
                            ..
                        }) if attempt < policy.max_attempts => {}
                        other => return other,
                    }
                }
                Streamed::Interrupted(e) if attempt < policy.max_attempts => {
                    let _ = e;
                }
                Streamed::Interrupted(e) => return Err(e),
            }
            // The bytes received so far stay in the ingest; the next attempt resumes them.
            tokio::time::sleep(policy.backoff(attempt)).await;
            attempt += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream_into(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
        size: u64,
        mut resp: reqwest::Response,
        writer: IngestWriter,
        progress: &dyn Progress,
    ) -> Result<Streamed> {
        let mut done = writer.offset();
        progress.update(digest, done, size);
        // The store is synchronous: a blocking task owns the writer and the network side
        // feeds it through a small bounded channel, so disk and network overlap.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let task = tokio::task::spawn_blocking(move || {
            let mut writer = writer;
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = writer.write_all(&chunk) {
                    return (writer, Err(e));
                }
            }
            (writer, Ok(()))
        });
        let mut net_err = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    done += chunk.len() as u64;
                    if tx.send(chunk).await.is_err() {
                        break; // the writer failed; its error is collected below
                    }
                    progress.update(digest, done.min(size), size);
                    if done > size {
                        break; // the store rejects the oversize blob at commit
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    net_err = Some(transport_error(host, "reading the blob", e));
                    break;
                }
            }
        }
        drop(tx);
        let (writer, written) = task.await.map_err(|e| RegistryError::Task {
            what: "writing the blob",
            reason: e.to_string(),
        })?;
        if let Err(source) = written {
            return Err(RegistryError::Store {
                host: host.to_string(),
                repository: repository.to_string(),
                digest: digest.clone(),
                source: StoreError::Ingest {
                    reference: writer.reference().to_string(),
                    what: "writing the ingest data",
                    source,
                },
            });
        }
        Ok(match net_err {
            Some(e) => Streamed::Interrupted(e),
            None => Streamed::Complete(writer),
        })
    }

    async fn commit(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
        writer: IngestWriter,
        progress: &dyn Progress,
    ) -> Result<()> {
        let committed = tokio::task::spawn_blocking(move || writer.commit())
            .await
            .map_err(|e| RegistryError::Task {
                what: "committing the blob",
                reason: e.to_string(),
            })?;
        match committed {
            Ok(_) => {
                progress.finished(digest, BlobOutcome::Fetched);
                Ok(())
            }
            Err(StoreError::DigestMismatch {
                expected, actual, ..
            }) => Err(RegistryError::DigestMismatch {
                host: host.to_string(),
                repository: repository.to_string(),
                reference: digest.to_string(),
                expected,
                actual,
            }),
            Err(StoreError::SizeMismatch {
                expected, actual, ..
            }) => Err(RegistryError::SizeMismatch {
                host: host.to_string(),
                repository: repository.to_string(),
                digest: digest.clone(),
                expected,
                actual,
            }),
            Err(source) => Err(RegistryError::Store {
                host: host.to_string(),
                repository: repository.to_string(),
                digest: digest.clone(),
                source,
            }),
        }
    }

    /// Uploads a blob unless the repository already has it. With `mount_from`, first asks
    /// the registry to mount it from that repository (no bytes sent when it can). Blobs up to
    /// `chunk_threshold` go in one PUT, larger ones in `chunk_size` PATCHes. The bytes read
    /// are checked against `digest` and `size` before the upload is completed.
    #[allow(clippy::too_many_arguments)]
    pub async fn push_blob<R: AsyncRead + Unpin + Send>(
        &self,
        host: &str,
        repository: &str,
        digest: &Digest,
        size: u64,
        mut reader: R,
        mount_from: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<BlobOutcome> {
        validate_repository(repository)?;
        let push_scope = repository_scope(repository, true);
        if self
            .head_blob(host, repository, digest, vec![push_scope.clone()])
            .await?
            .is_some()
        {
            progress.update(digest, size, size);
            progress.finished(digest, BlobOutcome::AlreadyExists);
            return Ok(BlobOutcome::AlreadyExists);
        }
        let mut upload = None;
        if let Some(from) = mount_from.filter(|f| *f != repository) {
            validate_repository(from)?;
            let mut url = self.repo_url(host, repository, "blobs/uploads/").await?;
            url.query_pairs_mut()
                .append_pair("mount", &digest.to_string())
                .append_pair("from", from);
            let req = self.request(
                Method::POST,
                url.clone(),
                "mount blob",
                repository,
                vec![push_scope.clone(), repository_scope(from, false)],
            );
            let resp = self.send(host, req).await?;
            match resp.status() {
                StatusCode::CREATED => {
                    progress.update(digest, size, size);
                    progress.finished(digest, BlobOutcome::Mounted);
                    return Ok(BlobOutcome::Mounted);
                }
                // The registry could not mount and opened an ordinary upload instead.
                StatusCode::ACCEPTED => upload = Some(location(host, &url, &resp)?),
                // No pull access to the source: push the bytes instead.
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {}
                _ => {
                    return Err(self
                        .error_for(
                            host,
                            repository,
                            "mount blob",
                            Subject::Blob(digest.clone()),
                            resp,
                        )
                        .await)
                }
            }
        }
        let mut upload = match upload {
            Some(u) => u,
            None => {
                let url = self.repo_url(host, repository, "blobs/uploads/").await?;
                let req = self.request(
                    Method::POST,
                    url.clone(),
                    "start blob upload",
                    repository,
                    vec![push_scope.clone()],
                );
                let resp = self.send(host, req).await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(self
                        .error_for(
                            host,
                            repository,
                            "start blob upload",
                            Subject::Blob(digest.clone()),
                            resp,
                        )
                        .await);
                }
                location(host, &url, &resp)?
            }
        };
        self.check_scheme(host, &upload)?;
        let read_err = |source| RegistryError::Read {
            host: host.to_string(),
            repository: repository.to_string(),
            digest: digest.clone(),
            source,
        };
        let mut hasher = Digester::new(digest.algorithm());
        let mut sent = 0u64;
        let monolithic = size <= self.inner.opts.chunk_threshold;
        let chunk_size = self.inner.opts.chunk_size.max(1);
        let mut final_body = None;
        if monolithic {
            // Small (at most `chunk_threshold`): one buffered, retryable request.
            let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut reader)
                .take(size.saturating_add(1))
                .read_to_end(&mut buf)
                .await
                .map_err(read_err)?;
            hasher.update(&buf);
            sent = buf.len() as u64;
            final_body = Some(Bytes::from(buf));
        } else {
            while sent < size {
                let n = (size - sent).min(chunk_size as u64);
                let range = format!("{}-{}", sent, sent + n - 1);
                let mut req = self.request(
                    Method::PATCH,
                    upload.clone(),
                    "PATCH blob upload",
                    repository,
                    vec![push_scope.clone()],
                );
                req.idempotent = false;
                req.follow_redirects = false;
                req.timeout = None;
                req.headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                if let Ok(v) = HeaderValue::from_str(&range) {
                    req.headers.insert(CONTENT_RANGE, v);
                }
                req.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
                let (pieces, body) = tokio::sync::mpsc::channel(STREAM_PIECES);
                req.stream = Some(reqwest::Body::wrap(super::stream::ChannelBody::new(body)));
                let feed = feed(&mut reader, n, pieces, &mut hasher, |fed| {
                    progress.update(digest, sent + fed, size)
                });
                let (resp, fed) = tokio::join!(self.send(host, req), feed);
                // A short read is the reader's fault, whatever the registry then said.
                let (fed, ended) = fed.map_err(read_err)?;
                if ended {
                    sent += fed;
                    break;
                }
                let resp = resp?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(self
                        .error_for(
                            host,
                            repository,
                            "PATCH blob upload",
                            Subject::Blob(digest.clone()),
                            resp,
                        )
                        .await);
                }
                upload = location(host, &upload, &resp)?;
                self.check_scheme(host, &upload)?;
                sent += n;
                progress.update(digest, sent, size);
            }
        }
        if sent != size || (!monolithic && reader.read(&mut [0u8; 1]).await.map_err(read_err)? != 0)
        {
            self.cancel_upload(host, repository, &upload).await;
            return Err(RegistryError::SizeMismatch {
                host: host.to_string(),
                repository: repository.to_string(),
                digest: digest.clone(),
                expected: size,
                actual: if sent == size { size + 1 } else { sent },
            });
        }
        let actual = hasher.finish();
        if &actual != digest {
            self.cancel_upload(host, repository, &upload).await;
            return Err(RegistryError::DigestMismatch {
                host: host.to_string(),
                repository: repository.to_string(),
                reference: digest.to_string(),
                expected: digest.clone(),
                actual,
            });
        }
        let mut url = upload;
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let mut req = self.request(
            Method::PUT,
            url,
            "complete blob upload",
            repository,
            vec![push_scope],
        );
        req.idempotent = false;
        req.follow_redirects = false;
        req.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        req.body = final_body;
        let resp = self.send(host, req).await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self
                .error_for(
                    host,
                    repository,
                    "complete blob upload",
                    Subject::Blob(digest.clone()),
                    resp,
                )
                .await);
        }
        progress.update(digest, size, size);
        progress.finished(digest, BlobOutcome::Pushed);
        Ok(BlobOutcome::Pushed)
    }

    /// Best effort: an abandoned upload session is garbage-collected by the registry anyway.
    async fn cancel_upload(&self, host: &str, repository: &str, upload: &Url) {
        let mut req = self.request(
            Method::DELETE,
            upload.clone(),
            "cancel blob upload",
            repository,
            vec![repository_scope(repository, true)],
        );
        req.follow_redirects = false;
        let _ = self.send(host, req).await;
    }
}

/// Pieces of a streamed upload queued ahead of the connection: with `PIECE` bytes each, the
/// memory of one upload.
const STREAM_PIECES: usize = 4;
const PIECE: usize = 128 << 10;

/// Reads `n` bytes of `reader` into `pieces` (the request body), hashing them. Returns how
/// many were read and whether the reader ended before `n`, in which case the body ends with
/// an error so that the registry never takes it as complete.
async fn feed<R: AsyncRead + Unpin>(
    reader: &mut R,
    n: u64,
    pieces: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    hasher: &mut Digester,
    on_progress: impl Fn(u64),
) -> std::io::Result<(u64, bool)> {
    let mut fed = 0u64;
    while fed < n {
        let want = (n - fed).min(PIECE as u64) as usize;
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            let r = reader.read(&mut buf[got..]).await?;
            if r == 0 {
                break;
            }
            got += r;
        }
        buf.truncate(got);
        hasher.update(&buf);
        fed += got as u64;
        if got < want {
            let _ = pieces
                .send(Err(std::io::Error::other("the blob ended early")))
                .await;
            return Ok((fed, true));
        }
        if pieces.send(Ok(Bytes::from(buf))).await.is_err() {
            // The request is gone (connection closed): its error says why.
            return Ok((fed, false));
        }
        on_progress(fed);
    }
    Ok((fed, false))
}

enum Streamed {
    Complete(IngestWriter),
    /// The connection broke mid-body; the bytes so far are in the ingest.
    Interrupted(RegistryError),
}

/// Waits while another writer holds the ingest of `digest`, reporting its progress.
/// Returns true once the blob is in the store, false when the ingest is free to take over.
async fn wait_for_other(
    store: &ContentStore,
    reference: &str,
    digest: &Digest,
    size: u64,
    progress: &dyn Progress,
) -> bool {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (s, r, d) = (store.clone(), reference.to_string(), digest.clone());
        let state = tokio::task::spawn_blocking(move || {
            if s.exists(&d).unwrap_or(false) {
                return None;
            }
            Some((s.ingest_offset(&r).unwrap_or(0), s.writer(&r, None)))
        })
        .await;
        match state {
            Ok(None) => {
                progress.update(digest, size, size);
                return true;
            }
            Ok(Some((done, Err(StoreError::IngestInUse { .. })))) => {
                progress.update(digest, done.min(size), size);
            }
            // The lock is free (dropping the probe writer releases it again) or the store
            // misbehaves: either way the caller's own attempt decides.
            Ok(Some((_, _))) | Err(_) => return false,
        }
    }
}

async fn open_writer(
    store: &ContentStore,
    reference: &str,
    digest: &Digest,
    size: u64,
) -> Result<IngestWriter, StoreError> {
    let (s, r, d) = (store.clone(), reference.to_string(), digest.clone());
    match tokio::task::spawn_blocking(move || s.writer(&r, Some((d, size)))).await {
        Ok(w) => w,
        Err(e) => Err(StoreError::Ingest {
            reference: reference.to_string(),
            what: "opening the ingest",
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_refs_are_store_safe() {
        let d = Digest::sha256_of(b"x");
        let r = ingest_ref(&d);
        assert_eq!(r, format!("fetch-{d}"));
        let s = tempfile::tempdir().expect("tempdir");
        let store = ContentStore::open(s.path()).expect("store");
        store.writer(&r, None).expect("valid ref");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(content_range_start("items 1-2/3"), None);
        assert_eq!(content_range_start("bytes x-1/2"), None);
    }
}
