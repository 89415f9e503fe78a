//! Applying a layer tar onto a directory that serves as an overlayfs layer (lower or upper).
//!
//! The `tar` crate is used as a parser only. Every entry is applied by this module: parent
//! directories are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so neither
//! `..` nor a symlink (absolute or relative, from this layer or planted by an earlier entry)
//! can lead out of the root; the last component is created with *at() calls relative to the
//! parent's fd and is never followed. Names that climb above the root lexically (`../x`,
//! `a/../../x`) are refused outright, as Docker does; absolute names are taken as relative to
//! the root, as Docker does.
//!
//! Whiteouts are converted to overlayfs form as they are met: `.wh.<name>` becomes a 0/0
//! character device `<name>`, `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
//! Layers may not carry overlayfs' own xattrs (`trusted.overlay.*`, `user.overlay.*`): those
//! would let an image redirect lookups into other layers.
//!
//! Concurrent changes to the target tree by someone else while a layer is applied are outside
//! the threat model: the directory is private to the snapshotter until the layer is complete.
//!
//! Extended attributes on non-regular files are set through `/proc/self/fd/<parent>/<name>`
//! (lsetxattr does not follow that last name), so /proc must be mounted.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Chain, Cursor, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use rustix::fs::{
    AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;
use thiserror::Error;

use crate::digest::{Algorithm, Digest, Digester};
use crate::fsat::{list_dir, open_dir, proc_path, OPAQUE_XATTR};

mod copy;

use copy::check_copy_symlink;
#[cfg(feature = "service")]
pub(crate) use copy::extract_copy;
pub(crate) use copy::CopyInto;
pub use copy::{extract_to_dir, ExtractOptions};

pub const MEDIA_TYPE_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const MEDIA_TYPE_OCI_LAYER_ND: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const MEDIA_TYPE_OCI_LAYER_ND_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const MEDIA_TYPE_OCI_LAYER_ND_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
pub const MEDIA_TYPE_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const MEDIA_TYPE_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Errors of layer decompression and application. Entry errors name the entry as written in
/// the archive.
#[derive(Debug, Error)]
pub enum UnpackError {
    #[error("layer media type {media_type:?} is not supported")]
    UnsupportedMediaType { media_type: String },
    #[error("layer declared as {media_type} does not start with {expected} magic bytes")]
    CompressionMismatch {
        media_type: String,
        expected: Compression,
    },
    #[error("unpack root {path}: {source}")]
    Root { path: PathBuf, source: io::Error },
    /// The byte stream itself failed: truncated or corrupt compressed data, or a read error.
    #[error("reading the layer stream: {source}")]
    Read { source: io::Error },
    /// The bytes were read but are not a valid tar archive.
    #[error("malformed layer tar: {source}")]
    Tar { source: io::Error },
    /// The entry is invalid or hostile and was not applied.
    #[error("layer entry {entry:?} refused: {reason}")]
    Refused { entry: String, reason: String },
    #[error("layer entry {entry:?}: {what}: {source}")]
    Entry {
        entry: String,
        what: &'static str,
        source: io::Error,
    },
}

impl UnpackError {
    /// A bad or hostile archive is the client's fault; failing to write the tree is ours.
    pub fn kind(&self) -> muelle_types::ErrorKind {
        use muelle_types::ErrorKind as K;
        match self {
            UnpackError::Refused { .. }
            | UnpackError::Tar { .. }
            | UnpackError::Read { .. }
            | UnpackError::CompressionMismatch { .. }
            | UnpackError::UnsupportedMediaType { .. } => K::InvalidParameter,
            _ => K::System,
        }
    }
}

/// Compression of a layer blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// The compression a layer media type declares.
pub fn compression_of(media_type: &str) -> Result<Compression, UnpackError> {
    match media_type {
        MEDIA_TYPE_OCI_LAYER | MEDIA_TYPE_OCI_LAYER_ND | MEDIA_TYPE_DOCKER_LAYER => {
            Ok(Compression::None)
        }
        MEDIA_TYPE_OCI_LAYER_GZIP
        | MEDIA_TYPE_OCI_LAYER_ND_GZIP
        | MEDIA_TYPE_DOCKER_LAYER_GZIP
        | MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP => Ok(Compression::Gzip),
        MEDIA_TYPE_OCI_LAYER_ZSTD | MEDIA_TYPE_OCI_LAYER_ND_ZSTD => Ok(Compression::Zstd),
        _ => Err(UnpackError::UnsupportedMediaType {
            media_type: media_type.to_string(),
        }),
    }
}

