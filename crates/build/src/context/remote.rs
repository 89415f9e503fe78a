//! ADD <url>: a small blocking HTTP/1.1 client over `std::net::TcpStream` (the builder has
//! no async runtime, and the workspace's HTTP client is async-only). http:// only: https is
//! answered with an error saying so. Redirects are followed (10 at most, as Go's client),
//! the body (Content-Length, chunked, or up to the close) is written to a file of mode 0600
//! named after the URL's last path segment (else Content-Disposition's filename, as
//! dockerd), its sha256 checked against `--checksum`, its mtime set from Last-Modified.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::ContextError;

const MAX_REDIRECTS: usize = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// A downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// The file's name at the destination.
    pub name: String,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// Last-Modified, when the server sent one (the file's mtime is set to it).
    pub last_modified: Option<SystemTime>,
}

/// An http:// URL's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    host: String,
    port: u16,
    /// Path and query, starting with '/'.
    target: String,
}

fn parse_url(url: &str) -> Result<Url, ContextError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(ContextError::BadUrl(format!(
            "ADD {url}: https URLs are not supported by this builder (only http://)"
        )));
    }
    let rest = match lower.starts_with("http://") {
        true => &url[7..],
        false => {
            return Err(ContextError::BadUrl(format!(
                "ADD {url}: not an http:// URL"
            )))
        }
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err(ContextError::BadUrl(format!(
            "ADD {url}: credentials in URLs are not supported"
        )));
    }
    let bad = || ContextError::BadUrl(format!("ADD {url}: invalid host or port"));
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => 80,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
            None => (authority.to_string(), 80),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Url { host, port, target })
}

/// The target of a redirect: absolute, or relative to `base`.
fn redirect(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let origin_end = base[scheme_end..]
        .find(['/', '?'])
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    if location.starts_with('/') {
        return format!("{}{location}", &base[..origin_end]);
    }
    let path = &base[origin_end..];
    let path = path.split('?').next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{}{dir}{location}", &base[..origin_end])
}

/// The last segment of the URL's path (dockerd's name for the downloaded file).
fn name_from_url(url: &str) -> Option<String> {
    let after = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = after.find('/').map(|i| &after[i..]).unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() || path.ends_with('/') {
        return None;
    }
    path.rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .map(str::to_string)
}

fn name_from_disposition(value: &str) -> Option<String> {
    let param = value.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| v.trim().trim_matches('"').to_string())
    })?;
    if param.ends_with('/') {
        return None;
    }
    param
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .map(str::to_string)
}

