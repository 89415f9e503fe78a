//! The content store: blobs addressed by digest, written through resumable ingests.
//!
//! Layout under the root:
//!
//! ```text
//! blobs/<alg>/<hex>     complete, verified blobs (read-only, 0444)
//! ingest/<ref>/data     bytes received so far for an ingest named <ref>
//! ```
//!
//! A blob only ever appears in `blobs/` by `rename(2)` of a fully written, fsynced and verified
//! ingest file, so a reader can never see a partial blob. Ingests survive crashes and are
//! resumed by reopening a writer with the same ref.
//!
//! Two writers of one ref are excluded by an exclusive `flock` on the ingest directory. The
//! second one fails at once with [`StoreError::IngestInUse`] rather than waiting: the usual
//! second writer is a concurrent pull of the same layer, which is better off waiting for the
//! blob (or retrying) than blocking on a lock held for a whole download.
//! The lock is released when the writer is committed or dropped, also if the process dies.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, OFlags};
use thiserror::Error;

use crate::digest::{Algorithm, Digest, Digester};

/// Errors of the content store, each naming the blob, ingest or path concerned.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("content store {path}: {source}")]
    Root { path: PathBuf, source: io::Error },
    #[error("blob {digest} not found")]
    NotFound { digest: Digest },
    #[error("blob {digest}: {source}")]
    Blob { digest: Digest, source: io::Error },
    #[error("invalid ingest ref {reference:?}: {reason}")]
    InvalidRef {
        reference: String,
        reason: &'static str,
    },
    #[error("ingest {reference} is in use by another writer")]
    IngestInUse { reference: String },
    #[error("ingest {reference}: {what}: {source}")]
    Ingest {
        reference: String,
        what: &'static str,
        source: io::Error,
    },
    /// Fewer bytes than expected: the ingest is kept, so reopening the writer resumes it.
    #[error("ingest {reference} is incomplete: {actual} of {expected} bytes")]
    Incomplete {
        reference: String,
        expected: u64,
        actual: u64,
    },
    /// More bytes than expected: the ingest is discarded.
    #[error("ingest {reference}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        reference: String,
        expected: u64,
        actual: u64,
    },
    /// The content hashes to something else: the ingest is discarded.
    #[error("ingest {reference}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: Digest,
        actual: Digest,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A directory of content-addressed blobs. Cheap to clone; all state is on disk.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

