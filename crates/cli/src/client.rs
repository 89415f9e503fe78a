//! The Docker Engine API over HTTP/1.1 on a unix socket: host selection, version negotiation
//! (as the docker CLI does it), requests, daemon errors, the JSON message stream, and the
//! connection upgrade that attach and exec will use.
//!
//! One connection per request: unix sockets are cheap to open and it keeps hijacked
//! connections (attach, exec) the same code path as everything else.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::UnixStream;

pub const DEFAULT_HOST: &str = "unix:///run/muelle/muelle.sock";
/// The newest API version this client speaks; the daemon's, if older, wins.
pub const CLIENT_API_VERSION: &str = "1.47";
/// What the docker CLI assumes when a daemon's `/_ping` names no version.
const FALLBACK_API_VERSION: &str = "1.24";
const USER_AGENT: &str = concat!("muelle/", env!("CARGO_PKG_VERSION"));

#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    /// As the user wrote it, for messages.
    pub url: String,
    pub path: PathBuf,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

pub fn parse_host(s: &str) -> Result<Host> {
    let Some(path) = s.strip_prefix("unix://") else {
        bail!("unsupported host {s:?}: only unix:// sockets are supported");
    };
    if path.is_empty() {
        bail!("invalid host {s:?}: no socket path");
    }
    Ok(Host {
        url: s.to_owned(),
        path: PathBuf::from(path),
    })
}

/// `-H`, else `MUELLE_HOST`, else `DOCKER_HOST` when it is a unix socket, else the default.
/// The flag says whether the default was chosen (only then may the daemon be autostarted).
pub fn resolve_host(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Host, bool)> {
    if let Some(h) = flag {
        return Ok((parse_host(h)?, false));
    }
    if let Some(h) = env("MUELLE_HOST").filter(|h| !h.is_empty()) {
        return Ok((parse_host(&h)?, false));
    }
    if let Some(h) = env("DOCKER_HOST").filter(|h| h.starts_with("unix://")) {
        return Ok((parse_host(&h)?, false));
    }
    Ok((parse_host(DEFAULT_HOST)?, true))
}

/// The daemon answered with an error status; shown as docker shows it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error response from daemon: {}", self.message)
    }
}

impl std::error::Error for ApiError {}

/// Nothing listens on the socket; autostart looks for this.
#[derive(Debug)]
pub struct ConnectError {
    pub host: Host,
    pub source: io::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot connect to the daemon at {}: {}; is muelled running?",
            self.host, self.source
        )
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    /// ENOENT or ECONNREFUSED: no daemon, as opposed to one we may not talk to.
    pub fn nobody_listens(&self) -> bool {
        matches!(
            self.source.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
        )
    }
}

pub type Body = UnsyncBoxBody<Bytes, io::Error>;

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub fn bytes(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A request body streamed from a file or stdin (load, import).
pub fn reader<R: AsyncRead + Send + Unpin + 'static>(r: R) -> Body {
    ReaderBody {
        reader: r,
        buf: vec![0; 64 * 1024],
    }
    .boxed_unsync()
}

struct ReaderBody<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> hyper::body::Body for ReaderBody<R> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let mut rb = ReadBuf::new(&mut this.buf);
        match Pin::new(&mut this.reader).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => Poll::Ready(None),
            Poll::Ready(Ok(())) => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(rb.filled())))))
            }
        }
    }
}

/// Percent-encodes a query component (everything but RFC 3986's unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes an image or container name for a URL path the way docker's client ends up sending
/// it (Go's `url.URL` path escaping): `/`, `:` and `@` stay, since daemons route
/// `/images/{name}/json` with names like `127.0.0.1:5000/app@sha256:…`.
pub fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'/'
                    | b':'
                    | b'@'
                    | b'+'
                    | b'='
                    | b'$'
                    | b'&'
                    | b','
                    | b';'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds `?a=1&b=2` from pairs (empty when there are none).