type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

/// The uncompressed tar stream of a layer blob.
pub enum LayerReader<R: Read> {
    Plain(Sniffed<R>),
    Gzip(Box<MultiGzDecoder<Sniffed<R>>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, io::BufReader<Sniffed<R>>>>),
}

impl<R: Read> LayerReader<R> {
    pub fn compression(&self) -> Compression {
        match self {
            LayerReader::Plain(_) => Compression::None,
            LayerReader::Gzip(_) => Compression::Gzip,
            LayerReader::Zstd(_) => Compression::Zstd,
        }
    }
}

impl<R: Read> Read for LayerReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            LayerReader::Plain(r) => r.read(buf),
            LayerReader::Gzip(r) => r.read(buf),
            LayerReader::Zstd(r) => r.read(buf),
        }
    }
}

/// Wraps a layer blob in the decompressor its media type names. A layer declared as plain
/// tar is sniffed, because some registries and tools label gzip layers as tar; a layer
/// declared compressed must carry that compression's magic bytes.
pub fn open_layer<R: Read>(mut reader: R, media_type: &str) -> Result<LayerReader<R>, UnpackError> {
    let declared = compression_of(media_type)?;
    let mut head = vec![0u8; ZSTD_MAGIC.len()];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(UnpackError::Read { source }),
        }
    }
    head.truncate(got);
    let sniffed = if head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let actual = match declared {
        Compression::None => sniffed,
        d if d == sniffed => d,
        expected => {
            return Err(UnpackError::CompressionMismatch {
                media_type: media_type.to_string(),
                expected,
            })
        }
    };
    let stream = Cursor::new(head).chain(reader);
    Ok(match actual {
        Compression::None => LayerReader::Plain(stream),
        Compression::Gzip => LayerReader::Gzip(Box::new(MultiGzDecoder::new(stream))),
        Compression::Zstd => LayerReader::Zstd(Box::new(
            zstd::stream::read::Decoder::new(stream)
                .map_err(|source| UnpackError::Read { source })?,
        )),
    })
}

/// What an unpack may do.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Create character and block devices. When false, a layer holding one is refused.
    /// Overlay whiteouts (0/0 character devices) are made either way.
    pub allow_devices: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            allow_devices: true,
        }
    }
}

/// The result of applying one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Tar entries applied (whiteouts included).
    pub entries: u64,
    /// Length of the uncompressed tar stream, trailing padding included.
    pub tar_bytes: u64,
    /// Bytes of regular file content written.
    pub content_bytes: u64,
    /// sha256 of the uncompressed tar stream: the layer's DiffID.
    pub diff_id: Digest,
}

/// Hashes and counts everything read, and keeps the stream's own error so it can be told
/// apart from a tar format error (the tar parser only passes on an io::Error).
struct HashingReader<R> {
    inner: R,
    digester: Digester,
    bytes: u64,
    failure: Rc<RefCell<Option<io::Error>>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.digester.update(&buf[..n]);
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                *self.failure.borrow_mut() = Some(e);
                Err(copy)
            }
        }
    }
}

/// The tar crate's error for a stream that ends while it skips to the next header (the
/// message is its own, pinned by the workspace's tar version).
fn is_eof_in_padding(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof || e.to_string() == "unexpected EOF during skip"
}