struct Response {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: BufReader<TcpStream>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn get(url: &str) -> Result<Response, ContextError> {
    let u = parse_url(url)?;
    let herr = |reason: String| ContextError::Http {
        url: url.to_string(),
        reason,
    };
    let addrs: Vec<_> = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| herr(format!("resolving {}: {e}", u.host)))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| {
        herr(match last {
            Some(e) => format!("connecting: {e}"),
            None => "no address".into(),
        })
    })?;
    let ioerr = |e: io::Error| herr(e.to_string());
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(ioerr)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(ioerr)?;
    let host = if u.host.contains(':') {
        format!("[{}]", u.host)
    } else {
        u.host.clone()
    };
    let host = if u.port == 80 {
        host
    } else {
        format!("{host}:{}", u.port)
    };
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: muelle-builder\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        u.target
    );
    stream.write_all(req.as_bytes()).map_err(ioerr)?;
    let mut body = BufReader::new(stream);
    let mut line = String::new();
    body.read_line(&mut line).map_err(ioerr)?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(herr(format!("not an HTTP/1 answer: {:?}", line.trim_end())));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| herr(format!("bad status line {:?}", line.trim_end())))?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if body.read_line(&mut line).map_err(ioerr)? == 0 {
            return Err(herr("connection closed in the headers".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if headers.len() > 200 {
            return Err(herr("too many headers".into()));
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
}

/// Downloads `url` into the directory `into`; `checksum` is `--checksum`'s value.
pub fn fetch(url: &str, checksum: Option<&str>, into: &Path) -> Result<Fetched, ContextError> {
    let expected = match checksum {
        None => None,
        Some(c) => match c.split_once(':') {
            Some(("sha256", hex))
                if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Some(format!("sha256:{}", hex.to_ascii_lowercase()))
            }
            _ => {
                return Err(ContextError::BadUrl(format!(
                    "invalid checksum {c:?}: expected sha256:<64 hex digits>"
                )))
            }
        },
    };
    parse_url(url)?;
    let mut current = url.to_string();
    let mut resp = get(&current)?;
    let mut hops = 0;
    while matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        let Some(loc) = resp.header("Location") else {
            break;
        };
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Err(ContextError::Http {
                url: url.to_string(),
                reason: format!("stopped after {MAX_REDIRECTS} redirects"),
            });
        }
        current = redirect(&current, loc);
        resp = get(&current)?;
    }
    if !(200..300).contains(&resp.status) {
        return Err(ContextError::HttpStatus {
            url: url.to_string(),
            status: format!("{} {}", resp.status, resp.reason)
                .trim_end()
                .to_string(),
        });
    }
    let name = name_from_url(url)
        .or_else(|| {
            resp.header("Content-Disposition")
                .and_then(name_from_disposition)
        })
        .ok_or_else(|| {
            ContextError::BadUrl(format!("cannot determine filename for source {url}"))
        })?;
    let last_modified = resp
        .header("Last-Modified")
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let path = into.join(&name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(ContextError::io("creating", &path))?;
    let chunked = resp
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = resp
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok());
    let mut sink = Hashing {
        file: &mut file,
        h: Sha256::new(),
    };
    let herr = |e: io::Error| ContextError::Http {
        url: url.to_string(),
        reason: format!("reading the body: {e}"),
    };
    if chunked {
        copy_chunked(&mut resp.body, &mut sink).map_err(herr)?;
    } else if let Some(n) = length {
        let got = io::copy(&mut (&mut resp.body).take(n), &mut sink).map_err(herr)?;
        if got != n {
            return Err(herr(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("got {got} of {n} bytes"),
            )));
        }
    } else {
        io::copy(&mut resp.body, &mut sink).map_err(herr)?;
    }
    let digest = format!("sha256:{}", hex::encode(sink.h.finalize()));
    if let Some(expected) = expected {
        if expected != digest {
            let _ = fs::remove_file(&path);
            return Err(ContextError::ChecksumMismatch {
                url: url.to_string(),
                expected,
                actual: digest,
            });
        }
    }
    if let Some(t) = last_modified {
        file.set_modified(t)
            .map_err(ContextError::io("setting the mtime of", &path))?;
    }
    Ok(Fetched {
        path,
        name,
        digest,
        last_modified,
    })
}

/// The hash dockerd's legacy builder writes for a downloaded source in `created_by`
/// (`ADD <hex> in /dest`, without a `file:` prefix): the tarsum of the file as its lazy
/// source sees it (name, mode 0600, owner with the host's names, bytes).
pub fn content_hash(f: &Fetched) -> Result<String, ContextError> {
    let dir = f.path.parent().unwrap_or_else(|| Path::new("/"));
    let sel = super::select::select_from(
        dir,
        std::slice::from_ref(&f.name),
        &super::ignore::IgnoreMatcher::empty(),
        super::select::Origin::Rootfs,
    )?;
    let hash = sel.content_hash();
    Ok(hash.strip_prefix("file:").unwrap_or(&hash).to_string())
}

struct Hashing<'f> {
    file: &'f mut File,
    h: Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn copy_chunked<R: BufRead>(r: &mut R, w: &mut dyn Write) -> io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated chunked body",
            ));
        }
        let size = line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            return Ok(()); // trailers are not needed
        }
        let got = io::copy(&mut r.take(size), w)?;
        if got != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated chunk",
            ));
        }
        line.clear();
        r.read_line(&mut line)?;
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