#[derive(Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, k: &str, v: impl Into<String>) -> Self {
        self.0.push((k.to_owned(), v.into()));
        self
    }
    pub fn set_if(self, cond: bool, k: &str, v: impl Into<String>) -> Self {
        if cond {
            self.set(k, v)
        } else {
            self
        }
    }
    pub fn render(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("?{}", parts.join("&"))
    }
}

/// The connection to one daemon, before or after negotiation.
#[derive(Clone, Debug)]
pub struct Client {
    pub host: Host,
    /// "1.47"; set by [`Client::negotiate`].
    pub version: String,
}

impl Client {
    pub fn new(host: Host) -> Self {
        Client {
            host,
            version: CLIENT_API_VERSION.to_owned(),
        }
    }

    async fn connect(&self) -> Result<hyper::client::conn::http1::SendRequest<Body>> {
        let stream = UnixStream::connect(&self.host.path)
            .await
            .map_err(|source| ConnectError {
                host: self.host.clone(),
                source,
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {}", self.host))?;
        // The connection task ends when the response body is done (or the upgrade is taken).
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }

    /// `GET /_ping` and take min(ours, the daemon's) as docker does; `DOCKER_API_VERSION`
    /// pins a version instead.
    pub async fn negotiate(&mut self, pinned: Option<String>) -> Result<()> {
        let res = self
            .send_raw(Method::GET, "/_ping".to_owned(), &[], empty())
            .await?;
        if let Some(v) = pinned.filter(|v| !v.is_empty()) {
            self.version = v.trim_start_matches('v').to_owned();
            return Ok(());
        }
        let server = res
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(FALLBACK_API_VERSION)
            .to_owned();
        // Drain the tiny body so the connection closes cleanly.
        let _ = res.into_body().collect().await;
        if version_less(&server, CLIENT_API_VERSION) {
            self.version = server;
        }
        Ok(())
    }

    async fn send_raw(
        &self,
        method: Method,
        path: String,
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<Response<Incoming>> {
        let mut sender = self.connect().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "api.moby.localhost")
            .header("user-agent", USER_AGENT);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(body).context("building the request")?;
        sender
            .send_request(req)
            .await
            .with_context(|| format!("request to the daemon at {}", self.host))
    }

    /// A versioned request; an error status becomes an [`ApiError`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<Response<Incoming>> {
        let res = self
            .send_raw(method, format!("/v{}{}", self.version, path), headers, body)
            .await?;
        check(res).await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let res = self.request(Method::GET, path, &[], empty()).await?;
        read_json(res).await
    }

    /// The raw bytes of a JSON answer (inspect keeps the daemon's bytes).
    pub async fn get_bytes(&self, path: &str) -> Result<Bytes> {
        let res = self.request(Method::GET, path, &[], empty()).await?;
        Ok(res
            .into_body()
            .collect()
            .await
            .context("reading the daemon's answer")?
            .to_bytes())
    }

    /// Sends `Connection: Upgrade` and returns the raw two-way stream once the daemon answers
    /// `101 Switching Protocols` (attach, exec start). A daemon that answers 200 instead has
    /// hijacked the connection without the upgrade dance; that is an error here, since both
    /// docker and muelled answer 101 when asked.
    pub async fn upgrade(
        &self,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<TokioIo<hyper::upgrade::Upgraded>> {
        self.upgrade_with(method, path, &[], body).await
    }

    /// [`Client::upgrade`] with extra headers (exec start sends a JSON body).
    pub async fn upgrade_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<TokioIo<hyper::upgrade::Upgraded>> {
        let mut all = vec![
            ("connection", "Upgrade".to_owned()),
            ("upgrade", "tcp".to_owned()),
        ];
        all.extend(headers.iter().cloned());
        let res = self
            .send_raw(method, format!("/v{}{}", self.version, path), &all, body)
            .await?;
        if res.status() != StatusCode::SWITCHING_PROTOCOLS {
            check(res).await?;
            bail!("the daemon did not switch protocols");
        }
        let upgraded = hyper::upgrade::on(res)
            .await
            .context("taking over the upgraded connection")?;
        Ok(TokioIo::new(upgraded))
    }
}

/// docker's `versions.LessThan`: dotted numeric comparison.
pub fn version_less(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parse(a), parse(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x < y;
        }
    }
    false
}

pub async fn check(res: Response<Incoming>) -> Result<Response<Incoming>> {
    let status = res.status();
    if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(res);
    }
    let body = res
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct ErrBody {
        message: String,
    }
    let message = match serde_json::from_slice::<ErrBody>(&body) {
        Ok(e) => e.message,
        Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
    };
    let message = if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("unknown error")
            .to_owned()
    } else {
        message
    };
    Err(ApiError { status, message }.into())
}