/// Applies the uncompressed layer tar `layer` onto the directory `root`.
pub fn apply_layer<R: Read>(
    layer: R,
    root: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackSummary, UnpackError> {
    apply_tar(layer, root, opts, None)
}

fn apply_tar<R: Read>(
    layer: R,
    root: &Path,
    opts: &UnpackOptions,
    copy: Option<CopyInto>,
) -> Result<UnpackSummary, UnpackError> {
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UnpackError::Root {
        path: root.to_path_buf(),
        source: e.into(),
    })?;
    let failure = Rc::new(RefCell::new(None));
    let reader = HashingReader {
        inner: layer,
        digester: Digester::new(Algorithm::Sha256),
        bytes: 0,
        failure: failure.clone(),
    };
    let stream_err = |e: io::Error| match failure.borrow_mut().take() {
        Some(source) => UnpackError::Read { source },
        None => UnpackError::Tar { source: e },
    };
    let mut applier = Applier {
        root: root_fd,
        opts,
        unpacked: HashSet::new(),
        dir_times: Vec::new(),
        entries: 0,
        content_bytes: 0,
        buf: vec![0u8; 64 * 1024],
        copy,
    };
    let mut archive = tar::Archive::new(reader);
    {
        let mut entries = archive.entries().map_err(&stream_err)?;
        // Whether all of the previous entry's data was read: then only its padding is left.
        let mut data_complete = false;
        loop {
            let mut entry = match entries.next() {
                None => break,
                Some(Ok(e)) => e,
                // Some writers (umoci 0.4's `insert`, for one) end the archive right after
                // the last file's data: no padding, no end-of-archive blocks. docker and
                // podman accept such layers. With that entry's data complete only padding is
                // missing, and the DiffID, taken over the bytes as they are, still vouches
                // for the content. A stream that ends inside data is still refused.
                Some(Err(e)) if data_complete && is_eof_in_padding(&e) => break,
                Some(Err(e)) => return Err(stream_err(e)),
            };
            applier.apply(&mut entry, &stream_err)?;
            applier.entries += 1;
            data_complete = matches!(entry.read(&mut [0u8; 1]), Ok(0));
        }
    }
    applier.finish_dirs()?;
    let mut reader = archive.into_inner();
    // The DiffID covers the whole stream, including what follows the end-of-archive blocks.
    io::copy(&mut reader, &mut io::sink()).map_err(&stream_err)?;
    Ok(UnpackSummary {
        entries: applier.entries,
        tar_bytes: reader.bytes,
        content_bytes: applier.content_bytes,
        diff_id: reader.digester.finish(),
    })
}

/// Splits an entry name into normal components. Leading `/`, `.` and empty components are
/// dropped; `..` pops a component and may not climb above the root.
fn clean(raw: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if raw.contains(&0) {
        return Err("name contains a NUL byte".into());
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("path climbs above the layer root".into());
                }
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

/// Metadata carried by a tar header and its PAX extensions.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: Timespec,
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    fn times(&self) -> Timestamps {
        Timestamps {
            last_access: self.mtime,
            last_modification: self.mtime,
        }
    }
}

/// Parses a PAX time (`<seconds>[.<fraction>]`, possibly negative).
fn parse_pax_time(v: &str) -> Option<Timespec> {
    let (neg, v) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(d - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(if neg && nanos > 0 {
        Timespec {
            tv_sec: -secs - 1,
            tv_nsec: (1_000_000_000 - nanos) as _,
        }
    } else {
        Timespec {
            tv_sec: if neg { -secs } else { secs },
            tv_nsec: nanos as _,
        }
    })
}

struct Applier<'o> {
    root: OwnedFd,
    opts: &'o UnpackOptions,
    /// Paths made by this layer: an opaque marker must keep them, whatever their order.
    unpacked: HashSet<Vec<u8>>,
    /// Directory mtimes, set at the end because creating entries inside changes them.
    dir_times: Vec<(Vec<Vec<u8>>, Timestamps)>,
    entries: u64,
    content_bytes: u64,
    buf: Vec<u8>,
    /// Set for `docker cp` extraction instead of a layer.
    copy: Option<CopyInto>,
}