impl ContentStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let store = ContentStore { root };
        for alg in ALGORITHMS {
            store.mkdir(&store.blob_dir(alg))?;
        }
        store.mkdir(&store.root.join("ingest"))?;
        Ok(store)
    }

    fn mkdir(&self, path: &Path) -> Result<()> {
        fs::create_dir_all(path).map_err(|source| StoreError::Root {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self, alg: Algorithm) -> PathBuf {
        self.root.join("blobs").join(alg.as_str())
    }

    /// Where the blob lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir(digest.algorithm()).join(digest.hex())
    }

    fn ingest_dir(&self, reference: &str) -> PathBuf {
        self.root.join("ingest").join(reference)
    }

    /// Opens the blob for reading.
    pub fn get(&self, digest: &Digest) -> Result<File> {
        File::open(self.blob_path(digest)).map_err(|e| self.blob_err(digest, e))
    }

    pub fn exists(&self, digest: &Digest) -> Result<bool> {
        match fs::symlink_metadata(self.blob_path(digest)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.blob_err(digest, e)),
        }
    }

    pub fn size(&self, digest: &Digest) -> Result<u64> {
        fs::symlink_metadata(self.blob_path(digest))
            .map(|m| m.len())
            .map_err(|e| self.blob_err(digest, e))
    }

    /// Removes a blob. Readers holding it open keep their data (unlink semantics).
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        fs::remove_file(self.blob_path(digest)).map_err(|e| self.blob_err(digest, e))?;
        sync_dir(&self.blob_dir(digest.algorithm())).map_err(|e| self.blob_err(digest, e))
    }

    /// Every blob in the store, sorted. Stray files that are not digests are ignored.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in ALGORITHMS {
            let dir = self.blob_dir(alg);
            let entries = fs::read_dir(&dir).map_err(|source| StoreError::Root {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| StoreError::Root {
                    path: dir.clone(),
                    source,
                })?;
                if let Some(name) = entry.file_name().to_str() {
                    if let Ok(d) = Digest::parse(&format!("{alg}:{name}")) {
                        out.push(d);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn blob_err(&self, digest: &Digest, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::NotFound {
            StoreError::NotFound {
                digest: digest.clone(),
            }
        } else {
            StoreError::Blob {
                digest: digest.clone(),
                source,
            }
        }
    }

    /// Opens a writer for the ingest `reference`, resuming from the bytes already received
    /// under that ref. `expected` (digest and size), when given, is checked at commit.
    ///
    /// Fails with [`StoreError::IngestInUse`] if another writer holds the ref.
    pub fn writer(&self, reference: &str, expected: Option<(Digest, u64)>) -> Result<IngestWriter> {
        validate_ref(reference)?;
        let dir = self.ingest_dir(reference);
        let ierr = |what, source| StoreError::Ingest {
            reference: reference.to_string(),
            what,
            source,
        };
        let lock = loop {
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(ierr("creating the ingest directory", e)),
            }
            let lock = lock_dir(&dir, reference)?;
            // An abort may have removed the directory between our mkdir and our lock; a lock
            // on an unlinked directory protects nothing, so start again.
            let held = lock
                .metadata()
                .map_err(|e| ierr("checking the ingest directory", e))?;
            match fs::symlink_metadata(&dir) {
                Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => break lock,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ierr("checking the ingest directory", e)),
            }
        };
        let data_path = dir.join("data");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(OFlags::NOFOLLOW.bits() as i32)
            .open(&data_path)
            .map_err(|e| ierr("opening the ingest data", e))?;
        let alg = expected
            .as_ref()
            .map_or(Algorithm::Sha256, |(d, _)| d.algorithm());
        let mut digester = Digester::new(alg);
        let mut offset = file
            .metadata()
            .map_err(|e| ierr("reading the ingest data", e))?
            .len();
        if matches!(expected, Some((_, size)) if offset > size) {
            // More than the blob can hold: what is there cannot be a prefix of it.
            file.set_len(0)
                .map_err(|e| ierr("truncating the ingest data", e))?;
            offset = 0;
        }
        if offset > 0 {
            // Resuming: the hash state is not persisted, so rebuild it from the prefix.
            file.seek(SeekFrom::Start(0))
                .map_err(|e| ierr("reading the ingest data", e))?;
            let copied = io::copy(&mut (&mut file).take(offset), &mut digester)
                .map_err(|e| ierr("reading the ingest data", e))?;
            if copied != offset {
                return Err(ierr(
                    "reading the ingest data",
                    io::Error::new(io::ErrorKind::UnexpectedEof, "ingest data shrank"),
                ));
            }
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| ierr("reading the ingest data", e))?;
        Ok(IngestWriter {
            store: self.clone(),
            reference: reference.to_string(),
            dir,
            _lock: lock,
            file,
            digester,
            offset,
            expected,
        })
    }

    /// Removes an ingest and the bytes it holds. Fails if a writer holds it.
    pub fn abort(&self, reference: &str) -> Result<()> {
        validate_ref(reference)?;
        let dir = self.ingest_dir(reference);
        let _lock = match lock_dir(&dir, reference) {
            Ok(l) => l,
            Err(StoreError::Ingest { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        remove_ingest_dir(&dir).map_err(|source| StoreError::Ingest {
            reference: reference.to_string(),
            what: "removing the ingest",
            source,
        })
    }

    /// Removes every ingest whose ref starts with `prefix` and that no writer holds: the
    /// remains of work that cannot be resumed (a compression cut short by a crash). Returns
    /// how many went.
    pub fn remove_abandoned_ingests(&self, prefix: &str) -> Result<usize> {
        let dir = self.root.join("ingest");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(StoreError::Root { path: dir, source }),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !name.starts_with(prefix) || validate_ref(&name).is_err() {
                continue;
            }
            match self.abort(&name) {
                Ok(()) => removed += 1,
                Err(StoreError::IngestInUse { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Bytes already received for an ingest (0 if there is none): the offset a download
    /// should resume from.
    pub fn ingest_offset(&self, reference: &str) -> Result<u64> {
        validate_ref(reference)?;
        match fs::symlink_metadata(self.ingest_dir(reference).join("data")) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(StoreError::Ingest {
                reference: reference.to_string(),
                what: "reading the ingest data",
                source,
            }),
        }
    }
}

/// Refs become one directory name, so they are limited to a single, harmless path component.
fn validate_ref(reference: &str) -> Result<()> {
    let bad = |reason| StoreError::InvalidRef {
        reference: reference.to_string(),
        reason,
    };
    if reference.is_empty() || reference.len() > 200 {
        return Err(bad("must be 1 to 200 bytes long"));
    }
    if reference.starts_with('.') {
        return Err(bad("must not start with '.'"));
    }
    if !reference
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-:@+=".contains(&b))
    {
        return Err(bad("allowed characters are A-Z a-z 0-9 . _ - : @ + ="));
    }
    Ok(())
}

fn lock_dir(dir: &Path, reference: &str) -> Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::DIRECTORY | OFlags::NOFOLLOW).bits() as i32)
        .open(dir)
        .map_err(|source| StoreError::Ingest {
            reference: reference.to_string(),
            what: "opening the ingest directory",
            source,
        })?;
    match rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(f),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(StoreError::IngestInUse {
            reference: reference.to_string(),
        }),
        Err(e) => Err(StoreError::Ingest {
            reference: reference.to_string(),
            what: "locking the ingest directory",
            source: e.into(),
        }),
    }
}

fn remove_ingest_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Streams bytes into an ingest, hashing as it goes. Nothing is visible in the store until
/// [`IngestWriter::commit`] succeeds; dropping the writer keeps the bytes for a later resume.
#[derive(Debug)]
pub struct IngestWriter {
    store: ContentStore,
    reference: String,
    dir: PathBuf,
    _lock: File,
    file: File,
    digester: Digester,
    offset: u64,
    expected: Option<(Digest, u64)>,
}

impl IngestWriter {
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Bytes in the ingest so far, including those found on disk when it was resumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn err(&self, what: &'static str, source: io::Error) -> StoreError {
        StoreError::Ingest {
            reference: self.reference.clone(),
            what,
            source,
        }
    }

    /// Verifies, syncs and publishes the blob; returns its digest. If the blob is already in
    /// the store the ingest is simply discarded. On a size or digest mismatch nothing is
    /// published and the ingest is discarded; on [`StoreError::Incomplete`] it is kept.
    pub fn commit(mut self) -> Result<Digest> {
        self.file
            .flush()
            .map_err(|e| self.err("writing the ingest data", e))?;
        if let Some((_, size)) = &self.expected {
            let (expected, actual) = (*size, self.offset);
            if actual < expected {
                return Err(StoreError::Incomplete {
                    reference: self.reference.clone(),
                    expected,
                    actual,
                });
            }
            if actual > expected {
                self.discard();
                return Err(StoreError::SizeMismatch {
                    reference: self.reference.clone(),
                    expected,
                    actual,
                });
            }
        }
        let actual = self.digester.clone().finish();
        if let Some((expected, _)) = &self.expected {
            if *expected != actual {
                let expected = expected.clone();
                self.discard();
                return Err(StoreError::DigestMismatch {
                    reference: self.reference.clone(),
                    expected,
                    actual,
                });
            }
        }
        let target = self.store.blob_path(&actual);
        if self
            .store
            .exists(&actual)
            .map_err(|e| self.err("checking the blob", io::Error::other(e)))?
        {
            self.discard();
            return Ok(actual);
        }
        // Blobs are immutable: make them read-only before they can be seen.
        self.file
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(|e| self.err("setting the blob's mode", e))?;
        self.file
            .sync_all()
            .map_err(|e| self.err("syncing the ingest data", e))?;
        fs::rename(self.dir.join("data"), &target)
            .map_err(|e| self.err("moving the blob into place", e))?;
        // The rename is durable only once the directory holding the new name is synced.
        sync_dir(&self.store.blob_dir(actual.algorithm()))
            .map_err(|e| self.err("syncing the blob directory", e))?;
        self.discard();
        Ok(actual)
    }

    /// Removes the ingest directory. Failures are ignored: a leftover ingest only costs space
    /// and is overwritten or removed by the next writer or abort of the same ref.
    fn discard(&mut self) {
        let _ = remove_ingest_dir(&self.dir);
    }
}

impl Write for IngestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.digester.update(&buf[..n]);
        self.offset += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let d = tempfile::tempdir().expect("tempdir");
        let s = ContentStore::open(d.path().join("content")).expect("open");
        (d, s)
    }

    fn read_blob(s: &ContentStore, d: &Digest) -> Vec<u8> {
        let mut v = Vec::new();
        s.get(d).expect("get").read_to_end(&mut v).expect("read");
        v
    }

    #[test]
    fn write_commit_get_list_delete() {
        let (_t, s) = store();
        let data = b"hello content store";
        let want = Digest::sha256_of(data);
        let mut w = s
            .writer("r1", Some((want.clone(), data.len() as u64)))
            .expect("writer");
        w.write_all(&data[..5]).expect("write");
        w.write_all(&data[5..]).expect("write");
        assert!(!s.exists(&want).expect("exists"), "visible before commit");
        let got = w.commit().expect("commit");
        assert_eq!(got, want);
        assert!(s.exists(&want).expect("exists"));
        assert_eq!(s.size(&want).expect("size"), data.len() as u64);
        assert_eq!(read_blob(&s, &want), data);
        let path = s.blob_path(&want);
        assert_eq!(
            path,
            s.root().join("blobs/sha256").join(want.hex()),
            "layout"
        );
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o444);
        assert!(!s.root().join("ingest/r1").exists(), "ingest left behind");
        assert_eq!(s.list().expect("list"), vec![want.clone()]);
        s.delete(&want).expect("delete");
        assert!(!s.exists(&want).expect("exists"));
        assert!(matches!(s.get(&want), Err(StoreError::NotFound { .. })));
        assert!(matches!(s.delete(&want), Err(StoreError::NotFound { .. })));
        assert!(s.list().expect("list").is_empty());
    }

    #[test]
    fn commit_without_expectation_uses_sha256() {
        let (_t, s) = store();
        let mut w = s.writer("free", None).expect("writer");
        w.write_all(b"abc").expect("write");
        assert_eq!(w.commit().expect("commit"), Digest::sha256_of(b"abc"));
    }

    #[test]
    fn sha512_blobs_live_under_their_algorithm() {
        let (_t, s) = store();
        let mut dg = Digester::new(Algorithm::Sha512);
        dg.update(b"five");
        let want = dg.finish();
        let mut w = s.writer("s512", Some((want.clone(), 4))).expect("writer");
        w.write_all(b"five").expect("write");
        assert_eq!(w.commit().expect("commit"), want);
        assert!(s.root().join("blobs/sha512").join(want.hex()).is_file());
        assert_eq!(s.list().expect("list"), vec![want]);
    }

    #[test]
    fn digest_mismatch_commits_nothing() {
        let (_t, s) = store();
        let claimed = Digest::sha256_of(b"something else");
        let mut w = s.writer("bad", Some((claimed.clone(), 4))).expect("writer");
        w.write_all(b"evil").expect("write");
        let err = w.commit().expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains(&claimed.to_string()), "{msg}");
        assert!(
            msg.contains(&Digest::sha256_of(b"evil").to_string()),
            "{msg}"
        );
        assert!(s.list().expect("list").is_empty());
        assert!(!s.exists(&Digest::sha256_of(b"evil")).expect("exists"));
        assert_eq!(s.ingest_offset("bad").expect("offset"), 0, "discarded");
    }

    #[test]
    fn size_mismatch_and_incomplete() {
        let (_t, s) = store();
        let data = b"0123456789";
        let d = Digest::sha256_of(data);
        let mut w = s.writer("big", Some((d.clone(), 4))).expect("writer");
        w.write_all(data).expect("write");
        let err = w.commit().expect_err("too big");
        assert!(
            matches!(
                err,
                StoreError::SizeMismatch {
                    expected: 4,
                    actual: 10,
                    ..
                }
            ),
            "{err}"
        );
        assert!(s.list().expect("list").is_empty());

        let mut w = s.writer("short", Some((d.clone(), 10))).expect("writer");
        w.write_all(&data[..3]).expect("write");
        let err = w.commit().expect_err("short");
        assert!(
            matches!(
                err,
                StoreError::Incomplete {
                    expected: 10,
                    actual: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            s.ingest_offset("short").expect("offset"),
            3,
            "kept for resume"
        );
        assert!(s.list().expect("list").is_empty());
    }

    #[test]
    fn resume_after_interruption() {
        let (_t, s) = store();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let d = Digest::sha256_of(&data);
        let size = data.len() as u64;
        {
            let mut w = s.writer("pull", Some((d.clone(), size))).expect("writer");
            w.write_all(&data[..40_000]).expect("write");
            // Interrupted download: the writer is dropped without commit.
        }
        assert_eq!(s.ingest_offset("pull").expect("offset"), 40_000);
        let mut w = s.writer("pull", Some((d.clone(), size))).expect("reopen");
        assert_eq!(w.offset(), 40_000);
        w.write_all(&data[40_000..]).expect("write rest");
        assert_eq!(w.commit().expect("commit"), d);
        assert_eq!(read_blob(&s, &d), data);
    }

    #[test]
    fn oversized_leftover_restarts() {
        let (_t, s) = store();
        {
            let mut w = s.writer("x", None).expect("writer");
            w.write_all(b"way too much junk").expect("write");
        }
        let d = Digest::sha256_of(b"ok");
        let mut w = s.writer("x", Some((d.clone(), 2))).expect("writer");
        assert_eq!(w.offset(), 0);
        w.write_all(b"ok").expect("write");
        assert_eq!(w.commit().expect("commit"), d);
    }

    #[test]
    fn second_writer_of_a_ref_is_refused() {
        let (_t, s) = store();
        let w = s.writer("same", None).expect("first");
        let err = s.writer("same", None).expect_err("second");
        assert!(matches!(err, StoreError::IngestInUse { .. }), "{err}");
        assert!(err.to_string().contains("same"), "{err}");
        assert!(matches!(
            s.abort("same"),
            Err(StoreError::IngestInUse { .. })
        ));
        drop(w);
        s.writer("same", None).expect("free again");
    }

    #[test]
    fn abort_removes_the_ingest() {
        let (_t, s) = store();
        {
            let mut w = s.writer("gone", None).expect("writer");
            w.write_all(b"partial").expect("write");
        }
        s.abort("gone").expect("abort");
        assert_eq!(s.ingest_offset("gone").expect("offset"), 0);
        assert!(!s.root().join("ingest/gone").exists());
        s.abort("gone").expect("abort of nothing is fine");
        let w = s.writer("gone", None).expect("writer");
        assert_eq!(w.offset(), 0);
    }

    #[test]
    fn committing_an_existing_blob_is_idempotent() {
        let (_t, s) = store();
        let d = Digest::sha256_of(b"twice");
        for r in ["a", "b"] {
            let mut w = s.writer(r, Some((d.clone(), 5))).expect("writer");
            w.write_all(b"twice").expect("write");
            assert_eq!(w.commit().expect("commit"), d);
            assert!(!s.root().join("ingest").join(r).exists());
        }
        assert_eq!(s.list().expect("list"), vec![d]);
    }

    #[test]
    fn hostile_refs_are_refused() {
        let (_t, s) = store();
        for r in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\0b",
            ".hidden",
            &"x".repeat(201),
        ] {
            assert!(
                matches!(s.writer(r, None), Err(StoreError::InvalidRef { .. })),
                "{r:?}"
            );
        }
        s.writer("layer-sha256:abc@x+y=z_1.2", None)
            .expect("ok ref");
    }

    #[test]
    fn list_ignores_strays() {
        let (_t, s) = store();
        fs::write(s.root().join("blobs/sha256/not-a-digest"), b"x").expect("write");
        assert!(s.list().expect("list").is_empty());
    }
}