pub async fn read_json<T: DeserializeOwned>(res: Response<Incoming>) -> Result<T> {
    let body = res
        .into_body()
        .collect()
        .await
        .context("reading the daemon's answer")?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        anyhow!(
            "the daemon's answer is not the JSON expected: {e}: {}",
            snippet(&body)
        )
    })
}

fn snippet(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(80)]).into_owned();
    format!("{s:?}{}", if b.len() > 80 { "…" } else { "" })
}

/// Splits a byte stream of concatenated JSON values (Docker's progress streams: one object per
/// line, but a chunk may end anywhere) into values. Garbage is an error naming where it is.
#[derive(Default)]
pub struct JsonSplitter {
    buf: Vec<u8>,
    consumed: usize,
}

impl JsonSplitter {
    pub fn push(&mut self, data: &[u8]) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete value, `None` when more bytes are needed.
    pub fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        let rest = &self.buf[self.consumed..];
        let mut it = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
        match it.next() {
            None => {
                // Only whitespace left.
                self.consumed = self.buf.len();
                Ok(None)
            }
            Some(Ok(v)) => {
                self.consumed += it.byte_offset();
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(e)) => bail!(
                "malformed JSON in the daemon's message stream ({e}) at {}",
                snippet(rest.trim_ascii_start())
            ),
        }
    }

    /// At the end of the stream: anything left is a truncated message.
    pub fn finish(&self) -> Result<()> {
        let rest = self.buf[self.consumed..].trim_ascii();
        if rest.is_empty() {
            Ok(())
        } else {
            bail!(
                "the daemon's message stream ended inside a message: {}",
                snippet(rest)
            )
        }
    }
}

/// Reads Docker's JSON message stream from a response body.
pub struct JsonStream {
    body: Incoming,
    split: JsonSplitter,
    done: bool,
}