impl Applier<'_> {
    /// Whether this is a client's extraction onto the host ([`CopyInto::host`]).
    fn host(&self) -> bool {
        self.copy.as_ref().is_some_and(|c| c.host)
    }

    fn open_in_root(&self, rel: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
        let path = if rel.is_empty() { b".".as_slice() } else { rel };
        loop {
            match rustix::fs::openat2(
                &self.root,
                os(path),
                flags | OFlags::CLOEXEC,
                Mode::empty(),
                resolve_flags(),
            ) {
                Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                r => return r.map_err(io::Error::from),
            }
        }
    }

    /// Opens the directory `comps` inside the root as an O_PATH handle, creating missing
    /// components (0755, like Docker) one at a time relative to their resolved parent.
    fn mkdir_all(&mut self, comps: &[Vec<u8>]) -> io::Result<OwnedFd> {
        let dirflags = OFlags::PATH | OFlags::DIRECTORY;
        match self.open_in_root(&join(comps), dirflags) {
            Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
            r => return r,
        }
        let mut cur = self.open_in_root(b"", dirflags)?;
        for i in 0..comps.len() {
            let prefix = join(&comps[..=i]);
            match self.open_in_root(&prefix, dirflags) {
                Ok(fd) => cur = fd,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                    let name = os(&comps[i]);
                    match rustix::fs::mkdirat(&cur, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) => {
                            // mkdir applies the umask; implicit parents get exactly 0755.
                            rustix::fs::chmodat(
                                &cur,
                                name,
                                Mode::from_raw_mode(0o755),
                                AtFlags::empty(),
                            )?;
                            self.unpacked.insert(prefix.clone());
                        }
                        // A dangling symlink: the reopen below reports it.
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    cur = self.open_in_root(&prefix, dirflags)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }

    fn apply<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        stream_err: &dyn Fn(io::Error) -> UnpackError,
    ) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let name = show(&raw);
        let refuse = |reason: String| UnpackError::Refused {
            entry: name.clone(),
            reason,
        };
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let mut comps = clean(&raw).map_err(&refuse)?;
        if let Some(copy) = &self.copy {
            // A layer's absolute names are taken as relative to its root, as Docker does;
            // a copy's are refused: no client of `docker cp` writes them, and a name that
            // means something else than it says has no business in a copy.
            if raw.first() == Some(&b'/') {
                return Err(refuse("absolute path in a copy".into()));
            }
            copy.rebase(&raw, &mut comps);
            if comps.is_empty() {
                // The destination itself (`./`): kept as it is, as Docker does.
                return Ok(());
            }
            if kind.is_symlink() && !copy.symlinks_out {
                check_copy_symlink(entry, &comps).map_err(&refuse)?;
            }
            let mut full = copy.dest.clone();
            full.append(&mut comps);
            comps = full;
        } else if let Some(last) = comps.last() {
            if last.starts_with(WHITEOUT_PREFIX) {
                return self.whiteout(&name, &comps);
            }
        }
        let meta = self.meta(entry, &name)?;
        let ctx = |what: &'static str| {
            let name = name.clone();
            move |source: io::Error| UnpackError::Entry {
                entry: name,
                what,
                source,
            }
        };

        let Some((last, parent_comps)) = comps.split_last() else {
            // The root itself: only its metadata can be set.
            if !kind.is_dir() {
                return Err(refuse(format!("{kind:?} entry names the layer root")));
            }
            let root = self
                .open_in_root(b"", OFlags::PATH | OFlags::DIRECTORY)
                .map_err(ctx("opening the layer root"))?;
            self.set_meta(root.as_fd(), b".", &meta, false)
                .map_err(ctx("setting metadata"))?;
            self.dir_times.push((Vec::new(), meta.times()));
            return Ok(());
        };
        let parent = self
            .mkdir_all(parent_comps)
            .map_err(ctx("opening the parent directory"))?;
        let parent = parent.as_fd();
        let leaf = os(last);
        let existing = match rustix::fs::statat(parent, leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Some(st),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(ctx("checking the existing path")(e.into())),
        };
        let existing_type = existing
            .as_ref()
            .map(|st| FileType::from_raw_mode(st.st_mode));
        if self
            .copy
            .as_ref()
            .is_some_and(|c| c.no_overwrite_dir_non_dir)
        {
            match existing_type {
                Some(FileType::Directory) if !kind.is_dir() => {
                    return Err(refuse(
                        "cannot overwrite a directory with a non-directory".into(),
                    ))
                }
                Some(t) if t != FileType::Directory && kind.is_dir() => {
                    return Err(refuse(
                        "cannot overwrite a non-directory with a directory".into(),
                    ))
                }
                _ => {}
            }
        }

        if kind.is_dir() {
            if existing_type != Some(FileType::Directory) {
                if existing.is_some() {
                    remove_all_at(parent, leaf).map_err(ctx("removing the existing path"))?;
                }
                rustix::fs::mkdirat(parent, leaf, Mode::from_raw_mode(0o700))
                    .map_err(|e| ctx("creating the directory")(e.into()))?;
            }
            self.set_meta(parent, last, &meta, false)
                .map_err(ctx("setting metadata"))?;
            self.dir_times.push((comps.clone(), meta.times()));
        } else if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
            if existing.is_some() {
                remove_all_at(parent, leaf).map_err(ctx("removing the existing path"))?;
            }
            let file = rustix::fs::openat(
                parent,
                leaf,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| ctx("creating the file")(e.into()))?;
            let mut file = std::fs::File::from(file);
            let mut written: u64 = 0;
            loop {
                let n = match entry.read(&mut self.buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(stream_err(e)),
                };
                file.write_all(&self.buf[..n])
                    .map_err(ctx("writing the file"))?;
                written += n as u64;
            }
            // Sparse entries expand on read; the others must deliver their declared size.
            if !kind.is_gnu_sparse() && written != entry.size() {
                return Err(UnpackError::Read {
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "entry {name:?} truncated: {written} of {} bytes",
                            entry.size()
                        ),
                    ),
                });
            }
            self.content_bytes += written;
            set_file_meta(&file, &meta, self.host()).map_err(ctx("setting metadata"))?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| refuse("symlink without a target".into()))?;
            if target.contains(&0) {
                return Err(refuse("symlink target contains a NUL byte".into()));
            }
            if existing.is_some() {
                remove_all_at(parent, leaf).map_err(ctx("removing the existing path"))?;
            }
            // The target is stored verbatim: it is resolved later, inside the container's root.
            rustix::fs::symlinkat(os(&target), parent, leaf)
                .map_err(|e| ctx("creating the symlink")(e.into()))?;
            self.set_meta(parent, last, &meta, true)
                .map_err(ctx("setting metadata"))?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            let mut tcomps = clean(&target)
                .map_err(|r| refuse(format!("hard link target {:?}: {r}", show(&target))))?;
            if let Some(copy) = &self.copy {
                // Relative to the destination and renamed, like the entry names.
                copy.rebase(&target, &mut tcomps);
                let mut full = copy.dest.clone();
                full.append(&mut tcomps);
                tcomps = full;
            }
            let Some((tlast, tparent)) = tcomps.split_last() else {
                return Err(refuse("hard link to the layer root".into()));
            };
            let tdir = self
                .open_in_root(&join(tparent), OFlags::PATH | OFlags::DIRECTORY)
                .map_err(ctx("resolving the hard link target"))?;
            let tst = rustix::fs::statat(&tdir, os(tlast), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| ctx("resolving the hard link target")(e.into()))?;
            if FileType::from_raw_mode(tst.st_mode) == FileType::Directory {
                return Err(refuse(format!(
                    "hard link to the directory {:?}",
                    show(&target)
                )));
            }
            if let Some(st) = &existing {
                if st.st_dev == tst.st_dev && st.st_ino == tst.st_ino {
                    // Already the same file (a link to itself): removing it would lose both.
                    self.unpacked.insert(join(&comps));
                    return Ok(());
                }
                remove_all_at(parent, leaf).map_err(ctx("removing the existing path"))?;
            }
            // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself, and the
            // target's directory was resolved inside the root.
            rustix::fs::linkat(&tdir, os(tlast), parent, leaf, AtFlags::empty())
                .map_err(|e| ctx("creating the hard link")(e.into()))?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let ftype = if kind.is_fifo() {
                FileType::Fifo
            } else if !self.opts.allow_devices {
                return Err(refuse("device nodes are not permitted".into()));
            } else if kind.is_character_special() {
                FileType::CharacterDevice
            } else {
                FileType::BlockDevice
            };
            // A fifo has no device number, and writers often leave the fields blank.
            let (major, minor) = if ftype == FileType::Fifo {
                (0, 0)
            } else {
                let hdr = entry.header();
                let bad = |e: io::Error| refuse(format!("invalid device number: {e}"));
                (
                    hdr.device_major().map_err(bad)?.unwrap_or(0),
                    hdr.device_minor().map_err(bad)?.unwrap_or(0),
                )
            };
            if existing.is_some() {
                remove_all_at(parent, leaf).map_err(ctx("removing the existing path"))?;
            }
            rustix::fs::mknodat(
                parent,
                leaf,
                ftype,
                Mode::from_raw_mode(0o600),
                rustix::fs::makedev(major, minor),
            )
            .map_err(|e| ctx("creating the node")(e.into()))?;
            self.set_meta(parent, last, &meta, false)
                .map_err(ctx("setting metadata"))?;
        } else {
            return Err(refuse(format!("unsupported entry type {kind:?}")));
        }
        self.unpacked.insert(join(&comps));
        Ok(())
    }

    fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Meta, UnpackError> {
        let refuse = |reason: String| UnpackError::Refused {
            entry: name.to_string(),
            reason,
        };
        let hdr = entry.header();
        let field = |what: &str, e: io::Error| refuse(format!("invalid {what} field: {e}"));
        let uid = hdr.uid().map_err(|e| field("uid", e))?;
        let gid = hdr.gid().map_err(|e| field("gid", e))?;
        let uid = u32::try_from(uid).map_err(|_| refuse(format!("uid {uid} is out of range")))?;
        let gid = u32::try_from(gid).map_err(|_| refuse(format!("gid {gid} is out of range")))?;
        let mode = hdr.mode().map_err(|e| field("mode", e))? & 0o7777;
        let mtime = hdr.mtime().map_err(|e| field("mtime", e))?;
        let mut mtime = Timespec {
            tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut xattrs = Vec::new();
        if let Some(exts) = entry
            .pax_extensions()
            .map_err(|e| refuse(format!("invalid PAX header: {e}")))?
        {
            for ext in exts {
                let ext = ext.map_err(|e| refuse(format!("invalid PAX header: {e}")))?;
                let Ok(key) = ext.key() else { continue };
                if let Some(xname) = key.strip_prefix("SCHILY.xattr.") {
                    if xname.starts_with("trusted.overlay.") || xname.starts_with("user.overlay.") {
                        return Err(refuse(format!(
                            "carries the overlayfs attribute {xname}, which only the unpacker may set"
                        )));
                    }
                    if xname.is_empty() || xname.contains('\0') {
                        return Err(refuse(format!("invalid xattr name {xname:?}")));
                    }
                    xattrs.push((xname.to_string(), ext.value_bytes().to_vec()));
                } else if key == "mtime" {
                    if let Some(t) = ext.value().ok().and_then(parse_pax_time) {
                        mtime = t;
                    }
                }
            }
        }
        // `docker cp -a` into a container that has a user: everything is that user's.
        let (uid, gid) = self
            .copy
            .as_ref()
            .and_then(|c| c.owner)
            .unwrap_or((uid, gid));
        Ok(Meta {
            uid,
            gid,
            mode,
            mtime,
            xattrs,
        })
    }

    /// Sets ownership, mode and xattrs of `parent/name` without following it, and its times
    /// unless it is a directory (those are set in [`Self::finish_dirs`]).
    fn set_meta(
        &self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        meta: &Meta,
        symlink: bool,
    ) -> io::Result<()> {
        let leaf = os(name);
        if !self.host() {
            rustix::fs::chownat(
                parent,
                leaf,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        // After chown, which clears setuid/setgid. Symlinks have no mode of their own (and
        // chmodat would follow them).
        if !symlink {
            rustix::fs::chmodat(
                parent,
                leaf,
                Mode::from_raw_mode(meta.mode),
                AtFlags::empty(),
            )?;
        }
        if !meta.xattrs.is_empty() {
            let path = proc_path(parent, leaf);
            for (k, v) in &meta.xattrs {
                match rustix::fs::lsetxattr(&path, k.as_str(), v, XattrFlags::empty()) {
                    Ok(()) => {}
                    Err(_) if k.starts_with("security.") => {}
                    Err(e) if self.host() && xattr_unsettable(e) => {}
                    Err(e) => return Err(xattr_err(k, e)),
                }
            }
        }
        let is_dir = rustix::fs::statat(parent, leaf, AtFlags::SYMLINK_NOFOLLOW)
            .map(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)?;
        if !is_dir {
            rustix::fs::utimensat(parent, leaf, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
        }
        Ok(())
    }

    fn whiteout(&mut self, name: &str, comps: &[Vec<u8>]) -> Result<(), UnpackError> {
        let ctx = |what: &'static str| {
            let name = name.to_string();
            move |source: io::Error| UnpackError::Entry {
                entry: name,
                what,
                source,
            }
        };
        let Some((last, parent_comps)) = comps.split_last() else {
            return Ok(());
        };
        // The directory may exist only in a lower layer; overlay needs it here to hold the
        // whiteout.
        let parent = self
            .mkdir_all(parent_comps)
            .map_err(ctx("opening the parent directory"))?;
        if last.as_slice() == WHITEOUT_OPAQUE {
            let dir = self
                .open_in_root(&join(parent_comps), OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(ctx("opening the opaque directory"))?;
            // Whatever this layer did not put here belongs to the layers below, which an
            // opaque directory hides.
            let prefix = join(parent_comps);
            for child in list_dir(dir.as_fd()).map_err(ctx("listing the opaque directory"))? {
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(child.as_bytes());
                if !self.unpacked.contains(&path) {
                    remove_all_at(dir.as_fd(), &child)
                        .map_err(ctx("clearing the opaque directory"))?;
                }
            }
            rustix::fs::fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| ctx("marking the directory opaque")(xattr_err(OPAQUE_XATTR, e)))?;
            return Ok(());
        }
        if last.starts_with(WHITEOUT_META_PREFIX) {
            // Other AUFS metadata (.wh..wh.plnk and the like) means nothing to overlay.
            return Ok(());
        }
        let target = &last[WHITEOUT_PREFIX.len()..];
        if target.is_empty() || target == b"." || target == b".." {
            return Err(UnpackError::Refused {
                entry: name.to_string(),
                reason: "whiteout without a valid name".into(),
            });
        }
        remove_all_at(parent.as_fd(), os(target)).map_err(ctx("removing the whited-out path"))?;
        rustix::fs::mknodat(
            &parent,
            os(target),
            FileType::CharacterDevice,
            Mode::empty(),
            rustix::fs::makedev(0, 0),
        )
        .map_err(|e| ctx("creating the whiteout")(e.into()))?;
        let mut path = parent_comps.to_vec();
        path.push(target.to_vec());
        self.unpacked.insert(join(&path));
        Ok(())
    }

    /// Sets directory times last, since creating entries inside a directory changes its mtime.
    /// Each path is resolved again inside the root and its last component is not followed,
    /// so a directory replaced later in the archive is skipped or left alone.
    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        for (comps, times) in std::mem::take(&mut self.dir_times).into_iter().rev() {
            let (parent, leaf) = match comps.split_last() {
                Some((last, parent)) => (join(parent), last.clone()),
                None => (Vec::new(), b".".to_vec()),
            };
            let ctx = |source: io::Error| UnpackError::Entry {
                entry: show(&join(&comps)),
                what: "setting the directory's times",
                source,
            };
            let dir = match self.open_in_root(&parent, OFlags::PATH | OFlags::DIRECTORY) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => continue,
                Err(e) => return Err(ctx(e)),
            };
            match rustix::fs::statat(&dir, os(&leaf), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
                Ok(_) | Err(Errno::NOENT) => continue,
                Err(e) => return Err(ctx(e.into())),
            }
            rustix::fs::utimensat(&dir, os(&leaf), &times, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| ctx(e.into()))?;
        }
        Ok(())
    }
}