impl JsonStream {
    pub fn new(res: Response<Incoming>) -> Self {
        JsonStream {
            body: res.into_body(),
            split: JsonSplitter::default(),
            done: false,
        }
    }

    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        loop {
            if let Some(v) = self.split.next()? {
                return Ok(Some(v));
            }
            if self.done {
                self.split.finish()?;
                return Ok(None);
            }
            match self.body.frame().await {
                None => self.done = true,
                Some(Err(e)) => return Err(e).context("reading the daemon's message stream"),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.split.push(&data);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn hosts() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let (h, default) = resolve_host(None, env(&[])).unwrap();
        assert_eq!(h.path, PathBuf::from("/run/muelle/muelle.sock"));
        assert!(default);
        let (h, default) =
            resolve_host(Some("unix:///x.sock"), env(&[("MUELLE_HOST", "unix:///y")])).unwrap();
        assert_eq!((h.path, default), (PathBuf::from("/x.sock"), false));
        let (h, _) = resolve_host(
            None,
            env(&[("MUELLE_HOST", "unix:///y"), ("DOCKER_HOST", "unix:///z")]),
        )
        .unwrap();
        assert_eq!(h.path, PathBuf::from("/y"));
        let (h, _) =
            resolve_host(None, env(&[("DOCKER_HOST", "unix:///var/run/docker.sock")])).unwrap();
        assert_eq!(h.path, PathBuf::from("/var/run/docker.sock"));
        // A TCP DOCKER_HOST is docker's business, not ours.
        let (h, default) =
            resolve_host(None, env(&[("DOCKER_HOST", "tcp://1.2.3.4:2375")])).unwrap();
        assert!(default && h.url == DEFAULT_HOST);
        assert!(resolve_host(Some("tcp://127.0.0.1:2375"), env(&[])).is_err());
        assert!(resolve_host(Some("unix://"), env(&[])).is_err());
    }

    #[test]
    fn versions() {
        assert!(version_less("1.41", "1.47"));
        assert!(!version_less("1.47", "1.47"));
        assert!(!version_less("1.50", "1.47"));
        assert!(version_less("1.9", "1.10"));
    }

    #[test]
    fn query_encoding() {
        let q = Query::new()
            .set("filters", r#"{"dangling":{"true":true}}"#)
            .set("tag", "a b&c")
            .render();
        assert_eq!(
            q,
            "?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D&tag=a%20b%26c"
        );
        assert_eq!(Query::new().render(), "");
    }

    #[test]
    fn splitter_handles_partial_chunks() {
        let stream = b"{\"status\":\"Pulling\",\"id\":\"a\"}\r\n{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2}}\n{\"stream\":\"x\\n\"}";
        for cut in 0..stream.len() {
            let mut s = JsonSplitter::default();
            let mut got = Vec::new();
            for chunk in [&stream[..cut], &stream[cut..]] {
                s.push(chunk);
                while let Some(v) = s.next::<Value>().unwrap() {
                    got.push(v);
                }
            }
            s.finish().unwrap();
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[2]["stream"], "x\n");
        }
    }

    #[test]
    fn splitter_reports_garbage_and_truncation() {
        let mut s = JsonSplitter::default();
        s.push(b"{\"status\":\"ok\"}\nnot json at all\n");
        assert!(s.next::<Value>().unwrap().is_some());
        let e = s.next::<Value>().unwrap_err().to_string();
        assert!(
            e.contains("malformed JSON") && e.contains("not json"),
            "{e}"
        );

        let mut s = JsonSplitter::default();
        s.push(b"{\"status\":\"ok\"}\n{\"status\":\"Downl");
        assert!(s.next::<Value>().unwrap().is_some());
        assert!(s.next::<Value>().unwrap().is_none());
        let e = s.finish().unwrap_err().to_string();
        assert!(e.contains("ended inside a message"), "{e}");
    }

    /// A daemon that answers `101 Switching Protocols` and then echoes: the hijacked stream
    /// attach and exec need works both ways.
    #[tokio::test]
    async fn upgrade_gives_a_raw_two_way_stream() {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("d.sock");
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        let server = tokio::spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            let mut conn = BufReader::new(conn);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                conn.read_line(&mut line).await.unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            conn.get_mut()
                .write_all(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).await.unwrap();
            conn.get_mut().write_all(&buf).await.unwrap();
            head
        });
        let client = Client::new(parse_host(&format!("unix://{}", sock.display())).unwrap());
        let mut io = client
            .upgrade(Method::POST, "/containers/x/attach?stream=1", empty())
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut io, b"hello")
            .await
            .unwrap();
        let mut back = [0u8; 5];
        tokio::io::AsyncReadExt::read_exact(&mut io, &mut back)
            .await
            .unwrap();
        assert_eq!(&back, b"hello");
        let head = server.await.unwrap().to_lowercase();
        assert!(
            head.starts_with(&format!(
                "post /v{CLIENT_API_VERSION}/containers/x/attach?stream=1 http/1.1"
            )),
            "{head}"
        );
        assert!(
            head.contains("upgrade: tcp") && head.contains("connection: upgrade"),
            "{head}"
        );
    }
}