fn xattr_err(name: &str, e: Errno) -> io::Error {
    io::Error::new(
        io::Error::from(e).kind(),
        format!("setting xattr {name}: {e}"),
    )
}

/// An xattr error that a host extraction skips: the filesystem has no xattrs, or the user
/// may not set this one (`trusted.*` without CAP_SYS_ADMIN), as Docker's client does.
fn xattr_unsettable(e: Errno) -> bool {
    matches!(e, Errno::PERM | Errno::NOTSUP)
}

/// Sets a regular file's metadata; `host` skips the owner and unsettable xattrs
/// ([`CopyInto::host`]).
fn set_file_meta(file: &std::fs::File, meta: &Meta, host: bool) -> io::Result<()> {
    if !host {
        rustix::fs::fchown(
            file,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
        )?;
    }
    rustix::fs::fchmod(file, Mode::from_raw_mode(meta.mode))?;
    // After chown, which drops security.capability.
    for (k, v) in &meta.xattrs {
        match rustix::fs::fsetxattr(file, k.as_str(), v, XattrFlags::empty()) {
            Ok(()) => {}
            Err(_) if k.starts_with("security.") => {}
            Err(e) if host && xattr_unsettable(e) => {}
            Err(e) => return Err(xattr_err(k, e)),
        }
    }
    rustix::fs::futimens(file, &meta.times())?;
    Ok(())
}

/// Removes `dir/name` and, if it is a directory, everything below it, never following a
/// symlink. A missing name is not an error.
fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    let sub = open_dir(dir, name)?;
    for child in list_dir(sub.as_fd())? {
        remove_all_at(sub.as_fd(), &child)?;
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests;
